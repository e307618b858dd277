// join_bootstrap_test.cc — a joining peer whose bootstrap leaves before the join is done.
//
// Found by the randomized suite (seed 60): a peer joined through a peer that left two
// seconds later. The join lookup failed once (the key's predecessor's answer was lost,
// and every other peer named that predecessor), and each new attempt went to the
// bootstrap alone, which had left: the peer never joined. The peers that answered the
// first lookup are as good a way into the ring as the bootstrap.
#include <gtest/gtest.h>

#include <algorithm>

#include "checkers.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

constexpr Time kSecond = kMicrosPerSecond;

TEST(JoinBootstrap, JoinerWhoseBootstrapLeftJoinsThroughPeersThatAnswered) {
  NetConfig config;
  config.seed = 60;
  TestNetwork net(config);
  EventChecker events(net);
  net.add_instant_ring(32);

  // The bootstrap lies half a ring from the joiner's place, so the lookup has hops to
  // make after the bootstrap's answer.
  const std::vector<std::size_t> ring = net.ring_order();
  const std::size_t bootstrap = ring[0];
  const std::size_t joiner = net.add_joining_peer(bootstrap);
  const RingId id = net.peer(joiner)->self().id;
  // The joiner's predecessor-to-be, cut off from everyone: each peer names it as the
  // next hop, none can answer for the joiner's id until its neighbours drop it, and the
  // first join lookup fails.
  std::size_t pred = ring.back();
  for (std::size_t s : ring) {
    if (net.peer(s)->self().id < id) pred = s;
  }
  ASSERT_NE(pred, bootstrap) << "the scenario needs the bootstrap away from the joiner";
  net.partition({{pred}});
  net.run_for(1 * kSecond);  // the bootstrap answered the first hop of the join lookup
  net.leave(bootstrap);
  net.run_for(20 * kSecond);
  net.heal();
  net.run_for(60 * kSecond);

  const RingState state = net.peer(joiner)->ring("default");
  EXPECT_TRUE(state.joined) << "the joiner kept asking the bootstrap that had left";
  CheckReport report = check_quiescent(net);
  report.merge(events.report());
  EXPECT_TRUE(report.ok()) << report.describe();
}

}  // namespace
}  // namespace kittengrad::testnet
