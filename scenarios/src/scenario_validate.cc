// scenario_validate.cc — ranges and relations between keys, for every scenario however it
// was made (file, overrides, code).
//
// A Checker runs the checks in the order of DESIGN.md and keeps the first failure; later
// checks do nothing once one has failed. Each message says what is allowed and what was
// given. The line comes from Scenario::key_lines: the key's own line, else the line of the
// key it is compared with (r > peers may be wrong because of either), else the
// [[failure]] table's line.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <system_error>

#include "scenario_internal.h"

namespace kittengrad {
namespace {

using internal::format_number;

class Checker {
 public:
  explicit Checker(const Scenario& sc) : sc_(sc) {}

  [[nodiscard]] const std::optional<ScenarioError>& error() const { return error_; }

  // Records a failure of `key`, unless an earlier one was recorded. `related` is a key whose
  // line is used when `key` has none; `fallback_line` the line used when neither has one.
  void fail(const std::string& key, std::string what, const std::string& related = "",
            int fallback_line = 0) {
    if (error_) return;
    error_ = ScenarioError{.key = key,
                           .file = sc_.source,
                           .line = line_of(key, related, fallback_line),
                           .what = std::move(what),
                           .setting = ""};
  }

  void greater(const std::string& key, double v, double min, int fallback_line = 0) {
    if (!(std::isfinite(v) && v > min)) {
      fail(key, "must be " + bound("> ", min, v) + " (got " + format_number(v) + ")", "",
           fallback_line);
    }
  }

  void at_least(const std::string& key, double v, double min, int fallback_line = 0) {
    if (!(std::isfinite(v) && v >= min)) {
      fail(key, "must be " + bound(">= ", min, v) + " (got " + format_number(v) + ")", "",
           fallback_line);
    }
  }

  // lo <= v < hi (hi_open) or lo <= v <= hi.
  void within(const std::string& key, double v, double lo, double hi, bool hi_open,
              int fallback_line = 0) {
    const bool ok = std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
    if (!ok) {
      fail(key,
           "must be in [" + format_number(lo) + ", " + format_number(hi) + (hi_open ? ")" : "]") +
               " (got " + format_number(v) + ")",
           "", fallback_line);
    }
  }

  void at_least_int(const std::string& key, std::int64_t v, std::int64_t min,
                    int fallback_line = 0) {
    if (v < min) {
      fail(key, "must be >= " + std::to_string(min) + " (got " + std::to_string(v) + ")", "",
           fallback_line);
    }
  }

  // v <= other, where `other` is the value of the key `other_key`.
  void at_most_key(const std::string& key, double v, const std::string& other_key, double other,
                   const std::string& why = "") {
    if (!(v <= other)) {
      fail(key,
           "must be <= " + other_key + " = " + format_number(other) + " (got " + format_number(v) +
               ")" + why,
           other_key);
    }
  }

  void at_least_key(const std::string& key, double v, const std::string& other_key, double other,
                    const std::string& why = "") {
    if (!(v >= other)) {
      fail(key,
           "must be >= " + other_key + " = " + format_number(other) + " (got " + format_number(v) +
               ")" + why,
           other_key);
    }
  }

 private:
  static std::string bound(const char* op, double limit, double v) {
    return std::string(std::isfinite(v) ? "" : "a finite number ") + op + format_number(limit);
  }

  int line_of(const std::string& key, const std::string& related, int fallback_line) const {
    for (const std::string* k : {&key, &related}) {
      if (k->empty()) continue;
      if (auto it = sc_.key_lines.find(*k); it != sc_.key_lines.end()) return it->second;
    }
    return fallback_line;
  }

  const Scenario& sc_;
  std::optional<ScenarioError> error_;
};

// Each time in (0, run.duration_s] (a snapshot after the end would never be taken), and
// not too many of them. Entries are counted from 1, as a user counts them.
void check_snapshot_times(const RunSection& run, Checker& c) {
  const std::string key = "run.snapshot_times_s";
  const auto& times = run.snapshot_times_s;
  if (times.size() > RunSection::kSnapshotTimesMax) {
    c.fail(key, "must hold at most " + std::to_string(RunSection::kSnapshotTimesMax) +
                    " times (got " + std::to_string(times.size()) + ")");
    return;
  }
  for (std::size_t i = 0; i < times.size(); ++i) {
    const double t = times[i];
    if (!(t > 0 && t <= run.duration_s)) {
      c.fail(key,
             "each time must be > 0 and <= run.duration_s = " + format_number(run.duration_s) +
                 " (got " + format_number(t) + " as entry " + std::to_string(i + 1) + ")",
             t > 0 ? "run.duration_s" : "");
      return;
    }
  }
}

void check_run(const RunSection& run, Checker& c) {
  c.greater("run.duration_s", run.duration_s, 0);
  c.greater("run.metrics_interval_s", run.metrics_interval_s, 0);
  c.at_most_key("run.metrics_interval_s", run.metrics_interval_s, "run.duration_s", run.duration_s);
  // TOML integers are signed 64-bit: a larger seed could not be written back.
  if (run.seed > static_cast<std::uint64_t>(INT64_MAX)) {
    c.fail("run.seed",
           "must be an integer in [0, 9223372036854775807] (got " + std::to_string(run.seed) + ")");
  }
  check_snapshot_times(run, c);
}

bool valid_namespace_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
  });
}

void check_namespaces(const std::vector<std::string>& names, Checker& c) {
  const std::string key = "overlay.namespaces";
  if (names.empty()) c.fail(key, "must name at least one namespace, such as [\"default\"]");
  std::set<std::string> seen;
  for (const std::string& n : names) {
    if (!valid_namespace_name(n)) {
      c.fail(key,
             "names must be non-empty and use only letters, digits, '.', '_' and '-' "
             "(got " +
                 internal::toml_quote(n) + ")");
    }
    if (!seen.insert(n).second) {
      c.fail(key, "names must be unique (got " + internal::toml_quote(n) + " twice)");
    }
  }
}

void check_overlay(const OverlaySection& o, Checker& c) {
  c.at_least_int("overlay.peers", o.peers, 1);
  c.at_least_int("overlay.replication", o.replication, 1);
  c.at_most_key("overlay.replication", static_cast<double>(o.replication), "overlay.peers",
                static_cast<double>(o.peers), ", since a key lives on r distinct peers");
  c.at_least_int("overlay.write_quorum", o.write_quorum, 1);
  c.at_most_key("overlay.write_quorum", static_cast<double>(o.write_quorum), "overlay.replication",
                static_cast<double>(o.replication));
  c.at_least_int("overlay.read_quorum", o.read_quorum, 1);
  c.at_most_key("overlay.read_quorum", static_cast<double>(o.read_quorum), "overlay.replication",
                static_cast<double>(o.replication));
  c.at_least_key("overlay.successors", static_cast<double>(o.successors), "overlay.replication",
                 static_cast<double>(o.replication),
                 ", since the successor list holds the r replicas");
  check_namespaces(o.namespaces, c);
  c.greater("overlay.join_rate_per_s", o.join_rate_per_s, 0);
  c.greater("overlay.stabilize_interval_s", o.stabilize_interval_s, 0);
  c.greater("overlay.fix_fingers_interval_s", o.fix_fingers_interval_s, 0);
  c.greater("overlay.check_predecessor_interval_s", o.check_predecessor_interval_s, 0);
  // 0 turns anti-entropy off, which experiments on eager push alone need.
  c.at_least("overlay.anti_entropy_interval_s", o.anti_entropy_interval_s, 0);
  c.greater("overlay.journal_block_interval_s", o.journal_block_interval_s, 0);
  c.greater("overlay.request_timeout_ms", o.request_timeout_ms, 0);
  // The core's limits (kMaxDatagramBytesMin/Max in protocol/config.h): below 512 a single
  // entry with its envelope may not fit; above 65,000 a UDP datagram may not.
  c.within("overlay.max_datagram_bytes", static_cast<double>(o.max_datagram_bytes), 512, 65000,
           false);
}

void check_latency_file(const Scenario& sc, Checker& c) {
  const LatencySpec& l = sc.network.latency;
  const std::string key = "network.latency.file";
  const std::string model = latency_model_name(l.model);
  if (l.file.empty()) {
    c.fail(key, "is missing; latency model \"" + model + "\" needs file = \"PATH\"",
           "network.latency");
    return;
  }
  const std::string path = l.path.empty() ? resolve_data_path(sc.base_dir, l.file) : l.path;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    const bool relative = std::filesystem::path(l.file).is_relative();
    c.fail(key,
           "must name an existing file; tried " + path +
               (relative ? " (\"" + l.file + "\" relative to the scenario file's folder)" : ""),
           "network.latency");
  }
}

void check_latency(const Scenario& sc, Checker& c) {
  const LatencySpec& l = sc.network.latency;
  switch (l.model) {
    case LatencyModel::kConstant:
      c.at_least("network.latency.ms", l.ms, 0);
      break;
    case LatencyModel::kUniform:
      c.at_least("network.latency.min_ms", l.min_ms, 0);
      c.at_least("network.latency.max_ms", l.max_ms, 0);
      c.at_least_key("network.latency.max_ms", l.max_ms, "network.latency.min_ms", l.min_ms);
      break;
    case LatencyModel::kLognormal:
      c.greater("network.latency.median_ms", l.median_ms, 0);
      c.at_least("network.latency.sigma", l.sigma, 0);
      break;
    case LatencyModel::kMatrix:
    case LatencyModel::kCoordinates:
      check_latency_file(sc, c);
      break;
  }
}

void check_network(const Scenario& sc, Checker& c) {
  check_latency(sc, c);
  const NetworkSection& n = sc.network;
  if (n.bandwidth_max_mbps) {
    c.greater("network.bandwidth_mbps.min", n.bandwidth_mbps, 0);
    c.greater("network.bandwidth_mbps.max", *n.bandwidth_max_mbps, 0);
    c.at_least_key("network.bandwidth_mbps.max", *n.bandwidth_max_mbps,
                   "network.bandwidth_mbps.min", n.bandwidth_mbps);
  } else {
    c.greater("network.bandwidth_mbps", n.bandwidth_mbps, 0);
  }
  // A datagram that finds its link idle is always sent, so any bound >= 1 works; below
  // one datagram it would only mean "no queueing at all".
  c.at_least_int("network.queue_bytes", n.queue_bytes, 1);
  c.within("network.loss", n.loss, 0, 1, /*hi_open=*/true);
  c.within("network.duplicate", n.duplicate, 0, 1, /*hi_open=*/true);
  c.at_least("network.clock_skew_ms", n.clock_skew_ms, 0);
}

void check_churn(const Scenario& sc, Checker& c) {
  const ChurnSection& ch = sc.churn;
  c.greater("churn.median_session_s", ch.median_session_s, 0);
  c.greater("churn.shape", ch.shape, 0);
  if (ch.model == ChurnModel::kPareto && !(ch.shape > 1)) {
    c.fail("churn.shape",
           "must be > 1 for model = \"pareto\", whose mean is infinite otherwise (got " +
               format_number(ch.shape) + ")",
           "churn.model");
  }
  c.greater("churn.median_downtime_s", ch.median_downtime_s, 0);
  c.within("churn.permanent_fraction", ch.permanent_fraction, 0, 1, /*hi_open=*/false);
  c.at_least("churn.start_s", ch.start_s, 0);
  if (ch.end_s) {
    c.at_least("churn.end_s", *ch.end_s, 0);
    c.at_least_key("churn.end_s", *ch.end_s, "churn.start_s", ch.start_s);
  }
}

// The selector a failure kind needs: which of count / fraction / adjacent / all it takes.
struct SelectorRule {
  bool count, fraction, adjacent, all;
};

SelectorRule selector_rule(FailureKind k) {
  switch (k) {
    case FailureKind::kCrash:
    case FailureKind::kLeave:
      return {true, true, true, false};
    case FailureKind::kRecover:
      return {true, true, false, true};
    case FailureKind::kJoin:
      return {true, false, false, false};
    case FailureKind::kPartition:
      return {false, true, false, false};
    case FailureKind::kHeal:
    case FailureKind::kLoss:
      break;
  }
  return {false, false, false, false};
}

std::string selector_choices(SelectorRule r) {
  std::vector<std::string> forms;
  if (r.count) forms.emplace_back("{ count = N }");
  if (r.fraction) forms.emplace_back("{ fraction = F }");
  if (r.adjacent) forms.emplace_back("{ adjacent = N }");
  if (r.all) forms.emplace_back("{ all = true }");
  std::string out;
  for (std::size_t i = 0; i < forms.size(); ++i) {
    if (i > 0) out += (i + 1 == forms.size()) ? " or " : ", ";
    out += forms[i];
  }
  return out;
}

void check_selector(const FailureEvent& ev, const std::string& key, Checker& c) {
  const PeerSelector& s = ev.peers;
  const int given = int{s.count.has_value()} + int{s.fraction.has_value()} +
                    int{s.adjacent.has_value()} + int{s.all};
  const std::string kind = std::string("kind = \"") + failure_kind_name(ev.kind) + "\"";
  const SelectorRule r = selector_rule(ev.kind);
  if (!r.count && !r.fraction && !r.adjacent && !r.all) {
    if (given > 0) c.fail(key, kind + " takes no peers key", "", ev.line);
    return;
  }
  const bool fits = given == 1 && (!s.count || r.count) && (!s.fraction || r.fraction) &&
                    (!s.adjacent || r.adjacent) && (!s.all || r.all);
  if (!fits) {
    c.fail(key, "must be exactly one of " + selector_choices(r) + " for " + kind, "", ev.line);
    return;
  }
  if (s.count) c.at_least_int(key + ".count", *s.count, 1, ev.line);
  if (s.adjacent) c.at_least_int(key + ".adjacent", *s.adjacent, 1, ev.line);
  if (s.fraction && !(*s.fraction > 0 && *s.fraction <= 1)) {
    c.fail(key + ".fraction", "must be in (0, 1] (got " + format_number(*s.fraction) + ")", "",
           ev.line);
  }
}

void check_failure(const FailureEvent& ev, std::size_t index, Checker& c) {
  // 1-based, as a user counts the [[failure]] tables of a file.
  const std::string key = "failure[" + std::to_string(index + 1) + "]";
  c.at_least(key + ".at_s", ev.at_s, 0, ev.line);
  check_selector(ev, key + ".peers", c);
  if (ev.disk_lost && ev.kind != FailureKind::kCrash) {
    c.fail(key + ".disk_lost", "must be false: only kind = \"crash\" loses disks", "", ev.line);
  }
  if (ev.kind == FailureKind::kLoss) {
    c.within(key + ".rate", ev.rate, 0, 1, /*hi_open=*/false, ev.line);
    c.greater(key + ".duration_s", ev.duration_s, 0, ev.line);
  } else if (ev.rate != 0 || ev.duration_s != 0) {
    c.fail(key + (ev.rate != 0 ? ".rate" : ".duration_s"),
           "must be unset: only kind = \"loss\" takes rate and duration_s", "", ev.line);
  }
}

void check_workload(const Scenario& sc, Checker& c) {
  const WorkloadSection& w = sc.workload;
  c.at_least("workload.inserts_per_s", w.inserts_per_s, 0);
  c.at_least("workload.updates_per_s", w.updates_per_s, 0);
  c.at_least("workload.lookups_per_s", w.lookups_per_s, 0);
  // zipf_s = 0 stands for key_popularity = "uniform".
  if (!(std::isfinite(w.zipf_s) && w.zipf_s >= 0)) {
    c.fail("workload.key_popularity",
           "must be \"uniform\" or \"zipf:S\" with S > 0 (got zipf_s = " + format_number(w.zipf_s) +
               ")");
  }
  if (w.record_bytes_max) {
    c.at_least_int("workload.record_bytes.min", w.record_bytes, 1);
    c.at_least_int("workload.record_bytes.max", *w.record_bytes_max, 1);
    c.at_least_key("workload.record_bytes.max", static_cast<double>(*w.record_bytes_max),
                   "workload.record_bytes.min", static_cast<double>(w.record_bytes));
  } else {
    c.at_least_int("workload.record_bytes", w.record_bytes, 1);
  }
  c.at_least("workload.start_s", w.start_s, 0);
  if (w.end_s) {
    c.at_least("workload.end_s", *w.end_s, 0);
    c.at_least_key("workload.end_s", *w.end_s, "workload.start_s", w.start_s);
  }
  if (w.writes_end_s) {
    const std::string key = "workload.writes_end_s";
    c.at_least_key(key, *w.writes_end_s, "workload.start_s", w.start_s);
    if (w.end_s) {
      c.at_most_key(key, *w.writes_end_s, "workload.end_s", *w.end_s);
    } else {
      c.at_most_key(key, *w.writes_end_s, "run.duration_s", sc.run.duration_s,
                    ", where the workload ends (workload.end_s is unset)");
    }
  }
}

}  // namespace

ScenarioResult<bool> validate(const Scenario& sc) {
  try {
    Checker c(sc);
    check_run(sc.run, c);
    check_overlay(sc.overlay, c);
    check_network(sc, c);
    check_churn(sc, c);
    for (std::size_t i = 0; i < sc.failures.size(); ++i) check_failure(sc.failures[i], i, c);
    check_workload(sc, c);
    if (c.error()) return *c.error();
    return true;
  } catch (const std::exception& e) {  // out of memory: no exception leaves the library
    return ScenarioError{.key = "",
                         .file = sc.source,
                         .line = 0,
                         .what = std::string("internal error while validating: ") + e.what(),
                         .setting = ""};
  }
}

}  // namespace kittengrad
