// live_wire.cc — the datagram layer between the loop and the codec, and the names of the
// reasons a datagram is dropped.
#include <cassert>

#include "kittengrad/real/live_loop.h"

namespace kittengrad::live {

std::vector<std::uint8_t> to_wire(const Message& m) { return codec::encode(m); }

Result<Message> from_wire(std::span<const std::uint8_t> bytes,
                          const codec::NamespaceTable& served) {
  return codec::decode(bytes, served);
}

const char* drop_name(Drop d) {
  switch (d) {
    case Drop::kEmpty: return "empty";
    case Drop::kOversized: return "oversized";
    case Drop::kBadVersion: return "bad_version";
    case Drop::kUnknownKind: return "unknown_kind";
    case Drop::kMalformed: return "malformed";
    case Drop::kUnknownNamespace: return "unknown_namespace";
    case Drop::kNoAddress: return "no_address";
    case Drop::kAdminMalformed: return "admin_malformed";
    case Drop::kAdminUnexpected: return "admin_unexpected";
    case Drop::kSession: return "session";
    case Drop::kFalseIdentity: return "false_identity";
    case Drop::kControlRefused: return "control_refused";
  }
  return "unknown";
}

Drop drop_reason(std::span<const std::uint8_t> bytes, const Error& error) {
  if (error.code == ErrorCode::kUnknownNamespace) return Drop::kUnknownNamespace;
  if (bytes.empty()) return Drop::kEmpty;
  if (bytes.size() > codec::kPayloadBytesMax) return Drop::kOversized;
  if ((bytes[0] >> codec::kVersionShift) != codec::kWireVersion) return Drop::kBadVersion;
  if ((bytes[0] & codec::kKindMask) >= kMessageKinds) return Drop::kUnknownKind;
  return Drop::kMalformed;
}

std::uint64_t TransportCounters::dropped_total() const {
  std::uint64_t n = 0;
  for (std::uint64_t d : dropped) n += d;
  return n;
}

}  // namespace kittengrad::live
