// Fields: views into one owned byte string (message.h).
#include <cstdint>
#include <string>

#include "codec/http/message.h"

namespace phigate::http {

void Fields::rebase(const char* old, size_t size) {
  const char* now = bytes_.data();
  if (old == now) return;
  // Compared as integers: `old` may no longer be an allocation (ordering unrelated pointers with
  // < is unspecified). A view of zero bytes may point anywhere and is left alone.
  const auto lo = reinterpret_cast<std::uintptr_t>(old), hi = lo + size;
  auto move = [&](std::string_view& v) {
    const auto p = reinterpret_cast<std::uintptr_t>(v.data());
    if (!v.empty() && p >= lo && p + v.size() <= hi) v = {now + (p - lo), v.size()};
  };
  for (Field& f : list) {
    move(f.name);
    move(f.value);
  }
}

Fields::Fields(const Fields& o) : list(o.list), bytes_(o.bytes_) {
  rebase(o.bytes_.data(), o.bytes_.size());
}

Fields& Fields::operator=(const Fields& o) {
  if (this == &o) return *this;
  list = o.list;
  bytes_ = o.bytes_;
  rebase(o.bytes_.data(), o.bytes_.size());
  return *this;
}

// A moved std::string keeps its heap buffer, but a short one (SSO) is copied: rebase either way.
Fields::Fields(Fields&& o) noexcept : list(std::move(o.list)) {
  const char* old = o.bytes_.data();
  const size_t size = o.bytes_.size();
  bytes_ = std::move(o.bytes_);
  rebase(old, size);
  o.clear();
}

Fields& Fields::operator=(Fields&& o) noexcept {
  if (this == &o) return *this;
  list = std::move(o.list);
  const char* old = o.bytes_.data();
  const size_t size = o.bytes_.size();
  bytes_ = std::move(o.bytes_);
  rebase(old, size);
  o.clear();
  return *this;
}

const std::string_view* Fields::find(std::string_view name) const {
  for (const Field& f : list)
    if (iequals(f.name, name)) return &f.value;
  return nullptr;
}

size_t Fields::count(std::string_view name) const {
  size_t n = 0;
  for (const Field& f : list) n += iequals(f.name, name) ? 1 : 0;
  return n;
}

void Fields::add(std::string_view name, std::string_view value) {
  // `name` or `value` may be views into bytes_ itself (set() with a listed field): they are kept
  // as offsets while bytes_ may move.
  const auto lo = reinterpret_cast<std::uintptr_t>(bytes_.data());
  const size_t before = bytes_.size();
  auto offset = [&](std::string_view v) {
    const auto p = reinterpret_cast<std::uintptr_t>(v.data());
    return !v.empty() && p >= lo && p + v.size() <= lo + before ? p - lo : std::string::npos;
  };
  const size_t name_at = offset(name), value_at = offset(value);
  const char* old = bytes_.data();
  bytes_.reserve(before + name.size() + value.size());
  rebase(old, before);
  if (name_at != std::string::npos) name = {bytes_.data() + name_at, name.size()};
  if (value_at != std::string::npos) value = {bytes_.data() + value_at, value.size()};
  bytes_.append(name);
  bytes_.append(value);
  const char* at = bytes_.data() + before;
  list.push_back({{at, name.size()}, {at + name.size(), value.size()}});
}

size_t Fields::erase(std::string_view name) {
  size_t before = list.size();
  std::erase_if(list, [&](const Field& f) { return iequals(f.name, name); });
  return before - list.size();
}

std::string_view Fields::hold(std::string_view raw) {
  list.clear();
  bytes_.assign(raw.data(), raw.size());
  return bytes_;
}

}  // namespace phigate::http
