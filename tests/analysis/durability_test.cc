// Tests of the replica-count chain (durability.h) against what is known independently of
// its code: closed forms (no repair; r = 1, 2), a Gillespie simulation, Eigen's own matrix
// exponential on a generator built here, the first-passage recursion for the mean time to
// loss, and the shape the answer must have (monotone in t, mu and r; within [0, 1]).
#include "kittengrad/analysis/durability.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <unsupported/Eigen/MatrixFunctions>
#include <vector>

namespace kittengrad::analysis {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

DurabilityParams params(int r, double lambda, double mu, Repair repair = Repair::one_at_a_time) {
  return {.replicas = r, .failure_rate = lambda, .repair_rate = mu, .repair = repair};
}

double loss(const DurabilityParams& p, double t) {
  const DurabilityValue v = loss_probability(p, t);
  EXPECT_TRUE(v.ok()) << v.error;
  return v.value;
}

double mttl(const DurabilityParams& p) {
  const DurabilityValue v = mean_time_to_loss(p);
  EXPECT_TRUE(v.ok()) << v.error;
  return v.value;
}

double repair_at(const DurabilityParams& p, int k) {
  if (k >= p.replicas) return 0;
  return p.repair == Repair::per_missing ? (p.replicas - k) * p.repair_rate : p.repair_rate;
}

// The first-passage recursion: from k the key must first come down to k - 1, which takes
// h_k = 1 / (k lambda) + repair(k) / (k lambda) * h_{k+1}; E[T] = h_1 + ... + h_r.
double mttl_by_recursion(const DurabilityParams& p) {
  double h = 0, total = 0;
  for (int k = p.replicas; k >= 1; --k) {
    h = (1 + repair_at(p, k) * h) / (k * p.failure_rate);
    total += h;
  }
  return total;
}

// P(lost by t) from Eigen's Pade matrix exponential of a generator written out here.
double loss_by_matrix_exp(const DurabilityParams& p, double t) {
  const int r = p.replicas;
  Eigen::MatrixXd q = Eigen::MatrixXd::Zero(r + 1, r + 1);
  for (int k = 1; k <= r; ++k) {
    q(k, k - 1) = k * p.failure_rate;
    if (k < r) q(k, k + 1) = repair_at(p, k);
    q(k, k) = -q.row(k).sum();
  }
  const Eigen::MatrixXd e = (q * t).exp();
  return e(r, 0);
}

TEST(Durability, WithoutRepairLossIsAllReplicasFailingIndependently) {
  // Relative 1e-9, so also absolute: down to 1e-138 (r = 64, lambda t = 0.007), where an
  // absolute error bound or exp() would return noise.
  for (const int r : {1, 2, 3, 5, 8, 16, 64}) {
    for (const double t : {0.0, 0.01, 0.3, 1.0, 4.0, 20.0, 200.0, 1e4, 1e6}) {
      const double lambda = 0.7;
      const double expected = std::pow(-std::expm1(-lambda * t), r);  // (1 - e^{-lambda t})^r
      EXPECT_NEAR(loss(params(r, lambda, 0), t), expected, 1e-9 * expected)
          << "r=" << r << " t=" << t;
    }
  }
}

TEST(Durability, AgreesWithMonteCarloWithinFourStandardErrors) {
  struct Case {
    DurabilityParams p;
    double horizon;
  };
  const std::vector<Case> cases = {
      {params(2, 1.0, 5.0), 3.0},
      {params(2, 0.2, 3.0), 20.0},
      {params(3, 0.5, 4.0), 10.0},
      {params(3, 1.0, 3.0, Repair::per_missing), 4.0},
      {params(3, 1.0, 0.0), 1.5},
      {params(5, 1.0, 2.0), 4.0},
      {params(5, 1.0, 1.5, Repair::per_missing), 3.0},
  };
  constexpr std::uint64_t kTrials = 20000;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const std::uint64_t seed = 1000 + i;
    const double analytic = loss(c.p, c.horizon);
    const MonteCarloLoss mc = monte_carlo_loss_probability(c.p, c.horizon, kTrials, seed);
    ASSERT_TRUE(mc.ok()) << mc.error;
    EXPECT_EQ(mc.trials, kTrials);
    // A degenerate estimate (no loss, or every key lost) would make the check vacuous.
    ASSERT_GT(mc.standard_error, 0) << "case " << i << " seed " << seed;
    EXPECT_NEAR(mc.probability, analytic, 4 * mc.standard_error)
        << "case " << i << " seed " << seed << " r=" << c.p.replicas << " lambda="
        << c.p.failure_rate << " mu=" << c.p.repair_rate << " t=" << c.horizon;
  }
}

TEST(Durability, MonteCarloIsDeterministicForASeed) {
  const DurabilityParams p = params(3, 1.0, 2.0);
  const MonteCarloLoss a = monte_carlo_loss_probability(p, 2.0, 2000, 42);
  const MonteCarloLoss b = monte_carlo_loss_probability(p, 2.0, 2000, 42);
  const MonteCarloLoss c = monte_carlo_loss_probability(p, 2.0, 2000, 43);
  EXPECT_EQ(a.lost, b.lost) << "seed 42";
  EXPECT_NE(a.lost, c.lost) << "seeds 42 and 43";  // independent: equal ~2% of the time
}

TEST(Durability, AgreesWithEigenMatrixExponential) {
  struct Case {
    DurabilityParams p;
    double horizon;
  };
  // From a few uniformization steps on the vector to 21 squarings of the step matrix.
  // 1e-9 is exp()'s own error at |Q t| = 1e7 (4e-10; ours agrees with long double to 1e-13).
  const std::vector<Case> cases = {
      {params(2, 1.0, 5.0), 0.5},
      {params(3, 1.0, 20.0), 100.0},
      {params(3, 1.0, 20.0, Repair::per_missing), 100.0},
      {params(5, 0.3, 2.0), 7.0},
      {params(8, 1.0, 4.0, Repair::per_missing), 60.0},
      {params(3, 1.0, 1000.0), 1e4},
  };
  for (const Case& c : cases) {
    const double expected = loss_by_matrix_exp(c.p, c.horizon);
    ASSERT_GT(expected, 1e-3);
    EXPECT_NEAR(loss(c.p, c.horizon), expected, 1e-9 * expected)
        << "r=" << c.p.replicas << " mu=" << c.p.repair_rate << " t=" << c.horizon;
  }
}

TEST(Durability, LossCurveIsMonotoneInTimeAndMatchesSinglePoints) {
  for (const Repair repair : {Repair::one_at_a_time, Repair::per_missing}) {
    const DurabilityParams p = params(4, 0.5, 3.0, repair);
    std::vector<double> times;
    for (int i = 0; i <= 400; ++i) times.push_back(0.25 * i);
    times.push_back(times.back());  // a repeated time is a zero step
    const DurabilityCurve curve = loss_curve(p, times);
    ASSERT_TRUE(curve.ok()) << curve.error;
    ASSERT_EQ(curve.values.size(), times.size());
    EXPECT_EQ(curve.values[0], 0);
    for (std::size_t i = 1; i < times.size(); ++i) {
      EXPECT_GE(curve.values[i], curve.values[i - 1] - 1e-15) << "t=" << times[i];
      EXPECT_LE(curve.values[i], 1);
    }
    EXPECT_GT(curve.values.back(), curve.values[40]);
    for (const std::size_t i : {1, 7, 40, 399}) {
      EXPECT_NEAR(curve.values[i], loss(p, times[i]), 1e-12) << "t=" << times[i];
    }
  }
  EXPECT_TRUE(loss_curve(params(3, 1, 1), {}).ok());
}

TEST(Durability, LossDecreasesWithRepairRate) {
  for (const Repair repair : {Repair::one_at_a_time, Repair::per_missing}) {
    double previous = 1;
    for (const double mu : {0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0}) {
      const double p = loss(params(3, 1.0, mu, repair), 5.0);
      EXPECT_LT(p, previous) << "mu=" << mu;
      previous = p;
    }
  }
}

TEST(Durability, LossDecreasesWithReplicas) {
  for (const Repair repair : {Repair::one_at_a_time, Repair::per_missing}) {
    double previous = 1;
    for (int r = 1; r <= 10; ++r) {
      const double p = loss(params(r, 1.0, 2.0, repair), 3.0);
      EXPECT_LT(p, previous) << "r=" << r;
      previous = p;
    }
  }
}

TEST(Durability, ParallelRepairIsNeverWorseAndSameForTwoReplicas) {
  for (int r = 1; r <= 6; ++r) {
    const double serial = loss(params(r, 1.0, 2.0, Repair::one_at_a_time), 3.0);
    const double parallel = loss(params(r, 1.0, 2.0, Repair::per_missing), 3.0);
    if (r <= 2) {
      EXPECT_DOUBLE_EQ(parallel, serial) << "r=" << r;
    } else {
      EXPECT_LT(parallel, serial) << "r=" << r;
    }
  }
}

TEST(Durability, MeanTimeToLossClosedForms) {
  for (const double lambda : {0.01, 1.0, 7.0}) {
    for (const double mu : {0.0, 0.5, 3.0, 1e3}) {
      EXPECT_NEAR(mttl(params(1, lambda, mu)), 1 / lambda, 1e-12 / lambda);
      const double two = (3 * lambda + mu) / (2 * lambda * lambda);
      EXPECT_NEAR(mttl(params(2, lambda, mu)), two, 1e-12 * two) << lambda << " " << mu;
    }
  }
  // No repair: the sum of the exponential waits 1 / (k lambda), k = r..1.
  EXPECT_NEAR(mttl(params(5, 2.0, 0)), (1 + 1 / 2.0 + 1 / 3.0 + 1 / 4.0 + 1 / 5.0) / 2, 1e-12);
  EXPECT_EQ(mttl(params(3, 0, 5.0)), kInf);
}

TEST(Durability, MeanTimeToLossMatchesFirstPassageRecursion) {
  // Up to 2e37 s at r = 64, mu / lambda = 100, where an LU of -Q_TT returns inf.
  for (const Repair repair : {Repair::one_at_a_time, Repair::per_missing}) {
    for (const int r : {3, 5, 16, 64}) {
      for (const double mu : {0.5, 10.0, 100.0}) {
        const DurabilityParams p = params(r, 1.0, mu, repair);
        const double expected = mttl_by_recursion(p);
        ASSERT_TRUE(std::isfinite(expected));
        EXPECT_NEAR(mttl(p), expected, 1e-12 * expected) << "r=" << r << " mu=" << mu;
      }
    }
  }
  // Beyond the double range: infinity, never NaN.
  EXPECT_EQ(mttl(params(64, 1.0, 1e12)), kInf);
}

TEST(Durability, MeanTimeToLossIsTheIntegralOfSurvival) {
  // E[T] = integral of P(not lost by t): ties the linear solve to the uniformization.
  const DurabilityParams p = params(3, 1.0, 2.0);
  const double dt = 0.01;
  std::vector<double> times;
  for (int i = 0; i <= 15000; ++i) times.push_back(dt * i);
  const DurabilityCurve curve = loss_curve(p, times);
  ASSERT_TRUE(curve.ok()) << curve.error;
  ASSERT_LT(1 - curve.values.back(), 1e-12);
  double integral = 0;
  for (std::size_t i = 1; i < times.size(); ++i) {
    integral += dt * (2 - curve.values[i] - curve.values[i - 1]) / 2;  // trapezoids
  }
  EXPECT_NEAR(integral, mttl(p), 1e-5 * mttl(p));
}

TEST(Durability, LongHorizonStaysInRangeAndIsFast) {
  const auto start = std::chrono::steady_clock::now();
  // lambda t = 1e4. Certain loss with slow repair.
  const double certain = loss(params(3, 1.0, 10.0), 1e4);
  EXPECT_LE(certain, 1);
  EXPECT_GT(certain, 1 - 1e-9);
  // With fast repair, loss is rare and close to memoryless at rate 1 / E[T], so
  // P(t) ~ 1 - exp(-t / E[T]) (up to ~lambda / mu): a check of the squarings (Lambda t up
  // to 6e8) that still holds at probabilities of 1e-184.
  for (const int r : {3, 64}) {
    for (const Repair repair : {Repair::one_at_a_time, Repair::per_missing}) {
      const DurabilityParams p = params(r, 1.0, 1000.0, repair);
      const double value = loss(p, 1e4);
      const double memoryless = -std::expm1(-1e4 / mttl(p));
      EXPECT_GT(value, 0) << "r=" << r;
      EXPECT_LE(value, 1) << "r=" << r;
      EXPECT_NEAR(value, memoryless, 1e-4 * memoryless) << "r=" << r;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);  // ~15 ms measured; generous for a busy machine
}

TEST(Durability, BadParametersAreErrors) {
  const std::vector<DurabilityParams> bad = {
      params(0, 1, 1),      params(65, 1, 1),    params(-3, 1, 1),
      params(3, -1, 1),     params(3, 1, -1),    params(3, kNaN, 1),
      params(3, 1, kNaN),   params(3, kInf, 1),  params(3, 1, kInf),
      params(64, 1e308, 1), params(3, 1, 1, static_cast<Repair>(7)),
  };
  for (const DurabilityParams& p : bad) {
    EXPECT_FALSE(loss_probability(p, 1).ok()) << p.replicas << " " << p.failure_rate;
    EXPECT_FALSE(loss_curve(p, {1, 2}).ok());
    EXPECT_FALSE(mean_time_to_loss(p).ok());
    EXPECT_FALSE(monte_carlo_loss_probability(p, 1, 10, 1).ok());
  }
  const DurabilityParams good = params(3, 1, 1);
  for (const double t : {-1.0, kNaN, kInf, -kInf}) {
    EXPECT_FALSE(loss_probability(good, t).ok()) << t;
    EXPECT_FALSE(monte_carlo_loss_probability(good, t, 10, 1).ok()) << t;
  }
  EXPECT_FALSE(loss_probability(params(3, 1e300, 1), 1e300).ok());  // rate x horizon
  const DurabilityCurve unsorted = loss_curve(good, {1, 3, 2});
  EXPECT_FALSE(unsorted.ok());
  EXPECT_TRUE(unsorted.values.empty());
  EXPECT_FALSE(monte_carlo_loss_probability(good, 1, 0, 1).ok());
  // Edge values that are fine: nothing fails, or a horizon of 0.
  EXPECT_EQ(loss(params(3, 0, 0), 1e6), 0);
  EXPECT_EQ(loss(good, 0), 0);
  EXPECT_EQ(monte_carlo_loss_probability(params(3, 0, 1), 10, 100, 1).lost, 0u);
}

}  // namespace
}  // namespace kittengrad::analysis
