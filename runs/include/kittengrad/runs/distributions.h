// kittengrad/runs/distributions.h — the random laws of a scenario: session and downtime
// lengths with a given median (exponential, Weibull, Pareto), their stationary residual
// life, and Zipf key popularity. The simulator and the live runner draw churn and key
// popularity with them. Our own code over Rng: standard-library distributions differ
// between implementations, and a seed must replay a run bit for bit anywhere.
//
//   Lifetime law = Lifetime::with_median(LifetimeModel::kWeibull, 3600, 0.5);
//   double up_s = law.sample(rng);            // a full session
//   double left_s = law.sample_residual(rng); // what remains of a session seen at random
#pragma once

#include <cstdint>

#include "kittengrad/rng.h"

namespace kittengrad::runs {

enum class LifetimeModel : std::uint8_t { kExponential, kWeibull, kPareto };

// A positive random duration. Parameters: exponential mean; Weibull scale and shape k;
// Pareto minimum x_m and shape alpha (> 1 so that the mean, and the residual law, exist).
struct Lifetime {
  LifetimeModel model = LifetimeModel::kExponential;
  double scale = 1;  // exponential: mean; Weibull: lambda; Pareto: x_m
  double shape = 1;  // Weibull: k; Pareto: alpha

  // The law with this median. REQUIRES: median > 0, shape > 0 (> 1 for Pareto).
  [[nodiscard]] static Lifetime with_median(LifetimeModel model, double median, double shape);
  [[nodiscard]] double median() const;
  [[nodiscard]] double mean() const;
  [[nodiscard]] double sample(Rng& rng) const;
  // The time left in a session observed at a random instant of a stationary renewal
  // process: density (1 - F(x)) / mean. Sampled as U * L with L length-biased.
  [[nodiscard]] double sample_residual(Rng& rng) const;
};

// Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted by U^(1/shape)).
[[nodiscard]] double sample_gamma(Rng& rng, double shape);

// Zipf over ranks 1..n with exponent s > 0, P(k) ~ k^-s, by rejection-inversion
// (Hörmann and Derflinger 1996): O(1) expected per draw whatever n, and n may grow
// between draws (keys are created during a run).
[[nodiscard]] std::uint64_t sample_zipf(Rng& rng, std::uint64_t n, double s);

}  // namespace kittengrad::runs
