// kittengrad/sim/simulation.h — run a scenario inside SimGrid and measure it.
//
// One SimGrid actor per peer, each on its own host; datagrams are mailbox messages charged
// by their wire size; a director actor injects churn and scripted failures and samples the
// oracle; client actors run the workload. The protocol core runs unchanged: the actors
// only feed it datagrams, storage completions and wakeups (see sim/README.md).
//
//   Scenario sc = *load_scenario_file("scenarios/churn-1k.toml");
//   SimResult r = run_simulation(sc, SimOptions{.progress = true});
//   if (!r.error.empty()) { ... }            // a platform file that does not parse, ...
//   write_finished_run("run.h5", sc, r.tables);
//
// SimGrid keeps global state: one simulation per process. Callers that want several
// (the Python bindings, sweeps) run each in a child process.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "kittengrad/scenario.h"
#include "kittengrad/runs/run_tables.h"

namespace kittengrad::sim {

struct SimOptions {
  bool progress = false;          // a progress line on `log` (simulated time, events/s, ETA)
  std::ostream* log = nullptr;    // progress and notes; nullptr: silent
  std::string version;            // stored in the run file
  // Recount every metric from scratch at each sample and compare with the incremental
  // oracle (slow: tests only). A difference is an internal error (SimResult).
  bool audit_oracle = false;
  // Called about once a wall second, and at the end, with the simulated time reached and
  // the run's duration (the Python bindings drive a progress bar with it).
  std::function<void(double simulated_s, double duration_s)> on_progress;
};

struct SimResult {
  runs::RunTables tables;
  std::string error;   // non-empty: the run could not start (bad input: exit status 2)
  // Figures about the simulation itself, for benchmarks and the progress line.
  std::uint64_t datagrams_delivered = 0;
  std::uint64_t datagrams_dropped = 0;  // all causes, full link queues included
  std::uint64_t queue_drops = 0;        // at full link queues (network.model = "queue")
  std::uint64_t audit_mismatches = 0;  // samples where the oracle's recount differed
  double setup_wall_s = 0;
  double run_wall_s = 0;
};

[[nodiscard]] SimResult run_simulation(const Scenario& scenario, const SimOptions& options);

// Completes the tables of a finished run (runs::finish_run_tables: the effective scenario
// as TOML, the summary) and writes them to the run file at `path`. Returns "" or why the
// file could not be written.
[[nodiscard]] std::string write_finished_run(const std::string& path, const Scenario& scenario,
                                             runs::RunTables& tables);

}  // namespace kittengrad::sim
