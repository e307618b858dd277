// kittengrad/real/live_control_wire.h — the control datagrams that `kittengrad live` (the
// runner) sends to the peers of a run to inject network faults at their transport, and
// their acknowledgements. No sockets here (the fuzz build has it); live_control.h has the
// hosts of a run and the runner's sending side.
//
// A control datagram starts with its own kind byte, the codec's version with the kind
// kControlKind (62), which neither a core message nor an admin datagram (63) has, and no
// session datagram either (their first byte is 1..4). Then:
//   command: 0x00, seq (varint), command tag (byte), body, signature [64]
//     tag 1 partition: host count (varint), host indices (varints, strictly increasing,
//                      each < kRunHostsMax)
//     tag 2 heal:      nothing
//     tag 3 loss:      rate (u64, the IEEE-754 bits of a double in [0, 1]),
//                      duration_s (u64, the bits of a double in [0, kLossSecondsMax])
//   ack:     0x01, seq (varint)
// The signature is Ed25519 by the runner's key over
//   "kittengrad control v1" || varint length || the target peer's listen text || the
//   command's bytes without the signature,
// so a command signed for one peer is refused by every other, and an old one is refused
// by its sequence number (the peer obeys only a seq above the last it obeyed).
//
// decode_control() has the codec's guarantees: it never throws, never reads past the end,
// reserves nothing the bytes do not justify, refuses trailing bytes, and what it accepts
// encodes back to the same bytes (kBadRequest with the field in the detail otherwise).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/real/codec.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

inline constexpr std::uint8_t kControlKind = codec::kKindMask - 1;
static_assert(kControlKind >= kMessageKinds, "the control kind is none of the core's kinds");
inline constexpr std::uint8_t kControlByte =
    static_cast<std::uint8_t>(codec::kWireVersion << codec::kVersionShift | kControlKind);

// Hosts of a run: 127.77.0.1 .. 127.77.255.254 (live_control.h).
inline constexpr std::size_t kRunHostsMax = 65534;
// A loss burst longer than a day is a mistake, not a scenario.
inline constexpr double kLossSecondsMax = 86400;

// True iff the datagram claims to be a control datagram (its first byte).
[[nodiscard]] inline bool is_control(std::span<const std::uint8_t> bytes) {
  return !bytes.empty() && bytes[0] == kControlByte;
}

// The peer drops every datagram between its side and the other: the hosts in `group` are
// one side, every other address (inside the run's block or not) the other.
struct Partition {
  std::vector<std::uint32_t> group;  // strictly increasing host indices
  bool operator==(const Partition&) const = default;
};
// Ends the partition.
struct Heal {
  bool operator==(const Heal&) const = default;
};
// For duration_s from receipt, each datagram the peer sends is also dropped with
// probability `rate` (besides the run's base loss). A later Loss replaces it.
struct Loss {
  double rate = 0;
  double duration_s = 0;
  bool operator==(const Loss&) const = default;
};
using ControlCommand = std::variant<Partition, Heal, Loss>;

// "partition", "heal", "loss".
[[nodiscard]] const char* command_name(const ControlCommand& c);

struct ControlOrder {
  std::uint64_t seq = 0;
  ControlCommand command;
  Signature signature{};
  bool operator==(const ControlOrder&) const = default;
};
struct ControlAck {
  std::uint64_t seq = 0;
  bool operator==(const ControlAck&) const = default;
};
using ControlDatagram = std::variant<ControlOrder, ControlAck>;

[[nodiscard]] std::vector<std::uint8_t> encode_control(const ControlDatagram& d);
[[nodiscard]] Result<ControlDatagram> decode_control(std::span<const std::uint8_t> bytes);

// The order for the peer listening at `listen_text` (its config's `listen`, as written),
// signed by the runner.
[[nodiscard]] ControlOrder sign_order(const std::string& listen_text, std::uint64_t seq,
                                      const ControlCommand& command, const KeyPair& runner);
// True iff `order` carries the runner's signature for the peer listening at `listen_text`.
[[nodiscard]] bool verify_order(const ControlOrder& order, const std::string& listen_text,
                                const PublicKey& runner);

}  // namespace kittengrad::live
