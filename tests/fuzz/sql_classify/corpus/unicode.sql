SELECT U&"d\0061ta" FROM U&"p\0061tients" UESCAPE '\' WHERE x = U&'\0041' /* c /* n */ */ -- x
 LIMIT 1