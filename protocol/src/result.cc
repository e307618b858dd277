#include "kittengrad/result.h"

namespace kittengrad {

std::string_view error_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kWrongPeer: return "wrong_peer";
    case ErrorCode::kUnknownNamespace: return "unknown_namespace";
    case ErrorCode::kBadSignature: return "bad_signature";
    case ErrorCode::kBadBlock: return "bad_block";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kQuorumFailed: return "quorum_failed";
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kOverloaded: return "overloaded";
    case ErrorCode::kLeaving: return "leaving";
  }
  return "unknown_error";
}

}  // namespace kittengrad
