// scenario_bindings.cc — scenarios for Python: load, parse, override, validate, write.
//
// A refused scenario raises `ScenarioError` (a ValueError) whose message is the loader's
// own line: the file and line where there is one, the dotted key, and what is allowed.
// Scenario objects are values: an override returns a new one.
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "bindings.h"
#include "kittengrad/scenario_loader.h"

namespace kittengrad::bindings {
namespace py = pybind11;

namespace {

// Thrown inside the bindings, turned into kittengrad.ScenarioError by pybind11.
struct ScenarioRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T>
T value_or_raise(ScenarioResult<T> r) {
  if (!r.ok()) throw ScenarioRefused(r.error().message());
  return std::move(r.value());
}

Scenario with_override(const Scenario& sc, const std::string& assignment) {
  Scenario copy = sc;
  value_or_raise(apply_override(copy, assignment));
  return copy;
}

}  // namespace

void bind_scenario(py::module_& m) {
  py::register_exception<ScenarioRefused>(m, "ScenarioError", PyExc_ValueError);

  py::class_<Scenario>(m, "Scenario")
      .def_static(
          "load", [](const std::string& path) { return value_or_raise(load_scenario_file(path)); },
          py::arg("path"), "Reads, parses and validates a scenario file.")
      .def_static(
          "parse",
          [](const std::string& text, const std::string& source, const std::string& base_dir) {
            return value_or_raise(parse_scenario(text, source, base_dir));
          },
          py::arg("text"), py::arg("source") = "", py::arg("base_dir") = "",
          "Parses and validates TOML text; relative data paths resolve against base_dir.")
      .def("with_override", &with_override, py::arg("assignment"),
           "A copy with one `KEY=VALUE` override applied (as `kittengrad sim --set`).")
      .def("validate", [](const Scenario& sc) { value_or_raise(validate(sc)); })
      .def("to_toml", [](const Scenario& sc) { return to_toml(sc); },
           "The effective scenario as TOML, every key with its value.")
      .def_property_readonly("source", [](const Scenario& sc) { return sc.source; })
      .def_property_readonly("base_dir", [](const Scenario& sc) { return sc.base_dir; })
      .def_property_readonly("peers", [](const Scenario& sc) { return sc.overlay.peers; })
      .def_property_readonly("seed", [](const Scenario& sc) { return sc.run.seed; })
      .def_property_readonly("duration_s", [](const Scenario& sc) { return sc.run.duration_s; })
      .def(py::pickle(
          [](const Scenario& sc) { return py::make_tuple(to_toml(sc), sc.source, sc.base_dir); },
          [](const py::tuple& t) {
            if (t.size() != 3) throw std::runtime_error("bad pickled Scenario");
            return value_or_raise(parse_scenario(t[0].cast<std::string>(),
                                                 t[1].cast<std::string>(),
                                                 t[2].cast<std::string>()));
          }));
}

}  // namespace kittengrad::bindings
