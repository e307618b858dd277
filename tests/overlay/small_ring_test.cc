// Rings smaller than the replication factor and rings that grow from one peer: a single
// peer owns everything, two peers split it, a third makes r = 3 whole; every write is
// acknowledged and every invariant holds at quiescence.
#include <gtest/gtest.h>

#include "checkers.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

std::size_t acked(const TestNetwork& net) {
  std::size_t n = 0;
  for (const auto& [id, op] : net.ops()) n += op.done && op.result.error == ErrorCode::kOk;
  return n;
}

void write_some(TestNetwork& net, std::size_t client, int count, const std::string& tag) {
  const std::vector<std::size_t> up = net.up_slots();
  for (int i = 0; i < count; ++i) {
    const Cid c = Cid::of_record(tag + std::to_string(i));
    net.write(client, {net.make_update(c)}, up[static_cast<std::size_t>(i) % up.size()]);
  }
}

TEST(SmallRing, OnePeerOwnsEverything) {
  NetConfig config;
  config.seed = 21;
  TestNetwork net(config);
  const std::size_t only = net.add_first_peer();
  const std::size_t client = net.add_client();
  net.run_for(2 * kMicrosPerSecond);
  write_some(net, client, 20, "one ");
  net.run_for(20 * kMicrosPerSecond);
  EXPECT_EQ(acked(net), 20u) << "W = 2 is capped by the single peer there is";
  EXPECT_EQ(net.peer(only)->store("default")->key_count(), 20u);
  const CheckReport report = check_quiescent(net);
  EXPECT_TRUE(report.ok()) << report.describe();
}

TEST(SmallRing, GrowsFromOneToFivePeersByJoins) {
  NetConfig config;
  config.seed = 22;
  TestNetwork net(config);
  EventChecker events(net);
  const std::size_t first = net.add_first_peer();
  const std::size_t client = net.add_client();
  net.run_for(2 * kMicrosPerSecond);
  write_some(net, client, 10, "grow 1 ");
  net.run_for(10 * kMicrosPerSecond);
  for (int n = 2; n <= 5; ++n) {
    net.add_joining_peer(first);
    net.run_for(40 * kMicrosPerSecond);
    write_some(net, client, 10, "grow " + std::to_string(n) + " ");
    net.run_for(20 * kMicrosPerSecond);
    CheckReport report = check_quiescent(net);
    report.merge(events.report());
    EXPECT_TRUE(report.ok()) << n << " peers: " << report.describe();
  }
  EXPECT_EQ(acked(net), 50u);
  // With 5 peers and r = 3, each of the 50 keys lives on exactly 3 peers.
  std::size_t held = 0;
  for (std::size_t s : net.up_slots()) held += net.peer(s)->store("default")->key_count();
  EXPECT_EQ(held, 150u);
}

TEST(SmallRing, TwoPeersEachHoldEverythingAtReplicationThree) {
  NetConfig config;
  config.seed = 23;
  TestNetwork net(config);
  net.add_instant_ring(2);
  const std::size_t client = net.add_client();
  write_some(net, client, 30, "two ");
  net.run_for(40 * kMicrosPerSecond);
  EXPECT_EQ(acked(net), 30u);
  EXPECT_EQ(net.peer(0)->store("default")->key_count(), 30u);
  EXPECT_EQ(net.peer(1)->store("default")->key_count(), 30u);
  const CheckReport report = check_quiescent(net);
  EXPECT_TRUE(report.ok()) << report.describe();
}

}  // namespace
}  // namespace kittengrad::testnet
