// simulation_bindings.cc — one SimGrid run from Python, written to a run file.
//
// SimGrid keeps global state and allows one engine per process: callers run this once per
// process (kittengrad.simulate does so in a child, python3 -m kittengrad._child). The run
// releases the GIL; the progress callback takes it back for the moment it runs.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "bindings.h"
#include "kittengrad/sim/simulation.h"

namespace kittengrad::bindings {
namespace py = pybind11;

namespace {

// The run's summary as a dict (the same fields as the run file's /summary attributes).
py::dict summary_dict(const runs::Summary& s) {
  py::dict d;
  d["convergence_time_s"] = s.convergence_time_s;
  d["lost_updates"] = s.lost_updates;
  d["under_replicated_keys"] = s.under_replicated_keys;
  d["divergent_keys"] = s.divergent_keys;
  d["writes"] = s.writes;
  d["write_success"] = s.write_success;
  d["lookups"] = s.lookups;
  d["lookup_success"] = s.lookup_success;
  d["lookup_correct"] = s.lookup_correct;
  d["lookup_p50_ms"] = s.lookup_p50_ms;
  d["lookup_p99_ms"] = s.lookup_p99_ms;
  d["mean_hops"] = s.mean_hops;
  d["msgs_per_peer_s"] = s.msgs_per_peer_s;
  d["bytes_per_peer_s"] = s.bytes_per_peer_s;
  if (s.history_checked) {
    d["history_lost"] = s.history_lost;
    d["history_phantoms"] = s.history_phantoms;
  }
  return d;
}

py::dict run(const Scenario& sc, const std::string& out_path,
             const std::function<void(double, double)>& on_progress, bool audit,
             const std::string& version) {
  sim::SimOptions options;
  options.version = version;
  options.audit_oracle = audit;
  if (on_progress) {
    options.on_progress = [&on_progress](double simulated_s, double duration_s) {
      py::gil_scoped_acquire gil;
      on_progress(simulated_s, duration_s);
    };
  }
  sim::SimResult r;
  {
    py::gil_scoped_release no_gil;
    r = sim::run_simulation(sc, options);
  }
  if (!r.error.empty()) throw py::value_error(r.error);
  if (r.audit_mismatches > 0) {
    throw std::runtime_error("internal error: the oracle's metrics differed from a full recount " +
                             std::to_string(r.audit_mismatches) + " times");
  }
  if (const std::string err = sim::write_finished_run(out_path, sc, r.tables); !err.empty()) {
    throw std::runtime_error("cannot write the run file: " + err);
  }
  py::dict d = summary_dict(r.tables.summary);
  d["setup_wall_s"] = r.setup_wall_s;
  d["run_wall_s"] = r.run_wall_s;
  d["datagrams_delivered"] = r.datagrams_delivered;
  return d;
}

}  // namespace

void bind_simulation(py::module_& m) {
  m.def("run_simulation", &run, py::arg("scenario"), py::arg("out_path"),
        py::arg("on_progress") = nullptr, py::arg("audit") = false, py::arg("version") = "",
        "Runs the scenario in SimGrid and writes the run file; returns the summary. Once per "
        "process: SimGrid cannot start a second engine.");
}

}  // namespace kittengrad::bindings
