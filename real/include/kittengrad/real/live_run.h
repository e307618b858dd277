// kittengrad/real/live_run.h — `kittengrad live SCENARIO.toml`: a scenario run on real
// peer processes on loopback, measured into the same tables (and run file) as the
// simulator's.
//
// The runner starts overlay.peers `kittengrad peer` processes, one per run host (a
// loopback address of its own, live_control.h), builds the ring as overlay.bootstrap says
// (instant: every peer starts with the full member list; join: one by one at
// join_rate_per_s), drives the workload from a client thread of its own process, applies
// churn and [[failure]] events on the wall clock (crash = SIGKILL; recover = restart with
// the same identity and data; a permanent departure loses the data and a fresh identity
// takes the host later; leave = SIGTERM; partition, heal and loss bursts through signed
// control datagrams), and every metrics interval asks each peer for its counters (`stats`)
// and reads what each holds from its database, so /timeseries and /final are the
// simulator's oracle over the live peers' durable state. The network's latency, loss and
// duplicates are applied by the peers' transport from the scenario's own keys; keys the
// live world cannot honour (bandwidth, queue model, clock skew) are reported once at start.
//
//   Scenario sc = *load_scenario_file("scenarios/live-16.toml");
//   LiveRunResult r = run_live(sc, LiveRunOptions{.binary = "/usr/bin/kittengrad"});
//   if (!r.error.empty()) { ... }   // r.bad_input: the scenario cannot run live (exit 2)
//   runs::finish_run_tables(sc, r.tables); runs::write_run_file("run.h5", r.tables);
#pragma once

#include <csignal>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "kittengrad/runs/run_tables.h"
#include "kittengrad/scenario.h"

namespace kittengrad::live {

// What a live run may ask of this machine: every peer is a process.
inline constexpr std::int64_t kLivePeersMax = 256;

struct LiveRunOptions {
  std::string binary;            // the kittengrad executable the peers run (required)
  bool progress = false;         // a progress line on `log` (wall time, peers, ops, ETA)
  std::ostream* log = nullptr;   // notes and progress; nullptr: silent
  std::string version;           // stored in the run file
  std::string keep_dir;          // keep the peers' folders here; "": a temporary folder,
                                 // removed at the end
  // Set (by a signal handler) to end the run early: every process is stopped, the
  // result is an error.
  const volatile std::sig_atomic_t* interrupted = nullptr;
  // Called about once a second with the wall seconds reached and the run's duration.
  std::function<void(double elapsed_s, double duration_s)> on_progress;
};

struct LiveRunResult {
  runs::RunTables tables;
  std::string error;        // non-empty: the run did not complete
  bool bad_input = false;   // the error is the scenario's (exit status 2), not the machine's
  std::vector<std::string> not_honoured;  // scenario keys the live world ignores
};

[[nodiscard]] LiveRunResult run_live(const Scenario& scenario, const LiveRunOptions& options);

}  // namespace kittengrad::live
