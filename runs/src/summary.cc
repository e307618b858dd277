// runs/src/summary.cc — the summary of a run (summary.h): definitions and printing.
//
// Every number here is a plain function of the tables, so a summary recomputed from a run
// file equals the one printed at the end of the run. Percentiles are nearest-rank (a value
// that was actually measured, no interpolation), computed with integer rank arithmetic so
// that p99 of 100 samples is the 99th, not the 100th through rounding.
#include "kittengrad/runs/summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <ostream>
#include <string>

namespace kittengrad::runs {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Nearest-rank percentile of sorted values: the ceil(percent/100 * n)-th smallest.
double nearest_rank(const std::vector<double>& sorted, std::size_t percent) {
  if (sorted.empty()) return kNaN;
  const std::size_t n = sorted.size();
  const std::size_t rank = std::max<std::size_t>(1, (percent * n + 99) / 100);
  return sorted[std::min(rank, n) - 1];
}

double fraction(std::size_t part, std::size_t whole) {
  return whole == 0 ? kNaN : static_cast<double>(part) / static_cast<double>(whole);
}

void fill_lookups(const LookupsTable& l, Summary& s) {
  const std::size_t n = std::min(
      {l.t_issue_s.size(), l.t_done_s.size(), l.hops.size(), l.ok.size(), l.correct.size()});
  std::size_t ok = 0, correct = 0;
  double hops = 0;
  std::vector<double> latency_ms;
  for (std::size_t i = 0; i < n; ++i) {
    if (l.correct[i] != 0) ++correct;
    if (l.ok[i] == 0) continue;
    ++ok;
    hops += static_cast<double>(l.hops[i]);
    const double ms = (l.t_done_s[i] - l.t_issue_s[i]) * 1000.0;
    if (std::isfinite(ms)) latency_ms.push_back(ms);  // NaN would break the sort
  }
  std::sort(latency_ms.begin(), latency_ms.end());
  s.lookups = static_cast<std::int64_t>(l.rows());
  s.lookup_success = fraction(ok, n);
  s.lookup_correct = fraction(correct, n);
  s.lookup_p50_ms = nearest_rank(latency_ms, 50);
  s.lookup_p99_ms = nearest_rank(latency_ms, 99);
  s.mean_hops = ok == 0 ? kNaN : hops / static_cast<double>(ok);
}

void fill_writes(const OpsTable& o, Summary& s) {
  const std::size_t n = std::min(o.rows(), o.ok.size());
  const auto ok = static_cast<std::size_t>(
      std::count_if(o.ok.begin(), o.ok.begin() + static_cast<std::ptrdiff_t>(n),
                    [](std::int8_t v) { return v != 0; }));
  s.writes = static_cast<std::int64_t>(o.rows());
  s.write_success = fraction(ok, n);
}

template <typename T>
T last_or_zero(const std::vector<T>& v) {
  return v.empty() ? T{} : v.back();
}

void fill_end_state(const TimeseriesTable& ts, Summary& s) {
  s.lost_updates = last_or_zero(ts.lost_updates);
  s.under_replicated_keys = last_or_zero(ts.under_replicated_keys);
  s.divergent_keys = last_or_zero(ts.divergent_keys);
}

// Sum of `per_interval` / mean live peers / duration: a rate per peer and second.
double per_peer_s(const std::vector<std::int64_t>& per_interval,
                  const std::vector<std::int64_t>& peers_alive, double duration_s) {
  if (per_interval.empty() || peers_alive.empty() || !(duration_s > 0)) return kNaN;
  double total = 0, peers = 0;
  for (std::int64_t v : per_interval) total += static_cast<double>(v);
  for (std::int64_t v : peers_alive) peers += static_cast<double>(v);
  const double peers_mean = peers / static_cast<double>(peers_alive.size());
  if (!(peers_mean > 0)) return kNaN;
  return total / peers_mean / duration_s;
}

// ---- Printing ----

std::string fmt(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Seconds: one decimal, three below a second so that 0.031 s does not print as 0.0 s.
std::string seconds(double v) { return fmt(v, std::fabs(v) < 1 && v != 0 ? 3 : 1) + " s"; }

std::string percent(double fraction_value) { return fmt(fraction_value * 100.0, 2) + " %"; }

// 1234567 -> "1.23 MB"; bytes keep their unit so the reader need not guess.
std::string bytes_rate(double bytes_per_s) {
  if (bytes_per_s >= 1e6) return fmt(bytes_per_s / 1e6, 2) + " MB/peer/s";
  if (bytes_per_s >= 1e3) return fmt(bytes_per_s / 1e3, 2) + " kB/peer/s";
  return fmt(bytes_per_s, 1) + " B/peer/s";
}

void print_line(std::ostream& out, const char* label, const std::string& text) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%-16s", label);
  out << buf << text << '\n';
}

std::string convergence_text(const RunTables& t, const Summary& s) {
  const double from = last_perturbation_s(t);
  const std::string at = seconds(from);
  if (std::isfinite(s.convergence_time_s)) {
    return seconds(s.convergence_time_s) + " after the last perturbation at " + at;
  }
  const TimeseriesTable& ts = t.timeseries;
  if (ts.rows() == 0) return "unknown: no metrics rows";
  if (ts.t_s.back() < from) {
    return "unknown: no metrics row after the last perturbation at " + at;
  }
  return "never converged after the last perturbation at " + at +
         " (at the end: " + std::to_string(s.under_replicated_keys) + " under-replicated, " +
         std::to_string(s.divergent_keys) + " divergent keys)";
}

std::string history_text(const Summary& s) {
  const bool pass = s.history_lost == 0 && s.history_phantoms == 0;
  return std::string(pass ? "pass" : "FAIL") + ": " + std::to_string(s.history_lost) +
         " acknowledged entries lost, " + std::to_string(s.history_phantoms) +
         " phantom entries (read, never written)";
}

void print_lookups(std::ostream& out, const Summary& s) {
  if (s.lookups == 0) {
    print_line(out, "lookups", "no lookups");
    return;
  }
  print_line(out, "lookups",
             std::to_string(s.lookups) + ", " + percent(s.lookup_success) + " answered, " +
                 percent(s.lookup_correct) + " correct (held every earlier acknowledged update)");
  if (std::isnan(s.lookup_p50_ms)) {
    print_line(out, "lookup latency", "no lookup was answered");
    print_line(out, "mean hops", "no lookup was answered");
    return;
  }
  print_line(out, "lookup latency",
             "p50 " + fmt(s.lookup_p50_ms, 1) + " ms, p99 " + fmt(s.lookup_p99_ms, 1) +
                 " ms (answered lookups)");
  print_line(out, "mean hops", fmt(s.mean_hops, 2) + " hops (answered lookups)");
}

}  // namespace

double last_perturbation_s(const RunTables& t) {
  double last = 0;
  for (double v : t.events.t_s) {
    if (v > last) last = v;
  }
  for (double v : t.ops.t_issue_s) {
    if (v > last) last = v;
  }
  return last;
}

double convergence_time_s(const RunTables& t) {
  const TimeseriesTable& ts = t.timeseries;
  const std::size_t n =
      std::min({ts.t_s.size(), ts.under_replicated_keys.size(), ts.divergent_keys.size()});
  const double from = last_perturbation_s(t);
  // Walk back from the end over the quiet rows at or after the last perturbation.
  std::size_t first = n;
  while (first > 0 && ts.under_replicated_keys[first - 1] == 0 &&
         ts.divergent_keys[first - 1] == 0 && ts.t_s[first - 1] >= from) {
    --first;
  }
  return first == n ? kNaN : ts.t_s[first] - from;
}

Summary compute_summary(const RunTables& t) {
  Summary s;
  s.history_lost = t.summary.history_lost;
  s.history_phantoms = t.summary.history_phantoms;
  s.history_checked = t.summary.history_checked;
  fill_lookups(t.lookups, s);
  fill_writes(t.ops, s);
  fill_end_state(t.timeseries, s);
  s.msgs_per_peer_s = per_peer_s(t.timeseries.msgs_sent, t.timeseries.peers_alive, t.duration_s);
  s.bytes_per_peer_s = per_peer_s(t.timeseries.bytes_sent, t.timeseries.peers_alive, t.duration_s);
  s.convergence_time_s = convergence_time_s(t);
  return s;
}

void print_summary(std::ostream& out, const RunTables& t) {
  const Summary s = compute_summary(t);
  std::string run = t.backend + " backend, " + std::to_string(t.peers) + " peers at start, " +
                    fmt(t.duration_s, 1) + " s " +
                    (t.backend == "live" ? "of wall time" : "simulated") + ", seed " +
                    std::to_string(t.seed);
  if (t.wall_time_s > 0) run += ", took " + seconds(t.wall_time_s) + " of wall time";
  print_line(out, "run", run);
  print_line(out, "convergence", convergence_text(t, s));
  print_line(out, "lost updates",
             std::to_string(s.lost_updates) + " (acknowledged, on no live peer at the end)");
  // Where they went: crashes that took the last copies of acknowledged updates.
  std::size_t shown = 0, more = 0;
  for (std::size_t i = 0; i < t.events.rows() && i < t.events.lost_updates.size(); ++i) {
    if (t.events.lost_updates[i] <= 0) continue;
    if (shown == 5) {
      ++more;
      continue;
    }
    ++shown;
    print_line(out, "",
               std::to_string(t.events.lost_updates[i]) + " lost at t = " +
                   fmt(t.events.t_s[i], 1) + " s: " + t.events.kind[i] + " of peer " +
                   std::to_string(t.events.peer[i]) + " took their last copies");
  }
  if (more > 0) print_line(out, "", "... and at " + std::to_string(more) + " more events");
  if (s.history_checked) print_line(out, "history check", history_text(s));
  print_lookups(out, s);
  print_line(out, "writes",
             s.writes == 0
                 ? "no writes"
                 : std::to_string(s.writes) + ", " + percent(s.write_success) + " acknowledged");
  print_line(out, "traffic",
             std::isnan(s.msgs_per_peer_s)
                 ? "unknown (no metrics rows)"
                 : fmt(s.msgs_per_peer_s, 2) + " msgs/peer/s, " + bytes_rate(s.bytes_per_peer_s));
  const TimeseriesTable& ts = t.timeseries;
  print_line(out, "end state",
             ts.rows() == 0 ? "unknown (no metrics rows)"
                            : std::to_string(s.under_replicated_keys) + " under-replicated keys, " +
                                  std::to_string(s.divergent_keys) + " divergent keys, of " +
                                  std::to_string(last_or_zero(ts.keys)) + " keys on " +
                                  std::to_string(last_or_zero(ts.peers_alive)) + " live peers");
}

}  // namespace kittengrad::runs
