// Lookups of large sets come in windows of pages: one ReadRequest is answered with up to
// ClientConfig::read_window pages (capped by PeerConfig::read_window_max), so a set of n
// pages costs about n / window round trips instead of n. The pages of a window may arrive
// out of order, twice, or not at all; the client takes them in order and asks again from
// the last entry it took. What the user reads is judged by the history checker.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checkers.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

constexpr std::size_t kUpdates = 2000;

struct ReadTraffic {
  std::size_t requests = 0;  // ReadRequests sent by clients
  std::size_t pages = 0;     // lookup pages (ClientReply with entries) sent to clients
};

NetConfig hot_set_config(std::uint64_t seed, std::uint32_t window) {
  NetConfig c;
  c.seed = seed;
  c.repro = "./build/tests/lookup_window_test";
  c.client.read_window = window;
  return c;
}

// Writes kUpdates updates of one canonical in batches, and waits for them to settle.
Cid write_hot_set(TestNetwork& net, std::size_t client) {
  const Cid hot = Cid::of_record("hot canonical");
  for (std::size_t done = 0; done < kUpdates;) {
    std::vector<Entry> batch;
    for (std::size_t i = 0; i < 100; ++i, ++done) batch.push_back(net.make_update(hot));
    net.write(client, std::move(batch), net.ring_order()[done % 8]);
    net.run_for(2 * kMicrosPerSecond);
  }
  net.run_for(20 * kMicrosPerSecond);
  return hot;
}

void count_reads(TestNetwork& net, ReadTraffic& t) {
  net.core().set_tamper([&t](Address, Address, Message& m) {
    if (std::holds_alternative<ReadRequest>(m.body)) ++t.requests;
    if (const auto* r = std::get_if<ClientReply>(&m.body); r && !r->entries.empty()) ++t.pages;
  });
}

// The one lookup the test issued: done, ok, and the whole set.
const OpResult& lookup_result(const TestNetwork& net, std::uint64_t id) {
  const OpRecord& rec = net.ops().at(id);
  EXPECT_TRUE(rec.done);
  return rec.result;
}

struct Measured {
  std::size_t requests = 0;
  std::size_t pages = 0;
  Time took = 0;
};

Measured read_hot_set(std::uint32_t window) {
  TestNetwork net(hot_set_config(5, window));
  net.add_instant_ring(8);
  const std::size_t client = net.add_client();
  const Cid hot = write_hot_set(net, client);
  ReadTraffic traffic;
  count_reads(net, traffic);
  const std::uint64_t id = net.lookup(client, hot, net.ring_order()[0]);
  net.run_for(120 * kMicrosPerSecond);
  const OpResult& r = lookup_result(net, id);
  EXPECT_EQ(r.error, ErrorCode::kOk) << r.detail;
  EXPECT_EQ(r.entries.size(), kUpdates) << net.repro();
  CheckReport report = check_quiescent(net);
  EXPECT_TRUE(report.ok()) << report.describe();
  return Measured{traffic.requests, traffic.pages, r.done - r.issued};
}

TEST(LookupWindow, LargeSetTakesOneRoundTripAWindow) {
  const Measured one = read_hot_set(1);
  const Measured sixteen = read_hot_set(16);
  // The same pages either way; the window cuts the requests (and so the round trips).
  ASSERT_GT(one.pages, 16u);
  EXPECT_EQ(one.requests, one.pages);
  EXPECT_EQ(sixteen.pages, one.pages);
  EXPECT_EQ(sixteen.requests, (one.pages + 15) / 16);
  EXPECT_LT(sixteen.took * 4, one.took) << "window 1: " << one.took << " µs, window 16: "
                                        << sixteen.took << " µs";
}

// The replica caps the window at its read_window_max; the client takes what it gets.
TEST(LookupWindow, ReplicaCapsTheWindow) {
  NetConfig c = hot_set_config(7, 64);
  c.peer.read_window_max = 4;
  TestNetwork net(c);
  net.add_instant_ring(8);
  const std::size_t client = net.add_client();
  const Cid hot = write_hot_set(net, client);
  ReadTraffic traffic;
  count_reads(net, traffic);
  const std::uint64_t id = net.lookup(client, hot, net.ring_order()[2]);
  net.run_for(120 * kMicrosPerSecond);
  const OpResult& r = lookup_result(net, id);
  EXPECT_EQ(r.error, ErrorCode::kOk) << r.detail;
  EXPECT_EQ(r.entries.size(), kUpdates);
  EXPECT_EQ(traffic.requests, (traffic.pages + 3) / 4);
}

// Lost pages (15% of the pages to the client: their request id is erased, so the client
// cannot take them), duplicates (10% of all datagrams) and reordering (latency uniform in
// [2, 40] ms) inside windows, with R = 1 and R = 2: every lookup returns the whole set, in
// order, and the history holds. (Loss of every kind of datagram would also make peers
// suspect their neighbours and claim ranges they have not pulled yet: that is the churn
// suites' business, not the window's.)
TEST(LookupWindow, LossyWindowsStillReadTheWholeSet) {
  for (int read_quorum : {1, 2}) {
    NetConfig c = hot_set_config(11 + static_cast<std::uint64_t>(read_quorum), 16);
    c.peer.read_quorum = read_quorum;
    TestNetwork net(c);
    EventChecker events(net);
    net.add_instant_ring(8);
    const std::size_t client = net.add_client();
    const Cid hot = write_hot_set(net, client);
    Rng drops = net.rng("lost pages");
    std::size_t lost = 0;
    net.core().set_tamper([&drops, &lost](Address, Address, Message& m) {
      auto* r = std::get_if<ClientReply>(&m.body);
      if (r == nullptr || r->entries.empty() || drops.uniform01() >= 0.15) return;
      r->req = 0;
      ++lost;
    });
    net.set_duplicate(0.1);
    std::vector<std::uint64_t> ids;
    for (std::size_t i = 0; i < 8; ++i) {
      ids.push_back(net.lookup(client, hot, net.ring_order()[i]));
      net.run_for(kMicrosPerSecond);
    }
    net.run_for(300 * kMicrosPerSecond);
    net.core().set_tamper(nullptr);
    net.set_duplicate(0);
    EXPECT_GT(lost, 8u);
    for (std::uint64_t id : ids) {
      const OpResult& r = lookup_result(net, id);
      EXPECT_EQ(r.error, ErrorCode::kOk) << "R=" << read_quorum << ": " << r.detail;
      EXPECT_EQ(r.entries.size(), kUpdates) << "R=" << read_quorum << "; " << net.repro();
      EXPECT_TRUE(std::is_sorted(r.entries.begin(), r.entries.end(), entry_order_less));
    }
    net.run_for(60 * kMicrosPerSecond);
    CheckReport report = check_quiescent(net);
    report.merge(events.report());
    EXPECT_TRUE(report.ok()) << "R=" << read_quorum << ": " << report.describe();
  }
}

}  // namespace
}  // namespace kittengrad::testnet
