// The replica-count chain of one key, solved with Eigen (see durability.h for the model).
//
// Transient probabilities, by uniformization rather than Eigen's MatrixFunctions exp().
// With Lambda >= every exit rate, P = I + Q / Lambda is a stochastic matrix and
//
//   exp(Q t) = sum_n Poisson(n; Lambda t) P^n,
//
// a sum of nonnegative terms: nothing cancels, so a loss probability of 1e-30 keeps its
// relative accuracy, and the error of cutting the sum short is known (poisson_series).
// exp() (unsupported/Eigen/MatrixFunctions, installed) is a degree-13 Pade approximant with
// scaling and squaring on Q's mixed signs: its error is relative to the whole matrix, so
// small probabilities over short horizons come out wrong (no repair, r = 8, lambda t = 7e-4:
// 8.0e-26 for 5.7e-26; r = 16, lambda t = 7e-3: 7.5e-34 for 3.1e-35), and it has no cheap
// way to step one distribution along a curve. The tests use it as an independent check on
// moderate values.
//
// Keeping the sum short: each step covers at most kStepMass expected uniformization jumps
// (Lambda dt <= kStepMass, so Poisson(0) = e^-8 does not underflow and a few dozen terms
// suffice). A few steps are applied to the distribution directly (a matrix-vector product,
// n^2, per term); past n steps (n = r + 1 states) it is cheaper to build the step matrix
// E = exp(Q dt) once (n^3 per term) with dt = t / 2^s and square it s times: r = 64 and
// Lambda t = 6e8 take ~20 ms.
//
// Accuracy. Truncation: every probability returned is within a relative 1e-12 of the
// untruncated sum. Rounding: s squarings amplify rounding errors up to 2^s ~ Lambda t / 8
// times, and nearly all of that is the row sums drifting from 1; exact powers of E are
// stochastic, so we rescale every row to sum 1 after each step and squaring. Measured
// against the same algorithm in long double, at Lambda t up to 1e9 and r up to 64: relative
// error <= 5e-12 with the rescaling, up to 5e-8 without it.
//
// Mean time to loss: tau = (-Q_TT)^-1 1 over the transient states 1..r (see
// mean_time_to_loss for why not through an LU of -Q_TT).
#include "kittengrad/analysis/durability.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace kittengrad::analysis {

namespace {

constexpr int kMaxReplicas = 64;
constexpr double kTruncationError = 1e-12;  // relative, on every probability returned
constexpr double kStepMass = 8;             // most expected uniformization jumps per step

// The rate at which state k (0 < k < r) gains a replica.
double repair_rate(const DurabilityParams& p, int k) {
  if (k <= 0 || k >= p.replicas) return 0;
  return p.repair == Repair::per_missing ? (p.replicas - k) * p.repair_rate : p.repair_rate;
}

// The largest exit rate, the uniformization constant: r lambda + the largest repair rate
// is an upper bound and needs no search (any bound >= the true maximum is valid).
double max_exit_rate(const DurabilityParams& p) {
  return p.replicas * p.failure_rate + repair_rate(p, 1);
}

// "" when the parameters describe a chain we can solve.
std::string validate(const DurabilityParams& p) {
  if (p.replicas < 1 || p.replicas > kMaxReplicas) return "replicas must be in 1..64";
  // !(x >= 0) also catches NaN.
  if (!(p.failure_rate >= 0) || !std::isfinite(p.failure_rate)) {
    return "failure_rate must be finite and >= 0";
  }
  if (!(p.repair_rate >= 0) || !std::isfinite(p.repair_rate)) {
    return "repair_rate must be finite and >= 0";
  }
  if (p.repair != Repair::one_at_a_time && p.repair != Repair::per_missing) {
    return "repair must be one_at_a_time or per_missing";
  }
  if (!std::isfinite(max_exit_rate(p))) return "rates too large: r * lambda + mu overflows";
  return "";
}

std::string validate_horizon(const DurabilityParams& p, double horizon_s) {
  if (!(horizon_s >= 0) || !std::isfinite(horizon_s)) return "horizon must be finite and >= 0";
  if (!std::isfinite(max_exit_rate(p) * horizon_s)) return "rate x horizon overflows";
  return "";
}

// Q: q(i, j) = rate of i -> j for i != j, rows sum to 0. Row 0 is zero (absorbing).
Eigen::MatrixXd generator(const DurabilityParams& p) {
  const int r = p.replicas;
  Eigen::MatrixXd q = Eigen::MatrixXd::Zero(r + 1, r + 1);
  for (int k = 1; k <= r; ++k) {
    q(k, k - 1) = k * p.failure_rate;
    if (k < r) q(k, k + 1) = repair_rate(p, k);
    q(k, k) = -(q(k, k - 1) + (k < r ? q(k, k + 1) : 0.0));
  }
  return q;
}

// Rescales each row to sum 1: undoes the drift of rounding (and the truncated tail, a
// relative 1e-12 at most), keeping the relative accuracy of small entries.
void normalize_rows(Eigen::MatrixXd& m) { m.array().colwise() /= m.rowwise().sum().array(); }

// The uniformized chain: sum_n Poisson(n; a) x P^n, x a row vector (a distribution) or the
// identity (to build a step matrix), cut once every entry is within a factor rel_error of
// its full sum. The terms left out add at most tail = sum_{m>n} Poisson(m; a) to any entry
// (x P^m is stochastic), so we stop when
//   - every entry that will ever be nonzero already is: all of them, or n >= r, since a
//     jump moves one state and r jumps reach every state that can be reached, and
//   - tail <= rel_error * the smallest nonzero entry.
// An absolute bound would be cheaper but would return loss probabilities below it as 0.
// REQUIRES: 0 < a <= kStepMass (so e^-a is a normal double).
Eigen::MatrixXd poisson_series(Eigen::MatrixXd x, const Eigen::MatrixXd& p, double a,
                               double rel_error) {
  const int r = static_cast<int>(p.rows()) - 1;
  constexpr double kNone = std::numeric_limits<double>::infinity();
  double w = std::exp(-a);  // Poisson(0; a)
  Eigen::MatrixXd sum = w * x;
  for (int n = 0;; ++n) {
    const double next = w * a / (n + 1);  // Poisson(n + 1; a)
    const auto positive = sum.array() > 0;
    if (n + 2 > a && (n >= r || positive.all())) {
      // Past the mode the weights fall at least geometrically, by a / (n + 2) or faster,
      // so tail <= next / (1 - a / (n + 2)). Ends at the latest when `next` underflows.
      const double smallest = positive.select(sum.array(), kNone).minCoeff();
      if (next <= rel_error * smallest * (1 - a / (n + 2))) return sum;
    }
    x = x * p;
    sum += next * x;
    w = next;
  }
}

// Moves the distribution `v` (a row vector over states 0..r) forward by t seconds. Each
// entry comes out within a factor `rel_error` of exact, truncation-wise: every factor used
// (series steps, squarings) is a nonnegative matrix whose entries are within a known factor,
// and such factors multiply, so the shares add up to rel_error.
class Propagator {
 public:
  explicit Propagator(const DurabilityParams& params)
      : lambda_(max_exit_rate(params)), n_(params.replicas + 1) {
    const Eigen::MatrixXd q = generator(params);
    p_ = Eigen::MatrixXd::Identity(n_, n_);
    if (lambda_ > 0) p_ += q / lambda_;
    p_ = p_.cwiseMax(0.0);  // 1 - rate / Lambda may round to -0 or -1e-17 on the diagonal
  }

  void advance(Eigen::MatrixXd& v, double t, double rel_error) const {
    const double a = lambda_ * t;
    if (!(a > 0)) return;  // nothing can happen
    const double steps = std::ceil(a / kStepMass);
    if (steps <= n_) {
      for (int i = 0; i < static_cast<int>(steps); ++i) {
        v = poisson_series(v, p_, a / steps, rel_error / steps);
        normalize_rows(v);
      }
      return;
    }
    const int s = static_cast<int>(std::ceil(std::log2(a / kStepMass)));
    Eigen::MatrixXd e = poisson_series(Eigen::MatrixXd::Identity(n_, n_), p_,
                                       std::ldexp(a, -s), std::ldexp(rel_error, -s));
    normalize_rows(e);
    for (int i = 0; i < s; ++i) {
      e = e * e;  // Eigen evaluates the product into a temporary first
      normalize_rows(e);
    }
    v = v * e;
    normalize_rows(v);
  }

 private:
  double lambda_;
  int n_;
  Eigen::MatrixXd p_;
};

Eigen::MatrixXd start_distribution(const DurabilityParams& p) {
  Eigen::MatrixXd v = Eigen::MatrixXd::Zero(1, p.replicas + 1);
  v(0, p.replicas) = 1;
  return v;
}

// The absorbed mass, clamped: rounding may put it a few ulps outside [0, 1].
double lost(const Eigen::MatrixXd& v) { return std::clamp(v(0, 0), 0.0, 1.0); }

// A uniform double in [0, 1) with 53 random bits. Our own conversion rather than a std::
// distribution, whose output differs between standard libraries; mt19937_64's is fixed by
// the standard. (kittengrad::Rng is in protocol/, which analysis/ must not depend on.)
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

DurabilityValue loss_probability(const DurabilityParams& params, double horizon_s) {
  DurabilityCurve curve = loss_curve(params, {horizon_s});
  if (!curve.ok()) return {.value = 0, .error = curve.error};
  return {.value = curve.values[0], .error = ""};
}

DurabilityCurve loss_curve(const DurabilityParams& params, const std::vector<double>& times) {
  if (std::string e = validate(params); !e.empty()) return {.values = {}, .error = e};
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (std::string e = validate_horizon(params, times[i]); !e.empty()) {
      return {.values = {}, .error = "times[" + std::to_string(i) + "]: " + e};
    }
    if (i > 0 && times[i] < times[i - 1]) return {.values = {}, .error = "times must be sorted"};
  }
  // The chain is Markov: the distribution at times[i] is the one at times[i - 1] moved on
  // by the difference, so each interval is paid once. The intervals share the error budget.
  const Propagator propagator(params);
  const double rel_error = kTruncationError / std::max<std::size_t>(times.size(), 1);
  Eigen::MatrixXd v = start_distribution(params);
  DurabilityCurve curve;
  curve.values.reserve(times.size());
  double now = 0;
  for (const double t : times) {
    propagator.advance(v, t - now, rel_error);
    now = t;
    curve.values.push_back(lost(v));
  }
  return curve;
}

DurabilityValue mean_time_to_loss(const DurabilityParams& params) {
  if (std::string e = validate(params); !e.empty()) return {.value = 0, .error = e};
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  if (params.failure_rate == 0) return {.value = kInfinity, .error = ""};
  // tau_k = E[time to reach 0 | k] solves (-Q_TT) tau = 1 over the transient states 1..r.
  // -Q_TT is a nonsingular M-matrix (row 1 leaks to state 0, which every state reaches), but
  // its condition number is at least the answer times the largest rate, ~(mu / lambda)^(r-1)
  // / (r-1)! with one-at-a-time repair, and partial-pivot LU loses that many digits: at
  // r = 64 it is 2e-4 off at mu / lambda = 30 and returns inf or a negative time at
  // mu / lambda = 100, where the answer is 2e37 s.
  //
  // So we solve the same system through tau = L h, L the lower triangle of ones: h_k =
  // tau_k - tau_{k-1} is the expected time to go from k down to k - 1, and (-Q_TT) L = U is
  // upper bidiagonal, U(k, k) = k lambda, U(k, k+1) = -repair(k), i.e. h_k = (1 + repair(k)
  // h_{k+1}) / (k lambda): "wait for a failure; a repair first costs one more climb down
  // from k + 1". Back substitution then adds positive numbers only: full relative accuracy.
  const int r = params.replicas;
  Eigen::MatrixXd u = Eigen::MatrixXd::Zero(r, r);  // row/column i is state k = i + 1
  for (int i = 0; i < r; ++i) {
    u(i, i) = (i + 1) * params.failure_rate;
    if (i + 1 < r) u(i, i + 1) = -repair_rate(params, i + 1);
  }
  const Eigen::VectorXd h = u.triangularView<Eigen::Upper>().solve(Eigen::VectorXd::Ones(r));
  // tau_r = sum of h. Only overflow makes it non-finite (0 x inf in the dense solve turns
  // an overflow into NaN), and then the true value is beyond the largest double.
  const double value = h.sum();
  return {.value = std::isfinite(value) ? value : kInfinity, .error = ""};
}

MonteCarloLoss monte_carlo_loss_probability(const DurabilityParams& params, double horizon_s,
                                            std::uint64_t trials, std::uint64_t seed) {
  MonteCarloLoss result;
  result.error = validate(params);
  if (result.error.empty()) result.error = validate_horizon(params, horizon_s);
  if (result.error.empty() && trials == 0) result.error = "trials must be >= 1";
  if (!result.ok()) return result;

  std::mt19937_64 rng(seed);
  for (std::uint64_t trial = 0; trial < trials; ++trial) {
    // Gillespie: wait an exponential time at the total rate, then pick the event in
    // proportion to its rate.
    int k = params.replicas;
    double t = 0;
    while (k > 0) {
      const double fail = k * params.failure_rate;
      const double total = fail + repair_rate(params, k);
      if (total == 0) break;  // lambda = 0 at k = r: nothing ever happens
      t -= std::log1p(-uniform01(rng)) / total;
      if (t > horizon_s) break;
      k += uniform01(rng) * total < fail ? -1 : 1;
    }
    if (k == 0) ++result.lost;
  }
  result.trials = trials;
  const double n = static_cast<double>(trials);
  result.probability = static_cast<double>(result.lost) / n;
  result.standard_error = std::sqrt(result.probability * (1 - result.probability) / n);
  return result;
}

}  // namespace kittengrad::analysis
