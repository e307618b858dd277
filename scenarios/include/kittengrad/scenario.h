// kittengrad/scenario.h — a scenario: every key of the scenario file (docs: DESIGN.md,
// "Scenario file"), as plain values with the documented defaults.
//
// A Scenario is what the simulator and the live backend run. It is loaded from TOML,
// overridden key by key (`--set overlay.peers=2048`), and validated; every error names
// the dotted key, and the file and line where there is one (kittengrad/scenario_loader.h).
//
//   auto sc = load_scenario_file("scenarios/churn-1k.toml");      // ScenarioResult<Scenario>
//   if (!sc) { print(sc.error()); return 2; }
//   auto err = apply_override(*sc, "churn.model=none");          // ScenarioResult<bool>
//   std::string text = to_toml(*sc);   // the effective scenario, stored in run files
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kittengrad {

// ---- [run] ----
struct RunSection {
  double duration_s = 3600;
  std::uint64_t seed = 1;
  double metrics_interval_s = 10;
  // When the overlay's routing graph is dumped and analysed, in simulated seconds, each in
  // (0, duration_s], at most kSnapshotTimesMax of them, as written (any order). Empty: four
  // snapshots, at 1/4, 1/2, 3/4 and the end of the run (see Scenario::snapshot_times_s).
  std::vector<double> snapshot_times_s;

  static constexpr std::size_t kSnapshotTimesMax = 1000;

  bool operator==(const RunSection&) const = default;
};

// ---- [overlay] ----
enum class Bootstrap : std::uint8_t { kInstant, kJoin };

struct OverlaySection {
  std::int64_t peers = 1000;
  std::int64_t replication = 3;
  std::int64_t write_quorum = 2;
  std::int64_t read_quorum = 1;
  std::int64_t successors = 8;
  std::vector<std::string> namespaces = {"default"};
  Bootstrap bootstrap = Bootstrap::kInstant;
  double join_rate_per_s = 50;
  double stabilize_interval_s = 5;
  double fix_fingers_interval_s = 10;
  double check_predecessor_interval_s = 5;
  double anti_entropy_interval_s = 30;
  double journal_block_interval_s = 5;
  double request_timeout_ms = 1000;
  std::int64_t max_datagram_bytes = 1200;

  bool operator==(const OverlaySection&) const = default;
};

// ---- [network] ----
enum class LatencyModel : std::uint8_t { kConstant, kUniform, kLognormal, kMatrix, kCoordinates };

struct LatencySpec {
  LatencyModel model = LatencyModel::kConstant;
  double ms = 20;         // constant
  double min_ms = 5;      // uniform
  double max_ms = 100;    // uniform
  double median_ms = 60;  // lognormal
  double sigma = 0.6;     // lognormal
  std::string file;       // matrix, coordinates: as written in the scenario
  std::string path;       // ... resolved against the scenario file's folder

  bool operator==(const LatencySpec&) const = default;
};

// How datagrams share the access links (sim/README.md, "The network model").
//   queue  each up and down link is a drop-tail FIFO: a datagram waits for the ones before
//          it, then takes bytes / rate; O(1) per datagram.
//   flow   every datagram is a SimGrid flow; concurrent flows share each link max-min
//          fairly (CM02); each flow start or end re-solves the flows it is coupled to.
enum class NetworkModel : std::uint8_t { kQueue, kFlow };

struct NetworkSection {
  LatencySpec latency;
  NetworkModel model = NetworkModel::kQueue;
  // Each host's up and down access rate. With bandwidth_max_mbps set (the file says
  // bandwidth_mbps = { min = 10, max = 20 }), host k draws its rate uniformly from
  // [bandwidth_mbps, bandwidth_max_mbps], the same for a seed whatever the model.
  double bandwidth_mbps = 100;
  std::optional<double> bandwidth_max_mbps;
  // Drop-tail bound of each link queue (model "queue"): a datagram that finds more than
  // queue_bytes - its size waiting is dropped. 256 KiB is about 200 ms of queueing at
  // 10 Mb/s, the order of a home router's buffer; at 1 Gb/s it is 2 ms.
  std::int64_t queue_bytes = 256 * 1024;
  double loss = 0.0;
  double duplicate = 0.0;
  double clock_skew_ms = 0;

  bool operator==(const NetworkSection&) const = default;
};

// ---- [churn] ----
enum class ChurnModel : std::uint8_t { kNone, kExponential, kWeibull, kPareto };

struct ChurnSection {
  ChurnModel model = ChurnModel::kNone;
  double median_session_s = 3600;
  double shape = 1.0;
  double median_downtime_s = 300;
  double permanent_fraction = 0.0;
  double start_s = 0;
  std::optional<double> end_s;  // unset: run.duration_s (see Scenario::churn_end_s)

  bool operator==(const ChurnSection&) const = default;
};

// ---- [[failure]] ----
enum class FailureKind : std::uint8_t { kCrash, kRecover, kLeave, kJoin, kPartition, kHeal, kLoss };

// Which peers an event touches. Exactly one of the fields is set (heal: none).
struct PeerSelector {
  std::optional<std::int64_t> count;
  std::optional<double> fraction;
  std::optional<std::int64_t> adjacent;
  bool all = false;

  bool operator==(const PeerSelector&) const = default;
};

struct FailureEvent {
  double at_s = 0;
  FailureKind kind = FailureKind::kCrash;
  PeerSelector peers;
  bool disk_lost = false;  // crash
  double rate = 0;         // loss
  double duration_s = 0;   // loss
  int line = 0;            // line of the [[failure]] table in its file (0: none)

  bool operator==(const FailureEvent&) const = default;
};

// ---- [workload] ----
struct WorkloadSection {
  double inserts_per_s = 10;
  double updates_per_s = 50;
  double lookups_per_s = 50;
  double zipf_s = 0;  // 0: "uniform"; otherwise key_popularity = "zipf:S"
  std::int64_t record_bytes = 512;
  // Set (the file says record_bytes = { min = 512, max = 2048 }): each record's size is
  // drawn uniformly from [record_bytes, record_bytes_max].
  std::optional<std::int64_t> record_bytes_max;
  double start_s = 0;
  std::optional<double> end_s;  // unset: run.duration_s (see Scenario::workload_end_s)
  // Inserts and updates stop here, lookups go on until the workload's end: a write phase,
  // then a read phase. Unset: the workload's end (see Scenario::writes_end_s).
  std::optional<double> writes_end_s;

  bool operator==(const WorkloadSection&) const = default;
};

struct Scenario {
  RunSection run;
  OverlaySection overlay;
  NetworkSection network;
  ChurnSection churn;
  std::vector<FailureEvent> failures;
  WorkloadSection workload;

  std::string source;    // file it came from ("" when built in code)
  std::string base_dir;  // folder that relative data paths resolve against
  // Line in `source` where each dotted key was written ("overlay.peers", "failure[1]",
  // "failure[1].peers", "network.latency.ms"); keys left at their default or set by an
  // override are absent. Errors use it to point at the line to fix.
  std::map<std::string, int> key_lines;

  [[nodiscard]] double churn_end_s() const { return churn.end_s.value_or(run.duration_s); }
  [[nodiscard]] double workload_end_s() const { return workload.end_s.value_or(run.duration_s); }
  // When inserts and updates stop; never after workload_end_s().
  [[nodiscard]] double writes_end_s() const {
    return std::min(workload.writes_end_s.value_or(workload_end_s()), workload_end_s());
  }
  // The times of the overlay snapshots, ascending and without repeats: run.snapshot_times_s,
  // or when it is empty 1/4, 1/2, 3/4 and all of run.duration_s.
  [[nodiscard]] std::vector<double> snapshot_times_s() const;

  // True iff both scenarios run the same: every section and failure equal. Where they came
  // from (source, base_dir, key_lines, FailureEvent::line) is not compared.
  [[nodiscard]] bool same_settings(const Scenario& other) const;
};

// Names as written in scenario files.
[[nodiscard]] const char* latency_model_name(LatencyModel m);
[[nodiscard]] const char* network_model_name(NetworkModel m);
[[nodiscard]] const char* churn_model_name(ChurnModel m);
[[nodiscard]] const char* failure_kind_name(FailureKind k);
[[nodiscard]] const char* bootstrap_name(Bootstrap b);

}  // namespace kittengrad
