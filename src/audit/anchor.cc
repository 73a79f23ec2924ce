#include "audit/anchor.h"

#include <bit>
#include <nlohmann/json.hpp>

namespace phigate::audit {

std::string anchor_to_json(const Anchor& a) {
  nlohmann::json f = nlohmann::json::array();
  for (const auto& h : a.frontier) f.push_back(to_hex(h));
  nlohmann::json j{{"tree_size", a.tree_size},       {"last_hash", a.last_hash},
                   {"frontier", std::move(f)},       {"last_time_ns", a.last_time_ns},
                   {"pruned_at_ns", a.pruned_at_ns}, {"retention", a.retention}};
  return j.dump();
}

std::optional<Anchor> anchor_from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.size() != 6) return std::nullopt;
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string(); };
  auto uint = [&](const char* k) { return j.contains(k) && j[k].is_number_unsigned(); };
  auto num = [&](const char* k) { return j.contains(k) && j[k].is_number_integer(); };
  if (!uint("tree_size") || !str("last_hash") || !num("last_time_ns") || !num("pruned_at_ns") ||
      !str("retention") || !j.contains("frontier") || !j["frontier"].is_array()) {
    return std::nullopt;
  }
  Anchor a;
  a.tree_size = j["tree_size"].get<uint64_t>();
  a.last_hash = j["last_hash"].get<std::string>();
  a.last_time_ns = j["last_time_ns"].get<int64_t>();
  a.pruned_at_ns = j["pruned_at_ns"].get<int64_t>();
  a.retention = j["retention"].get<std::string>();
  for (const auto& h : j["frontier"]) {
    if (!h.is_string()) return std::nullopt;
    Bytes b = from_hex(h.get<std::string>());
    if (b.size() != 32) return std::nullopt;
    Sha256 s{};
    std::copy(b.begin(), b.end(), s.begin());
    a.frontier.push_back(s);
  }
  if (a.frontier.size() != static_cast<size_t>(std::popcount(a.tree_size))) return std::nullopt;
  if (a.last_hash.size() != 64) return std::nullopt;
  return a;
}

}  // namespace phigate::audit
