// kittengrad/rng.h — the seeded random source of the core.
//
// xoshiro256** seeded through SplitMix64, with our own distribution code: standard-library
// distributions differ between implementations, and a run must replay bit for bit on any
// machine. One root seed derives every stream: Rng::derive(root, "peer", i).
#pragma once

#include <cstdint>
#include <string_view>

namespace kittengrad {

// SplitMix64 step: also a good 64-bit mixer for hashing small integers.
[[nodiscard]] std::uint64_t splitmix64(std::uint64_t& state);
[[nodiscard]] std::uint64_t mix64(std::uint64_t x);

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 1);
  // A generator for one subsystem, independent of every other (name, index) pair.
  [[nodiscard]] static Rng derive(std::uint64_t root, std::string_view name,
                                  std::uint64_t index = 0);

  std::uint64_t next_u64();
  // Uniform in [0, n), n > 0, without modulo bias.
  std::uint64_t below(std::uint64_t n);
  // Uniform in [lo, hi], lo <= hi.
  std::int64_t range(std::int64_t lo, std::int64_t hi);
  // Uniform in [0, 1) with 53 random bits.
  double uniform01();
  // True with probability p.
  bool chance(double p);
  // Exponential with the given mean (inverse transform).
  double exponential(double mean);
  // Normal(0, 1) by Box-Muller.
  double normal();

 private:
  std::uint64_t s_[4];
};

}  // namespace kittengrad
