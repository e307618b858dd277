// kittengrad/analysis/durability.h — how likely one key is to lose all its replicas, from
// the birth-death Markov chain of its live replica count (Carbonite: Chun et al., "Efficient
// Replica Maintenance for Distributed Storage Systems", NSDI 2006), solved with Eigen.
//
// States k = 0..r live replicas; the key starts with r. From k >= 1 one of the k live
// replicas fails at rate k * lambda (each independently, lambda per replica); repair adds
// one replica while 0 < k < r; 0 is absorbing (the key is lost: nobody is left to copy it).
//
//   DurabilityParams p{.replicas = 3, .failure_rate = 1.0 / 86400, .repair_rate = 1.0 / 600};
//   DurabilityValue loss = loss_probability(p, /*horizon_s=*/30 * 86400.0);
//   if (!loss.ok()) std::cerr << loss.error << '\n';
//   DurabilityCurve curve = loss_curve(p, {3600.0, 86400.0, 30 * 86400.0});
//   DurabilityValue mttl = mean_time_to_loss(p);        // seconds; +inf when lambda == 0
//   MonteCarloLoss mc = monte_carlo_loss_probability(p, 30 * 86400.0, 100000, /*seed=*/1);
//
// No function throws: bad parameters come back as a non-empty `error`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kittengrad::analysis {

// How fast the missing replicas come back while 0 < k < r.
//
// one_at_a_time (Carbonite's model, the default): rate mu whatever the number missing, as
// if a successor re-replicated one missing copy at a time over a bounded repair bandwidth.
// per_missing: rate (r - k) * mu, every missing copy repaired in parallel. This is what the
// kittengrad simulator does: each replica runs anti-entropy with each of its successors
// that should hold its range, so all missing copies of a range fill at once. The trade-off:
// per_missing is the right model while repair is limited by failure detection and the
// anti-entropy interval (mu ~ 1 / (detection + interval / 2 + transfer)); once transfers
// share a saturated link, parallel copies are no faster than serial ones and one_at_a_time
// is the honest, pessimistic choice. The two agree for r <= 2. Both model repair as
// exponential, where the simulator's periodic rounds make it closer to a fixed delay.
enum class Repair { one_at_a_time, per_missing };

struct DurabilityParams {
  int replicas = 3;           // r, 1..64
  double failure_rate = 0;    // lambda: per live replica, 1/s
  double repair_rate = 0;     // mu: 1/s (per missing copy with Repair::per_missing)
  Repair repair = Repair::one_at_a_time;
};

struct DurabilityValue {
  double value = 0;
  std::string error;          // empty on success
  [[nodiscard]] bool ok() const { return error.empty(); }
};

struct DurabilityCurve {
  std::vector<double> values;  // values[i] belongs to times[i]
  std::string error;
  [[nodiscard]] bool ok() const { return error.empty(); }
};

struct MonteCarloLoss {
  double probability = 0;      // lost trials / trials
  double standard_error = 0;   // sqrt(p (1 - p) / trials), binomial
  std::uint64_t trials = 0;
  std::uint64_t lost = 0;
  std::string error;
  [[nodiscard]] bool ok() const { return error.empty(); }
};

// P(the key is lost by horizon_s | r live replicas at 0), in [0, 1], to a relative ~1e-12
// even when it is tiny (see durability.cc). Cost: O(r^3 log(Lambda t)) at worst, Lambda =
// the largest exit rate: ~20 ms for r = 64 and Lambda t = 6e8.
[[nodiscard]] DurabilityValue loss_probability(const DurabilityParams& params, double horizon_s);

// loss_probability at each of `times` (non-decreasing, >= 0), stepping one distribution
// from each time to the next, so each interval is paid once (r = 64, 1,000 points: ~0.1 s,
// against ~7 s as separate calls).
[[nodiscard]] DurabilityCurve loss_curve(const DurabilityParams& params,
                                         const std::vector<double>& times);

// E[time until the key is lost | r live replicas], seconds. +inf when lambda == 0, and
// when the answer does not fit in a double.
[[nodiscard]] DurabilityValue mean_time_to_loss(const DurabilityParams& params);

// The same probability estimated by simulating `trials` histories of the chain (Gillespie),
// for tests and to set beside the analytic value. Deterministic for a given seed: our own
// draws from std::mt19937_64, no std:: distribution. Cost: O(trials x events per history),
// a history having ~2 r lambda t events while repair keeps up (one failure, one repair).
[[nodiscard]] MonteCarloLoss monte_carlo_loss_probability(const DurabilityParams& params,
                                                          double horizon_s,
                                                          std::uint64_t trials,
                                                          std::uint64_t seed);

}  // namespace kittengrad::analysis
