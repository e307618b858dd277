// kittengrad/runs/summary.h — the summary of a run: the dozen numbers that say how it went
// (DESIGN.md, "Python": Run.summary()), computed from the tables of a run file, and the
// human-readable form that `kittengrad sim` and `kittengrad report` print.
//
//   Summary s = compute_summary(tables);     // also stored as the attributes of /summary
//   print_summary(std::cout, tables);
//
// Every definition lives here, once: the simulator, the live backend, the run file and
// Python all see the same numbers. A value that cannot be measured (no lookups, a run
// that never converged) is NaN, never a made-up 0.
#pragma once

#include <iosfwd>

#include "kittengrad/runs/run_tables.h"

namespace kittengrad::runs {

// Fills every field of Summary from the tables, except the history-checker fields
// (history_lost, history_phantoms, history_checked), which only the backend's history
// checker can know and which are copied from t.summary.
//   lookups, lookup_success, lookup_correct: rows of /lookups and the fractions with ok
//     and with correct (NaN when there are no lookups);
//   lookup_p50_ms, lookup_p99_ms, mean_hops: over the lookups with ok, latency
//     (t_done_s - t_issue_s) * 1000, nearest-rank percentiles (NaN when none is ok);
//   writes, write_success: rows of /ops and the fraction with ok (NaN when none);
//   lost_updates, under_replicated_keys, divergent_keys: the last /timeseries row (0
//     when there are no rows);
//   msgs_per_peer_s, bytes_per_peer_s: sum over /timeseries / mean peers_alive /
//     duration_s (NaN when there are no rows, no peers or no duration);
//   convergence_time_s: see convergence_time_s() below.
[[nodiscard]] Summary compute_summary(const RunTables& t);

// The time of the last perturbation: the latest /events t_s or /ops t_issue_s, 0 when
// there are neither.
[[nodiscard]] double last_perturbation_s(const RunTables& t);

// Time from the last perturbation to the first /timeseries row at or after it from which
// under_replicated_keys and divergent_keys both stay 0 to the end. NaN when the last row
// is not 0/0, or comes before the last perturbation, or there are no rows.
[[nodiscard]] double convergence_time_s(const RunTables& t);

// Prints the run and compute_summary(t) for people: a dozen lines, a unit on each, and
// words where a value is NaN ("never converged", "no lookups").
void print_summary(std::ostream& out, const RunTables& t);

}  // namespace kittengrad::runs
