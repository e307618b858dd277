// rejoin_test.cc — a peer that crashes and comes back under its old ring id before its
// neighbours have noticed it was gone.
//
// Its predecessor still lists it as successor, so the join lookup (the successor of the
// peer's own id) is answered with a list that starts with the peer itself. Taking that
// list as is left the peer joined with no successor at all; its predecessor's next Notify
// then made the predecessor its successor, and stabilization walked back from there
// through every peer of the ring, one round trip per peer. All that time the peer ran
// anti-entropy with, and replicated its range to, peers far away, and its neighbours
// answered lookups of its range with those far peers: keys ended up on hundreds of peers
// of large rings, and acknowledged writes missed their responsible replicas.
#include <gtest/gtest.h>

#include <string>

#include "checkers.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

constexpr Time kSecond = kMicrosPerSecond;
constexpr Time kMs = kMicrosPerMs;

TEST(Rejoin, PeerBackBeforeItWasMissedTakesItsOwnSuccessors) {
  NetConfig config;
  config.seed = 41;
  TestNetwork net(config);
  EventChecker events(net);
  net.add_instant_ring(64);
  const std::size_t client = net.add_client();
  for (int i = 0; i < 40; ++i) {
    const Cid c = Cid::of_record("rejoin " + std::to_string(i));
    net.write(client, {net.make_update(c)}, net.up_slots()[static_cast<std::size_t>(i) % 64]);
  }
  net.run_for(20 * kSecond);

  const std::vector<std::size_t> ring = net.ring_order();
  const std::size_t p = ring[10];
  const RingId self = net.peer(p)->self().id;
  const RingId pred = net.peer(ring[9])->self().id;
  const RingId succ = net.peer(ring[11])->self().id;
  net.crash(p, /*disk_lost=*/false);
  // Back well within a stabilize interval and a request timeout: the predecessor still
  // names it as its successor when its join lookup arrives.
  net.run_for(100 * kMs);
  net.recover(p);

  // From the moment the peer has a successor, that successor lies in (self, succ]: never
  // behind it, never past its true successor (nobody joined in between).
  std::string wrong;
  net.set_peer_hook([&](std::size_t slot) {
    events.check(slot);
    if (slot != p || !wrong.empty()) return;
    const RingState ring_state = net.peer(p)->ring("default");
    if (!ring_state.joined || ring_state.successors.empty()) return;
    const RingId first = ring_state.successors.front().id;
    if (!in_half_open(first, self, succ)) {
      wrong = "t=" + std::to_string(net.now()) + " us: successor " + first.short_hex() +
              (first == pred ? " (its predecessor)" : "") + ", true successor " + succ.short_hex();
    }
  });
  net.run_for(60 * kSecond);
  EXPECT_TRUE(wrong.empty()) << wrong;
  const RingState after = net.peer(p)->ring("default");
  ASSERT_TRUE(after.joined);
  ASSERT_FALSE(after.successors.empty());
  EXPECT_EQ(after.successors.front().id, succ);
  // The rejoined peer's range is held by exactly its r successors again, nowhere else.
  CheckReport report = check_quiescent(net);
  report.merge(events.report());
  EXPECT_TRUE(report.ok()) << report.describe();
}

}  // namespace
}  // namespace kittengrad::testnet
