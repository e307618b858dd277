// session_replay.h — the sliding window of transport counters already received (RFC 6479,
// as WireGuard's counter_validate does it, with 2048 bits).
//
// The bits form a ring of 64-bit blocks; moving the window forward clears the blocks it
// enters, so an advance costs at most one pass over the ring whatever the jump. The ring
// keeps one block as slack: counters up to kWindow behind the highest one seen are judged
// exactly, older ones are refused. fresh() and mark() are apart so that a datagram whose
// tag fails never moves the window.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace kittengrad::session {

class ReplayWindow {
 public:
  static constexpr std::size_t kBits = 2048;
  static constexpr std::size_t kBlockBits = 64;
  static constexpr std::size_t kBlocks = kBits / kBlockBits;
  static constexpr std::uint64_t kWindow = kBits - kBlockBits;
  static_assert((kBlocks & (kBlocks - 1)) == 0, "the ring index is a mask");

  // True iff `counter` was not marked and is at most kWindow behind the highest marked.
  // REQUIRES: counter < UINT64_MAX.
  [[nodiscard]] bool fresh(std::uint64_t counter) const;
  // Records `counter`. REQUIRES: fresh(counter).
  void mark(std::uint64_t counter);

 private:
  // Counters are stored plus one, so that 0 means "nothing received yet".
  std::uint64_t top_ = 0;  // the highest counter marked, plus one
  std::array<std::uint64_t, kBlocks> blocks_{};
};

}  // namespace kittengrad::session
