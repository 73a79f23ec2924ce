#pragma once
// Renders bind parameters and statement text for the audit record: text values as they are
// (capped), binary values as hex, NULL as NULL — never anything that could be mistaken for another
// value.
#include <string>
#include <string_view>
#include <vector>

#include "codec/pg/messages.h"

namespace phigate::proxy {

inline constexpr size_t kMaxAuditParam = 1024;
inline constexpr size_t kMaxAuditText = 1 << 20;

std::string render_param(const pg::BindParam& p, int16_t format);
std::vector<std::string> render_params(const pg::Bind& b);
// Statement text up to kMaxAuditText; beyond that a prefix plus the full text's length and SHA-256.
std::string audit_text(std::string_view text);

}  // namespace phigate::proxy
