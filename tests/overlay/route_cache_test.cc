// The client's route cache (ClientConfig::route_cache_max): ops on keys inside an arc a
// route answer showed skip the route; when the ring changes under the cache (a peer joins
// inside a remembered arc, another crashes), wrong_peer answers and timeouts make the
// client forget the arc, and what users read is still judged by the history checker.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "checkers.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

struct Counts {
  std::size_t routes = 0;
  std::size_t writes = 0;
};

NetConfig cached(std::uint64_t seed, std::size_t cache) {
  NetConfig c;
  c.seed = seed;
  c.repro = "./build/tests/route_cache_test";
  c.client.route_cache_max = cache;
  return c;
}

// 400 inserts of fresh canonicals, one every 20 ms, through one gateway.
Counts write_many(TestNetwork& net, std::size_t client, std::size_t from) {
  Counts counts;
  net.core().set_tamper([&counts](Address, Address, Message& m) {
    counts.routes += std::holds_alternative<RouteRequest>(m.body);
    counts.writes += std::holds_alternative<WriteRequest>(m.body);
  });
  for (std::size_t i = from; i < from + 400; ++i) {
    const Cid c = Cid::of_record("cached " + std::to_string(i));
    net.write(client, {net.make_update(c)}, net.ring_order()[0]);
    net.run_for(20 * kMicrosPerMs);
  }
  net.run_for(10 * kMicrosPerSecond);
  net.core().set_tamper(nullptr);
  return counts;
}

TEST(RouteCache, ManyKeysRouteOnlyAFewTimes) {
  TestNetwork none(cached(3, 0));
  none.add_instant_ring(16);
  const Counts without = write_many(none, none.add_client(), 0);
  TestNetwork net(cached(3, 1024));
  net.add_instant_ring(16);
  const Counts with = write_many(net, net.add_client(), 0);
  std::printf("400 writes on 16 peers: %zu routes without the cache, %zu with it\n",
              without.routes, with.routes);
  EXPECT_EQ(without.routes, 400u);
  EXPECT_LT(with.routes, 200u) << "the cache should spare most routes of 400 keys on 16 peers";
  for (TestNetwork* n : {&none, &net}) {
    std::size_t ok = 0;
    for (const auto& [id, rec] : n->ops()) ok += rec.done && rec.result.error == ErrorCode::kOk;
    EXPECT_EQ(ok, 400u);
    CheckReport report = check_quiescent(*n);
    EXPECT_TRUE(report.ok()) << report.describe();
  }
}

TEST(RouteCache, RingChangesUnderTheCacheLoseNothing) {
  TestNetwork net(cached(5, 1024));
  EventChecker events(net);
  net.add_instant_ring(12);
  const std::size_t client = net.add_client();
  (void)write_many(net, client, 0);  // the cache fills
  // The ring changes: two peers join (inside remembered arcs), one crashes.
  net.add_joining_peer(net.ring_order()[1]);
  net.add_joining_peer(net.ring_order()[5]);
  net.crash(net.ring_order()[7], false);
  net.run_for(30 * kMicrosPerSecond);
  (void)write_many(net, client, 400);
  net.run_for(60 * kMicrosPerSecond);
  std::size_t ok = 0, done = 0;
  for (const auto& [id, rec] : net.ops()) {
    done += rec.done;
    ok += rec.done && rec.result.error == ErrorCode::kOk;
  }
  EXPECT_EQ(done, net.ops().size());
  EXPECT_GE(ok, 790u) << "writes should go through a changed ring: " << ok << " of 800";
  CheckReport report = check_quiescent(net);
  report.merge(events.report());
  EXPECT_TRUE(report.ok()) << report.describe();
}

}  // namespace
}  // namespace kittengrad::testnet
