// kittengrad/sim/report.h — `kittengrad report RUN.h5 [--out DIR]`: the summary of a run
// and its plots.
//
//   int status = run_report("run.h5", "run-report", std::cout, std::cerr);
//
// The plots come from the Python package (analysis/kittengrad/plots.py), run as
// `python3 -m kittengrad.plots RUN.h5 DIR` with PYTHONPATH pointing at the analysis
// folder; it prints the paths of the PNG files it wrote, one a line. Environment:
//   KG_ANALYSIS_DIR  the folder that holds the `kittengrad` package (default: the
//                    source tree's analysis/ folder, fixed at build time);
//   KG_PYTHON        the interpreter (default /usr/bin/python3).
#pragma once

#include <iosfwd>
#include <string>

namespace kittengrad::sim {

// Reads the run file, prints its summary on `out`, creates `out_dir` (when empty: the run
// path without its extension, plus "-report") and writes the plots there, then prints
// "wrote:" and each file. Returns 0 on success, 2 when the run file cannot be read or
// the output folder cannot be created (a message on `err`), 1 when the plots could not be
// made (missing Python or packages: the message says what to install).
[[nodiscard]] int run_report(const std::string& run_path, const std::string& out_dir,
                             std::ostream& out, std::ostream& err);

// The folder run_report uses when out_dir is empty: "runs/a.h5" -> "runs/a-report".
[[nodiscard]] std::string default_report_dir(const std::string& run_path);

}  // namespace kittengrad::sim
