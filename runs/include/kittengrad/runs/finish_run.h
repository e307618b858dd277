// kittengrad/runs/finish_run.h — the last step of a run before its file is written,
// common to `kittengrad sim` and `kittengrad live`: what the tables take from the scenario,
// and the summary.
//
//   RunTables t = ...;                 // filled by the backend, t.backend = "sim" or "live"
//   finish_run_tables(scenario, t);
//   if (std::string err = write_run_file("run.h5", t); !err.empty()) { report(err); }
#pragma once

#include "kittengrad/runs/run_tables.h"
#include "kittengrad/scenario.h"

namespace kittengrad::runs {

// Sets the root attributes that come from the scenario (scenario: the effective scenario
// as TOML, overrides applied; seed; duration_s; peers) and the summary
// (compute_summary(tables), which keeps the history-checker fields). backend, version and
// wall_time_s stay as the backend set them.
void finish_run_tables(const Scenario& scenario, RunTables& tables);

// Rows of /ops and /lookups are appended as ops complete; readers expect them in the
// order they were issued (a stable sort by t_issue_s).
void sort_rows_by_issue(RunTables& tables);

}  // namespace kittengrad::runs
