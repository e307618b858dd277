// durability_bindings.cc — the birth-death Markov model of a key's live replica count
// (analysis/include/kittengrad/analysis/durability.h). A bad parameter raises ValueError
// with the model's own message.
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.h"
#include "kittengrad/analysis/durability.h"

namespace kittengrad::bindings {
namespace py = pybind11;
using analysis::DurabilityParams;
using analysis::Repair;

namespace {

DurabilityParams params(int replicas, double failure_rate, double repair_rate,
                        const std::string& repair) {
  DurabilityParams p;
  p.replicas = replicas;
  p.failure_rate = failure_rate;
  p.repair_rate = repair_rate;
  if (repair == "one_at_a_time") {
    p.repair = Repair::one_at_a_time;
  } else if (repair == "per_missing") {
    p.repair = Repair::per_missing;
  } else {
    throw py::value_error("repair must be 'one_at_a_time' or 'per_missing' (got '" + repair +
                          "')");
  }
  return p;
}

template <typename R>
R checked(R r) {
  if (!r.ok()) throw py::value_error(r.error);
  return r;
}

}  // namespace

void bind_durability(py::module_& m) {
  m.def(
      "durability_loss_probability",
      [](int r, double lambda, double mu, double horizon_s, const std::string& repair) {
        return checked(analysis::loss_probability(params(r, lambda, mu, repair), horizon_s)).value;
      },
      py::arg("replicas"), py::arg("failure_rate"), py::arg("repair_rate"),
      py::arg("horizon_s"), py::arg("repair"));
  m.def(
      "durability_loss_curve",
      [](int r, double lambda, double mu, const std::vector<double>& times,
         const std::string& repair) {
        return checked(analysis::loss_curve(params(r, lambda, mu, repair), times)).values;
      },
      py::arg("replicas"), py::arg("failure_rate"), py::arg("repair_rate"), py::arg("times"),
      py::arg("repair"));
  m.def(
      "durability_mean_time_to_loss",
      [](int r, double lambda, double mu, const std::string& repair) {
        return checked(analysis::mean_time_to_loss(params(r, lambda, mu, repair))).value;
      },
      py::arg("replicas"), py::arg("failure_rate"), py::arg("repair_rate"), py::arg("repair"));
  m.def(
      "durability_monte_carlo",
      [](int r, double lambda, double mu, double horizon_s, std::uint64_t trials,
         std::uint64_t seed, const std::string& repair) {
        const analysis::MonteCarloLoss mc = checked(analysis::monte_carlo_loss_probability(
            params(r, lambda, mu, repair), horizon_s, trials, seed));
        return py::make_tuple(mc.probability, mc.standard_error);
      },
      py::arg("replicas"), py::arg("failure_rate"), py::arg("repair_rate"),
      py::arg("horizon_s"), py::arg("trials"), py::arg("seed"), py::arg("repair"));
}

}  // namespace kittengrad::bindings
