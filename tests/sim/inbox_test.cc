// inbox_test.cc — the receive loop of sim/src/inbox.h loses no message, duplicates none,
// and delivers each when its own transfer ends: deadlines that fire before, exactly at,
// just after and during a transfer; a near peer's datagram not held behind a far one's;
// many senders and one receiver with short deadlines; a link failing mid-transfer; actors
// that end or are killed with receives posted. Also pins down the two SimGrid behaviours
// the Inbox exists to avoid (a receive whose timeout fires during the transfer loses the
// message; one posted receive on an eager mailbox delivers in send order), so that a
// SimGrid upgrade that changes them shows up here.
//
// Each case runs its simulation in a forked child (child_process.h explains why).
#include "../../sim/src/inbox.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <set>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>
#include <utility>
#include <vector>

#include "../../sim/src/platform.h"
#include "child_process.h"
#include "kittengrad/rng.h"

namespace kittengrad::sim {
namespace {

namespace sg4 = simgrid::s4u;
using testing::run_in_child;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Messages alive (created and not yet deleted), to catch leaks and double frees.
int g_live_msgs = 0;

struct Msg {
  Msg(int s, int q, double b = 0) : sender(s), seq(q), bytes(b) { ++g_live_msgs; }
  ~Msg() { --g_live_msgs; }
  Msg(const Msg&) = delete;
  Msg& operator=(const Msg&) = delete;
  int sender;
  int seq;
  double bytes;
  double sent_s = simgrid::s4u::Engine::get_clock();
};

// A fresh engine and platform: one-way latency 250 ms, 8 Mbps = 10^6 bytes/s access links,
// so a lone 500,000-byte message sent at t takes 0.25 s of latency and 0.5 s of transfer.
struct Sim {
  explicit Sim(std::size_t hosts, const NetworkSection* custom = nullptr) {
    int argc = 2;
    static char arg0[] = "inbox_test";
    static char arg1[] = "--log=root.thres:warning";
    char* argv[] = {arg0, arg1, nullptr};
    engine = std::make_unique<sg4::Engine>(&argc, argv);
    configure_engine_defaults(*engine, hosts);
    NetworkSection net;
    net.latency.model = LatencyModel::kConstant;
    net.latency.ms = 250;
    net.bandwidth_mbps = 8;
    auto built = build_platform(*engine, custom != nullptr ? *custom : net, hosts, 0, 1);
    if (auto* err = std::get_if<std::string>(&built)) {
      std::fprintf(stderr, "%s\n", err->c_str());
      _exit(4);
    }
    peers = std::get<PlatformHosts>(built).peers;
  }
  std::unique_ptr<sg4::Engine> engine;
  std::vector<sg4::Host*> peers;
};

double now() { return sg4::Engine::get_clock(); }

constexpr std::uint64_t kBig = 500'000;  // 0.5 s on an idle link

// The pitfall: Mailbox::get with a timeout that fires during the transfer. SimGrid 3.32
// fails the communication and the message is gone for good.
TEST(InboxTest, PlainTimeoutDuringTransferLosesTheMessage) {
  const auto out = run_in_child([] {
    Sim sim(2);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[1], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      for (double timeout : {0.5, 10.0}) {
        try {
          delete mb->get<Msg>(timeout);
          out.push_back(1);
        } catch (const simgrid::TimeoutException&) {
          out.push_back(0);
        }
      }
      mb->set_receiver(nullptr);
    });
    sg4::Actor::create("tx", sim.peers[0],
                       [] { send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 0), kBig); });
    sim.engine->run();
    return out;
  });
  // Neither the first get (timed out mid-transfer) nor the second one got the message.
  EXPECT_EQ(out, (std::vector<double>{0, 0}));
}

// The same timing with an Inbox: the deadline fires at 0.5 s, mid-transfer, and the
// message is delivered by the next wait, at 0.75 s.
TEST(InboxTest, DeadlineDuringTransferKeepsTheMessage) {
  const auto out = run_in_child([] {
    Sim sim(2);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[1], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      for (double deadline : {0.5, 10.0, 20.0}) {
        std::unique_ptr<Msg> m(inbox.wait_until(deadline));
        out.push_back(m ? m->seq : -1);
        out.push_back(now());
      }
      mb->set_receiver(nullptr);
    });
    sg4::Actor::create("tx", sim.peers[0],
                       [] { send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 7), kBig); });
    sim.engine->run();
    out.push_back(g_live_msgs);
    return out;
  });
  ASSERT_EQ(out.size(), 7U);
  EXPECT_EQ(out[0], -1);  // the deadline at 0.5 s fired first
  EXPECT_DOUBLE_EQ(out[1], 0.5);
  EXPECT_EQ(out[2], 7);  // then the message came
  EXPECT_NEAR(out[3], 0.75, 1e-6);
  EXPECT_EQ(out[4], -1);  // and only once
  EXPECT_DOUBLE_EQ(out[5], 20.0);
  EXPECT_EQ(out[6], 0);  // nothing leaked
}

// Arrival time of a lone kBig message sent at t = 0, as SimGrid computes it.
double arrival_time() {
  const auto out = run_in_child([] {
    Sim sim(2);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[1], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      std::unique_ptr<Msg> m(inbox.wait_until(kInf));
      out.push_back(now());
      mb->set_receiver(nullptr);
    });
    sg4::Actor::create("tx", sim.peers[0],
                       [] { send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 0), kBig); });
    sim.engine->run();
    return out;
  });
  return out.empty() ? -1 : out[0];
}

// A deadline just before, exactly at and just after the arrival: one delivery, at the
// arrival time, whichever of the two waits it falls in.
TEST(InboxTest, DeadlineAroundTheArrival) {
  const double arrival_s = arrival_time();
  ASSERT_NEAR(arrival_s, 0.75, 1e-6);
  for (double offset_s : {-0.1, -1e-9, 0.0, 1e-9, 0.1}) {
    const double deadline_s = arrival_s + offset_s;
    const auto out = run_in_child([deadline_s] {
      Sim sim(2);
      std::vector<double> out;
      sg4::Actor::create("rx", sim.peers[1], [&out, deadline_s] {
        auto* mb = sg4::Mailbox::by_name("rx");
        mb->set_receiver(sg4::Actor::self());
        Inbox<Msg> inbox(mb);
        for (double d : {deadline_s, deadline_s + 5, deadline_s + 10}) {
          std::unique_ptr<Msg> m(inbox.wait_until(d));
          if (m) out.push_back(now());
        }
        mb->set_receiver(nullptr);
      });
      sg4::Actor::create("tx", sim.peers[0],
                         [] { send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 0), kBig); });
      sim.engine->run();
      return out;
    });
    // SimGrid resolves time to surf/precision = 1e-9 s: a deadline within that of the
    // arrival may deliver at the deadline's date.
    ASSERT_EQ(out.size(), 1U) << "offset " << offset_s;
    EXPECT_NEAR(out[0], arrival_s, 2e-9) << "offset " << offset_s;
  }
}

// Deadlines already in the past take only what has arrived, and never block.
TEST(InboxTest, PastDeadlineDoesNotBlock) {
  const auto out = run_in_child([] {
    Sim sim(2);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[1], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      sg4::this_actor::sleep_until(0.5);  // mid-transfer
      std::unique_ptr<Msg> a(inbox.wait_until(0.1));
      out.push_back(a ? 1 : 0);
      out.push_back(now());
      sg4::this_actor::sleep_until(1.0);  // arrived at 0.75
      std::unique_ptr<Msg> b(inbox.wait_until(0.1));
      out.push_back(b ? 1 : 0);
      out.push_back(now());
      mb->set_receiver(nullptr);
    });
    sg4::Actor::create("tx", sim.peers[0],
                       [] { send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 0), kBig); });
    sim.engine->run();
    return out;
  });
  EXPECT_EQ(out, (std::vector<double>{0, 0.5, 1, 1.0}));
}

// Overlapping transfers from one sender, with deadlines firing every 30 ms through them:
// all arrive, once each; of equal size, in the order sent.
TEST(InboxTest, OnceEachAcrossManyDeadlines) {
  for (bool equal_sizes : {true, false}) {
    const auto out = run_in_child([equal_sizes] {
      Sim sim(2);
      std::vector<double> out;
      constexpr int kMsgs = 40;
      sg4::Actor::create("rx", sim.peers[1], [&out] {
        auto* mb = sg4::Mailbox::by_name("rx");
        mb->set_receiver(sg4::Actor::self());
        Inbox<Msg> inbox(mb);
        int timeouts = 0;
        while (now() < 60) {
          std::unique_ptr<Msg> m(inbox.wait_until(now() + 0.03));
          if (m) {
            out.push_back(m->seq);
          } else {
            ++timeouts;
          }
        }
        out.push_back(timeouts);
        mb->set_receiver(nullptr);
      });
      sg4::Actor::create("tx", sim.peers[0], [equal_sizes] {
        for (int i = 0; i < kMsgs; ++i) {
          const std::uint64_t bytes = equal_sizes ? 100'000 : 100'000 + 15'000 * (i % 5);
          send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, i), bytes);
          sg4::this_actor::sleep_for(0.05);
        }
      });
      sim.engine->run();
      out.push_back(g_live_msgs);
      return out;
    });
    ASSERT_EQ(out.size(), 42U);
    std::vector<double> seqs(out.begin(), out.begin() + 40);
    if (equal_sizes) {
      for (int i = 0; i < 40; ++i) EXPECT_EQ(seqs[i], i);
    } else {
      std::sort(seqs.begin(), seqs.end());
      for (int i = 0; i < 40; ++i) EXPECT_EQ(seqs[i], i);
    }
    EXPECT_GT(out[40], 100);  // deadlines did fire, many of them during transfers
    EXPECT_EQ(out[41], 0);
  }
}

// A platform where p0 receives, p1 is 200 ms away and p2 10 ms away.
NetworkSection far_and_near() {
  const std::string path = ::testing::TempDir() + "/kg_inbox_far_near.csv";
  std::ofstream(path) << "0,200,10\n200,0,200\n10,200,0\n";
  NetworkSection net;
  net.latency.model = LatencyModel::kMatrix;
  net.latency.path = path;
  net.bandwidth_mbps = 8;
  return net;
}

// The far datagram, sent first, is still in flight when the near one arrives. A single
// posted receive binds to the oldest message of an eager mailbox: SimGrid delivers the
// near one only after the far one, at 1.200 s.
TEST(InboxTest, OneReceiveDeliversInSendOrder) {
  const NetworkSection net = far_and_near();
  const auto out = run_in_child([&net] {
    Sim sim(3, &net);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[0], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      for (int i = 0; i < 2; ++i) {
        Msg* got = nullptr;
        mb->get_async<Msg>(&got)->wait();
        delete got;
        out.push_back(now());
      }
      mb->set_receiver(nullptr);
    });
    sg4::Actor::create("far", sim.peers[1], [] {
      sg4::this_actor::sleep_until(1.0);
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(1, 0), 100);
    });
    sg4::Actor::create("near", sim.peers[2], [] {
      sg4::this_actor::sleep_until(1.001);
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(2, 0), 100);
    });
    sim.engine->run();
    return out;
  });
  ASSERT_EQ(out.size(), 2U);
  EXPECT_NEAR(out[0], 1.2001, 1e-6);
  EXPECT_NEAR(out[1], 1.2001, 1e-6);  // held back: it arrived at 1.0111
}

// The Inbox delivers the near datagram when it arrives, then the far one.
TEST(InboxTest, NearDatagramNotHeldBehindFarOne) {
  const NetworkSection net = far_and_near();
  const auto out = run_in_child([&net] {
    Sim sim(3, &net);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[0], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      for (int i = 0; i < 2; ++i) {
        std::unique_ptr<Msg> m(inbox.wait_until(10));
        out.push_back(m ? m->sender : -1);
        out.push_back(now());
      }
      out.push_back(static_cast<double>(inbox.uncovered()));
      mb->set_receiver(nullptr);
    });
    sg4::Actor::create("far", sim.peers[1], [] {
      sg4::this_actor::sleep_until(1.0);
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(1, 0), 100);
    });
    sg4::Actor::create("near", sim.peers[2], [] {
      sg4::this_actor::sleep_until(1.001);
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(2, 0), 100);
    });
    sim.engine->run();
    return out;
  });
  ASSERT_EQ(out.size(), 5U);
  EXPECT_EQ(out[0], 2);
  EXPECT_NEAR(out[1], 1.0111, 1e-6);  // 1.001 + 10 ms + 100 B at 10^6 B/s
  EXPECT_EQ(out[2], 1);
  EXPECT_NEAR(out[3], 1.2001, 1e-6);
  EXPECT_EQ(out[4], 0);
}

// More datagrams in flight at once than spare receives, from senders at different
// distances: each still arrives at its own time,
// including those that came while every spare receive was taken (they get bound at the
// next wake-up, and as long as that is before their arrival nothing is late).
TEST(InboxTest, BurstsArriveAtTheirOwnTimes) {
  const auto out = run_in_child([] {
    NetworkSection net;
    net.latency.model = LatencyModel::kUniform;
    net.latency.min_ms = 10;
    net.latency.max_ms = 300;
    net.bandwidth_mbps = 800;  // 10^8 B/s: 100-byte transfers take 1 us
    Sim sim(9, &net);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[8], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      while (now() < 30) {
        std::unique_ptr<Msg> m(inbox.wait_until(30));
        if (!m) break;
        out.push_back(m->sender);
        out.push_back(m->sent_s);
        out.push_back(now());
      }
      out.push_back(static_cast<double>(inbox.uncovered()));
      mb->set_receiver(nullptr);
    });
    for (int s = 0; s < 8; ++s) {
      sg4::Actor::create("tx", sim.peers[s], [s] {
        Rng rng = Rng::derive(5, "burst", s);
        for (int i = 0; i < 50; ++i) {
          sg4::this_actor::sleep_for(rng.exponential(0.1));
          send_datagram(sg4::Mailbox::by_name("rx"), new Msg(s, i), 100);
        }
      });
    }
    sim.engine->run();
    out.push_back(g_live_msgs);
    return out;
  });
  ASSERT_EQ(out.size(), 3U * 400 + 2);
  LatencySpec spec;
  spec.model = LatencyModel::kUniform;
  spec.min_ms = 10;
  spec.max_ms = 300;
  for (std::size_t i = 0; i + 2 < out.size() - 2; i += 3) {
    const auto s = static_cast<std::size_t>(out[i]);
    const double latency_s = (access_latency_ms(spec, 1, s) + access_latency_ms(spec, 1, 8)) / 1000;
    EXPECT_NEAR(out[i + 2], out[i + 1] + latency_s + 1e-6, 1e-6) << "sender " << s;
  }
  EXPECT_GT(out[out.size() - 2], 0);  // some arrived while every spare receive was taken
  EXPECT_EQ(out.back(), 0);
}

// A link that fails mid-transfer loses that datagram only.
TEST(InboxTest, LinkFailureLosesOnlyThatDatagram) {
  const auto out = run_in_child([] {
    Sim sim(3);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[1], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      for (int i = 0; i < 3; ++i) {
        std::unique_ptr<Msg> m(inbox.wait_until(10));
        out.push_back(m ? m->seq : -1);
      }
      mb->set_receiver(nullptr);
    });
    sg4::Actor::create("tx0", sim.peers[0], [] {
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 1), kBig);  // until 0.75 s
    });
    sg4::Actor::create("tx2", sim.peers[2], [] {
      sg4::this_actor::sleep_until(0.1);
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(2, 2), 1000);
      sg4::this_actor::sleep_until(1.0);
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(2, 3), 1000);
    });
    sg4::Actor::create("breaker", sim.peers[2], [] {
      sg4::this_actor::sleep_until(0.5);
      sg4::Link::by_name("p0_up")->turn_off();
    });
    sim.engine->run();
    out.push_back(g_live_msgs);
    return out;
  });
  EXPECT_EQ(out, (std::vector<double>{2, 3, -1, 0}));
}

// 64 senders on their own hosts, Poisson sends of random sizes, one receiver whose
// deadlines are 0-10 ms away: delivered == sent, no duplicate.
// The receiver's link runs at about 65% load, so transfers overlap and many deadlines
// fire while some are under way. (Overloading it makes thousands of flows share one link,
// which SimGrid solves in quadratic time: minutes for this test.)
TEST(InboxTest, ManySendersShortDeadlines) {
  constexpr int kSenders = 64;
  constexpr int kPerSender = 150;
  const auto out = run_in_child([] {
    Sim sim(kSenders + 1);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[kSenders], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      Rng rng(99);
      int got = 0;
      while (got < kSenders * kPerSender && now() < 60) {
        std::unique_ptr<Msg> m(inbox.wait_until(now() + 0.01 * rng.uniform01()));
        if (!m) continue;
        out.push_back(m->sender);
        out.push_back(m->seq);
        ++got;
      }
      mb->set_receiver(nullptr);
    });
    for (int s = 0; s < kSenders; ++s) {
      sg4::Actor::create("tx", sim.peers[s], [s] {
        Rng rng = Rng::derive(7, "sender", s);
        for (int i = 0; i < kPerSender; ++i) {
          sg4::this_actor::sleep_for(rng.exponential(0.05));
          const auto bytes = static_cast<std::uint64_t>(rng.range(1, 1000));
          send_datagram(sg4::Mailbox::by_name("rx"), new Msg(s, i), bytes);
        }
      });
    }
    sim.engine->run();
    out.push_back(g_live_msgs);
    return out;
  });
  ASSERT_EQ(out.size(), 2U * kSenders * kPerSender + 1);
  EXPECT_EQ(out.back(), 0);
  std::set<std::pair<int, int>> seen;
  for (std::size_t i = 0; i + 1 < out.size(); i += 2) {
    const int s = static_cast<int>(out[i]);
    const int q = static_cast<int>(out[i + 1]);
    EXPECT_TRUE(seen.emplace(s, q).second) << "duplicate " << s << "/" << q;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kSenders * kPerSender));
}

// 16 peers on their own hosts, each sending through its own Inbox (Inbox::send) to random
// others at Poisson times while receiving with short deadlines: every message is delivered
// once, and every send is reaped once its transfer has ended (none left in flight after a
// quiet second), so the actors' lists of activities stay short.
TEST(InboxTest, PeersSendThroughTheirInboxes) {
  constexpr int kPeers = 16;
  constexpr int kPerPeer = 200;
  const auto out = run_in_child([] {
    Sim sim(kPeers);
    std::vector<double> out;
    for (int p = 0; p < kPeers; ++p) {
      sg4::Actor::create("peer", sim.peers[p], [p, &out] {
        auto* mb = sg4::Mailbox::by_name("m" + std::to_string(p));
        mb->set_receiver(sg4::Actor::self());
        Inbox<Msg> inbox(mb);
        Rng rng = Rng::derive(11, "peer", p);
        int sent = 0;
        double next_send = rng.exponential(0.02);
        while (now() < 12) {
          if (sent < kPerPeer && now() >= next_send) {
            auto to = static_cast<int>(rng.below(kPeers - 1));
            if (to >= p) ++to;
            inbox.send(sg4::Mailbox::by_name("m" + std::to_string(to)), new Msg(p, sent),
                       rng.range(1, 2000));
            ++sent;
            next_send += rng.exponential(0.02);
            continue;
          }
          const double deadline = std::min({next_send, now() + 0.005 * rng.uniform01(), 12.0});
          std::unique_ptr<Msg> m(inbox.wait_until(sent < kPerPeer ? deadline : 12.0));
          if (!m) continue;
          out.push_back(m->sender);
          out.push_back(m->seq);
        }
        out.push_back(-1 - static_cast<double>(inbox.sends_in_flight()));
        mb->set_receiver(nullptr);
      });
    }
    sim.engine->run();
    out.push_back(g_live_msgs);
    return out;
  });
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), 0) << "messages leaked or freed twice";
  std::set<std::pair<int, int>> seen;
  int ended = 0;
  for (std::size_t i = 0; i + 1 < out.size();) {
    if (out[i] < 0) {
      EXPECT_EQ(out[i], -1) << "sends still in flight at the end: " << -1 - out[i];
      ++ended;
      ++i;
      continue;
    }
    EXPECT_TRUE(seen.emplace(static_cast<int>(out[i]), static_cast<int>(out[i + 1])).second)
        << "duplicate " << out[i] << "/" << out[i + 1];
    i += 2;
  }
  EXPECT_EQ(ended, kPeers);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kPeers * kPerPeer));
}

// An actor that ends with a receive posted cancels it: a later message on the same
// mailbox goes to the next actor, not to the dead one's stale receive.
TEST(InboxTest, EndedActorLeavesNoReceiveBehind) {
  const auto out = run_in_child([] {
    Sim sim(2);
    std::vector<double> out;
    sg4::Actor::create("rx1", sim.peers[1], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      std::unique_ptr<Msg> m(inbox.wait_until(1.0));
      out.push_back(m ? 1 : 0);
      mb->set_receiver(nullptr);
    });
    sg4::Actor::create("tx", sim.peers[0], [] {
      sg4::this_actor::sleep_until(2.0);
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 5), 1000);
    });
    sg4::Actor::create("rx2", sim.peers[1], [&out] {
      sg4::this_actor::sleep_until(3.0);
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      std::unique_ptr<Msg> m(inbox.wait_until(10.0));
      out.push_back(m ? m->seq : -1);
      mb->set_receiver(nullptr);
    });
    sim.engine->run();
    out.push_back(g_live_msgs);
    return out;
  });
  EXPECT_EQ(out, (std::vector<double>{0, 5, 0}));
}

// An Inbox destroyed while its actor lives on cancels its receive: otherwise the stale
// receive would take the next message and write it into the dead Inbox.
TEST(InboxTest, DestroyedInboxLeavesNoReceiveBehind) {
  const auto out = run_in_child([] {
    Sim sim(2);
    std::vector<double> out;
    sg4::Actor::create("rx", sim.peers[1], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      {
        Inbox<Msg> inbox(mb);
        std::unique_ptr<Msg> m(inbox.wait_until(1.0));
        out.push_back(m ? 1 : 0);
      }
      sg4::this_actor::sleep_until(3.0);  // the message was sent at 2.0
      std::unique_ptr<Msg> m(mb->get<Msg>(10.0));
      out.push_back(m->seq);
      mb->set_receiver(nullptr);
    });
    sg4::Actor::create("tx", sim.peers[0], [] {
      sg4::this_actor::sleep_until(2.0);
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 5), 1000);
    });
    sim.engine->run();
    out.push_back(g_live_msgs);
    return out;
  });
  EXPECT_EQ(out, (std::vector<double>{0, 5, 0}));
}

// A receiver killed while a message is in transfer to it: no crash, the message in flight
// is freed, and a new receiver on the mailbox gets the next message.
TEST(InboxTest, KilledReceiverMidTransfer) {
  const auto out = run_in_child([] {
    Sim sim(2);
    std::vector<double> out;
    sg4::ActorPtr rx1 = sg4::Actor::create("rx1", sim.peers[1], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<Msg> inbox(mb);
      std::unique_ptr<Msg> m(inbox.wait_until(kInf));
      out.push_back(99);  // never reached
    });
    sg4::Actor::create("tx", sim.peers[0], [] {
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 1), kBig);  // in flight at 0.5
      sg4::this_actor::sleep_until(2.0);
      send_datagram(sg4::Mailbox::by_name("rx"), new Msg(0, 2), 1000);
    });
    sg4::Actor::create("killer", sim.peers[0], [&out, rx1] {
      sg4::this_actor::sleep_until(0.5);
      sg4::Mailbox::by_name("rx")->set_receiver(nullptr);
      rx1->kill();
      sg4::this_actor::sleep_until(1.0);
      out.push_back(g_live_msgs);  // the message in flight was freed
      sg4::Actor::create("rx2", sg4::Host::by_name("p1"), [&out] {
        auto* mb = sg4::Mailbox::by_name("rx");
        mb->set_receiver(sg4::Actor::self());
        Inbox<Msg> inbox(mb);
        std::unique_ptr<Msg> m(inbox.wait_until(10.0));
        out.push_back(m ? m->seq : -1);
        mb->set_receiver(nullptr);
      });
    });
    sim.engine->run();
    out.push_back(g_live_msgs);
    return out;
  });
  EXPECT_EQ(out, (std::vector<double>{0, 2, 0}));
}

// Actors still waiting when the simulation ends are killed by SimGrid; their Inboxes
// unwind without a simcall (which would abort the process).
TEST(InboxTest, KillAllWithReceivesPosted) {
  const auto out = run_in_child([] {
    Sim sim(4);
    std::vector<double> out;
    for (int i = 0; i < 3; ++i) {
      sg4::Actor::create("rx", sim.peers[i], [i] {
        auto* mb = sg4::Mailbox::by_name("rx" + std::to_string(i));
        mb->set_receiver(sg4::Actor::self());
        Inbox<Msg> inbox(mb);
        for (;;) {
          std::unique_ptr<Msg> m(inbox.wait_until(kInf));
        }
      });
    }
    sg4::Actor::create("director", sim.peers[3], [&out] {
      for (int i = 0; i < 3; ++i) {
        send_datagram(sg4::Mailbox::by_name("rx" + std::to_string(i)), new Msg(9, i), kBig);
      }
      sg4::this_actor::sleep_until(0.5);
      sg4::Actor::kill_all();
      out.push_back(now());
    });
    sim.engine->run();
    out.push_back(now());
    return out;
  });
  EXPECT_EQ(out, (std::vector<double>{0.5, 0.5}));
}

// send_datagram returns at once, whether the mailbox has an eager receiver, a waiting one,
// or none at all.
TEST(InboxTest, SendDatagramNeverBlocks) {
  const auto out = run_in_child([] {
    Sim sim(2);
    std::vector<double> out;
    sg4::Actor::create("tx", sim.peers[0], [&out] {
      for (int i = 0; i < 1000; ++i) {
        send_datagram(sg4::Mailbox::by_name("nobody"), new Msg(0, i), kBig);
      }
      out.push_back(now());
    });
    sim.engine->run();
    return out;
  });
  EXPECT_EQ(out, (std::vector<double>{0}));
}

}  // namespace
}  // namespace kittengrad::sim
