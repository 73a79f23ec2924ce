#pragma once
// Per-kind validators that live in their own files (validators_ids.cc, validators_date.cc); the
// dispatch in validators.cc calls them. Same contract as detail::confirm. Internal to src/mask/.
#include <string_view>

#include "mask/validators.h"

namespace phigate::mask::detail {

bool confirm_aba(std::string_view t, size_t end, Confirmed* out);
bool confirm_dea(std::string_view t, size_t end, Confirmed* out);
bool confirm_passport(std::string_view t, size_t end, Confirmed* out);
bool confirm_date(std::string_view t, size_t end, Confirmed* out);

}  // namespace phigate::mask::detail
