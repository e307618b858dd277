// scenario_test.cc — the scenario loader and validator (kittengrad/scenario_loader.h).
//
// What a user relies on: an empty file gives the defaults of DESIGN.md; every bad input is
// refused with a message that names the key, the file and the line; `--set` overrides take
// the same values as files and leave the scenario unchanged when refused; and to_toml()
// writes a scenario that parses back to the same settings.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kittengrad/scenario_loader.h"

namespace kittengrad {
namespace {

namespace fs = std::filesystem;

// A folder of its own for this process, with a latency matrix `lat.csv` in it.
const std::string& test_dir() {
  static const std::string dir = [] {
    const fs::path d =
        fs::path(::testing::TempDir()) / ("kg_scenario_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::ofstream(d / "lat.csv") << "0,10\n10,0\n";
    return fs::absolute(d).lexically_normal().string();
  }();
  return dir;
}

std::string write_file(const std::string& name, const std::string& text) {
  const fs::path p = fs::path(test_dir()) / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p.string();
}

ScenarioResult<Scenario> parse(std::string_view text) {
  return parse_scenario(text, "t.toml", test_dir());
}

// Parses `text`, which must be valid, or fails the test with the error.
Scenario parse_ok(std::string_view text) {
  auto sc = parse(text);
  EXPECT_TRUE(sc.ok()) << sc.error().message() << "\n--- in ---\n" << text;
  return sc.ok() ? *sc : Scenario{};
}

// Writes sc as TOML and parses it back: the same settings, and the same text again.
void expect_round_trip(const Scenario& sc) {
  ASSERT_TRUE(validate(sc).ok()) << validate(sc).error().message();
  const std::string text = to_toml(sc);
  auto back = parse_scenario(text, "effective.toml", sc.base_dir);
  ASSERT_TRUE(back.ok()) << back.error().message() << "\n" << text;
  EXPECT_TRUE(back->same_settings(sc)) << text << "\n---\n" << to_toml(*back);
  // Writing it again gives the same text (the first line names the source).
  const std::string again = to_toml(*back);
  EXPECT_EQ(again.substr(again.find("[run]")), text.substr(text.find("[run]")));
}

// ---- defaults ----

TEST(ScenarioDefaults, EmptyFileGivesTheDesignDefaults) {
  const Scenario sc = parse_ok("");
  EXPECT_EQ(sc.run.duration_s, 3600);
  EXPECT_EQ(sc.run.seed, 1u);
  EXPECT_EQ(sc.run.metrics_interval_s, 10);
  EXPECT_TRUE(sc.run.snapshot_times_s.empty());
  EXPECT_EQ(sc.snapshot_times_s(), (std::vector<double>{900, 1800, 2700, 3600}));

  EXPECT_EQ(sc.overlay.peers, 1000);
  EXPECT_EQ(sc.overlay.replication, 3);
  EXPECT_EQ(sc.overlay.write_quorum, 2);
  EXPECT_EQ(sc.overlay.read_quorum, 1);
  EXPECT_EQ(sc.overlay.successors, 8);
  EXPECT_EQ(sc.overlay.namespaces, std::vector<std::string>{"default"});
  EXPECT_EQ(sc.overlay.bootstrap, Bootstrap::kInstant);
  EXPECT_EQ(sc.overlay.join_rate_per_s, 50);
  EXPECT_EQ(sc.overlay.stabilize_interval_s, 5);
  EXPECT_EQ(sc.overlay.fix_fingers_interval_s, 10);
  EXPECT_EQ(sc.overlay.check_predecessor_interval_s, 5);
  EXPECT_EQ(sc.overlay.anti_entropy_interval_s, 30);
  EXPECT_EQ(sc.overlay.journal_block_interval_s, 5);
  EXPECT_EQ(sc.overlay.request_timeout_ms, 1000);
  EXPECT_EQ(sc.overlay.max_datagram_bytes, 1200);

  EXPECT_EQ(sc.network.latency.model, LatencyModel::kConstant);
  EXPECT_EQ(sc.network.latency.ms, 20);
  EXPECT_EQ(sc.network.bandwidth_mbps, 100);
  EXPECT_EQ(sc.network.loss, 0.0);
  EXPECT_EQ(sc.network.duplicate, 0.0);
  EXPECT_EQ(sc.network.clock_skew_ms, 0);

  EXPECT_EQ(sc.churn.model, ChurnModel::kNone);
  EXPECT_EQ(sc.churn.median_session_s, 3600);
  EXPECT_EQ(sc.churn.shape, 1.0);
  EXPECT_EQ(sc.churn.median_downtime_s, 300);
  EXPECT_EQ(sc.churn.permanent_fraction, 0.0);
  EXPECT_EQ(sc.churn.start_s, 0);
  EXPECT_FALSE(sc.churn.end_s.has_value());
  EXPECT_EQ(sc.churn_end_s(), 3600);

  EXPECT_TRUE(sc.failures.empty());

  EXPECT_EQ(sc.workload.inserts_per_s, 10);
  EXPECT_EQ(sc.workload.updates_per_s, 50);
  EXPECT_EQ(sc.workload.lookups_per_s, 50);
  EXPECT_EQ(sc.workload.zipf_s, 0);  // "uniform"
  EXPECT_EQ(sc.workload.record_bytes, 512);
  EXPECT_EQ(sc.workload.start_s, 0);
  EXPECT_FALSE(sc.workload.end_s.has_value());
  EXPECT_EQ(sc.workload_end_s(), 3600);
  EXPECT_FALSE(sc.workload.writes_end_s.has_value());
  EXPECT_EQ(sc.writes_end_s(), 3600);

  EXPECT_TRUE(sc.same_settings(Scenario{}));
  EXPECT_EQ(sc.source, "t.toml");
  EXPECT_EQ(sc.base_dir, test_dir());
  EXPECT_TRUE(sc.key_lines.empty());
  EXPECT_TRUE(validate(Scenario{}).ok());
}

// The scenario block of DESIGN.md, verbatim apart from its comments.
constexpr std::string_view kDesignExample = R"(
[run]
duration_s = 3600
seed = 1
metrics_interval_s = 10

[overlay]
peers = 1000
replication = 3
write_quorum = 2
read_quorum = 1
successors = 8
namespaces = ["default"]
bootstrap = "instant"
join_rate_per_s = 50
stabilize_interval_s = 5
fix_fingers_interval_s = 10
check_predecessor_interval_s = 5
anti_entropy_interval_s = 30
journal_block_interval_s = 5
request_timeout_ms = 1000

[network]
latency = { model = "constant", ms = 20 }
bandwidth_mbps = 100
loss = 0.0
duplicate = 0.0
clock_skew_ms = 0

[churn]
model = "none"
median_session_s = 3600
shape = 1.0
median_downtime_s = 300
permanent_fraction = 0.0
start_s = 0
end_s = 3600

[[failure]]
at_s = 600
kind = "crash"
peers = { count = 5 }
disk_lost = false

[workload]
inserts_per_s = 10
updates_per_s = 50
lookups_per_s = 50
key_popularity = "uniform"
record_bytes = 512
start_s = 0
end_s = 3600
)";

TEST(ScenarioDefaults, DesignExampleReadsAsWritten) {
  const Scenario sc = parse_ok(kDesignExample);
  Scenario expected;
  expected.churn.end_s = 3600;
  expected.workload.end_s = 3600;
  FailureEvent crash;
  crash.at_s = 600;
  crash.kind = FailureKind::kCrash;
  crash.peers.count = 5;
  expected.failures.push_back(crash);
  EXPECT_TRUE(sc.same_settings(expected)) << to_toml(sc);
  ASSERT_EQ(sc.failures.size(), 1u);
  EXPECT_EQ(sc.failures[0].line, 39);
  EXPECT_EQ(sc.key_lines.at("failure[1]"), 39);
  EXPECT_EQ(sc.key_lines.at("failure[1].peers"), 42);
  EXPECT_EQ(sc.key_lines.at("overlay.peers"), 8);
  EXPECT_EQ(sc.key_lines.at("network.latency.ms"), 24);
}

TEST(ScenarioParse, ReadsEveryKey) {
  const Scenario sc = parse_ok(R"(
[run]
duration_s = 7200.5
seed = 42
metrics_interval_s = 2.5
snapshot_times_s = [600, 60.5, 7200.5]
[overlay]
peers = 50
replication = 5
write_quorum = 3
read_quorum = 2
successors = 12
namespaces = ["a", "b.c", "d_e-1"]
bootstrap = "join"
join_rate_per_s = 7
stabilize_interval_s = 1
fix_fingers_interval_s = 2
check_predecessor_interval_s = 3
anti_entropy_interval_s = 0
journal_block_interval_s = 4
request_timeout_ms = 250
[network]
latency = { model = "lognormal", median_ms = 40, sigma = 0.25 }
bandwidth_mbps = 10
loss = 0.01
duplicate = 0.02
clock_skew_ms = 15
[churn]
model = "weibull"
median_session_s = 600
shape = 0.5
median_downtime_s = 60
permanent_fraction = 0.1
start_s = 100
end_s = 9000
[workload]
inserts_per_s = 1
updates_per_s = 2
lookups_per_s = 3
key_popularity = "zipf:1.1"
record_bytes = 4096
start_s = 5
end_s = 6000
writes_end_s = 3000
)");
  EXPECT_EQ(sc.run.duration_s, 7200.5);
  EXPECT_EQ(sc.run.seed, 42u);
  EXPECT_EQ(sc.run.metrics_interval_s, 2.5);
  EXPECT_EQ(sc.run.snapshot_times_s, (std::vector<double>{600, 60.5, 7200.5}));  // as written
  EXPECT_EQ(sc.overlay.peers, 50);
  EXPECT_EQ(sc.overlay.replication, 5);
  EXPECT_EQ(sc.overlay.write_quorum, 3);
  EXPECT_EQ(sc.overlay.read_quorum, 2);
  EXPECT_EQ(sc.overlay.successors, 12);
  EXPECT_EQ(sc.overlay.namespaces, (std::vector<std::string>{"a", "b.c", "d_e-1"}));
  EXPECT_EQ(sc.overlay.bootstrap, Bootstrap::kJoin);
  EXPECT_EQ(sc.overlay.join_rate_per_s, 7);
  EXPECT_EQ(sc.overlay.stabilize_interval_s, 1);
  EXPECT_EQ(sc.overlay.fix_fingers_interval_s, 2);
  EXPECT_EQ(sc.overlay.check_predecessor_interval_s, 3);
  EXPECT_EQ(sc.overlay.anti_entropy_interval_s, 0);  // 0 turns anti-entropy off
  EXPECT_EQ(sc.overlay.journal_block_interval_s, 4);
  EXPECT_EQ(sc.overlay.request_timeout_ms, 250);
  EXPECT_EQ(sc.network.latency.model, LatencyModel::kLognormal);
  EXPECT_EQ(sc.network.latency.median_ms, 40);
  EXPECT_EQ(sc.network.latency.sigma, 0.25);
  EXPECT_EQ(sc.network.bandwidth_mbps, 10);
  EXPECT_EQ(sc.network.loss, 0.01);
  EXPECT_EQ(sc.network.duplicate, 0.02);
  EXPECT_EQ(sc.network.clock_skew_ms, 15);
  EXPECT_EQ(sc.churn.model, ChurnModel::kWeibull);
  EXPECT_EQ(sc.churn.median_session_s, 600);
  EXPECT_EQ(sc.churn.shape, 0.5);
  EXPECT_EQ(sc.churn.median_downtime_s, 60);
  EXPECT_EQ(sc.churn.permanent_fraction, 0.1);
  EXPECT_EQ(sc.churn.start_s, 100);
  EXPECT_EQ(sc.churn_end_s(), 9000);
  EXPECT_EQ(sc.workload.inserts_per_s, 1);
  EXPECT_EQ(sc.workload.updates_per_s, 2);
  EXPECT_EQ(sc.workload.lookups_per_s, 3);
  EXPECT_EQ(sc.workload.zipf_s, 1.1);
  EXPECT_EQ(sc.workload.record_bytes, 4096);
  EXPECT_EQ(sc.workload.start_s, 5);
  EXPECT_EQ(sc.workload_end_s(), 6000);
  EXPECT_EQ(sc.workload.writes_end_s, 3000);
  EXPECT_EQ(sc.writes_end_s(), 3000);
}

// Writes stop at writes_end_s; unset, they go on until the workload ends, whichever key
// decides that.
TEST(ScenarioParse, WritesEndFollowsTheWorkloadEnd) {
  Scenario sc = parse_ok("[run]\nduration_s = 100\n");
  EXPECT_EQ(sc.writes_end_s(), 100);
  ASSERT_TRUE(apply_override(sc, "run.duration_s=50").ok());
  EXPECT_EQ(sc.writes_end_s(), 50);
  ASSERT_TRUE(apply_override(sc, "workload.end_s=400").ok());  // later than the run: allowed
  EXPECT_EQ(sc.writes_end_s(), 400);

  sc = parse_ok("[workload]\nstart_s = 10\nend_s = 300\nwrites_end_s = 10\n");
  EXPECT_EQ(sc.writes_end_s(), 10);  // = start_s: a read-only workload
  sc = parse_ok("[workload]\nend_s = 300\nwrites_end_s = 300\n");
  EXPECT_EQ(sc.writes_end_s(), 300);
  sc = parse_ok("[run]\nduration_s = 100\n[workload]\nwrites_end_s = 100\n");
  EXPECT_EQ(sc.writes_end_s(), 100);

  // Never after the workload's end, even in a scenario built in code that validate() refuses.
  Scenario code;
  code.workload.end_s = 200;
  code.workload.writes_end_s = 500;
  EXPECT_FALSE(validate(code).ok());
  EXPECT_EQ(code.writes_end_s(), 200);
}

TEST(ScenarioParse, SnapshotTimes) {
  Scenario sc = parse_ok("[run]\nduration_s = 100\n");
  EXPECT_EQ(sc.snapshot_times_s(), (std::vector<double>{25, 50, 75, 100}));
  sc = parse_ok("[run]\nduration_s = 10\n");
  EXPECT_EQ(sc.snapshot_times_s(), (std::vector<double>{2.5, 5, 7.5, 10}));

  // As written in the scenario; the helper sorts them and drops repeats.
  sc = parse_ok("run.snapshot_times_s = [3600, 60, 0.5, 60]\n");
  EXPECT_EQ(sc.run.snapshot_times_s, (std::vector<double>{3600, 60, 0.5, 60}));
  EXPECT_EQ(sc.snapshot_times_s(), (std::vector<double>{0.5, 60, 3600}));
  EXPECT_EQ(sc.key_lines.at("run.snapshot_times_s"), 1);

  // The most a scenario may ask for.
  std::string many = "[run]\nsnapshot_times_s = [";
  for (int i = 1; i <= 1000; ++i) many += std::to_string(i) + (i < 1000 ? ", " : "]\n");
  sc = parse_ok(many);
  EXPECT_EQ(sc.snapshot_times_s().size(), 1000u);
  EXPECT_EQ(sc.snapshot_times_s().back(), 1000);
}

TEST(ScenarioParse, ReadsEveryFailureKind) {
  const Scenario sc = parse_ok(R"([[failure]]
at_s = 10
kind = "crash"
peers = { adjacent = 3 }
disk_lost = true

[[failure]]
at_s = 20
kind = "recover"
peers = { all = true }
[[failure]]
at_s = 30
kind = "leave"
peers = { fraction = 0.25 }
[[failure]]
at_s = 40
kind = "join"
peers = { count = 7 }
[[failure]]
at_s = 50
kind = "partition"
peers = { fraction = 0.5 }
[[failure]]
at_s = 60
kind = "heal"
[[failure]]
at_s = 70
kind = "loss"
rate = 0.3
duration_s = 60
)");
  ASSERT_EQ(sc.failures.size(), 7u);
  const auto& f = sc.failures;
  EXPECT_EQ(f[0].kind, FailureKind::kCrash);
  EXPECT_EQ(f[0].peers.adjacent, 3);
  EXPECT_TRUE(f[0].disk_lost);
  EXPECT_EQ(f[0].line, 1);
  EXPECT_EQ(f[1].kind, FailureKind::kRecover);
  EXPECT_TRUE(f[1].peers.all);
  EXPECT_EQ(f[1].line, 7);
  EXPECT_EQ(f[2].kind, FailureKind::kLeave);
  EXPECT_EQ(f[2].peers.fraction, 0.25);
  EXPECT_EQ(f[3].kind, FailureKind::kJoin);
  EXPECT_EQ(f[3].peers.count, 7);
  EXPECT_EQ(f[4].kind, FailureKind::kPartition);
  EXPECT_EQ(f[4].peers.fraction, 0.5);
  EXPECT_EQ(f[5].kind, FailureKind::kHeal);
  EXPECT_EQ(f[5].peers, PeerSelector{});
  EXPECT_EQ(f[6].kind, FailureKind::kLoss);
  EXPECT_EQ(f[6].rate, 0.3);
  EXPECT_EQ(f[6].duration_s, 60);
  EXPECT_EQ(f[6].at_s, 70);
  EXPECT_EQ(f[6].line, 26);
}

TEST(ScenarioParse, AcceptsIntegersWhereFloatsAreExpected) {
  const Scenario sc = parse_ok("[network]\nloss = 0\nbandwidth_mbps = 1000\n[churn]\nshape = 2\n");
  EXPECT_EQ(sc.network.bandwidth_mbps, 1000.0);
  EXPECT_EQ(sc.churn.shape, 2.0);
}

TEST(ScenarioParse, AcceptsDottedKeysAndLaterEnds) {
  const Scenario sc = parse_ok("overlay.peers = 10\nchurn.end_s = 99999\nworkload.end_s = 5000\n");
  EXPECT_EQ(sc.overlay.peers, 10);
  EXPECT_EQ(sc.key_lines.at("overlay.peers"), 1);
  EXPECT_EQ(sc.churn_end_s(), 99999);  // later than duration_s: allowed, never reached
}

TEST(ScenarioParse, LatencyModelsKeepDefaultsForKeysNotGiven) {
  Scenario sc = parse_ok("[network]\nlatency = { model = \"uniform\", max_ms = 300 }\n");
  EXPECT_EQ(sc.network.latency.model, LatencyModel::kUniform);
  EXPECT_EQ(sc.network.latency.min_ms, 5);
  EXPECT_EQ(sc.network.latency.max_ms, 300);

  sc = parse_ok("[network.latency]\nmodel = \"matrix\"\nfile = \"lat.csv\"\n");
  EXPECT_EQ(sc.network.latency.model, LatencyModel::kMatrix);
  EXPECT_EQ(sc.network.latency.file, "lat.csv");
  EXPECT_EQ(sc.network.latency.path, (fs::path(test_dir()) / "lat.csv").string());
}

// The Vivaldi coordinate sets that ship in scenarios/data/ resolve from a scenario there.
TEST(ScenarioParse, ShippedCoordinateDataResolves) {
  for (const char* file : {"data/median_p2psim.syscoord", "data/median_meridian.syscoord",
                           "data/median_harvard.syscoord"}) {
    const std::string text =
        std::string("[network]\nlatency = { model = \"coordinates\", file = \"") + file + "\" }\n";
    auto sc = parse_scenario(text, "scenarios/x.toml", KG_SCENARIOS_DIR);
    ASSERT_TRUE(sc.ok()) << sc.error().message();
    EXPECT_EQ(sc->network.latency.model, LatencyModel::kCoordinates);
    EXPECT_TRUE(fs::is_regular_file(sc->network.latency.path)) << sc->network.latency.path;
    EXPECT_TRUE(fs::path(sc->network.latency.path).is_absolute());
  }
}

// Every ready scenario that ships in scenarios/ (and its subfolders) loads and validates.
TEST(ScenarioFile, ShippedScenariosLoad) {
  for (const auto& entry : fs::recursive_directory_iterator(KG_SCENARIOS_DIR)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".toml") continue;
    auto sc = load_scenario_file(entry.path().string());
    EXPECT_TRUE(sc.ok()) << sc.error().message();
    if (sc.ok()) expect_round_trip(*sc);
  }
}

// ---- refusals: each names its key, the file and the line ----

struct BadInput {
  const char* name;  // test name
  const char* text;  // scenario file
  const char* key;   // dotted key in the error ("" for syntax errors)
  int line;          // line in the error
  const char* what;  // a part of the explanation
};

class ScenarioRefuses : public ::testing::TestWithParam<BadInput> {};

TEST_P(ScenarioRefuses, NamingKeyAndLine) {
  const BadInput& in = GetParam();
  auto sc = parse(in.text);
  ASSERT_FALSE(sc.ok()) << "accepted:\n" << in.text;
  const ScenarioError& e = sc.error();
  EXPECT_EQ(e.key, in.key);
  EXPECT_EQ(e.line, in.line);
  EXPECT_EQ(e.file, "t.toml");
  EXPECT_NE(e.what.find(in.what), std::string::npos) << e.what;
  const std::string prefix = "t.toml:" + std::to_string(in.line) + ": " +
                             (std::string(in.key).empty() ? "" : std::string(in.key) + ": ");
  EXPECT_EQ(e.message().rfind(prefix, 0), 0u) << e.message();
  EXPECT_EQ(e.message(), prefix + e.what);
}

const BadInput kBadInputs[] = {
    // Unknown keys and tables.
    {"UnknownKey", "[overlay]\npeers = 10\npeerz = 3\n", "overlay.peerz", 3,
     "unknown key ([overlay] takes peers, replication,"},
    {"UnknownTable", "\n[overlai]\npeers = 3\n", "overlai", 2, "unknown key (the scenario"},
    {"UnknownTopLevelKey", "\n\nseed = 3\n[run]\n", "seed", 3,
     "unknown key (the scenario file has the tables [run], [overlay]"},
    {"UnknownDottedKey", "overlay.peerz = 1\n", "overlay.peerz", 1, "unknown key"},
    {"UnknownKeyInFileOrder", "[overlay]\nzzz = 1\naaa = 2\n", "overlay.zzz", 2, "unknown key"},
    {"SectionNotATable", "run = 5\n", "run", 1, "must be a table: write [run] (got an integer)"},
    {"FailureNotAnArray", "[failure]\nat_s = 1\n", "failure", 1,
     "must be an array of tables: write each event as [[failure]]"},
    // Wrong types.
    {"StringForInteger", "[overlay]\npeers = \"many\"\n", "overlay.peers", 2,
     "must be an integer (got a string)"},
    {"StringForFloat", "[run]\nduration_s = \"1h\"\n", "run.duration_s", 2,
     "must be a number (got a string)"},
    {"FloatForInteger", "[overlay]\nreplication = 2.5\n", "overlay.replication", 2,
     "must be an integer (got the float 2.5)"},
    {"FloatForSeed", "[run]\nseed = 1.0\n", "run.seed", 2, "must be an integer (got the float 1)"},
    {"DateForFloat", "[run]\nduration_s = 1979-05-27\n", "run.duration_s", 2,
     "must be a number (got a date)"},
    {"IntegerForBoolean",
     "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { count = 1 }\ndisk_lost = 1\n",
     "failure[1].disk_lost", 5, "must be true or false (got an integer)"},
    {"IntegerForEnum", "[churn]\nmodel = 3\n", "churn.model", 2, "must be one of \"none\""},
    {"Infinity", "[run]\nduration_s = inf\n", "run.duration_s", 2, "must be a finite number"},
    {"NotANumber", "[network]\nloss = nan\n", "network.loss", 2, "must be a finite number"},
    // Negative rates and durations, and other ranges.
    {"NegativeInsertRate", "[workload]\ninserts_per_s = -1\n", "workload.inserts_per_s", 2,
     "must be >= 0 (got -1)"},
    {"NegativeLookupRate", "[workload]\nlookups_per_s = -0.5\n", "workload.lookups_per_s", 2,
     "must be >= 0 (got -0.5)"},
    {"NegativeJoinRate", "[overlay]\njoin_rate_per_s = -3\n", "overlay.join_rate_per_s", 2,
     "must be > 0 (got -3)"},
    {"NegativeDuration", "[run]\nduration_s = -5\n", "run.duration_s", 2, "must be > 0 (got -5)"},
    {"ZeroDuration", "[run]\nduration_s = 0\n", "run.duration_s", 2, "must be > 0 (got 0)"},
    {"NegativeSeed", "[run]\nseed = -1\n", "run.seed", 2, "must be an integer >= 0 (got -1)"},
    {"MetricsIntervalLongerThanRun", "[run]\nduration_s = 5\nmetrics_interval_s = 10\n",
     "run.metrics_interval_s", 3, "must be <= run.duration_s = 5 (got 10)"},
    {"NegativeSession", "[churn]\nmedian_session_s = -1\n", "churn.median_session_s", 2,
     "must be > 0"},
    {"NegativeDowntime", "[churn]\nmedian_downtime_s = -1\n", "churn.median_downtime_s", 2,
     "must be > 0"},
    {"NegativeSkew", "[network]\nclock_skew_ms = -1\n", "network.clock_skew_ms", 2, "must be >= 0"},
    {"ZeroBandwidth", "[network]\nbandwidth_mbps = 0\n", "network.bandwidth_mbps", 2,
     "must be > 0"},
    {"LossOfOne", "[network]\nloss = 1.0\n", "network.loss", 2, "must be in [0, 1) (got 1)"},
    {"NegativeDuplicate", "[network]\nduplicate = -0.1\n", "network.duplicate", 2,
     "must be in [0, 1) (got -0.1)"},
    {"NegativeAntiEntropy", "[overlay]\nanti_entropy_interval_s = -1\n",
     "overlay.anti_entropy_interval_s", 2, "must be >= 0"},
    {"ZeroStabilize", "[overlay]\nstabilize_interval_s = 0\n", "overlay.stabilize_interval_s", 2,
     "must be > 0"},
    {"ZeroTimeout", "[overlay]\nrequest_timeout_ms = 0\n", "overlay.request_timeout_ms", 2,
     "must be > 0"},
    {"DatagramTooSmall", "[overlay]\nmax_datagram_bytes = 511\n", "overlay.max_datagram_bytes",
     2, "must be in [512, 65000] (got 511)"},
    {"DatagramTooLarge", "[overlay]\nmax_datagram_bytes = 65001\n", "overlay.max_datagram_bytes",
     2, "must be in [512, 65000] (got 65001)"},
    // Overlay relations.
    {"ZeroPeers", "[overlay]\npeers = 0\n", "overlay.peers", 2, "must be >= 1 (got 0)"},
    {"ReplicationAbovePeers", "[overlay]\npeers = 2\nreplication = 3\n", "overlay.replication", 3,
     "must be <= overlay.peers = 2 (got 3)"},
    {"DefaultReplicationAbovePeers", "[overlay]\npeers = 2\n", "overlay.replication", 2,
     "must be <= overlay.peers = 2 (got 3)"},
    {"ZeroReplication", "[overlay]\nreplication = 0\n", "overlay.replication", 2,
     "must be >= 1 (got 0)"},
    {"WriteQuorumAboveReplication", "[overlay]\nreplication = 3\nwrite_quorum = 4\n",
     "overlay.write_quorum", 3, "must be <= overlay.replication = 3 (got 4)"},
    {"WriteQuorumZero", "[overlay]\nwrite_quorum = 0\n", "overlay.write_quorum", 2,
     "must be >= 1 (got 0)"},
    {"ReadQuorumAboveReplication", "[overlay]\nreplication = 2\nread_quorum = 3\n",
     "overlay.read_quorum", 3, "must be <= overlay.replication = 2 (got 3)"},
    {"SuccessorsBelowReplication", "[overlay]\nreplication = 5\nsuccessors = 4\n",
     "overlay.successors", 3, "must be >= overlay.replication = 5 (got 4)"},
    {"NoNamespaces", "[overlay]\nnamespaces = []\n", "overlay.namespaces", 2,
     "must name at least one namespace"},
    {"DuplicateNamespace", "[overlay]\nnamespaces = [\"a\", \"b\", \"a\"]\n", "overlay.namespaces",
     2, "names must be unique (got \"a\" twice)"},
    {"BadNamespaceName", "[overlay]\nnamespaces = [\"a b\"]\n", "overlay.namespaces", 2,
     "only letters, digits"},
    {"EmptyNamespaceName", "[overlay]\nnamespaces = [\"\"]\n", "overlay.namespaces", 2,
     "must be non-empty"},
    {"NamespaceNotString", "[overlay]\nnamespaces = [\"a\",\n  3]\n", "overlay.namespaces", 3,
     "must be an array of strings (got an integer in it)"},
    {"NamespacesNotArray", "[overlay]\nnamespaces = \"a\"\n", "overlay.namespaces", 2,
     "must be an array of strings"},
    {"UnknownBootstrap", "[overlay]\nbootstrap = \"lazy\"\n", "overlay.bootstrap", 2,
     "must be one of \"instant\" or \"join\" (got \"lazy\")"},
    // Malformed TOML.
    {"MalformedTable", "[run]\nduration_s = 1\n[overlay\npeers = 3\n", "", 3, "TOML syntax error"},
    {"MalformedValue", "[run]\n\nduration_s = 1h\n", "", 3, "TOML syntax error"},
    {"DuplicateKey", "[run]\nseed = 1\nseed = 2\n", "", 3, "TOML syntax error"},
    // Latency.
    {"UnknownLatencyModel", "[network]\nlatency = { model = \"gauss\", ms = 3 }\n",
     "network.latency.model", 2,
     "must be one of \"constant\", \"uniform\", \"lognormal\", \"matrix\" or \"coordinates\" "
     "(got \"gauss\")"},
    {"LatencyWithoutModel", "[network]\nlatency = { ms = 3 }\n", "network.latency.model", 2,
     "is missing; give one of \"constant\""},
    {"LatencyKeyOfAnotherModel", "[network]\nlatency = { model = \"constant\", min_ms = 3 }\n",
     "network.latency.min_ms", 2,
     "is not a key of latency model \"constant\", which takes model and ms"},
    {"LatencyNotATable", "[network]\nlatency = 20\n", "network.latency", 2,
     "must be a table such as { model = \"constant\", ms = 20 } (got an integer)"},
    {"NegativeConstantLatency", "[network]\nlatency = { model = \"constant\", ms = -1 }\n",
     "network.latency.ms", 2, "must be >= 0 (got -1)"},
    {"UniformMinAboveMax", "[network.latency]\nmodel = \"uniform\"\nmin_ms = 10\nmax_ms = 5\n",
     "network.latency.max_ms", 4, "must be >= network.latency.min_ms = 10 (got 5)"},
    {"LognormalZeroMedian", "[network]\nlatency = { model = \"lognormal\", median_ms = 0 }\n",
     "network.latency.median_ms", 2, "must be > 0 (got 0)"},
    {"LognormalNegativeSigma", "[network]\nlatency = { model = \"lognormal\", sigma = -1 }\n",
     "network.latency.sigma", 2, "must be >= 0"},
    {"MissingMatrixFile", "[network]\n\nlatency = { model = \"matrix\", file = \"nope.csv\" }\n",
     "network.latency.file", 3, "must name an existing file; tried /"},
    {"MatrixWithoutFile", "[network]\nlatency = { model = \"matrix\" }\n", "network.latency.file",
     2, "is missing; latency model \"matrix\" needs file = \"PATH\""},
    {"MissingCoordinatesFile",
     "[network]\nlatency = { model = \"coordinates\", file = \"data/none.syscoord\" }\n",
     "network.latency.file", 2, "data/none.syscoord"},
    // Churn.
    {"UnknownChurnModel", "[churn]\nmodel = \"poisson\"\n", "churn.model", 2,
     "must be one of \"none\", \"exponential\", \"weibull\" or \"pareto\" (got \"poisson\")"},
    {"ParetoShapeOne", "[churn]\nmodel = \"pareto\"\nshape = 1\n", "churn.shape", 3,
     "must be > 1 for model = \"pareto\""},
    {"ParetoDefaultShape", "[churn]\nmodel = \"pareto\"\n", "churn.shape", 2,
     "must be > 1 for model = \"pareto\""},
    {"ParetoShapeBelowOne", "[churn]\nmodel = \"pareto\"\nshape = 0.9\n", "churn.shape", 3,
     "(got 0.9)"},
    {"WeibullZeroShape", "[churn]\nmodel = \"weibull\"\nshape = 0\n", "churn.shape", 3,
     "must be > 0 (got 0)"},
    {"PermanentFractionAboveOne", "[churn]\npermanent_fraction = 1.5\n", "churn.permanent_fraction",
     2, "must be in [0, 1] (got 1.5)"},
    {"ChurnNegativeStart", "[churn]\nstart_s = -1\n", "churn.start_s", 2, "must be >= 0"},
    {"ChurnEndBeforeStart", "[churn]\nstart_s = 100\nend_s = 50\n", "churn.end_s", 3,
     "must be >= churn.start_s = 100 (got 50)"},
    // Failures (keys are 1-based: failure[1] is the first [[failure]] table).
    {"CrashWithAll", "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { all = true }\n",
     "failure[1].peers", 4,
     "must be exactly one of { count = N }, { fraction = F } or { adjacent = N } for kind = "
     "\"crash\""},
    {"PartitionWithCount", "[[failure]]\nat_s = 1\nkind = \"partition\"\npeers = { count = 3 }\n",
     "failure[1].peers", 4, "must be exactly one of { fraction = F } for kind = \"partition\""},
    {"JoinWithFraction", "[[failure]]\nat_s = 1\nkind = \"join\"\npeers = { fraction = 0.1 }\n",
     "failure[1].peers", 4, "must be exactly one of { count = N } for kind = \"join\""},
    {"RecoverWithAdjacent", "[[failure]]\nat_s = 1\nkind = \"recover\"\npeers = { adjacent = 2 }\n",
     "failure[1].peers", 4,
     "{ count = N }, { fraction = F } or { all = true } for kind = \"recover\""},
    {"TwoSelectors",
     "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { count = 1, fraction = 0.5 }\n",
     "failure[1].peers", 4, "must be exactly one of"},
    {"EmptySelector", "[[failure]]\nat_s = 1\nkind = \"leave\"\npeers = {}\n", "failure[1].peers",
     4, "must be exactly one of"},
    {"CrashWithoutPeers", "\n[[failure]]\nat_s = 1\nkind = \"crash\"\n", "failure[1].peers", 2,
     "must be exactly one of"},
    {"HealWithPeers",
     "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { count = 1 }\n"
     "[[failure]]\nat_s = 2\nkind = \"heal\"\npeers = { count = 1 }\n",
     "failure[2].peers", 8, "kind = \"heal\" takes no peers key"},
    {"LossWithPeers",
     "[[failure]]\nat_s = 1\nkind = \"loss\"\nrate = 0.1\nduration_s = 5\npeers = { count = 1 }\n",
     "failure[1].peers", 6, "kind = \"loss\" takes no peers key"},
    {"ZeroCount", "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { count = 0 }\n",
     "failure[1].peers.count", 4, "must be >= 1 (got 0)"},
    {"FractionCount", "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { count = 0.5 }\n",
     "failure[1].peers.count", 4, "must be an integer (got the float 0.5)"},
    {"ZeroFraction", "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { fraction = 0 }\n",
     "failure[1].peers.fraction", 4, "must be in (0, 1] (got 0)"},
    {"FractionAboveOne",
     "[[failure]]\nat_s = 1\nkind = \"partition\"\npeers = { fraction = 1.5 }\n",
     "failure[1].peers.fraction", 4, "must be in (0, 1] (got 1.5)"},
    {"ZeroAdjacent", "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { adjacent = 0 }\n",
     "failure[1].peers.adjacent", 4, "must be >= 1 (got 0)"},
    {"AllFalse", "[[failure]]\nat_s = 1\nkind = \"recover\"\npeers = { all = false }\n",
     "failure[1].peers.all", 4, "must be true"},
    {"UnknownSelector", "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { counts = 3 }\n",
     "failure[1].peers.counts", 4, "unknown key (peers takes one of count, fraction, adjacent"},
    {"SelectorNotATable", "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = 5\n",
     "failure[1].peers", 4, "must be a table: { count = N }"},
    {"UnknownFailureKind", "[[failure]]\nat_s = 1\nkind = \"explode\"\n", "failure[1].kind", 3,
     "must be one of \"crash\", \"recover\", \"leave\", \"join\", \"partition\", \"heal\" or "
     "\"loss\" (got \"explode\")"},
    {"FailureWithoutKind", "[run]\n[[failure]]\nat_s = 1\n", "failure[1].kind", 2,
     "is missing; every [[failure]] needs kind"},
    {"FailureWithoutTime", "[[failure]]\nkind = \"heal\"\n", "failure[1].at_s", 1,
     "is missing; every [[failure]] needs at_s"},
    {"NegativeFailureTime", "[[failure]]\nat_s = -1\nkind = \"heal\"\n", "failure[1].at_s", 2,
     "must be >= 0 (got -1)"},
    {"UnknownFailureKey", "[[failure]]\nat_s = 1\nkind = \"heal\"\nwhen = 3\n", "failure[1].when",
     4, "unknown key (a [[failure]] takes at_s, kind, peers"},
    {"DiskLostOnLeave",
     "[[failure]]\nat_s = 1\nkind = \"leave\"\npeers = { count = 1 }\ndisk_lost = true\n",
     "failure[1].disk_lost", 5, "only kind = \"crash\" takes disk_lost (got kind = \"leave\")"},
    {"RateOnCrash", "[[failure]]\nat_s = 1\nkind = \"crash\"\npeers = { count = 1 }\nrate = 0\n",
     "failure[1].rate", 5, "only kind = \"loss\" takes rate"},
    {"LossRateAboveOne", "[[failure]]\nat_s = 1\nkind = \"loss\"\nrate = 1.5\nduration_s = 5\n",
     "failure[1].rate", 4, "must be in [0, 1] (got 1.5)"},
    {"NegativeLossRate", "[[failure]]\nat_s = 1\nkind = \"loss\"\nrate = -0.1\nduration_s = 5\n",
     "failure[1].rate", 4, "must be in [0, 1] (got -0.1)"},
    {"LossWithoutDuration", "[[failure]]\nat_s = 1\nkind = \"loss\"\nrate = 0.5\n",
     "failure[1].duration_s", 1, "must be > 0 (got 0)"},
    // Workload.
    {"ZipfZero", "[workload]\nkey_popularity = \"zipf:0\"\n", "workload.key_popularity", 2,
     "must be \"uniform\" or \"zipf:S\" with a number S > 0 (got \"zipf:0\")"},
    {"ZipfNotANumber", "[workload]\nkey_popularity = \"zipf:abc\"\n", "workload.key_popularity", 2,
     "(got \"zipf:abc\")"},
    {"ZipfWithoutExponent", "[workload]\nkey_popularity = \"zipf:\"\n", "workload.key_popularity",
     2, "(got \"zipf:\")"},
    {"ZipfTrailingText", "[workload]\nkey_popularity = \"zipf:1.2x\"\n", "workload.key_popularity",
     2, "(got \"zipf:1.2x\")"},
    {"UnknownPopularity", "[workload]\nkey_popularity = \"pareto\"\n", "workload.key_popularity", 2,
     "must be \"uniform\" or \"zipf:S\""},
    {"PopularityNotString", "[workload]\nkey_popularity = 1.1\n", "workload.key_popularity", 2,
     "(got a float)"},
    {"ZeroRecordBytes", "[workload]\nrecord_bytes = 0\n", "workload.record_bytes", 2,
     "must be >= 1 (got 0)"},
    {"RecordRangeReversed", "[workload]\nrecord_bytes = { min = 2048, max = 512 }\n",
     "workload.record_bytes.max", 2, "must be >= workload.record_bytes.min = 2048 (got 512)"},
    {"RecordRangeWithoutMax", "[workload]\nrecord_bytes = { min = 512 }\n",
     "workload.record_bytes.max", 2, "is missing; a range needs both min and max"},
    {"RecordRangeFloat", "[workload]\nrecord_bytes = { min = 512, max = 1.5e3 }\n",
     "workload.record_bytes.max", 2, "must be an integer (got the float 1500)"},
    // Network model and queues.
    {"UnknownNetworkModel", "[network]\nmodel = \"tcp\"\n", "network.model", 2,
     "must be one of \"queue\" or \"flow\" (got \"tcp\")"},
    {"ZeroQueueBytes", "[network]\nqueue_bytes = 0\n", "network.queue_bytes", 2,
     "must be >= 1 (got 0)"},
    {"QueueBytesFloat", "[network]\nqueue_bytes = 1e5\n", "network.queue_bytes", 2,
     "must be an integer"},
    {"BandwidthRangeReversed", "[network]\nbandwidth_mbps = { min = 20, max = 10 }\n",
     "network.bandwidth_mbps.max", 2, "must be >= network.bandwidth_mbps.min = 20 (got 10)"},
    {"BandwidthRangeZero", "[network]\nbandwidth_mbps = { min = 0, max = 10 }\n",
     "network.bandwidth_mbps.min", 2, "must be > 0 (got 0)"},
    {"BandwidthRangeUnknownKey", "[network]\nbandwidth_mbps = { min = 1, mean = 10 }\n",
     "network.bandwidth_mbps.mean", 2, "unknown key (a range takes min and max"},
    {"BandwidthString", "[network]\nbandwidth_mbps = \"fast\"\n", "network.bandwidth_mbps", 2,
     "must be a number or a range such as { min = 10, max = 20 } (got a string)"},
    {"NegativeWorkloadStart", "[workload]\nstart_s = -2\n", "workload.start_s", 2,
     "must be >= 0 (got -2)"},
    {"WorkloadEndBeforeStart", "[workload]\nstart_s = 10\nend_s = 5\n", "workload.end_s", 3,
     "must be >= workload.start_s = 10 (got 5)"},
    {"WritesEndBeforeStart", "[workload]\nstart_s = 10\nwrites_end_s = 5\n",
     "workload.writes_end_s", 3, "must be >= workload.start_s = 10 (got 5)"},
    {"NegativeWritesEnd", "[workload]\nwrites_end_s = -1\n", "workload.writes_end_s", 2,
     "must be >= workload.start_s = 0 (got -1)"},
    {"WritesEndAfterWorkloadEnd", "[workload]\nend_s = 100\n\nwrites_end_s = 100.5\n",
     "workload.writes_end_s", 4, "must be <= workload.end_s = 100 (got 100.5)"},
    {"WritesEndAfterRun", "[run]\nduration_s = 60\n[workload]\nwrites_end_s = 61\n",
     "workload.writes_end_s", 4,
     "must be <= run.duration_s = 60 (got 61), where the workload ends (workload.end_s is "
     "unset)"},
    {"WritesEndNotANumber", "[workload]\nwrites_end_s = \"1h\"\n", "workload.writes_end_s", 2,
     "must be a number (got a string)"},
    // Snapshot times.
    {"ZeroSnapshotTime", "[run]\nsnapshot_times_s = [0, 60]\n", "run.snapshot_times_s", 2,
     "each time must be > 0 and <= run.duration_s = 3600 (got 0 as entry 1)"},
    {"NegativeSnapshotTime", "[run]\nsnapshot_times_s = [60, -1]\n", "run.snapshot_times_s", 2,
     "(got -1 as entry 2)"},
    {"SnapshotAfterRun", "[run]\nduration_s = 600\nsnapshot_times_s = [60, 600, 600.5]\n",
     "run.snapshot_times_s", 3,
     "each time must be > 0 and <= run.duration_s = 600 (got 600.5 as entry 3)"},
    {"SnapshotTimesNotArray", "[run]\nsnapshot_times_s = 60\n", "run.snapshot_times_s", 2,
     "must be an array of seconds such as [60, 600] (got an integer)"},
    {"SnapshotTimeNotNumber", "[run]\nsnapshot_times_s = [\n  60,\n  \"1h\",\n]\n",
     "run.snapshot_times_s", 4, "must be an array of finite numbers (got a string in it)"},
    {"SnapshotTimeInfinite", "[run]\nsnapshot_times_s = [60, inf]\n", "run.snapshot_times_s", 2,
     "must be an array of finite numbers (got inf in it)"},
    {"SnapshotTimesNested", "[run]\nsnapshot_times_s = [[60]]\n", "run.snapshot_times_s", 2,
     "(got an array in it)"},
};

INSTANTIATE_TEST_SUITE_P(BadInputs, ScenarioRefuses, ::testing::ValuesIn(kBadInputs),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ScenarioRefuses, MoreThanAThousandSnapshots) {
  std::string text = "[run]\nduration_s = 2000\nsnapshot_times_s = [";
  for (int i = 1; i <= 1001; ++i) text += std::to_string(i) + (i < 1001 ? ", " : "]\n");
  auto sc = parse(text);
  ASSERT_FALSE(sc.ok());
  EXPECT_EQ(sc.error().message(),
            "t.toml:3: run.snapshot_times_s: must hold at most 1000 times (got 1001)");
}

TEST(ScenarioRefuses, MissingFileSaysWhichPathWasTried) {
  auto sc = parse("[network]\nlatency = { model = \"matrix\", file = \"sub/lat.csv\" }\n");
  ASSERT_FALSE(sc.ok());
  const std::string tried = (fs::path(test_dir()) / "sub" / "lat.csv").string();
  EXPECT_NE(sc.error().what.find("tried " + tried), std::string::npos) << sc.error().what;
}

TEST(ScenarioRefuses, BinaryAndDeeplyNestedInputWithoutThrowing) {
  const std::string bad_utf8 = "[run]\nseed = \"\xff\xfe\"\n";
  EXPECT_FALSE(parse(bad_utf8).ok());
  EXPECT_FALSE(parse(std::string("[run]\0seed = 1\n", 15)).ok());
  const std::string nested = "x = " + std::string(10000, '[') + std::string(10000, ']') + "\n";
  auto sc = parse(nested);
  ASSERT_FALSE(sc.ok());
  EXPECT_EQ(sc.error().line, 1);
}

// ---- files ----

TEST(ScenarioFile, ResolvesDataAgainstTheFilesFolder) {
  write_file("files/ok/lat.csv", "0\n");
  const std::string path = write_file(
      "files/ok/s.toml", "[network]\nlatency = { model = \"matrix\", file = \"lat.csv\" }\n");
  auto sc = load_scenario_file(path);
  ASSERT_TRUE(sc.ok()) << sc.error().message();
  EXPECT_EQ(sc->source, path);
  EXPECT_EQ(sc->base_dir, (fs::path(test_dir()) / "files" / "ok").string());
  EXPECT_EQ(sc->network.latency.file, "lat.csv");
  EXPECT_EQ(sc->network.latency.path, (fs::path(test_dir()) / "files/ok/lat.csv").string());
}

TEST(ScenarioFile, ErrorsNameTheFileAndLine) {
  const std::string path = write_file("files/bad.toml", "[overlay]\n\npeers = 0\n");
  auto sc = load_scenario_file(path);
  ASSERT_FALSE(sc.ok());
  EXPECT_EQ(sc.error().message(), path + ":3: overlay.peers: must be >= 1 (got 0)");

  const std::string syntax = write_file("files/syntax.toml", "[run]\nseed = = 1\n");
  auto bad = load_scenario_file(syntax);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().rfind(syntax + ":2: TOML syntax error", 0), 0u)
      << bad.error().message();
}

TEST(ScenarioFile, MissingFileAndFolderAreRefused) {
  const std::string missing = test_dir() + "/files/none.toml";
  auto sc = load_scenario_file(missing);
  ASSERT_FALSE(sc.ok());
  EXPECT_EQ(sc.error().file, missing);
  EXPECT_NE(sc.error().message().find("cannot read the scenario file"), std::string::npos);

  auto dir = load_scenario_file(test_dir());
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message().find("is not a regular file"), std::string::npos);
}

// ---- --set overrides ----

TEST(ScenarioOverride, SetsKeysOfEveryKind) {
  Scenario sc = parse_ok("");
  for (const char* s :
       {"overlay.peers=2048", "churn.model=weibull", "churn.shape = 0.7", "run.seed=42",
        "overlay.namespaces=[\"a\",\"b\"]", "overlay.bootstrap=join",
        "workload.key_popularity=zipf:1.2", "workload.end_s=100", "workload.writes_end_s=40",
        "network.loss=0.05", "run.duration_s=600", "run.snapshot_times_s=[60, 600]"}) {
    auto r = apply_override(sc, s);
    ASSERT_TRUE(r.ok()) << r.error().message();
  }
  EXPECT_EQ(sc.overlay.peers, 2048);
  EXPECT_EQ(sc.churn.model, ChurnModel::kWeibull);
  EXPECT_EQ(sc.churn.shape, 0.7);
  EXPECT_EQ(sc.run.seed, 42u);
  EXPECT_EQ(sc.overlay.namespaces, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sc.overlay.bootstrap, Bootstrap::kJoin);
  EXPECT_EQ(sc.workload.zipf_s, 1.2);
  EXPECT_EQ(sc.workload_end_s(), 100);
  EXPECT_EQ(sc.writes_end_s(), 40);
  EXPECT_EQ(sc.network.loss, 0.05);
  EXPECT_EQ(sc.run.snapshot_times_s, (std::vector<double>{60, 600}));
  EXPECT_EQ(sc.churn_end_s(), 600);  // unset end_s follows run.duration_s

  ASSERT_TRUE(apply_override(sc, "churn.model=none").ok());  // a bare word is a string
  EXPECT_EQ(sc.churn.model, ChurnModel::kNone);
  ASSERT_TRUE(apply_override(sc, "churn.model=\"exponential\"").ok());
  EXPECT_EQ(sc.churn.model, ChurnModel::kExponential);

  ASSERT_TRUE(apply_override(sc, "run.snapshot_times_s=[]").ok());  // back to the default
  EXPECT_EQ(sc.snapshot_times_s(), (std::vector<double>{150, 300, 450, 600}));
}

TEST(ScenarioOverride, ReplacesTheLatencyModel) {
  Scenario sc = parse_ok("[network]\nlatency = { model = \"uniform\", min_ms = 1, max_ms = 2 }\n");
  ASSERT_TRUE(apply_override(sc, "network.latency={model=\"constant\", ms=20}").ok());
  EXPECT_EQ(sc.network.latency, LatencySpec{});
  EXPECT_EQ(sc.key_lines.count("network.latency"), 0u);
  EXPECT_EQ(sc.key_lines.count("network.latency.min_ms"), 0u);

  ASSERT_TRUE(apply_override(sc, "network.latency.ms=35").ok());
  EXPECT_EQ(sc.network.latency.ms, 35);

  // Setting the model alone starts from that model's defaults.
  ASSERT_TRUE(apply_override(sc, "network.latency.model=lognormal").ok());
  EXPECT_EQ(sc.network.latency.model, LatencyModel::kLognormal);
  EXPECT_EQ(sc.network.latency.ms, 20);
  ASSERT_TRUE(apply_override(sc, "network.latency.sigma=0").ok());
  EXPECT_EQ(sc.network.latency.sigma, 0);

  ASSERT_TRUE(apply_override(sc, "network.latency={model=\"matrix\", file=\"lat.csv\"}").ok());
  EXPECT_EQ(sc.network.latency.path, (fs::path(test_dir()) / "lat.csv").string());
}

TEST(ScenarioOverride, ReplacesOrRemovesAllFailures) {
  Scenario sc = parse_ok("[[failure]]\nat_s = 1\nkind = \"heal\"\n");
  EXPECT_EQ(sc.key_lines.count("failure[1].kind"), 1u);
  auto r = apply_override(sc,
                          "failure=[{at_s=600, kind=\"crash\", peers={count=5}, disk_lost=true}, "
                          "{at_s=700, kind=\"loss\", rate=0.3, duration_s=60}]");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(sc.failures.size(), 2u);
  EXPECT_EQ(sc.failures[0].peers.count, 5);
  EXPECT_TRUE(sc.failures[0].disk_lost);
  EXPECT_EQ(sc.failures[0].line, 0);
  EXPECT_EQ(sc.failures[1].rate, 0.3);
  EXPECT_EQ(sc.key_lines.count("failure[1].kind"), 0u);

  ASSERT_TRUE(apply_override(sc, "failure=[]").ok());
  EXPECT_TRUE(sc.failures.empty());
}

struct BadOverride {
  const char* name;
  const char* setting;
  const char* key;
  const char* what;
};

class ScenarioOverrideRefuses : public ::testing::TestWithParam<BadOverride> {};

TEST_P(ScenarioOverrideRefuses, LeavingTheScenarioUnchanged) {
  const BadOverride& in = GetParam();
  Scenario sc = parse_ok("[overlay]\npeers = 100\n[[failure]]\nat_s = 1\nkind = \"heal\"\n");
  const Scenario before = sc;
  auto r = apply_override(sc, in.setting);
  ASSERT_FALSE(r.ok()) << "accepted: " << in.setting;
  const ScenarioError& e = r.error();
  EXPECT_EQ(e.key, in.key);
  EXPECT_EQ(e.setting, in.setting);
  EXPECT_NE(e.what.find(in.what), std::string::npos) << e.what;
  const std::string prefix = "--set " + std::string(in.setting) + ": ";
  EXPECT_EQ(e.message().rfind(prefix, 0), 0u) << e.message();
  EXPECT_TRUE(sc.same_settings(before));
  EXPECT_EQ(sc.key_lines, before.key_lines);
}

const BadOverride kBadOverrides[] = {
    {"OutOfRange", "overlay.peers=0", "overlay.peers", "must be >= 1 (got 0)"},
    {"CrossField", "overlay.peers=2", "overlay.replication",
     "must be <= overlay.peers = 2 (got 3)"},
    {"WriteQuorum", "overlay.write_quorum=4", "overlay.write_quorum",
     "must be <= overlay.replication = 3 (got 4)"},
    {"UnknownKey", "overlay.peerz=3", "overlay.peerz", "unknown key ([overlay] takes peers"},
    {"UnknownSection", "overlai.peers=3", "overlai.peers", "unknown key (keys start with run."},
    {"SectionOnly", "overlay=3", "overlay", "is a table; set one of its keys (peers, "},
    {"TooDeep", "overlay.peers.x=3", "overlay.peers.x", "unknown key"},
    {"NoEquals", "overlay.peers", "", "must be KEY=VALUE"},
    {"NoKey", "=3", "", "the key before '=' is empty"},
    {"NoValue", "overlay.peers=", "overlay.peers", "needs a TOML value after '='"},
    {"WrongType", "overlay.peers=abc", "overlay.peers", "must be an integer (got a string)"},
    {"FloatForInteger", "run.seed=1.5", "run.seed", "must be an integer (got the float 1.5)"},
    {"NegativeSeed", "run.seed=-3", "run.seed", "must be an integer >= 0 (got -3)"},
    {"NotToml", "churn.model=not a model", "churn.model", "the value must be a TOML value"},
    {"TwoValues", "run.seed=1\nx = 2", "run.seed", "the value must be a single TOML value"},
    {"UnknownChurnModel", "churn.model=poisson", "churn.model",
     "must be one of \"none\", \"exponential\", \"weibull\" or \"pareto\" (got \"poisson\")"},
    {"ParetoDefaultShape", "churn.model=pareto", "churn.shape", "must be > 1"},
    {"NegativeRate", "workload.updates_per_s=-5", "workload.updates_per_s",
     "must be >= 0 (got -5)"},
    {"UnknownLatencyModel", "network.latency={model=\"gauss\"}", "network.latency.model",
     "must be one of \"constant\""},
    {"LatencyKeyOfAnotherModel", "network.latency.min_ms=3", "network.latency.min_ms",
     "is not a key of latency model \"constant\", which takes model and ms"},
    {"MissingMatrixFile", "network.latency={model=\"matrix\", file=\"nope.csv\"}",
     "network.latency.file", "must name an existing file; tried /"},
    {"SingleFailure", "failure[1].at_s=3", "failure[1].at_s",
     "single failures cannot be set; replace them all with failure=["},
    {"FailureSubKey", "failure.at_s=3", "failure.at_s", "single failures cannot be set"},
    {"BadFailureList", "failure=[{at_s=1, kind=\"crash\", peers={all=true}}]", "failure[1].peers",
     "must be exactly one of"},
    {"FailuresNotAList", "failure={at_s=1, kind=\"heal\"}", "failure",
     "must be an array of tables"},
    {"BadNamespaces", "overlay.namespaces=[\"a\",\"a\"]", "overlay.namespaces",
     "names must be unique"},
    {"WritesEndBeforeStart", "workload.writes_end_s=-1", "workload.writes_end_s",
     "must be >= workload.start_s = 0 (got -1)"},
    {"WritesEndAfterRun", "workload.writes_end_s=4000", "workload.writes_end_s",
     "must be <= run.duration_s = 3600 (got 4000)"},
    {"WritesEndNotANumber", "workload.writes_end_s=soon", "workload.writes_end_s",
     "must be a number (got a string)"},
    {"SnapshotAfterRun", "run.snapshot_times_s=[60, 4000]", "run.snapshot_times_s",
     "each time must be > 0 and <= run.duration_s = 3600 (got 4000 as entry 2)"},
    {"SnapshotTimesNotArray", "run.snapshot_times_s=60", "run.snapshot_times_s",
     "must be an array of seconds"},
};

INSTANTIATE_TEST_SUITE_P(BadOverrides, ScenarioOverrideRefuses, ::testing::ValuesIn(kBadOverrides),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ScenarioOverride, ErrorsPointAtTheFileLineOfOtherKeys) {
  Scenario sc = parse_ok("[overlay]\npeers = 100\nreplication = 3\n");
  auto r = apply_override(sc, "overlay.peers=2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "--set overlay.peers=2: t.toml:3: overlay.replication: must be <= overlay.peers = 2 "
            "(got 3), since a key lives on r distinct peers");
}

// Shortening the run or the workload can put keys of the file out of range: the error names
// them, at their line in the file.
TEST(ScenarioOverride, ErrorsNameTheFileKeysThatNoLongerFit) {
  Scenario sc = parse_ok(
      "[run]\nsnapshot_times_s = [60, 600]\n[workload]\nend_s = 900\nwrites_end_s = 300\n");
  auto r = apply_override(sc, "run.duration_s=300");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "--set run.duration_s=300: t.toml:2: run.snapshot_times_s: each time must be > 0 and "
            "<= run.duration_s = 300 (got 600 as entry 2)");
  r = apply_override(sc, "workload.end_s=200");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "--set workload.end_s=200: t.toml:5: workload.writes_end_s: must be <= "
            "workload.end_s = 200 (got 300)");
  ASSERT_TRUE(apply_override(sc, "workload.writes_end_s=200").ok());
  EXPECT_EQ(sc.key_lines.count("workload.writes_end_s"), 0u);
  ASSERT_TRUE(apply_override(sc, "workload.end_s=200").ok());
  EXPECT_EQ(sc.writes_end_s(), 200);
}

TEST(ScenarioOverride, ForgetsTheFileLinesOfWhatItReplaced) {
  Scenario sc = parse_ok("[overlay]\npeers = 100\n");
  ASSERT_TRUE(apply_override(sc, "overlay.peers=10").ok());
  EXPECT_EQ(sc.key_lines.count("overlay.peers"), 0u);
  // An error on peers now has no line to point at: it came from the command line.
  auto r = apply_override(sc, "overlay.replication=11");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().line, 0);
}

// ---- to_toml: the effective scenario parses back to the same settings ----

TEST(ScenarioToToml, DefaultsRoundTrip) {
  expect_round_trip(Scenario{});
  expect_round_trip(parse_ok(kDesignExample));
}

TEST(ScenarioToToml, WritesEveryKey) {
  const std::string text = to_toml(Scenario{});
  for (const char* key : {"[run]",
                          "duration_s = 3600",
                          "seed = 1",
                          "metrics_interval_s = 10",
                          "snapshot_times_s = []",
                          "# []: snapshots at [900, 1800, 2700, 3600]",
                          "[overlay]",
                          "peers = 1000",
                          "replication = 3",
                          "write_quorum = 2",
                          "read_quorum = 1",
                          "successors = 8",
                          "namespaces = [\"default\"]",
                          "bootstrap = \"instant\"",
                          "join_rate_per_s = 50",
                          "stabilize_interval_s = 5",
                          "fix_fingers_interval_s = 10",
                          "check_predecessor_interval_s = 5",
                          "anti_entropy_interval_s = 30",
                          "journal_block_interval_s = 5",
                          "request_timeout_ms = 1000",
                          "max_datagram_bytes = 1200",
                          "[network]",
                          "latency = { model = \"constant\", ms = 20 }",
                          "model = \"queue\"",
                          "bandwidth_mbps = 100",
                          "queue_bytes = 262144",
                          "loss = 0",
                          "duplicate = 0",
                          "clock_skew_ms = 0",
                          "[churn]",
                          "model = \"none\"",
                          "median_session_s = 3600",
                          "shape = 1",
                          "median_downtime_s = 300",
                          "permanent_fraction = 0",
                          "start_s = 0",
                          "# end_s = 3600  (unset: run.duration_s)",
                          "[workload]",
                          "inserts_per_s = 10",
                          "updates_per_s = 50",
                          "lookups_per_s = 50",
                          "key_popularity = \"uniform\"",
                          "record_bytes = 512",
                          "# writes_end_s = 3600  (unset: workload.end_s)"}) {
    EXPECT_NE(text.find(key), std::string::npos) << key << " missing from\n" << text;
  }
}

TEST(ScenarioToToml, EverythingRoundTrips) {
  Scenario sc = parse_ok(R"(
[run]
duration_s = 7200.5
seed = 9223372036854775807
metrics_interval_s = 0.1
snapshot_times_s = [7200.5, 0.1, 1e-3, 3600, 3600]
[overlay]
peers = 100000
replication = 5
write_quorum = 3
read_quorum = 2
successors = 16
namespaces = ["a", "b.c", "d_e-1"]
bootstrap = "join"
join_rate_per_s = 12.75
anti_entropy_interval_s = 0
request_timeout_ms = 333.3
[network]
bandwidth_mbps = 1e3
loss = 0.30000000000000004
duplicate = 1e-9
clock_skew_ms = 2.5
[churn]
model = "pareto"
shape = 1.5
permanent_fraction = 1
start_s = 60
end_s = 1800
[[failure]]
at_s = 10
kind = "crash"
peers = { adjacent = 3 }
disk_lost = true
[[failure]]
at_s = 20
kind = "recover"
peers = { all = true }
[[failure]]
at_s = 30
kind = "leave"
peers = { fraction = 0.125 }
[[failure]]
at_s = 40
kind = "join"
peers = { count = 7 }
[[failure]]
at_s = 50
kind = "partition"
peers = { fraction = 0.5 }
[[failure]]
at_s = 60
kind = "heal"
[[failure]]
at_s = 70
kind = "loss"
rate = 1
duration_s = 60
[workload]
inserts_per_s = 0
key_popularity = "zipf:0.99"
record_bytes = 1
start_s = 5
end_s = 6000
writes_end_s = 1234.5678
)");
  expect_round_trip(sc);

  const char* latencies[] = {
      "network.latency={model=\"constant\", ms=0}",
      "network.latency={model=\"uniform\", min_ms=0.5, max_ms=0.5}",
      "network.latency={model=\"lognormal\", median_ms=60, sigma=0.6}",
      "network.latency={model=\"matrix\", file=\"lat.csv\"}",
      "network.latency={model=\"coordinates\", file=\"" KG_SCENARIOS_DIR
      "/data/median_harvard.syscoord\"}",
  };
  for (const char* l : latencies) {
    ASSERT_TRUE(apply_override(sc, l).ok()) << l;
    expect_round_trip(sc);
  }
  for (const char* c : {"churn.model=none", "churn.model=exponential", "churn.model=weibull"}) {
    ASSERT_TRUE(apply_override(sc, c).ok()) << c;
    expect_round_trip(sc);
  }
}

TEST(ScenarioToToml, EscapesStrings) {
  write_file("odd \"name\"\\x.csv", "0\n");
  Scenario sc = parse_ok("");
  ASSERT_TRUE(apply_override(sc,
                             "network.latency={model=\"matrix\", "
                             "file='odd \"name\"\\x.csv'}")
                  .ok());
  expect_round_trip(sc);
}

TEST(ScenarioToToml, UnsetEndsStayUnset) {
  Scenario sc = parse_ok("[run]\nduration_s = 100\n");
  auto back = parse_scenario(to_toml(sc), "", sc.base_dir);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->churn.end_s.has_value());
  ASSERT_TRUE(apply_override(*back, "run.duration_s=50").ok());
  EXPECT_EQ(back->churn_end_s(), 50);
  EXPECT_EQ(back->workload_end_s(), 50);
  EXPECT_FALSE(back->workload.writes_end_s.has_value());
  EXPECT_EQ(back->writes_end_s(), 50);
  EXPECT_TRUE(back->run.snapshot_times_s.empty());

  // Set in the file, they are written and read back as they were.
  sc =
      parse_ok("[run]\nsnapshot_times_s = [60, 30]\n[workload]\nend_s = 500\nwrites_end_s = 250\n");
  const std::string text = to_toml(sc);
  EXPECT_NE(text.find("snapshot_times_s = [60, 30]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nwrites_end_s = 250\n"), std::string::npos) << text;
  expect_round_trip(sc);
}

// ---- validate() on scenarios built in code ----

TEST(ScenarioValidate, ChecksScenariosBuiltInCode) {
  Scenario sc;
  FailureEvent ev;
  ev.kind = FailureKind::kCrash;
  ev.peers.count = 1;
  ev.peers.fraction = 0.5;
  ev.line = 12;
  sc.source = "code.toml";
  sc.failures.push_back(ev);
  auto r = validate(sc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "code.toml:12: failure[1].peers: must be exactly one of { count = N }, "
            "{ fraction = F } or { adjacent = N } for kind = \"crash\"");

  sc.failures.clear();
  sc.network.latency.model = LatencyModel::kCoordinates;
  sc.network.latency.file = "data/median_p2psim.syscoord";
  sc.base_dir = KG_SCENARIOS_DIR;  // path left empty: validate resolves it itself
  EXPECT_TRUE(validate(sc).ok()) << validate(sc).error().message();

  sc.overlay.anti_entropy_interval_s = 0;  // 0 turns anti-entropy off
  EXPECT_TRUE(validate(sc).ok());
  sc.workload.zipf_s = -1;
  ASSERT_FALSE(validate(sc).ok());
  EXPECT_EQ(validate(sc).error().key, "workload.key_popularity");
}

// ---- names and messages ----

TEST(ScenarioNetwork, ModelQueueBytesAndRanges) {
  const Scenario d = parse_ok("");
  EXPECT_EQ(d.network.model, NetworkModel::kQueue);
  EXPECT_EQ(d.network.queue_bytes, 262144);
  EXPECT_FALSE(d.network.bandwidth_max_mbps.has_value());
  EXPECT_FALSE(d.workload.record_bytes_max.has_value());

  Scenario sc = parse_ok(
      "[network]\nmodel = \"flow\"\nbandwidth_mbps = { min = 10, max = 20.5 }\n"
      "queue_bytes = 65536\n[workload]\nrecord_bytes = { max = 2048, min = 512 }\n");
  EXPECT_EQ(sc.network.model, NetworkModel::kFlow);
  EXPECT_EQ(sc.network.bandwidth_mbps, 10);
  EXPECT_EQ(sc.network.bandwidth_max_mbps, std::optional<double>(20.5));
  EXPECT_EQ(sc.network.queue_bytes, 65536);
  EXPECT_EQ(sc.workload.record_bytes, 512);
  EXPECT_EQ(sc.workload.record_bytes_max, std::optional<std::int64_t>(2048));
  EXPECT_EQ(sc.key_lines.at("network.bandwidth_mbps.max"), 3);

  // The effective scenario keeps them, and reads back the same.
  const std::string text = to_toml(sc);
  for (const char* key : {"model = \"flow\"", "bandwidth_mbps = { min = 10, max = 20.5 }",
                          "queue_bytes = 65536", "record_bytes = { min = 512, max = 2048 }"}) {
    EXPECT_NE(text.find(key), std::string::npos) << key << " missing from\n" << text;
  }
  EXPECT_TRUE(parse_ok(text).same_settings(sc));

  // One rate replaces a range; a range replaces one rate.
  ASSERT_TRUE(apply_override(sc, "network.bandwidth_mbps=1000").ok());
  EXPECT_EQ(sc.network.bandwidth_mbps, 1000);
  EXPECT_FALSE(sc.network.bandwidth_max_mbps.has_value());
  ASSERT_TRUE(apply_override(sc, "network.bandwidth_mbps={min=1, max=2}").ok());
  EXPECT_EQ(sc.network.bandwidth_max_mbps, std::optional<double>(2));
  ASSERT_TRUE(apply_override(sc, "network.model=queue").ok());
  EXPECT_EQ(sc.network.model, NetworkModel::kQueue);
  ASSERT_TRUE(apply_override(sc, "workload.record_bytes=100").ok());
  EXPECT_FALSE(sc.workload.record_bytes_max.has_value());
  EXPECT_FALSE(apply_override(sc, "network.queue_bytes=0").ok());
  EXPECT_EQ(sc.network.queue_bytes, 65536);
}

TEST(ScenarioNames, AsWrittenInFiles) {
  EXPECT_STREQ(network_model_name(NetworkModel::kQueue), "queue");
  EXPECT_STREQ(network_model_name(NetworkModel::kFlow), "flow");
  EXPECT_STREQ(latency_model_name(LatencyModel::kConstant), "constant");
  EXPECT_STREQ(latency_model_name(LatencyModel::kCoordinates), "coordinates");
  EXPECT_STREQ(churn_model_name(ChurnModel::kPareto), "pareto");
  EXPECT_STREQ(failure_kind_name(FailureKind::kPartition), "partition");
  EXPECT_STREQ(failure_kind_name(FailureKind::kLoss), "loss");
  EXPECT_STREQ(bootstrap_name(Bootstrap::kJoin), "join");
}

TEST(ScenarioError, MessageForms) {
  ScenarioError e{.key = "overlay.peers",
                  .file = "x.toml",
                  .line = 12,
                  .what = "must be >= 1 (got 0)",
                  .setting = ""};
  EXPECT_EQ(e.message(), "x.toml:12: overlay.peers: must be >= 1 (got 0)");
  e.line = 0;
  EXPECT_EQ(e.message(), "x.toml: overlay.peers: must be >= 1 (got 0)");
  e.file = "";
  EXPECT_EQ(e.message(), "overlay.peers: must be >= 1 (got 0)");
  e.line = 4;
  EXPECT_EQ(e.message(), "line 4: overlay.peers: must be >= 1 (got 0)");
  e.line = 0;
  e.setting = "overlay.peers=0";
  EXPECT_EQ(e.message(), "--set overlay.peers=0: overlay.peers: must be >= 1 (got 0)");
  e.key = "";
  EXPECT_EQ(e.message(), "--set overlay.peers=0: must be >= 1 (got 0)");
}

}  // namespace
}  // namespace kittengrad
