// wire_util.h — private helpers shared by the core's sources: the size of an LEB128 varint
// (how the wire codec writes ids, heights and counts), zigzag for signed counts, and the
// `overloaded` visitor idiom.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kittengrad/overloaded.h"

namespace kittengrad::detail {

using kittengrad::Overloaded;

// Bytes of an unsigned LEB128 varint.
[[nodiscard]] constexpr std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// A signed count as the codec writes it: zigzag (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...), so
// small negative counts stay small; defined for every value, INT64_MIN included.
[[nodiscard]] constexpr std::uint64_t zigzag(std::int64_t v) {
  const auto n = static_cast<std::uint64_t>(v);
  return (n << 1) ^ (v < 0 ? UINT64_MAX : 0);
}


}  // namespace kittengrad::detail
