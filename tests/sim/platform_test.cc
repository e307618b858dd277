// platform_test.cc — sim/src/platform.h: on the SimGrid platform a datagram pays exactly
// the model's latency plus size / bandwidth, and that latency is runs::build_pair_latency's
// for every model (the latency files and access-latency draws themselves:
// tests/runs/pair_latency_test.cc).
//
// Simulations run in forked children (child_process.h explains why).
#include "../../sim/src/platform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <simgrid/s4u.hpp>
#include <string>
#include <utility>
#include <vector>
#include <xbt/config.hpp>

#include "../../sim/src/inbox.h"
#include "child_process.h"

namespace kittengrad::sim {
namespace {

namespace sg4 = simgrid::s4u;
using testing::run_in_child;

// A file in the test's temporary folder holding `text`; returns its path.
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/kg_platform_" + name;
  std::ofstream(path) << text;
  return path;
}

template <typename T>
std::string error_of(const std::variant<T, std::string>& r) {
  const auto* e = std::get_if<std::string>(&r);
  return e == nullptr ? "" : *e;
}

// ---- The SimGrid platform ----

struct Probe {
  std::size_t from;  // host number: peers first, then extra hosts
  std::size_t to;
  std::uint64_t bytes;
};

// Builds the platform in a child and sends each probe alone (10 s apart, from t = 1 s) from
// host `from` to host `to`; returns each probe's transit time in seconds, or {-1} and
// prints the build error. (Not from t = 0: SimGrid 3.32 delivers a 0-byte message sent at
// t = 0 at once, without its latency.)
std::vector<double> transit_times(const NetworkSection& net, std::size_t peers, std::size_t extra,
                                  const std::vector<Probe>& probes) {
  return run_in_child([&] {
    int argc = 2;
    static char arg0[] = "platform_test";
    static char arg1[] = "--log=root.thres:warning";
    char* argv[] = {arg0, arg1, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, peers + extra);
    auto built = build_platform(e, net, peers, extra, 11);
    if (auto* err = std::get_if<std::string>(&built)) {
      std::fprintf(stderr, "%s\n", err->c_str());
      return std::vector<double>{-1};
    }
    const auto& hosts = std::get<PlatformHosts>(built);
    auto host = [&](std::size_t k) { return k < peers ? hosts.peers[k] : hosts.extra[k - peers]; };
    std::vector<double> out(probes.size(), -1);
    for (std::size_t i = 0; i < probes.size(); ++i) {
      const Probe p = probes[i];
      const std::string box = "probe" + std::to_string(i);
      const double t0 = 1.0 + 10.0 * i;
      sg4::Actor::create("rx", host(p.to), [&out, i, box, t0] {
        auto* mb = sg4::Mailbox::by_name(box);
        mb->set_receiver(sg4::Actor::self());
        Inbox<int> inbox(mb);
        std::unique_ptr<int> m(inbox.wait_until(t0 + 9));
        if (m) out[i] = sg4::Engine::get_clock() - t0;
        mb->set_receiver(nullptr);
      });
      sg4::Actor::create("tx", host(p.from), [box, t0, bytes = p.bytes] {
        sg4::this_actor::sleep_until(t0);
        send_datagram(sg4::Mailbox::by_name(box), new int(0), bytes);
      });
    }
    e.run();
    return out;
  });
}

NetworkSection constant_net(double ms, double mbps) {
  NetworkSection net;
  net.latency.model = LatencyModel::kConstant;
  net.latency.ms = ms;
  net.bandwidth_mbps = mbps;
  return net;
}

TEST(PlatformTest, ConstantLatencyPlusSizeOverBandwidth) {
  // 8 Mbps = 10^6 bytes/s.
  const auto t = transit_times(
      constant_net(40, 8), 3, 2,
      {{0, 1, 0}, {2, 0, 0}, {1, 1, 0}, {0, 3, 0}, {4, 2, 0}, {0, 1, 1'000'000}, {3, 4, 500'000}});
  const std::vector<double> expected = {0.04, 0.04, 0.04, 0.04, 0.04, 1.04, 0.54};
  ASSERT_EQ(t.size(), expected.size());
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_NEAR(t[i], expected[i], 1e-9) << i;
}

TEST(PlatformTest, UniformAndLognormalPayBothAccessLatencies) {
  for (auto model : {LatencyModel::kUniform, LatencyModel::kLognormal}) {
    NetworkSection net;
    net.latency.model = model;
    const std::vector<Probe> probes = {{0, 1, 0}, {1, 0, 0}, {2, 5, 0}, {6, 3, 0}, {4, 4, 0}};
    const auto t = transit_times(net, 5, 2, probes);
    ASSERT_EQ(t.size(), probes.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
      const double expected = (access_latency_ms(net.latency, 11, probes[i].from) +
                               access_latency_ms(net.latency, 11, probes[i].to)) /
                              1000;
      EXPECT_NEAR(t[i], expected, 1e-9) << latency_model_name(model) << " probe " << i;
    }
  }
}

TEST(PlatformTest, CoordinatesFollowTheFileModuloItsNodes) {
  const auto path = write_file("three.syscoord",
                               "0 0 0 h 1\n"
                               "1 30 40 h 2\n"
                               "2 -3 -4 h 0.5\n");
  NetworkSection net;
  net.latency.model = LatencyModel::kCoordinates;
  net.latency.path = path;
  // Hosts 0..4 are peers on nodes 0 1 2 0 1; host 5 (extra 0) is on node 2.
  const auto t = transit_times(net, 5, 1, {{0, 1, 0}, {1, 2, 0}, {3, 0, 0}, {4, 5, 0}});
  ASSERT_EQ(t.size(), 4U);
  EXPECT_NEAR(t[0], (50 + 1 + 2) / 1000.0, 1e-9);
  EXPECT_NEAR(t[1], (std::hypot(33, 44) + 2 + 0.5) / 1000.0, 1e-9);
  EXPECT_NEAR(t[2], (0 + 1 + 1) / 1000.0, 1e-9);  // same node: the two heights
  EXPECT_NEAR(t[3], (std::hypot(33, 44) + 2 + 0.5) / 1000.0, 1e-9);
}

TEST(PlatformTest, MatrixLatencyPerNodePair) {
  const auto path = write_file("m.csv",
                               "0,10,20\n"
                               "15,0,30\n"
                               "25,35,0\n");
  NetworkSection net;
  net.latency.model = LatencyModel::kMatrix;
  net.latency.path = path;
  net.bandwidth_mbps = 8;
  // Hosts 0..3 are peers on nodes 0 1 2 0; host 4 (extra 0) is on node 1.
  const auto t = transit_times(
      net, 4, 1, {{0, 1, 0}, {1, 0, 0}, {2, 1, 0}, {0, 3, 0}, {4, 2, 0}, {3, 4, 1'000'000}});
  const std::vector<double> expected = {0.010, 0.015, 0.035, 0.0, 0.030, 1.010};
  ASSERT_EQ(t.size(), expected.size());
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_NEAR(t[i], expected[i], 1e-9) << i;
}

TEST(PlatformTest, RoutesPayBuildPairLatencyForEveryModel) {
  // What the live runner and the queue model use is what SimGrid's routes pay: every
  // ordered pair of 4 peers and 2 extra hosts, each model.
  const auto coords = write_file("pairs.syscoord",
                                 "0 0 0 h 1\n"
                                 "1 30 40 h 2\n"
                                 "2 -3 -4 h 0.5\n");
  const auto matrix = write_file("pairs.csv",
                                 "0,10,20\n"
                                 "15,0,30\n"
                                 "25,35,0\n");
  constexpr std::size_t kPeers = 4, kExtra = 2, kHosts = kPeers + kExtra;
  std::vector<Probe> probes;
  for (std::size_t a = 0; a < kHosts; ++a) {
    for (std::size_t b = 0; b < kHosts; ++b) probes.push_back({a, b, 0});
  }
  for (auto model : {LatencyModel::kConstant, LatencyModel::kUniform, LatencyModel::kLognormal,
                     LatencyModel::kCoordinates, LatencyModel::kMatrix}) {
    NetworkSection net;
    net.latency.model = model;
    if (model == LatencyModel::kCoordinates) net.latency.path = coords;
    if (model == LatencyModel::kMatrix) net.latency.path = matrix;
    auto built = build_pair_latency(net, kHosts, 11);  // transit_times builds with seed 11
    ASSERT_EQ(error_of(built), "");
    const PairLatency& latency = std::get<PairLatency>(built);
    const auto t = transit_times(net, kPeers, kExtra, probes);
    ASSERT_EQ(t.size(), probes.size()) << latency_model_name(model);
    for (std::size_t i = 0; i < t.size(); ++i) {
      EXPECT_NEAR(t[i], latency.seconds(probes[i].from, probes[i].to), 1e-9)
          << latency_model_name(model) << " " << probes[i].from << " -> " << probes[i].to;
    }
  }
}

TEST(PlatformTest, AccessLinksAreSharedPerDirection) {
  // Two 10^6-byte messages into the same host at once share its down link: both take 2 s.
  const auto out = run_in_child([] {
    int argc = 1;
    static char arg0[] = "platform_test";
    char* argv[] = {arg0, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, 3);
    const auto hosts = std::get<PlatformHosts>(build_platform(e, constant_net(0, 8), 3, 0, 1));
    std::vector<double> out;
    sg4::Actor::create("rx", hosts.peers[2], [&out] {
      auto* mb = sg4::Mailbox::by_name("rx");
      mb->set_receiver(sg4::Actor::self());
      Inbox<int> inbox(mb);
      for (int i = 0; i < 2; ++i) {
        std::unique_ptr<int> m(inbox.wait_until(100));
        out.push_back(sg4::Engine::get_clock());
      }
      mb->set_receiver(nullptr);
    });
    for (int s = 0; s < 2; ++s) {
      sg4::Actor::create("tx", hosts.peers[s],
                         [] { send_datagram(sg4::Mailbox::by_name("rx"), new int(0), 1'000'000); });
    }
    e.run();
    return out;
  });
  ASSERT_EQ(out.size(), 2U);
  EXPECT_NEAR(out[0], 2.0, 1e-6);
  EXPECT_NEAR(out[1], 2.0, 1e-6);
}

// ---- Errors and engine settings ----

// build_platform's error message in a child (as a string of doubles, one per char).
std::string build_error(const NetworkSection& net) {
  const auto out = run_in_child([&] {
    int argc = 1;
    static char arg0[] = "platform_test";
    char* argv[] = {arg0, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, 2);
    const std::string err = error_of(build_platform(e, net, 2, 0, 1));
    return std::vector<double>(err.begin(), err.end());
  });
  return std::string(out.begin(), out.end());
}

TEST(PlatformTest, ErrorsNameTheScenarioKey) {
  NetworkSection net;
  net.latency.model = LatencyModel::kCoordinates;
  net.latency.path = write_file("bad.syscoord", "0 0 0 h 1\n1 2 3\n");
  EXPECT_EQ(build_error(net).rfind("network.latency.file: line 2 of " + net.latency.path, 0), 0U)
      << build_error(net);

  net.latency.model = LatencyModel::kMatrix;
  net.latency.path = write_file("bad.csv", "0,1\n1,0\n2,2\n");
  EXPECT_EQ(build_error(net).rfind("network.latency.file: line 3 of " + net.latency.path, 0), 0U);

  EXPECT_EQ(build_error(constant_net(20, 0)).rfind("network.bandwidth_mbps:", 0), 0U);
  EXPECT_EQ(build_error(constant_net(-1, 10)).rfind("network.latency.ms:", 0), 0U);
  net = NetworkSection{};
  net.latency.model = LatencyModel::kUniform;
  net.latency.min_ms = 50;
  net.latency.max_ms = 10;
  EXPECT_EQ(build_error(net).rfind("network.latency.max_ms:", 0), 0U);
  EXPECT_EQ(build_error(constant_net(20, 10)), "");
}

TEST(PlatformTest, SecondPlatformIsRefused) {
  const auto out = run_in_child([] {
    int argc = 1;
    static char arg0[] = "platform_test";
    char* argv[] = {arg0, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, 2);
    const bool first = error_of(build_platform(e, constant_net(20, 10), 2, 0, 1)).empty();
    const std::string second = error_of(build_platform(e, constant_net(20, 10), 2, 0, 1));
    return std::vector<double>{
        first ? 1.0 : 0.0, second.find("already has a platform") != std::string::npos ? 1.0 : 0.0};
  });
  EXPECT_EQ(out, (std::vector<double>{1, 1}));
}

TEST(EngineDefaultsTest, SetsOursAndKeepsTheUsers) {
  const auto out = run_in_child([] {
    int argc = 2;
    static char arg0[] = "platform_test";
    static char arg1[] = "--cfg=network/crosstraffic:1";
    char* argv[] = {arg0, arg1, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, 100'000);
    namespace cfg = simgrid::config;
    return std::vector<double>{
        cfg::get_value<std::string>("network/model") == "CM02" ? 1.0 : 0.0,
        cfg::get_value<bool>("network/crosstraffic") ? 1.0 : 0.0,  // the user's choice
        static_cast<double>(cfg::get_value<int>("contexts/guard-size")),
        static_cast<double>(cfg::get_value<int>("contexts/stack-size"))};
  });
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 1);
  EXPECT_EQ(out[2], 0);   // 100k actors: no guard pages (they would exceed vm.max_map_count)
  EXPECT_EQ(out[3], 32);  // and tighter stacks, all resident without a guard
}

TEST(EngineDefaultsTest, SmallRunsKeepGuardPages) {
  const auto out = run_in_child([] {
    int argc = 1;
    static char arg0[] = "platform_test";
    char* argv[] = {arg0, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, 1000);
    return std::vector<double>{
        static_cast<double>(simgrid::config::get_value<int>("contexts/guard-size")),
        static_cast<double>(simgrid::config::get_value<int>("contexts/stack-size")),
        simgrid::config::get_value<bool>("network/crosstraffic") ? 1.0 : 0.0};
  });
  EXPECT_EQ(out, (std::vector<double>{1, 64, 0}));
}

TEST(EngineDefaultsTest, StacksFollowTheUsersGuardChoice) {
  const auto out = run_in_child([] {
    int argc = 2;
    static char arg0[] = "platform_test";
    static char arg1[] = "--cfg=contexts/guard-size:0";
    char* argv[] = {arg0, arg1, nullptr};
    sg4::Engine e(&argc, argv);
    configure_engine_defaults(e, 10);
    return std::vector<double>{
        static_cast<double>(simgrid::config::get_value<int>("contexts/stack-size"))};
  });
  EXPECT_EQ(out, (std::vector<double>{32}));
}

}  // namespace
}  // namespace kittengrad::sim
