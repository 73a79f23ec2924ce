#pragma once
// A store that drops every record: for benchmarks only, to measure what building, encoding and
// hashing records cost without storage (`serve --bench-audit-discard`, audit_record_bench).
// Never for real use: nothing it is given can be verified or read back.
#include "audit/store.h"

namespace phigate::audit {

class DiscardStore final : public Store {
 public:
  Status append(const std::vector<Event>&) override { return ok_status(); }
  // The Log's inline path: drop without the default's copy into a vector.
  Status append_encoded_refs(const std::vector<const Event*>&, std::string_view,
                             const std::vector<size_t>&) override {
    return ok_status();
  }
  Result<std::optional<Event>> last() override { return std::optional<Event>(); }
  Status scan(uint64_t, const std::function<bool(const Event&)>&) override { return ok_status(); }
};

}  // namespace phigate::audit
