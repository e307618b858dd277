// session_random.h — the table's random stream: ChaCha20 keyed with the table's seed, a
// fresh nonce per call. Ephemeral keys come from it, so it must be a cryptographic
// generator (the core's xoshiro Rng would let anyone who sees a few sender indices
// predict the ephemeral secrets); seeded, so that a test replays a run exactly.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace kittengrad::session {

class SessionRandom {
 public:
  explicit SessionRandom(const std::array<std::uint8_t, 32>& seed) : key_(seed) {}
  ~SessionRandom();
  SessionRandom(const SessionRandom&) = delete;
  SessionRandom& operator=(const SessionRandom&) = delete;

  void fill(std::span<std::uint8_t> out);
  template <std::size_t N>
  [[nodiscard]] std::array<std::uint8_t, N> bytes() {
    std::array<std::uint8_t, N> a;
    fill(a);
    return a;
  }
  [[nodiscard]] std::uint32_t u32();

 private:
  std::array<std::uint8_t, 32> key_;
  std::uint64_t calls_ = 0;  // the nonce: never repeats under one key
};

}  // namespace kittengrad::session
