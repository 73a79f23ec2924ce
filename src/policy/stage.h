#pragma once
// A pipeline stage: looks at a Request and either lets the next stage decide (kContinue) or ends
// the pipeline with a verdict. Only an approval stage may return kHold.
#include "policy/config.h"
#include "policy/request.h"

namespace phigate {

class Stage {
 public:
  virtual ~Stage() = default;
  virtual Verdict on_request(const Config& config, const Request& req) const = 0;
};

}  // namespace phigate
