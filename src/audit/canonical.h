#pragma once
// Canonical encoding and hash chain. The canonical form is JSON with keys sorted and no whitespace
// of every field except `hash`; hash = SHA-256(prev_hash_hex || "\n" || canonical) in hex. Anyone
// can recompute it from an exported record, so verification needs no phigate code beyond this rule.
#include <optional>
#include <string>

#include "audit/event.h"

namespace phigate::audit {

inline const std::string kGenesisHash(64, '0');

std::string canonical_json(const Event& e);  // excludes `hash`
std::string chain_hash(const std::string& prev_hash, const std::string& canonical);
// Full record including `hash`, for storage and export (JSONL line).
std::string to_json_line(const Event& e);
// Parses a stored/exported line back; nullopt if it is not a well-formed record.
std::optional<Event> from_json_line(const std::string& line);

}  // namespace phigate::audit
