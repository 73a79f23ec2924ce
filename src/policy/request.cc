#include "policy/request.h"

namespace phigate {

const char* verdict_name(VerdictKind k) {
  switch (k) {
    case VerdictKind::kContinue:
      return "continue";
    case VerdictKind::kAllow:
      return "allow";
    case VerdictKind::kDeny:
      return "deny";
    case VerdictKind::kHold:
      return "hold";
    case VerdictKind::kRewrite:
      return "rewrite";
  }
  return "deny";
}

}  // namespace phigate
