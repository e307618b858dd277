// pair_latency_test.cc — runs/pair_latency.h: the latency files are read or refused with
// the line at fault; the access-latency models draw what they document; build_pair_latency
// gives each model's pair latencies and errors that name the scenario key. That the
// simulator's SimGrid routes pay the same latencies: tests/sim/platform_test.cc.
#include "kittengrad/runs/pair_latency.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

namespace kittengrad::runs {
namespace {

// A file in the test's temporary folder holding `text`; returns its path.
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/kg_pair_latency_" + name;
  std::ofstream(path) << text;
  return path;
}

template <typename T>
std::string error_of(const std::variant<T, std::string>& r) {
  const auto* e = std::get_if<std::string>(&r);
  return e == nullptr ? "" : *e;
}

// ---- Coordinate files ----

TEST(SyscoordFileTest, ReadsNodesInOrderSkippingCommentsAndBlanks) {
  const auto path = write_file("ok.syscoord",
                               "# comment\n"
                               "0 -30.8 -183.3 h 0.4\n"
                               "\n"
                               "  1\t1.5 2 h 0 \r\n"
                               "# another\n"
                               "7 1e1 +2 h 3.25\n");
  auto r = read_syscoord_file(path);
  ASSERT_EQ(error_of(r), "");
  const auto& nodes = std::get<std::vector<SyscoordNode>>(r);
  EXPECT_EQ(nodes, (std::vector<SyscoordNode>{{-30.8, -183.3, 0.4}, {1.5, 2, 0}, {10, 2, 3.25}}));
}

TEST(SyscoordFileTest, ErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string expected;  // a part of the message
  };
  const std::vector<Case> cases = {
      {"0 1 2 h 3\n1 1 2 3\n", "line 2 of "},
      {"0 1 2 h 3\n#\n1 1 2 x 3\n", "line 3 of "},
      {"0 1 two h 3\n", "expected `ID X Y h HEIGHT`"},
      {"-1 1 2 h 3\n", "line 1 of "},
      {"0 1 2 h -3\n", "HEIGHT must be >= 0"},
      {"0 1 2 h 3\n1 1 2 h 3\n0 4 4 h 1\n", "line 3 of"},
      {"0 1 2 h 3\n1 1 2 h 3\n0 4 4 h 1\n", "ID 0 already used on line 1"},
      {"0 1 2 h nan\n", "line 1 of"},
      {"# nothing\n\n", "no `ID X Y h HEIGHT` line"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto path = write_file("bad" + std::to_string(i) + ".syscoord", cases[i].text);
    const std::string err = error_of(read_syscoord_file(path));
    EXPECT_NE(err.find(cases[i].expected), std::string::npos) << "case " << i << ": " << err;
    EXPECT_NE(err.find(path), std::string::npos) << err;
  }
  EXPECT_NE(error_of(read_syscoord_file("/nonexistent/x.syscoord")).find("cannot open"),
            std::string::npos);
}

TEST(SyscoordFileTest, ShippedDataSetsRead) {
  for (const char* name : {"median_p2psim", "median_meridian", "median_harvard"}) {
    const std::string here = __FILE__;  // tests/runs/pair_latency_test.cc
    const std::string path =
        here.substr(0, here.rfind('/')) + "/../../scenarios/data/" + name + ".syscoord";
    ASSERT_TRUE(std::ifstream(path).good()) << "the shipped data set is missing: " << path;
    EXPECT_EQ(error_of(read_syscoord_file(path)), "") << path;
  }
}

// ---- Matrix files ----

TEST(LatencyMatrixTest, ReadsSquareMatrixIgnoringTheDiagonal) {
  const auto path = write_file("ok.csv",
                               "# one-way ms\n"
                               "0, 10, 20.5\n"
                               "11,-1,30\n"
                               "\n"
                               " 21 , 31 , 0 \r\n");
  auto r = read_latency_matrix_file(path);
  ASSERT_EQ(error_of(r), "");
  const auto& m = std::get<LatencyMatrix>(r);
  ASSERT_EQ(m.n, 3U);
  EXPECT_EQ(m.at(0, 1), 10);
  EXPECT_EQ(m.at(0, 2), 20.5);
  EXPECT_EQ(m.at(1, 0), 11);  // asymmetric is fine
  EXPECT_EQ(m.at(1, 1), 0);   // the -1 on the diagonal is ignored
  EXPECT_EQ(m.at(2, 1), 31);
}

TEST(LatencyMatrixTest, ErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"a,b\n0,1\n1,0\n", "line 1 of"},  // a header row
      {"a,b\n0,1\n1,0\n", "no header row"},
      {"0,1\n1,0,2\n", "line 2 of"},  // ragged
      {"0,1\n1,0,2\n", "row has 3 fields, the first row has 2"},
      {"0,1\n1,0\n2,2\n", "line 3 of"},            // too many rows
      {"0,1,2\n1,0,2\n", "2 rows but 3 columns"},  // too few rows
      {"0,1\n#\n-1,0\n", "line 3 of"},             // negative
      {"0,1\n#\n-1,0\n", "field 1 is negative"},
      {"0,,1\n", "field 2"},  // empty field
      {"0,1\n1,inf\n", "line 2 of"},
      {"# nothing\n", "no matrix row"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto path = write_file("bad" + std::to_string(i) + ".csv", cases[i].text);
    const std::string err = error_of(read_latency_matrix_file(path));
    EXPECT_NE(err.find(cases[i].expected), std::string::npos) << "case " << i << ": " << err;
  }
}

// ---- Access latencies ----

TEST(AccessLatencyTest, ConstantIsHalfEachWay) {
  LatencySpec spec;
  spec.model = LatencyModel::kConstant;
  spec.ms = 20;
  EXPECT_EQ(access_latency_ms(spec, 1, 0), 10);
  EXPECT_EQ(access_latency_ms(spec, 9, 12345), 10);
}

TEST(AccessLatencyTest, UniformSpansMinToMaxWithTheRightMean) {
  LatencySpec spec;
  spec.model = LatencyModel::kUniform;
  spec.min_ms = 5;
  spec.max_ms = 100;
  double sum = 0;
  constexpr int kHosts = 20000;
  for (int k = 0; k < kHosts; ++k) {
    const double h = access_latency_ms(spec, 3, k);
    ASSERT_GE(h, 2.5);
    ASSERT_LE(h, 50);
    sum += h;
  }
  EXPECT_NEAR(2 * sum / kHosts, 52.5, 1.0);  // pair mean (min + max) / 2
}

TEST(AccessLatencyTest, LognormalHasHalfTheMedianPerHost) {
  LatencySpec spec;
  spec.model = LatencyModel::kLognormal;
  spec.median_ms = 60;
  spec.sigma = 0.6;
  std::vector<double> h;
  for (int k = 0; k < 20001; ++k) h.push_back(access_latency_ms(spec, 4, k));
  std::nth_element(h.begin(), h.begin() + 10000, h.end());
  EXPECT_NEAR(h[10000], 30, 1.0);
}

TEST(AccessLatencyTest, SameSeedSameLatencyDifferentSeedDifferent) {
  LatencySpec spec;
  spec.model = LatencyModel::kLognormal;
  EXPECT_EQ(access_latency_ms(spec, 5, 17), access_latency_ms(spec, 5, 17));
  EXPECT_NE(access_latency_ms(spec, 5, 17), access_latency_ms(spec, 6, 17));
  EXPECT_NE(access_latency_ms(spec, 5, 17), access_latency_ms(spec, 5, 18));
}

// ---- build_pair_latency ----

PairLatency built(const NetworkSection& net, std::size_t hosts, std::uint64_t seed) {
  auto r = build_pair_latency(net, hosts, seed);
  EXPECT_EQ(error_of(r), "");
  return std::holds_alternative<PairLatency>(r) ? std::get<PairLatency>(r) : PairLatency{};
}

TEST(BuildPairLatencyTest, AccessModelsPayBothHostsAccessLatencies) {
  for (auto model : {LatencyModel::kConstant, LatencyModel::kUniform, LatencyModel::kLognormal}) {
    NetworkSection net;
    net.latency.model = model;
    const PairLatency lat = built(net, 6, 11);
    ASSERT_EQ(lat.coordinates().size(), 6U);
    for (std::size_t a = 0; a < 6; ++a) {
      for (std::size_t b = 0; b < 6; ++b) {
        const double expected =
            (access_latency_ms(net.latency, 11, a) + access_latency_ms(net.latency, 11, b)) / 1000;
        EXPECT_NEAR(lat.seconds(a, b), expected, 1e-12)
            << latency_model_name(model) << " " << a << " -> " << b;
      }
    }
  }
}

TEST(BuildPairLatencyTest, HostsSitOnFileNodesModuloTheirNumber) {
  NetworkSection net;
  net.latency.model = LatencyModel::kCoordinates;
  net.latency.path = write_file("three.syscoord",
                                "0 0 0 h 1\n"
                                "1 30 40 h 2\n"
                                "2 -3 -4 h 0.5\n");
  const PairLatency c = built(net, 5, 1);  // hosts on nodes 0 1 2 0 1
  EXPECT_NEAR(c.seconds(0, 1), (50 + 1 + 2) / 1000.0, 1e-12);
  EXPECT_NEAR(c.seconds(1, 2), (std::hypot(33, 44) + 2 + 0.5) / 1000.0, 1e-12);
  EXPECT_NEAR(c.seconds(3, 0), (0 + 1 + 1) / 1000.0, 1e-12);  // same node: the two heights
  EXPECT_NEAR(c.seconds(4, 2), (std::hypot(33, 44) + 2 + 0.5) / 1000.0, 1e-12);

  net.latency.model = LatencyModel::kMatrix;
  net.latency.path = write_file("m.csv",
                                "0,10,20\n"
                                "15,0,30\n"
                                "25,35,0\n");
  const PairLatency m = built(net, 5, 1);  // hosts on nodes 0 1 2 0 1
  ASSERT_NE(m.matrix(), nullptr);
  EXPECT_NEAR(m.seconds(0, 1), 0.010, 1e-12);
  EXPECT_NEAR(m.seconds(1, 0), 0.015, 1e-12);
  EXPECT_NEAR(m.seconds(2, 4), 0.035, 1e-12);
  EXPECT_NEAR(m.seconds(0, 3), 0.0, 1e-12);  // same node
  EXPECT_NEAR(m.seconds(4, 2), 0.030, 1e-12);
}

TEST(BuildPairLatencyTest, SameSeedSameLatencies) {
  NetworkSection net;
  net.latency.model = LatencyModel::kLognormal;
  const PairLatency a = built(net, 8, 5), b = built(net, 8, 5), c = built(net, 8, 6);
  EXPECT_EQ(a.coordinates(), b.coordinates());
  EXPECT_NE(a.coordinates(), c.coordinates());
  // A host's latency does not depend on how many hosts come after it.
  const PairLatency more = built(net, 20, 5);
  for (std::size_t k = 0; k < 8; ++k) EXPECT_EQ(more.coordinates()[k], a.coordinates()[k]);
}

TEST(BuildPairLatencyTest, ErrorsNameTheScenarioKey) {
  NetworkSection net;
  net.latency.model = LatencyModel::kCoordinates;
  net.latency.path = write_file("bad.syscoord", "0 0 0 h 1\n1 2 3\n");
  std::string err = error_of(build_pair_latency(net, 2, 1));
  EXPECT_EQ(err.rfind("network.latency.file: line 2 of " + net.latency.path, 0), 0U) << err;

  net.latency.model = LatencyModel::kMatrix;
  net.latency.path = write_file("bad.csv", "0,1\n1,0\n2,2\n");
  err = error_of(build_pair_latency(net, 2, 1));
  EXPECT_EQ(err.rfind("network.latency.file: line 3 of " + net.latency.path, 0), 0U) << err;

  net.latency.path = "";
  EXPECT_EQ(error_of(build_pair_latency(net, 2, 1)), "network.latency.file: missing");

  net = NetworkSection{};
  net.latency.ms = -1;
  EXPECT_EQ(error_of(build_pair_latency(net, 2, 1)).rfind("network.latency.ms:", 0), 0U);
  net = NetworkSection{};
  net.latency.model = LatencyModel::kUniform;
  net.latency.min_ms = 50;
  net.latency.max_ms = 10;
  EXPECT_EQ(error_of(build_pair_latency(net, 2, 1)).rfind("network.latency.max_ms:", 0), 0U);
  net = NetworkSection{};
  net.latency.model = LatencyModel::kLognormal;
  net.latency.sigma = -0.1;
  EXPECT_EQ(error_of(build_pair_latency(net, 2, 1)).rfind("network.latency.sigma:", 0), 0U);
}

}  // namespace
}  // namespace kittengrad::runs
