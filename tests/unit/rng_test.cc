// The random streams of the core are fixed numbers, the same with any standard library:
// Rng::derive's output and a peer's per-namespace stream (namespace_rng) are pinned here,
// and a peer's first timers are shown to come from that stream. A change of derivation
// (std::hash, whose values differ between libstdc++ and libc++, was used once) fails this.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/env.h"
#include "kittengrad/peer.h"
#include "kittengrad/rng.h"

namespace kittengrad {
namespace {

std::vector<std::uint64_t> first(Rng rng, int n) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(rng.next_u64());
  return out;
}

// The expected values were computed apart from this code, by a transcription of
// SplitMix64, FNV-1a and xoshiro256** into Python's arbitrary-precision integers.
TEST(RngStreams, DeriveIsPinned) {
  EXPECT_EQ(first(Rng::derive(1, "peer", 0), 3),
            (std::vector<std::uint64_t>{0x8ee6e0b0d4d83052ull, 0x256570e755546a6eull,
                                        0xb1997263a6071eabull}));
}

TEST(RngStreams, NamespaceStreamIsPinned) {
  EXPECT_EQ(first(namespace_rng(7, "default"), 3),
            (std::vector<std::uint64_t>{0xdfce725a33ecabaeull, 0xac2d044131aaa837ull,
                                        0x51c73e083d5c22f0ull}));
  EXPECT_EQ(first(namespace_rng(7, "other"), 1),
            (std::vector<std::uint64_t>{0x29e6b5fb65629505ull}));
  EXPECT_EQ(first(namespace_rng(8, "default"), 1),
            (std::vector<std::uint64_t>{0x912a11618382f0f5ull}));
}

TEST(RngStreams, NamespaceStreamIsAnyDerivedOne) {
  // Independent of every other (name, index) pair of the same root, as derive promises.
  EXPECT_NE(first(namespace_rng(7, "default"), 1), first(Rng::derive(7, "default"), 1));
  EXPECT_NE(first(namespace_rng(7, "default"), 1), first(Rng(7), 1));
}

class NoNetwork : public Network {
 public:
  void send(Address, Message) override {}
};
class FixedClock : public Clock {
 public:
  Time now() const override { return 0; }
  std::int64_t wall_ms() const override { return 0; }
};

// A lone peer starting a ring draws each periodic task's first run uniformly in its
// interval, in this order, from the namespace's stream. It then wakes at once to set up
// its anti-entropy index; that wakeup also runs each task due within an eighth of its
// interval (and schedules it a whole interval on). Its next wakeup is the earliest task.
Time expected_first_wakeup(const PeerConfig& c, std::uint64_t seed, const std::string& ns) {
  Rng rng = namespace_rng(seed, ns);
  auto draw = [&rng](Time interval) {
    const auto first = static_cast<Time>(rng.below(static_cast<std::uint64_t>(interval)));
    return first <= interval / 8 ? interval : first;
  };
  const Time stabilize = draw(c.stabilize_interval);
  const Time check_pred = draw(c.check_predecessor_interval);
  const Time fix_fingers = draw(c.fix_fingers_interval);
  const Time anti_entropy = draw(c.anti_entropy_interval);
  return std::min({stabilize, check_pred, fix_fingers, anti_entropy});
}

TEST(RngStreams, APeersTimersComeFromItsNamespaceStream) {
  FixedClock clock;
  NoNetwork network;
  const PeerConfig config;
  std::vector<Time> wakeups;
  for (const std::uint64_t seed : {7ull, 8ull, 9ull}) {
    for (const std::string ns : {"default", "other"}) {
      Peer peer(config, keypair_from_u64(seed), 1, Env{&clock, &network, nullptr}, seed);
      peer.serve(ns);
      peer.create_ring(ns);
      // The anti-entropy index is set up in slices, each a wakeup at once; then come the
      // periodic tasks.
      for (int slice = 0; slice < 16 && peer.next_wakeup() == std::optional<Time>(0); ++slice)
        peer.on_wakeup();
      const std::optional<Time> wakeup = peer.next_wakeup();
      ASSERT_TRUE(wakeup.has_value());
      EXPECT_EQ(*wakeup, expected_first_wakeup(config, seed, ns)) << "seed " << seed << ", " << ns;
      wakeups.push_back(*wakeup);
    }
  }
  // Not a constant: the six draws differ, so the comparison above can fail.
  std::sort(wakeups.begin(), wakeups.end());
  EXPECT_EQ(std::unique(wakeups.begin(), wakeups.end()), wakeups.end());
}

}  // namespace
}  // namespace kittengrad
