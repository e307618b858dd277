// scenario_writer.cc — a Scenario as TOML text: the effective scenario that run files keep.
//
// Written by hand rather than through toml++'s formatter so that the tables and keys come
// in the order of DESIGN.md (toml::table sorts keys by name) and numbers keep their exact
// value: each double is written in its shortest form that reads back bit for bit.
#include <sstream>

#include "scenario_internal.h"

namespace kittengrad {
namespace {

using internal::format_number;
using internal::toml_quote;

class Writer {
 public:
  void table(const char* header) {
    if (out_.tellp() > 0) out_ << "\n";
    out_ << header << "\n";
  }
  void number(const char* key, double v) { out_ << key << " = " << format_number(v) << "\n"; }
  void integer(const char* key, std::int64_t v) { out_ << key << " = " << v << "\n"; }
  void boolean(const char* key, bool v) { out_ << key << " = " << (v ? "true" : "false") << "\n"; }
  void string(const char* key, std::string_view v) {
    out_ << key << " = " << toml_quote(v) << "\n";
  }
  void raw(const char* key, const std::string& text) { out_ << key << " = " << text << "\n"; }
  void comment(std::string text) {
    // A comment ends at the line's end: a newline in a file name must not end it early.
    for (char& ch : text) {
      if (ch == '\n' || ch == '\r') ch = ' ';
    }
    out_ << "# " << text << "\n";
  }
  // An optional end time: written when set, else shown as a comment with its default, the
  // value of `fallback_key`.
  void end_time(const char* key, const std::optional<double>& v, double fallback,
                const char* fallback_key = "run.duration_s") {
    if (v) {
      number(key, *v);
    } else {
      comment(std::string(key) + " = " + format_number(fallback) + "  (unset: " + fallback_key +
              ")");
    }
  }
  [[nodiscard]] std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string latency_table(const LatencySpec& l) {
  std::string out = "{ model = " + toml_quote(latency_model_name(l.model));
  switch (l.model) {
    case LatencyModel::kConstant:
      out += ", ms = " + format_number(l.ms);
      break;
    case LatencyModel::kUniform:
      out += ", min_ms = " + format_number(l.min_ms) + ", max_ms = " + format_number(l.max_ms);
      break;
    case LatencyModel::kLognormal:
      out += ", median_ms = " + format_number(l.median_ms) + ", sigma = " + format_number(l.sigma);
      break;
    case LatencyModel::kMatrix:
    case LatencyModel::kCoordinates:
      out += ", file = " + toml_quote(l.file);
      break;
  }
  return out + " }";
}

std::string number_array(const std::vector<double>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += (i > 0 ? ", " : "") + format_number(values[i]);
  }
  return out + "]";
}

void write_run(const Scenario& sc, Writer& w) {
  const RunSection& r = sc.run;
  w.table("[run]");
  w.number("duration_s", r.duration_s);
  w.integer("seed", static_cast<std::int64_t>(r.seed));
  w.number("metrics_interval_s", r.metrics_interval_s);
  w.raw("snapshot_times_s", number_array(r.snapshot_times_s));
  if (r.snapshot_times_s.empty()) {
    w.comment("[]: snapshots at " + number_array(sc.snapshot_times_s()) +
              " (1/4, 1/2, 3/4 and the end of the run)");
  }
}

std::string selector_table(const PeerSelector& s) {
  if (s.count) return "{ count = " + std::to_string(*s.count) + " }";
  if (s.fraction) return "{ fraction = " + format_number(*s.fraction) + " }";
  if (s.adjacent) return "{ adjacent = " + std::to_string(*s.adjacent) + " }";
  if (s.all) return "{ all = true }";
  return "";
}

// The keys a live peer's [overlay] takes too, in two runs so that [overlay] keeps
// DESIGN.md's order: replication and lists, then intervals and sizes.
void write_replication_keys(const OverlaySection& o, Writer& w) {
  w.integer("replication", o.replication);
  w.integer("write_quorum", o.write_quorum);
  w.integer("read_quorum", o.read_quorum);
  w.integer("successors", o.successors);
}

void write_timing_keys(const OverlaySection& o, Writer& w) {
  w.number("stabilize_interval_s", o.stabilize_interval_s);
  w.number("fix_fingers_interval_s", o.fix_fingers_interval_s);
  w.number("check_predecessor_interval_s", o.check_predecessor_interval_s);
  w.number("anti_entropy_interval_s", o.anti_entropy_interval_s);
  w.number("journal_block_interval_s", o.journal_block_interval_s);
  w.number("request_timeout_ms", o.request_timeout_ms);
  w.number("max_datagram_bytes", o.max_datagram_bytes);
}

void write_overlay(const OverlaySection& o, Writer& w) {
  w.table("[overlay]");
  w.integer("peers", o.peers);
  write_replication_keys(o, w);
  std::string names = "[";
  for (std::size_t i = 0; i < o.namespaces.size(); ++i) {
    names += (i > 0 ? ", " : "") + toml_quote(o.namespaces[i]);
  }
  w.raw("namespaces", names + "]");
  w.string("bootstrap", bootstrap_name(o.bootstrap));
  w.number("join_rate_per_s", o.join_rate_per_s);
  write_timing_keys(o, w);
}

void write_network(const NetworkSection& n, Writer& w) {
  w.table("[network]");
  w.raw("latency", latency_table(n.latency));
  if (!n.latency.path.empty() && n.latency.path != n.latency.file) {
    w.comment("latency file resolved to " + n.latency.path);
  }
  w.string("model", network_model_name(n.model));
  if (n.bandwidth_max_mbps) {
    w.raw("bandwidth_mbps", "{ min = " + format_number(n.bandwidth_mbps) +
                                ", max = " + format_number(*n.bandwidth_max_mbps) + " }");
  } else {
    w.number("bandwidth_mbps", n.bandwidth_mbps);
  }
  w.integer("queue_bytes", n.queue_bytes);
  w.number("loss", n.loss);
  w.number("duplicate", n.duplicate);
  w.number("clock_skew_ms", n.clock_skew_ms);
}

void write_churn(const Scenario& sc, Writer& w) {
  const ChurnSection& c = sc.churn;
  w.table("[churn]");
  w.string("model", churn_model_name(c.model));
  w.number("median_session_s", c.median_session_s);
  w.number("shape", c.shape);
  w.number("median_downtime_s", c.median_downtime_s);
  w.number("permanent_fraction", c.permanent_fraction);
  w.number("start_s", c.start_s);
  w.end_time("end_s", c.end_s, sc.run.duration_s);
}

void write_failure(const FailureEvent& ev, Writer& w) {
  w.table("[[failure]]");
  w.number("at_s", ev.at_s);
  w.string("kind", failure_kind_name(ev.kind));
  const std::string peers = selector_table(ev.peers);
  if (!peers.empty()) w.raw("peers", peers);
  if (ev.kind == FailureKind::kCrash) w.boolean("disk_lost", ev.disk_lost);
  if (ev.kind == FailureKind::kLoss) {
    w.number("rate", ev.rate);
    w.number("duration_s", ev.duration_s);
  }
}

void write_workload(const Scenario& sc, Writer& w) {
  const WorkloadSection& wl = sc.workload;
  w.table("[workload]");
  w.number("inserts_per_s", wl.inserts_per_s);
  w.number("updates_per_s", wl.updates_per_s);
  w.number("lookups_per_s", wl.lookups_per_s);
  w.string("key_popularity", wl.zipf_s > 0 ? "zipf:" + format_number(wl.zipf_s) : "uniform");
  if (wl.record_bytes_max) {
    w.raw("record_bytes", "{ min = " + std::to_string(wl.record_bytes) +
                              ", max = " + std::to_string(*wl.record_bytes_max) + " }");
  } else {
    w.integer("record_bytes", wl.record_bytes);
  }
  w.number("start_s", wl.start_s);
  w.end_time("end_s", wl.end_s, sc.run.duration_s);
  w.end_time("writes_end_s", wl.writes_end_s, sc.writes_end_s(), "workload.end_s");
}

}  // namespace

std::string overlay_protocol_toml(const OverlaySection& o) {
  Writer w;
  w.table("[overlay]");
  write_replication_keys(o, w);
  write_timing_keys(o, w);
  return w.text();
}

std::string latency_toml(const LatencySpec& l) {
  LatencySpec resolved = l;
  if (!l.path.empty()) resolved.file = l.path;
  return latency_table(resolved);
}

std::string to_toml(const Scenario& sc) {
  Writer w;
  w.comment("kittengrad effective scenario" +
            (sc.source.empty() ? std::string() : " (from " + sc.source + ")"));
  write_run(sc, w);
  write_overlay(sc.overlay, w);
  write_network(sc.network, w);
  write_churn(sc, w);
  for (const FailureEvent& ev : sc.failures) write_failure(ev, w);
  write_workload(sc, w);
  return w.text();
}

}  // namespace kittengrad
