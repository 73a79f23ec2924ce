#pragma once
// Method overrides: many frameworks act on a method named by a field or a query parameter
// instead of the request line's (X-HTTP-Method-Override: Express method-override, Google APIs,
// ASP.NET; X-HTTP-Method: OData/SharePoint; X-Method-Override; `_method`: Rails, Laravel,
// Spring's HiddenHttpMethodFilter). A proxy that judges only the request line lets
// "POST + X-HTTP-Method-Override: DELETE" through a rule that denies DELETE.
#include <string>
#include <utility>
#include <vector>

#include "codec/http/message.h"

namespace phigate::http {

// The methods other than `method` that the request may be executed as: every value of the
// override fields and of the `_method` query parameter (already decoded), upper-cased, each once.
// Values that are not a method token are returned too (upper-cased): an upstream may still act
// on them, and a rule for methods simply will not match them.
std::vector<std::string> override_methods(
    std::string_view method, const Fields& fields,
    const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace phigate::http
