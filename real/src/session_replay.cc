// session_replay.cc — see session_replay.h.
#include "session_replay.h"

#include <algorithm>
#include <cassert>

namespace kittengrad::session {

bool ReplayWindow::fresh(std::uint64_t counter) const {
  assert(counter != UINT64_MAX);
  const std::uint64_t n = counter + 1;
  if (n > top_) return true;
  if (top_ - n > kWindow) return false;
  const std::uint64_t block = blocks_[(n / kBlockBits) & (kBlocks - 1)];
  return (block >> (n % kBlockBits) & 1) == 0;
}

void ReplayWindow::mark(std::uint64_t counter) {
  assert(fresh(counter));
  const std::uint64_t n = counter + 1;
  if (n > top_) {
    const std::uint64_t from = top_ / kBlockBits;
    const std::uint64_t steps = std::min<std::uint64_t>(n / kBlockBits - from, kBlocks);
    for (std::uint64_t i = 1; i <= steps; ++i) blocks_[(from + i) & (kBlocks - 1)] = 0;
    top_ = n;
  }
  blocks_[(n / kBlockBits) & (kBlocks - 1)] |= std::uint64_t{1} << (n % kBlockBits);
}

}  // namespace kittengrad::session
