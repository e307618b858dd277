// Ring ids: 256-bit big-endian unsigned integers and clockwise intervals.
#include "kittengrad/ids.h"

#include "kittengrad/crypto.h"

namespace kittengrad {

RingId RingId::of_bytes(std::span<const std::uint8_t> data) {
  return RingId{sha256(data)};
}

RingId RingId::from_u64(std::uint64_t hi) {
  RingId id;
  for (int i = 0; i < 8; ++i) id.bytes[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
  return id;
}

bool RingId::from_hex(const std::string& hex, RingId* out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  RingId id;
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    id.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  *out = id;
  return true;
}

RingId RingId::plus_pow2(int bit) const {
  RingId out = *this;
  // Bit 0 is the least significant bit, which lives in the last byte.
  int byte = 31 - bit / 8;
  unsigned carry = 1u << (bit % 8);
  for (; byte >= 0 && carry != 0; --byte) {
    const unsigned sum = out.bytes[byte] + carry;
    out.bytes[byte] = static_cast<std::uint8_t>(sum & 0xff);
    carry = sum >> 8;
  }
  return out;  // a carry out of byte 0 wraps around the circle
}

std::uint64_t RingId::top64() const {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | bytes[i];
  return v;
}

double RingId::fraction() const {
  return static_cast<double>(top64()) / 18446744073709551616.0;
}

std::string RingId::hex() const { return to_hex(bytes); }

bool in_half_open(const RingId& x, const RingId& a, const RingId& b) {
  if (a < b) return a < x && x <= b;
  if (b < a) return a < x || x <= b;
  return true;  // (a, a] is the whole circle
}

bool in_open(const RingId& x, const RingId& a, const RingId& b) {
  if (a < b) return a < x && x < b;
  if (b < a) return a < x || x < b;
  return x != a;
}

int log2_distance(const RingId& a, const RingId& b) {
  // (b - a) mod 2^256, byte-wise with borrow, then the index of its highest set bit.
  std::array<std::uint8_t, 32> d{};
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int v = static_cast<int>(b.bytes[i]) - static_cast<int>(a.bytes[i]) - borrow;
    borrow = v < 0 ? 1 : 0;
    d[i] = static_cast<std::uint8_t>(v + (borrow ? 256 : 0));
  }
  for (int i = 0; i < 32; ++i) {
    if (d[i] == 0) continue;
    int bit = 7;
    while (!(d[i] >> bit & 1)) --bit;
    return (31 - i) * 8 + bit;
  }
  return -1;
}

}  // namespace kittengrad
