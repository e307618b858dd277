// kittengrad/real/live_admin.h — the operator's datagrams: `kittengrad stats` and `health`
// ask a peer daemon about itself, and the daemon answers without the protocol core.
//
// An admin datagram starts with its own kind byte, the codec's version with the kind
// kAdminKind, which no core message has (codec::decode refuses it as an unknown kind), so
// the transport tells the two apart by the first byte alone (is_admin). Then:
//   request: 0x00, req (varint), query (byte), first item (varint)
//   reply:   0x01, req (varint), query (byte), first item (varint), total items (varint),
//            item count (varint), items: name (varint length + bytes), type byte
//            (0: varint value, 1: string value), value
// A reply carries the items [first, first + count) of the `total` the peer has for the
// query, as many as fit in one datagram (paged_reply); the asker requests the next page
// from where the last ended. Item names are paths with '/' ("counters/timeouts",
// "ns/default/tables/writes"): namespace names cannot hold a '/', so a path splits back
// into a JSON tree unambiguously.
//
// decode_admin() has the codec's guarantees: it never throws, never reads past the end,
// reserves nothing the bytes do not justify, and refuses trailing bytes (kBadRequest with
// the field in the detail). The codec's fuzz target runs it on every input.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kittengrad/real/codec.h"
#include "kittengrad/result.h"

namespace kittengrad::admin {

inline constexpr std::uint8_t kAdminKind = codec::kKindMask;
static_assert(kAdminKind >= kMessageKinds, "the admin kind is none of the core's kinds");
inline constexpr std::uint8_t kAdminByte =
    static_cast<std::uint8_t>(codec::kWireVersion << codec::kVersionShift | kAdminKind);

// True iff the datagram claims to be an admin datagram (its first byte).
[[nodiscard]] inline bool is_admin(std::span<const std::uint8_t> bytes) {
  return !bytes.empty() && bytes[0] == kAdminByte;
}

enum class Query : std::uint8_t {
  kStats = 1,  // every counter, table size and transport counter, and the ring
  kRing = 2,   // the ring alone (health): self, predecessor, successors per namespace
};
inline constexpr std::uint8_t kQueryMax = 2;

struct Item {
  std::string name;
  std::variant<std::uint64_t, std::string> value;
  bool operator==(const Item&) const = default;
};

struct Request {
  std::uint64_t req = 0;
  Query query = Query::kStats;
  std::uint32_t first = 0;
  bool operator==(const Request&) const = default;
};

struct Reply {
  std::uint64_t req = 0;
  Query query = Query::kStats;
  std::uint32_t first = 0;
  std::uint32_t total = 0;
  std::vector<Item> items;
  bool operator==(const Reply&) const = default;
};

using Datagram = std::variant<Request, Reply>;

// The number an item of that name holds, if one does.
[[nodiscard]] std::optional<std::uint64_t> number_of(const std::vector<Item>& items, std::string_view name);

[[nodiscard]] std::vector<std::uint8_t> encode_admin(const Datagram& d);
[[nodiscard]] Result<Datagram> decode_admin(std::span<const std::uint8_t> bytes);

// The reply to `request` from all of the peer's items: those from request.first on that
// fit in `budget` bytes encoded (at least one, so paging always advances).
[[nodiscard]] Reply paged_reply(const Request& request, const std::vector<Item>& all,
                                std::size_t budget);

}  // namespace kittengrad::admin
