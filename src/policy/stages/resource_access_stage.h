#pragma once
// First stage: the resource must exist and one of the identity's roles must list it (SQLSTATE
// 28000, invalid_authorization_specification, as PostgreSQL answers a refused login).
#include "policy/stage.h"
#include "policy/stages/compiled_policy.h"

namespace phigate {

class ResourceAccessStage : public Stage {
 public:
  explicit ResourceAccessStage(const CompiledPolicy& policy) : policy_(policy) {}
  Verdict on_request(const Config& config, const Request& req) const override;

 private:
  const CompiledPolicy& policy_;
};

}  // namespace phigate
