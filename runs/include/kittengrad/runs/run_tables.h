// kittengrad/runs/run_tables.h — the contents of a run file (DESIGN.md, "Run file"), in
// memory: one struct of columns per table. A backend (the simulator, the live runner)
// fills it; run_file.h writes it to HDF5 and reads it back; summary.h computes the printed
// summary from it.
//
// Columns are plain vectors of one length per table, so each becomes a 1-D dataset and
// `pandas.DataFrame({c: g[c][()] for c in g})` reads the group back.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kittengrad/analysis/overlay_graph.h"

namespace kittengrad::runs {

// /timeseries: one row per metrics interval.
struct TimeseriesTable {
  std::vector<double> t_s;
  std::vector<std::int64_t> peers_alive;
  std::vector<std::int64_t> keys;
  std::vector<std::int64_t> replicas_min;
  std::vector<double> replicas_mean;
  std::vector<std::int64_t> under_replicated_keys;
  std::vector<std::int64_t> divergent_keys;
  std::vector<std::int64_t> lost_updates;
  std::vector<std::int64_t> msgs_sent;   // in this interval
  std::vector<std::int64_t> bytes_sent;  // in this interval
  // Messages and bytes per message kind, in this interval: columns "msgs_<kind>" and
  // "bytes_<kind>" (kinds as message_kind_name() spells them), same length as t_s.
  std::map<std::string, std::vector<std::int64_t>> msgs_by_kind;
  std::map<std::string, std::vector<std::int64_t>> bytes_by_kind;
  // Datagrams dropped at full link queues (network.model = "queue") in this interval, by
  // kind: columns "queue_drops_<kind>" (all zero under "flow", whose links never drop).
  std::map<std::string, std::vector<std::int64_t>> queue_drops_by_kind;
  // With more than one namespace, the replication columns of each one, named
  // "<column>_<namespace>" (keys_a, under_replicated_keys_a, replicas_mean_a, ...). Written
  // as they are; the reader leaves them out (they are for Python and plots).
  std::map<std::string, std::vector<std::int64_t>> per_namespace_counts;
  std::map<std::string, std::vector<double>> per_namespace_means;
  [[nodiscard]] std::size_t rows() const { return t_s.size(); }
};

// /lookups: one row per lookup.
struct LookupsTable {
  std::vector<double> t_issue_s;
  std::vector<double> t_done_s;
  std::vector<std::int64_t> hops;
  std::vector<std::int8_t> ok;
  std::vector<std::int8_t> correct;
  [[nodiscard]] std::size_t rows() const { return t_issue_s.size(); }
};

// /ops: one row per write.
struct OpsTable {
  std::vector<std::string> kind;  // "insert" | "update"
  std::vector<double> t_issue_s;
  std::vector<double> t_ack_s;    // NaN when not acknowledged
  std::vector<std::int8_t> ok;
  std::vector<std::string> error; // "" when ok
  std::vector<std::int64_t> entries;  // entries in the write (a batch has several)
  [[nodiscard]] std::size_t rows() const { return kind.size(); }
};

// /events: churn and failure events.
struct EventsTable {
  std::vector<double> t_s;
  std::vector<std::string> kind;   // crash | recover | leave | join | depart | partition | heal | loss
  std::vector<std::int64_t> peer;  // index in the run; -1 for events of no one peer
  // Acknowledged updates that no live peer held any more once this event (and the other
  // crashes of the same instant) took effect: what a crash of r adjacent replicas loses.
  std::vector<std::int64_t> lost_updates;
  [[nodiscard]] std::size_t rows() const { return t_s.size(); }
};

// /final: end-of-run per-peer load and per-key replica counts (two groups).
struct FinalPeersTable {
  std::vector<std::int64_t> peer;
  std::vector<std::int8_t> alive;
  std::vector<std::int64_t> keys;      // keys in its store
  std::vector<std::int64_t> entries;   // entries in its store
  std::vector<std::int64_t> msgs_sent; // over the whole run
  std::vector<std::int64_t> bytes_sent;
  [[nodiscard]] std::size_t rows() const { return peer.size(); }
};

struct FinalKeysTable {
  std::vector<std::string> key;         // hex ring key
  std::vector<std::int64_t> acked_updates;
  std::vector<std::int64_t> replicas;   // responsible live peers holding every acked update
  std::vector<std::int64_t> holders;    // live peers holding any entry of it
  std::vector<std::int64_t> lost_updates;
  [[nodiscard]] std::size_t rows() const { return key.size(); }
};

// /overlay: the routing graph at chosen times, analysed with Boost.Graph.
struct OverlaySnapshot {
  double t_s = 0;
  analysis::OverlayGraphStats stats;
};

// The printed summary (and Run.summary() in Python). Stored as attributes of /summary.
struct Summary {
  double convergence_time_s = 0;   // NaN when the run never converged after its last perturbation
  std::int64_t lost_updates = 0;
  std::int64_t under_replicated_keys = 0;  // at the end
  std::int64_t divergent_keys = 0;         // at the end
  std::int64_t writes = 0;
  double write_success = 0;
  std::int64_t lookups = 0;
  double lookup_success = 0;       // fraction of lookups with ok
  double lookup_correct = 0;       // fraction of lookups that held every prior ack
  double lookup_p50_ms = 0;
  double lookup_p99_ms = 0;
  double mean_hops = 0;
  double msgs_per_peer_s = 0;
  double bytes_per_peer_s = 0;
  std::int64_t history_lost = 0;      // history checker: acknowledged entries not found
  std::int64_t history_phantoms = 0;  // history checker: entries read, never written
  // True when the backend ran the history checker and filled the two fields above; a
  // run without it prints no verdict rather than a vacuous "0 lost".
  bool history_checked = false;
};

struct RunTables {
  // Root attributes.
  std::string scenario_toml;
  std::uint64_t seed = 0;
  std::string backend;  // "sim" or "live": set by the backend that ran the scenario
  std::string version;
  double wall_time_s = 0;
  double duration_s = 0;
  std::int64_t peers = 0;

  TimeseriesTable timeseries;
  LookupsTable lookups;
  OpsTable ops;
  EventsTable events;
  FinalPeersTable final_peers;
  FinalKeysTable final_keys;
  std::vector<OverlaySnapshot> snapshots;
  Summary summary;
};

}  // namespace kittengrad::runs
