// queue_net_test.cc — the queue network model (sim/src/queue_net.h) delivers each datagram
// at the time its closed form gives: k datagrams sent at once from one host leave its up
// link one after another (latency + i * s / b, i = 1..k); a many-to-one burst is paced by
// the receiver's down link; a lone datagram between links of different rates takes
// latency + s / min(rates); the down link serves datagrams in order of arrival, not of
// sending; a full queue drops (drop-tail) and counts by kind, on the up and on the down
// link. Also: a receiver's deadline that comes first returns nothing and loses nothing,
// and a nudge is delivered at once.
//
// Times are SimGrid doubles; the only tolerance is rounding: kRounding = 1e-9 s (the
// quantities are sums of a few terms of order 1 s, exact to about 1e-15 s).
//
// Each case runs its simulation in a forked child (child_process.h explains why).
#include "../../sim/src/queue_net.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <simgrid/s4u.hpp>
#include <utility>
#include <vector>

#include "../../sim/src/inbox.h"
#include "../../sim/src/platform.h"
#include "child_process.h"

namespace kittengrad::sim {
namespace {

namespace sg4 = simgrid::s4u;
using testing::run_in_child;

constexpr double kRounding = 1e-9;
constexpr double kMBps = 1e6;  // 8 Mb/s in bytes per second

struct Send {
  std::size_t from;
  std::size_t to;
  double at_s;
  std::uint64_t bytes;
  std::size_t kind = 0;
};

struct Net {
  std::size_t hosts = 3;
  std::vector<double> rate_Bps;           // empty: kMBps for every host
  std::vector<std::vector<float>> ms;     // one-way latency matrix; empty: 40 ms everywhere
  std::uint64_t queue_bytes = 1'000'000'000;
};

struct Delivery {
  double id = -1;  // index in the list of sends
  double at_s = -1;
};

struct Outcome {
  std::vector<Delivery> got;          // in delivery order, all receivers together
  std::vector<double> drops_by_kind;  // two kinds
};

// Runs the sends on a fresh engine; every host receives until t = 100 s.
Outcome run(const Net& net, const std::vector<Send>& sends) {
  const std::vector<double> raw = run_in_child([&] {
    int argc = 2;
    static char arg0[] = "queue_net_test";
    static char arg1[] = "--log=root.thres:warning";
    char* argv[] = {arg0, arg1, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, net.hosts);
    NetworkSection section;
    const auto hosts = std::get<PlatformHosts>(build_platform(e, section, net.hosts, 0, 1));
    auto matrix = std::make_shared<LatencyMatrix>();
    matrix->n = net.hosts;
    for (std::size_t i = 0; i < net.hosts; ++i) {
      for (std::size_t j = 0; j < net.hosts; ++j) {
        matrix->one_way_ms.push_back(net.ms.empty() ? 40.0F : net.ms[i][j]);
      }
    }
    std::vector<double> rates = net.rate_Bps;
    if (rates.empty()) rates.assign(net.hosts, kMBps);
    QueueNet<int> q(rates, PairLatency(std::move(matrix)), net.queue_bytes, 2);
    std::vector<double> out;
    for (std::size_t h = 0; h < net.hosts; ++h) {
      sg4::Actor::create("rx", hosts.peers[h], [&q, &out, h] {
        while (true) {
          std::unique_ptr<int> m(q.wait_until(h, 100.0));
          if (!m) return;
          out.push_back(*m);
          out.push_back(sg4::Engine::get_clock());
        }
      });
    }
    // One actor per sending host, sending its datagrams in list order (times ascending):
    // same-time wake-ups of different actors come in an order of SimGrid's choosing.
    for (std::size_t from = 0; from < net.hosts; ++from) {
      sg4::Actor::create("tx", hosts.peers[from], [&q, &sends, from] {
        for (std::size_t i = 0; i < sends.size(); ++i) {
          const Send s = sends[i];
          if (s.from != from) continue;
          sg4::this_actor::sleep_until(s.at_s);
          q.send(s.from, s.to, new int(static_cast<int>(i)), s.bytes, s.kind);
        }
      });
    }
    e.run();
    out.push_back(static_cast<double>(q.drops_by_kind()[0]));
    out.push_back(static_cast<double>(q.drops_by_kind()[1]));
    return out;
  });
  Outcome o;
  if (raw.size() < 2) return o;
  for (std::size_t i = 0; i + 2 < raw.size(); i += 2) o.got.push_back({raw[i], raw[i + 1]});
  o.drops_by_kind = {raw[raw.size() - 2], raw[raw.size() - 1]};
  return o;
}

TEST(QueueNetTest, BackToBackSendsLeaveTheUpLinkOneAfterAnother) {
  // k = 5 datagrams of s = 100,000 bytes at t0 = 1 s, b = 10^6 B/s, latency 40 ms: the
  // receiver's down link (same rate) forwards each as it comes in.
  const std::size_t k = 5;
  const double s = 100'000;
  std::vector<Send> sends;
  for (std::size_t i = 0; i < k; ++i) sends.push_back({0, 1, 1.0, 100'000});
  const Outcome o = run(Net{}, sends);
  ASSERT_EQ(o.got.size(), k);
  for (std::size_t i = 0; i < k; ++i) {
    EXPECT_EQ(o.got[i].id, static_cast<double>(i)) << "FIFO order";
    EXPECT_NEAR(o.got[i].at_s, 1.0 + 0.040 + static_cast<double>(i + 1) * s / kMBps, kRounding)
        << "datagram " << i + 1;
  }
  EXPECT_EQ(o.drops_by_kind, (std::vector<double>{0, 0}));
}

TEST(QueueNetTest, ManyToOneBurstIsPacedByTheReceiversDownLink) {
  // Four senders, one datagram each at t0 = 2 s: each up link is idle, so all four finish
  // arriving at t0 + s/b + L; the receiver's down link then delivers one per s/b.
  Net net;
  net.hosts = 5;
  const double s = 250'000;
  std::vector<Send> sends;
  for (std::size_t from = 1; from <= 4; ++from) sends.push_back({from, 0, 2.0, 250'000});
  const Outcome o = run(net, sends);
  ASSERT_EQ(o.got.size(), 4U);
  std::vector<double> ids;
  for (const Delivery& d : o.got) ids.push_back(d.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<double>{0, 1, 2, 3}));
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(o.got[i].at_s, 2.0 + 0.040 + static_cast<double>(i + 1) * s / kMBps, kRounding)
        << "datagram " << i + 1;
  }
}

TEST(QueueNetTest, LoneDatagramTakesLatencyPlusSizeOverTheSlowerRate) {
  // Host 0 at 10^6 B/s, host 1 at 2.5 * 10^5 B/s: 100,000 bytes take 0.4 s either way.
  Net net;
  net.rate_Bps = {kMBps, 250'000, kMBps};
  const Outcome o = run(net, {{0, 1, 1.0, 100'000}, {1, 0, 5.0, 100'000}});
  ASSERT_EQ(o.got.size(), 2U);
  EXPECT_NEAR(o.got[0].at_s, 1.0 + 0.040 + 0.4, kRounding);
  EXPECT_NEAR(o.got[1].at_s, 5.0 + 0.040 + 0.4, kRounding);
}

TEST(QueueNetTest, DownLinkServesInOrderOfArrivalNotOfSending) {
  // Host 2's down link is the bottleneck (s / b_2 = 0.1 s). Host 0 sends first on a 100 ms
  // path; host 1 sends 10 ms later on a 10 ms path, and its datagram arrives first:
  //   A_1 = 1.01 + 0.05 + 0.01 = 1.07, D_1 = max((A_1 - 0.05) + 0.1, A_1) = 1.12
  //   A_0 = 1.00 + 0.05 + 0.10 = 1.15, D_0 = max(max(A_0 - 0.05, D_1) + 0.1, A_0) = 1.22
  // (in send order it would be D_0 = 1.20, D_1 = 1.30).
  Net net;
  net.rate_Bps = {kMBps, kMBps, 500'000};
  net.ms = {{0, 40, 100}, {40, 0, 10}, {100, 10, 0}};
  const Outcome o = run(net, {{0, 2, 1.0, 50'000}, {1, 2, 1.01, 50'000}});
  ASSERT_EQ(o.got.size(), 2U);
  EXPECT_EQ(o.got[0].id, 1.0);
  EXPECT_NEAR(o.got[0].at_s, 1.12, kRounding);
  EXPECT_EQ(o.got[1].id, 0.0);
  EXPECT_NEAR(o.got[1].at_s, 1.22, kRounding);
}

TEST(QueueNetTest, FullUpLinkQueueDropsTheTailAndCountsByKind) {
  // queue_bytes = 250,000: the first datagram finds the link idle, the second finds
  // 100,000 bytes waiting (200,000 <= 250,000), the next three find 200,000 (300,000 >
  // 250,000) and are dropped. Kinds 0, 1, 1, 0, 1.
  Net net;
  net.queue_bytes = 250'000;
  std::vector<Send> sends;
  for (std::size_t i = 0; i < 5; ++i) sends.push_back({0, 1, 1.0, 100'000, i % 3 == 0 ? 0U : 1U});
  const Outcome o = run(net, sends);
  ASSERT_EQ(o.got.size(), 2U);
  EXPECT_NEAR(o.got[0].at_s, 1.0 + 0.040 + 0.1, kRounding);
  EXPECT_NEAR(o.got[1].at_s, 1.0 + 0.040 + 0.2, kRounding);
  EXPECT_EQ(o.drops_by_kind, (std::vector<double>{1, 2}));
  // Once the queue has drained, the link accepts again.
  const Outcome later = run(net, {{0, 1, 1.0, 100'000}, {0, 1, 1.0, 100'000},
                                  {0, 1, 1.0, 100'000}, {0, 1, 1.2, 100'000}});
  ASSERT_EQ(later.got.size(), 3U);
  EXPECT_NEAR(later.got[2].at_s, 1.2 + 0.040 + 0.1, kRounding);
  EXPECT_EQ(later.drops_by_kind, (std::vector<double>{1, 0}));
}

TEST(QueueNetTest, FullDownLinkQueueDropsTheTail) {
  // Four datagrams of 100,000 bytes arrive at host 0 at once (A = 1.14 s); queue_bytes =
  // 150,000: the first two are taken (0 and 0 bytes waiting at A: the first has left by
  // then), the third finds 100,000 waiting (200,000 > 150,000), and so does the fourth.
  Net net;
  net.hosts = 5;
  net.queue_bytes = 150'000;
  std::vector<Send> sends;
  for (std::size_t from = 1; from <= 4; ++from) sends.push_back({from, 0, 1.0, 100'000, 1});
  const Outcome o = run(net, sends);
  ASSERT_EQ(o.got.size(), 2U);
  EXPECT_NEAR(o.got[0].at_s, 1.14, kRounding);
  EXPECT_NEAR(o.got[1].at_s, 1.24, kRounding);
  EXPECT_EQ(o.drops_by_kind, (std::vector<double>{0, 2}));
}

// A deadline before the arrival returns nothing at the deadline and the datagram comes on
// a later call, at its own time; a nudge is delivered at once.
TEST(QueueNetTest, DeadlinesLoseNothingAndNudgesAreImmediate) {
  const std::vector<double> out = run_in_child([] {
    int argc = 1;
    static char arg0[] = "queue_net_test";
    char* argv[] = {arg0, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, 2);
    NetworkSection section;
    const auto hosts = std::get<PlatformHosts>(build_platform(e, section, 2, 0, 1));
    auto matrix = std::make_shared<LatencyMatrix>(LatencyMatrix{2, {0, 40, 40, 0}});
    QueueNet<int> q({kMBps, kMBps}, PairLatency(std::move(matrix)), 1'000'000, 1);
    std::vector<double> got;
    sg4::Actor::create("rx", hosts.peers[1], [&] {
      std::unique_ptr<int> a(q.wait_until(1, 1.05));  // before the arrival at 1.14
      got.push_back(a ? -1.0 : sg4::Engine::get_clock());
      std::unique_ptr<int> b(q.wait_until(1, std::numeric_limits<double>::infinity()));
      got.push_back(b ? *b : -1.0);
      got.push_back(sg4::Engine::get_clock());
      std::unique_ptr<int> c(q.wait_until(1, 50.0));
      got.push_back(c ? *c : -1.0);
      got.push_back(sg4::Engine::get_clock());
    });
    sg4::Actor::create("tx", hosts.peers[0], [&] {
      sg4::this_actor::sleep_until(1.0);
      q.send(0, 1, new int(7), 100'000, 0);
      sg4::this_actor::sleep_until(3.0);
      q.nudge(1, new int(8));
    });
    e.run();
    return got;
  });
  ASSERT_EQ(out.size(), 5U);
  EXPECT_NEAR(out[0], 1.05, kRounding);
  EXPECT_EQ(out[1], 7.0);
  EXPECT_NEAR(out[2], 1.14, kRounding);
  EXPECT_EQ(out[3], 8.0);
  EXPECT_NEAR(out[4], 3.0, kRounding);
}

}  // namespace
}  // namespace kittengrad::sim

namespace kittengrad::sim {
namespace {

// ---- The two models side by side (docs/VALIDATION.md, "Access links: queue vs flow") ----

// Delivery times (s after the sends at t0 = 1 s) of `senders` hosts sending `each`
// datagrams of `bytes` at once to host 0, at 8 Mb/s with 40 ms latency, under the flow
// model (SimGrid puts received through the Inbox) or the queue model.
std::vector<double> burst(bool flow, std::size_t senders, std::size_t each, std::uint64_t bytes) {
  return run_in_child([=] {
    int argc = 2;
    static char arg0[] = "queue_net_test";
    static char arg1[] = "--log=root.thres:warning";
    char* argv[] = {arg0, arg1, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, senders + 1);
    NetworkSection section;
    section.latency.ms = 40;
    section.bandwidth_mbps = 8;
    const auto hosts = std::get<PlatformHosts>(build_platform(e, section, senders + 1, 0, 1));
    QueueNet<int> q(hosts.rate_Bps, hosts.latency, 1'000'000'000, 1);
    std::vector<double> out;
    sg4::Actor::create("rx", hosts.peers[0], [&] {
      auto* mb = sg4::Mailbox::by_name("rx");
      if (flow) mb->set_receiver(sg4::Actor::self());
      Inbox<int> inbox(mb);
      for (std::size_t i = 0; i < senders * each; ++i) {
        std::unique_ptr<int> m(flow ? inbox.wait_until(100) : q.wait_until(0, 100));
        if (m) out.push_back(sg4::Engine::get_clock() - 1.0);
      }
      if (flow) mb->set_receiver(nullptr);
    });
    for (std::size_t h = 1; h <= senders; ++h) {
      sg4::Actor::create("tx", hosts.peers[h], [&, h] {
        sg4::this_actor::sleep_until(1.0);
        for (std::size_t i = 0; i < each; ++i) {
          if (flow) {
            send_datagram(sg4::Mailbox::by_name("rx"), new int(0), bytes);
          } else {
            q.send(h, 0, new int(0), bytes, 0);
          }
        }
      });
    }
    e.run();
    return out;
  });
}

// A bulk transfer (a hand-off paged into 100 datagrams of 1,200 bytes) and a many-to-one
// burst (20 peers, one datagram each): both models deliver the last datagram at the
// closed form latency + total bytes / rate; the flow model shares the link among all
// datagrams in flight, so they all arrive together at the end, while the queue model
// sends them one after another, the i-th at latency + i * s / b.
TEST(QueueVsFlowTest, SameLastArrivalDifferentOrderOfService) {
  const double s_over_b = 1200.0 / kMBps;
  for (const auto& [senders, each] : {std::pair<std::size_t, std::size_t>{1, 100}, {20, 1}}) {
    const std::size_t k = senders * each;
    const std::vector<double> flow = burst(true, senders, each, 1200);
    const std::vector<double> queue = burst(false, senders, each, 1200);
    ASSERT_EQ(flow.size(), k);
    ASSERT_EQ(queue.size(), k);
    const double last = 0.040 + static_cast<double>(k) * s_over_b;
    for (std::size_t i = 0; i < k; ++i) {
      EXPECT_NEAR(queue[i], 0.040 + static_cast<double>(i + 1) * s_over_b, kRounding) << i;
      // SimGrid's solver works to its own precision (about 1e-5 relative on shares).
      EXPECT_NEAR(flow[i], last, 1e-6) << i;
    }
    std::printf("%zu x %zu datagrams of 1200 B: closed form last %.6f s; queue first %.6f, "
                "last %.6f; flow first %.6f, last %.6f\n",
                senders, each, last, queue.front(), queue.back(), flow.front(), flow.back());
  }
}

}  // namespace
}  // namespace kittengrad::sim
