#pragma once
// How captured bytes (result rows, HTTP bodies) are put into an audit capture blob: as text when a
// reader can show them as they are, cut without splitting a UTF-8 sequence.
#include <cstddef>
#include <string_view>

namespace phigate::proxy {

// Valid UTF-8 with no control characters other than tab, CR and LF; anything else is rendered as
// hex by the capture writers.
bool printable_text(std::string_view s);

// The length of the longest prefix of `s` of at most `n` bytes that does not end inside a UTF-8
// sequence.
size_t utf8_prefix(std::string_view s, size_t n);

}  // namespace phigate::proxy
