// kittengrad/runs/run_file.h — writes a run (RunTables) to an HDF5 run file and reads it
// back (DESIGN.md, "Run file (HDF5)"). The same file comes out of `kittengrad sim` and
// `kittengrad live`; Python reads it with h5py and pandas.
//
//   RunTables t = ...;                                   // filled by a backend
//   if (std::string err = write_run_file("run.h5", t); !err.empty()) { report(err); }
//   ReadResult r = read_run_file("run.h5");
//   if (!r) { report(r.error); } else { use(r.tables); }
//
// Layout: root attributes scenario, seed, backend, version, wall_time_s, duration_s,
// peers; one group per table (/timeseries, /lookups, /ops, /events, /final/peers,
// /final/keys, /overlay, /overlay_in_degree) holding one 1-D dataset per column, all of
// one length, even 0; /summary, a group whose attributes are the fields of Summary.
// Floats are float64, counts int64, flags (ok, correct, alive) int8, strings
// variable-length UTF-8. The by-kind traffic maps of /timeseries become the columns
// msgs_<kind> and bytes_<kind>. /overlay has one row per snapshot; /overlay_in_degree
// holds every snapshot's in-degree histogram in long format (snapshot, in_degree, nodes).
//
// Files are deterministic: no timestamps anywhere, so the same tables always give the
// same bytes, and two runs of one scenario and seed differ only in wall_time_s.
#pragma once

#include <string>

#include "kittengrad/runs/run_tables.h"

namespace kittengrad::runs {

// Version of the layout, stored as the root attribute `layout`; a reader refuses files of
// a later layout it does not know.
inline constexpr std::int64_t kRunFileLayout = 1;

// Writes `t` to `path`. Returns "" on success, else a message that names the path and
// what went wrong. The file is written as `path + ".part"` and renamed over `path` only
// once complete and synced, so a crash never leaves a half-written file under `path`.
// The /summary attributes are compute_summary(t) (summary.h), so a file never holds a
// stale summary; from t.summary only the history-checker fields are taken.
// Never throws; HDF5's own error printing is silenced while it runs.
[[nodiscard]] std::string write_run_file(const std::string& path, const RunTables& t);

struct ReadResult {
  RunTables tables;
  std::string error;  // "" on success

  [[nodiscard]] bool ok() const { return error.empty(); }
  explicit operator bool() const { return ok(); }
};

// Reads a run file written by write_run_file. A missing file, a file that is not HDF5,
// or one without the expected groups, columns or types gives an error naming the path and
// what is missing; it never throws or crashes. Columns this version does not know are
// ignored, so files from later versions that only add columns still read.
[[nodiscard]] ReadResult read_run_file(const std::string& path);

}  // namespace kittengrad::runs
