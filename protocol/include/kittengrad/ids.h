// kittengrad/ids.h — 256-bit positions on the ring and interval arithmetic on the circle.
//
// A RingId is a big-endian 256-bit unsigned integer: the SHA-256 of a peer's public key or
// of a canonical's CID. Comparison is numeric. Intervals are taken clockwise, so (a, b]
// with b < a wraps past zero, and (a, a] is the whole circle (a single peer owns everything).
//
//   RingId k = RingId::of_bytes(cid_bytes);
//   if (in_half_open(k, pred.id, self.id)) { /* self is the successor of k */ }
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>

namespace kittengrad {

struct RingId {
  std::array<std::uint8_t, 32> bytes{};

  // SHA-256 of the given bytes: the position of a public key or a CID on the ring.
  [[nodiscard]] static RingId of_bytes(std::span<const std::uint8_t> data);
  // A RingId whose top 64 bits are `hi` and the rest zero (tests and instant bootstrap).
  [[nodiscard]] static RingId from_u64(std::uint64_t hi);
  // Parses 64 hex digits; returns false on anything else.
  [[nodiscard]] static bool from_hex(const std::string& hex, RingId* out);

  // this + 2^bit (mod 2^256), bit in [0, 255]: the start of finger `bit`.
  [[nodiscard]] RingId plus_pow2(int bit) const;
  // The top 64 bits, for bucketing and for plots.
  [[nodiscard]] std::uint64_t top64() const;
  // Position as a fraction of the circle in [0, 1): for plots and metrics only.
  [[nodiscard]] double fraction() const;
  [[nodiscard]] std::string hex() const;
  [[nodiscard]] std::string short_hex() const { return hex().substr(0, 8); }

  auto operator<=>(const RingId&) const = default;
  bool operator==(const RingId&) const = default;
};

// x in (a, b] clockwise. (a, a] is the whole circle.
[[nodiscard]] bool in_half_open(const RingId& x, const RingId& a, const RingId& b);
// x in (a, b) clockwise. (a, a) is the whole circle minus a.
[[nodiscard]] bool in_open(const RingId& x, const RingId& a, const RingId& b);
// floor(log2((b - a) mod 2^256)), or -1 when a == b: the lowest finger index that can
// point past b.
[[nodiscard]] int log2_distance(const RingId& a, const RingId& b);

struct RingIdHash {
  std::size_t operator()(const RingId& id) const noexcept {
    return static_cast<std::size_t>(id.top64());
  }
};

}  // namespace kittengrad
