// testnet_test.cc — the test network's engine on its own, with a probe endpoint instead of
// a peer: determinism, latency, loss, duplication, partitions, storage and wakeups; and the
// pure parts of the checkers (successor order, report format).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "checkers.h"
#include "netcore.h"

namespace kittengrad::testnet {
namespace {

// A node that records everything the engine hands it.
class Probe final : public Endpoint {
 public:
  struct Got {
    Time at = 0;
    Address from = 0;
    std::uint64_t req = 0;
    bool operator==(const Got&) const = default;
  };

  explicit Probe(NetCore& core) : core_(core) {}
  void on_datagram(Address from, const Message& m) override {
    const auto* ping = std::get_if<Ping>(&m.body);
    got.push_back(Got{core_.now(), from, ping == nullptr ? 0 : ping->req});
  }
  void on_persisted(std::uint64_t token) override { persisted.push_back(token); }
  void on_wakeup() override {
    wakeups.push_back(core_.now());
    wake_at.reset();
  }
  std::optional<Time> next_wakeup() const override { return wake_at; }

  std::vector<Got> got;
  std::vector<std::uint64_t> persisted;
  std::vector<Time> wakeups;
  std::optional<Time> wake_at;

 private:
  NetCore& core_;
};

constexpr Time kMs = kMicrosPerMs;

// An engine with `n` peer nodes, each with a probe attached.
struct Rig {
  explicit Rig(NetConfig cfg, std::size_t n = 2) : core(std::move(cfg)) {
    for (std::size_t i = 0; i < n; ++i) {
      const Address a = core.add_peer_node();
      probes.push_back(std::make_unique<Probe>(core));
      core.attach(a, probes.back().get());
    }
  }
  void send(Address from, Address to, std::uint64_t req) {
    core.node_env(from).network->send(to, Message{"default", Ping{req}});
  }
  Probe& probe(std::size_t i) { return *probes[i]; }

  NetCore core;
  std::vector<std::unique_ptr<Probe>> probes;
};

NetConfig noisy(std::uint64_t seed) {
  NetConfig cfg;
  cfg.seed = seed;
  cfg.latency_min = 1 * kMs;
  cfg.latency_max = 50 * kMs;
  cfg.loss = 0.2;
  cfg.duplicate = 0.2;
  return cfg;
}

// 500 pings from node 0 to node 1, one every 100 us; returns what node 1 received.
std::vector<Probe::Got> ping_run(const NetConfig& cfg, std::uint64_t* fingerprint) {
  Rig rig(cfg);
  for (std::uint64_t i = 0; i < 500; ++i) {
    rig.core.at(static_cast<Time>(i) * 100, [&rig, i] { rig.send(0, 1, i); });
  }
  rig.core.run_until(10 * kMicrosPerSecond);
  *fingerprint = rig.core.fingerprint();
  return rig.probe(1).got;
}

TEST(NetCore, SameSeedSameRun) {
  std::uint64_t fp1 = 0, fp2 = 0, fp3 = 0;
  const auto a = ping_run(noisy(7), &fp1);
  const auto b = ping_run(noisy(7), &fp2);
  const auto c = ping_run(noisy(8), &fp3);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(fp1, fp2);
  EXPECT_NE(a, c);
  EXPECT_NE(fp1, fp3);
}

TEST(NetCore, UniformLatencyStaysInBoundsAndReorders) {
  NetConfig cfg;
  cfg.seed = 3;
  cfg.latency_min = 5 * kMs;
  cfg.latency_max = 50 * kMs;
  Rig rig(cfg);
  // The request id is the send time, so each delivery knows its own latency.
  for (Time t = 0; t < 1000 * kMs; t += kMs) {
    rig.core.at(t, [&rig, t] { rig.send(0, 1, static_cast<std::uint64_t>(t)); });
  }
  rig.core.run_until(2 * kMicrosPerSecond);
  const auto& got = rig.probe(1).got;
  ASSERT_EQ(got.size(), 1000u);
  std::size_t reordered = 0;
  Time lat_min = kNever, lat_max = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Time latency = got[i].at - static_cast<Time>(got[i].req);
    lat_min = std::min(lat_min, latency);
    lat_max = std::max(lat_max, latency);
    if (i > 0 && got[i].req < got[i - 1].req) ++reordered;
  }
  EXPECT_GE(lat_min, 5 * kMs);
  EXPECT_LE(lat_max, 50 * kMs);
  EXPECT_LT(lat_min, 7 * kMs);  // the range is really used, not a constant
  EXPECT_GT(lat_max, 48 * kMs);
  EXPECT_GT(reordered, 100u);  // independent delays reorder datagrams
}

TEST(NetCore, LognormalLatencyHasItsMedianAndIsClamped) {
  NetConfig cfg;
  cfg.seed = 4;
  cfg.latency_model = LatencyModel::kLogNormal;
  cfg.latency_median = 30 * kMs;
  cfg.latency_sigma = 0.6;
  cfg.latency_min = 1 * kMs;
  cfg.latency_max = 100 * kMs;
  NetCore core(cfg);
  std::vector<Time> samples;
  for (int i = 0; i < 20001; ++i) samples.push_back(core.sample_latency());
  std::sort(samples.begin(), samples.end());
  const Time median = samples[samples.size() / 2];
  EXPECT_GT(median, 28 * kMs);
  EXPECT_LT(median, 32 * kMs);
  EXPECT_GE(samples.front(), 1 * kMs);
  EXPECT_EQ(samples.back(), 100 * kMs);  // exp(0.6 * 2.3) > 3.3: the clamp is reached
}

TEST(NetCore, LossAndDuplicationRates) {
  NetConfig cfg;
  cfg.seed = 5;
  cfg.loss = 0.3;
  Rig lossy(cfg);
  for (std::uint64_t i = 0; i < 10000; ++i) lossy.send(0, 1, i);
  lossy.core.run_until(kMicrosPerSecond);
  const double delivered = static_cast<double>(lossy.probe(1).got.size()) / 10000;
  EXPECT_NEAR(delivered, 0.7, 0.03);
  EXPECT_EQ(lossy.core.metrics().dropped_loss + lossy.probe(1).got.size(), 10000u);

  cfg.loss = 0;
  cfg.duplicate = 0.25;
  Rig dup(cfg);
  for (std::uint64_t i = 0; i < 10000; ++i) dup.send(0, 1, i);
  dup.core.run_until(kMicrosPerSecond);
  const auto& got = dup.probe(1).got;
  EXPECT_EQ(got.size(), 10000u + dup.core.metrics().duplicated);
  EXPECT_NEAR(static_cast<double>(dup.core.metrics().duplicated) / 10000, 0.25, 0.03);
  std::vector<std::uint64_t> reqs;
  for (const auto& g : got) reqs.push_back(g.req);
  std::sort(reqs.begin(), reqs.end());
  EXPECT_EQ(std::unique(reqs.begin(), reqs.end()) - reqs.begin(), 10000);  // copies, not new
}

TEST(NetCore, MetricsCountByKind) {
  Rig rig(NetConfig{});
  rig.send(0, 1, 1);
  rig.send(0, 1, 2);
  rig.core.node_env(1).network->send(0, Message{"default", GetNeighbours{3}});
  rig.core.run_until(kMicrosPerSecond);
  const NetMetrics& m = rig.core.metrics();
  const Message ping{"default", Ping{1}};
  const std::size_t ping_kind = message_kind_index(ping.body);
  EXPECT_EQ(m.sent_messages[ping_kind], 2u);
  EXPECT_EQ(m.sent_bytes[ping_kind], 2 * wire_size(ping));
  EXPECT_EQ(m.messages_total, 3u);
  EXPECT_EQ(m.delivered, 3u);
  EXPECT_NE(m.describe().find(message_kind_name(ping_kind)), std::string::npos);
}

TEST(NetCore, PartitionsDropCrossGroupDatagrams) {
  Rig rig(NetConfig{}, 4);
  const Address client = rig.core.add_client_node();
  Probe client_probe(rig.core);
  rig.core.attach(client, &client_probe);
  rig.core.partition({{0, 1}, {2, 3}});
  rig.send(0, 1, 1);                                                        // same group
  rig.send(0, 2, 2);                                                        // across
  rig.send(3, 0, 3);                                                        // across
  rig.send(2, 3, 4);                                                        // same group
  rig.core.node_env(client).network->send(2, Message{"default", Ping{5}});  // clients reach all
  rig.send(2, client, 6);
  rig.core.run_until(kMicrosPerSecond);
  EXPECT_EQ(rig.probe(1).got.size(), 1u);
  EXPECT_TRUE(rig.probe(0).got.empty());
  ASSERT_EQ(rig.probe(2).got.size(), 1u);
  EXPECT_EQ(rig.probe(2).got[0].from, client);
  EXPECT_EQ(rig.probe(3).got.size(), 1u);
  EXPECT_EQ(client_probe.got.size(), 1u);
  EXPECT_EQ(rig.core.metrics().dropped_partition, 2u);

  rig.core.partition({{0}});  // everyone else is in the group of the unlisted
  rig.send(1, 2, 7);
  rig.send(1, 0, 8);
  rig.core.run_until(2 * kMicrosPerSecond);
  EXPECT_EQ(rig.probe(2).got.size(), 2u);
  EXPECT_TRUE(rig.probe(0).got.empty());

  rig.core.heal();
  rig.send(3, 0, 9);
  rig.core.run_until(3 * kMicrosPerSecond);
  EXPECT_EQ(rig.probe(0).got.size(), 1u);
}

std::vector<StorageRecord> marks(std::uint64_t from, std::uint64_t count) {
  std::vector<StorageRecord> records;
  for (std::uint64_t h = from; h < from + count; ++h) {
    records.push_back(StorageRecord{"default", NeighbourMark{RingId::from_u64(h), h}});
  }
  return records;
}

std::vector<std::uint64_t> heights(const std::vector<StorageRecord>& records) {
  std::vector<std::uint64_t> out;
  for (const auto& r : records) out.push_back(std::get<NeighbourMark>(r.item).height);
  return out;
}

TEST(NetCore, StorageCompletesInOrder) {
  NetConfig cfg;
  cfg.storage_latency_min = 100;
  cfg.storage_latency_max = 5 * kMs;
  Rig rig(cfg, 1);
  Storage* disk = rig.core.node_env(0).storage;
  for (std::uint64_t call = 0; call < 50; ++call) disk->persist(marks(call * 2, 2), 100 + call);
  EXPECT_TRUE(rig.core.durable(0).empty());  // nothing is durable at once
  rig.core.run_until(kMicrosPerSecond);
  std::vector<std::uint64_t> want_tokens, want_heights;
  for (std::uint64_t call = 0; call < 50; ++call) want_tokens.push_back(100 + call);
  for (std::uint64_t h = 0; h < 100; ++h) want_heights.push_back(h);
  EXPECT_EQ(rig.probe(0).persisted, want_tokens);
  EXPECT_EQ(heights(rig.core.durable(0)), want_heights);
  EXPECT_EQ(rig.core.metrics().records_persisted, 100u);
}

TEST(NetCore, CrashDropsWritesNotYetDurable) {
  NetConfig cfg;
  cfg.storage_latency_min = 1 * kMs;
  cfg.storage_latency_max = 1 * kMs;
  cfg.crash_keeps_unsynced = 0;  // the harshest disk: nothing unsynced survives
  Rig rig(cfg, 1);
  Storage* disk = rig.core.node_env(0).storage;
  disk->persist(marks(0, 3), 1);
  rig.core.run_until(2 * kMs);  // the first call is durable
  disk->persist(marks(3, 3), 2);
  rig.core.run_until(2 * kMs + 500);
  rig.core.crash(0, /*disk_lost=*/false);
  EXPECT_FALSE(rig.core.is_up(0));
  EXPECT_EQ(heights(rig.core.durable(0)), (std::vector<std::uint64_t>{0, 1, 2}));

  Probe reborn(rig.core);
  rig.core.attach(0, &reborn);
  rig.core.run_until(kMicrosPerSecond);
  EXPECT_TRUE(reborn.persisted.empty());  // the torn write never completes
  EXPECT_EQ(rig.core.durable(0).size(), 3u);

  rig.core.crash(0, /*disk_lost=*/true);
  EXPECT_TRUE(rig.core.durable(0).empty());
}

TEST(NetCore, CrashMayKeepAPrefixOfUnsyncedWrites) {
  NetConfig cfg;
  cfg.storage_latency_min = 1 * kMs;
  cfg.storage_latency_max = 1 * kMs;
  cfg.crash_keeps_unsynced = 1;  // everything in flight reached the disk
  Rig rig(cfg, 1);
  Storage* disk = rig.core.node_env(0).storage;
  disk->persist(marks(0, 2), 1);
  disk->persist(marks(2, 2), 2);
  rig.core.crash(0, false);
  EXPECT_EQ(heights(rig.core.durable(0)), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(rig.probe(0).persisted.empty());
}

TEST(NetCore, CrashedNodesReceiveNothing) {
  NetConfig cfg;
  cfg.latency_min = 5 * kMs;
  cfg.latency_max = 5 * kMs;
  Rig rig(cfg);
  rig.send(0, 1, 1);
  rig.core.run_until(1 * kMs);
  rig.core.crash(1, false);
  rig.core.run_until(10 * kMs);
  EXPECT_TRUE(rig.probe(1).got.empty());
  EXPECT_EQ(rig.core.metrics().dropped_dead, 1u);
  rig.core.attach(1, &rig.probe(1));
  rig.send(0, 1, 2);
  rig.send(0, 99, 3);  // no such node
  rig.core.run_until(20 * kMs);
  ASSERT_EQ(rig.probe(1).got.size(), 1u);
  EXPECT_EQ(rig.probe(1).got[0].req, 2u);
  EXPECT_EQ(rig.core.metrics().dropped_dead, 2u);
}

TEST(NetCore, WakeupsComeOnTimeAndStaleOnesAreIgnored) {
  Rig rig(NetConfig{}, 1);
  Probe& p = rig.probe(0);
  p.wake_at = 10 * kMs;
  rig.core.kick(0);
  rig.core.kick(0);  // the same time again: no second event
  rig.core.run_until(20 * kMs);
  EXPECT_EQ(p.wakeups, (std::vector<Time>{10 * kMs}));

  p.wake_at = 50 * kMs;
  rig.core.kick(0);
  p.wake_at = 30 * kMs;  // earlier: preempts, and the 50 ms event becomes stale
  rig.core.kick(0);
  rig.core.run_until(100 * kMs);
  EXPECT_EQ(p.wakeups, (std::vector<Time>{10 * kMs, 30 * kMs}));

  // Timers moved later without a kick: the early event is not passed on, the node is
  // woken when it asked to be.
  p.wake_at = 120 * kMs;
  rig.core.kick(0);
  p.wake_at = 140 * kMs;
  rig.core.run_until(200 * kMs);
  EXPECT_EQ(p.wakeups, (std::vector<Time>{10 * kMs, 30 * kMs, 140 * kMs}));

  // A wakeup asked for in the past runs now.
  rig.core.run_until(300 * kMs);
  p.wake_at = 250 * kMs;
  rig.core.kick(0);
  rig.core.run_until(300 * kMs);
  EXPECT_EQ(p.wakeups.back(), 300 * kMs);
}

TEST(NetCore, TamperSeesAndChangesEveryDatagram) {
  Rig rig(NetConfig{});
  std::vector<std::pair<Address, Address>> seen;
  rig.core.set_tamper([&seen](Address from, Address to, Message& m) {
    seen.push_back({from, to});
    if (auto* ping = std::get_if<Ping>(&m.body)) ping->req += 1000;
  });
  rig.send(0, 1, 1);
  rig.send(1, 0, 2);
  rig.core.run_until(kMicrosPerSecond);
  EXPECT_EQ(seen, (std::vector<std::pair<Address, Address>>{{0, 1}, {1, 0}}));
  ASSERT_EQ(rig.probe(1).got.size(), 1u);
  EXPECT_EQ(rig.probe(1).got[0].req, 1001u);
  rig.core.set_tamper(nullptr);
  rig.send(0, 1, 3);
  rig.core.run_until(2 * kMicrosPerSecond);
  EXPECT_EQ(rig.probe(1).got.back().req, 3u);
}

TEST(NetCore, EventsRunInTimeThenScheduleOrder) {
  NetCore core(NetConfig{});
  std::string order;
  core.at(5, [&] { order += 'a'; });
  core.at(5, [&] { order += 'b'; });
  core.at(3, [&] { order += 'c'; });
  core.at(5, [&] {
    core.at(5, [&] { order += 'e'; });
    order += 'd';
  });
  core.run_until(4);
  EXPECT_EQ(order, "c");
  EXPECT_EQ(core.now(), 4);
  core.run_until(10);
  EXPECT_EQ(order, "cabde");
}

TEST(NetCore, ClockSkewIsPerNodeAndBounded) {
  NetConfig cfg;
  cfg.clock_skew_ms_max = 100;
  NetCore core(cfg);
  std::vector<std::int64_t> skews;
  for (int i = 0; i < 20; ++i) {
    const Address a = core.add_peer_node();
    skews.push_back(core.node_env(a).clock->wall_ms());
  }
  core.run_until(5 * kMicrosPerSecond);
  for (Address a = 0; a < 20; ++a) {
    const Clock* clock = core.node_env(a).clock;
    EXPECT_EQ(clock->now(), 5 * kMicrosPerSecond);
    EXPECT_EQ(clock->wall_ms(), 5000 + skews[a]);
    EXPECT_LE(std::abs(skews[a]), 100);
  }
  std::sort(skews.begin(), skews.end());
  EXPECT_GT(std::unique(skews.begin(), skews.end()) - skews.begin(), 10);
  const Address client = core.add_client_node();
  EXPECT_EQ(core.node_env(client).clock->wall_ms(), 5000);
  EXPECT_EQ(core.node_env(client).storage, nullptr);  // clients keep nothing
}

NodeRef node_at(std::uint64_t top) { return NodeRef{RingId::from_u64(top), top}; }

TEST(Checkers, SuccessorOrderProblems) {
  const NodeRef self = node_at(0x8000);
  EXPECT_EQ(successor_order_problem(self, {}), "");
  // Clockwise from self, wrapping past zero, stopping short of self.
  EXPECT_EQ(successor_order_problem(
                self, {node_at(0x9000), node_at(0xf000), node_at(0x1000), node_at(0x7fff)}),
            "");
  EXPECT_NE(successor_order_problem(self, {node_at(0x9000), self}), "");             // names self
  EXPECT_NE(successor_order_problem(self, {node_at(0x9000), node_at(0x9000)}), "");  // twice
  EXPECT_NE(successor_order_problem(self, {node_at(0xf000), node_at(0x9000)}), "");  // back
  // Round past self: 0x8100 lies between self and 0x9000 going the long way.
  EXPECT_NE(successor_order_problem(self, {node_at(0x9000), node_at(0x1000), node_at(0x8100)}), "");
}

TEST(Checkers, ReportLinesCarrySeedAndReproductionAndAreBounded) {
  CheckReport r;
  r.seed = 77;
  r.repro = "KG_SEED=77 ./build/tests/overlay_test";
  EXPECT_TRUE(r.ok());
  r.add("something broke");
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("seed 77"), std::string::npos);
  EXPECT_NE(r.violations[0].find("KG_SEED=77 ./build/tests/overlay_test"), std::string::npos);
  for (std::size_t i = 0; i < 2 * CheckReport::kViolationsMax; ++i) r.add("again");
  EXPECT_EQ(r.violations.size(), CheckReport::kViolationsMax);
  EXPECT_EQ(r.suppressed, CheckReport::kViolationsMax + 1);
  CheckReport other;
  other.merge(r);
  EXPECT_FALSE(other.ok());
  EXPECT_EQ(other.violations.size() + other.suppressed, 2 * CheckReport::kViolationsMax + 1);
  EXPECT_NE(r.describe().find("reproduce: KG_SEED=77"), std::string::npos);
}

}  // namespace
}  // namespace kittengrad::testnet
