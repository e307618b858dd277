// runs/src/distributions.cc — see kittengrad/runs/distributions.h.
#include "kittengrad/runs/distributions.h"

#include <cassert>
#include <cmath>

namespace kittengrad::runs {

namespace {

constexpr double kLn2 = 0.69314718055994530942;

double open01(Rng& rng) {
  // (0, 1): never 0, so logarithms and powers stay finite.
  double u = rng.uniform01();
  while (u <= 0.0) u = rng.uniform01();
  return u;
}

}  // namespace

Lifetime Lifetime::with_median(LifetimeModel model, double median, double shape) {
  assert(median > 0 && shape > 0);
  Lifetime l;
  l.model = model;
  l.shape = shape;
  switch (model) {
    case LifetimeModel::kExponential: l.scale = median / kLn2; l.shape = 1; break;
    case LifetimeModel::kWeibull: l.scale = median / std::pow(kLn2, 1.0 / shape); break;
    case LifetimeModel::kPareto:
      assert(shape > 1);
      l.scale = median / std::pow(2.0, 1.0 / shape);
      break;
  }
  return l;
}

double Lifetime::median() const {
  switch (model) {
    case LifetimeModel::kExponential: return scale * kLn2;
    case LifetimeModel::kWeibull: return scale * std::pow(kLn2, 1.0 / shape);
    case LifetimeModel::kPareto: return scale * std::pow(2.0, 1.0 / shape);
  }
  return scale;
}

double Lifetime::mean() const {
  switch (model) {
    case LifetimeModel::kExponential: return scale;
    case LifetimeModel::kWeibull: return scale * std::tgamma(1.0 + 1.0 / shape);
    case LifetimeModel::kPareto: return shape * scale / (shape - 1.0);
  }
  return scale;
}

double Lifetime::sample(Rng& rng) const {
  const double u = open01(rng);
  switch (model) {
    case LifetimeModel::kExponential: return -scale * std::log(u);
    case LifetimeModel::kWeibull: return scale * std::pow(-std::log(u), 1.0 / shape);
    case LifetimeModel::kPareto: return scale * std::pow(u, -1.0 / shape);
  }
  return scale;
}

double Lifetime::sample_residual(Rng& rng) const {
  // Length-biased law (density x f(x) / mean), then a uniform point inside it.
  double biased = 0;
  switch (model) {
    case LifetimeModel::kExponential: biased = scale * sample_gamma(rng, 2.0); break;
    case LifetimeModel::kWeibull:
      // With y = (x / lambda)^k, x f(x) is proportional to y^(1/k) e^-y: Gamma(1 + 1/k).
      biased = scale * std::pow(sample_gamma(rng, 1.0 + 1.0 / shape), 1.0 / shape);
      break;
    case LifetimeModel::kPareto:
      // x f(x) is proportional to x^-alpha on [x_m, inf): Pareto with alpha - 1.
      biased = scale * std::pow(open01(rng), -1.0 / (shape - 1.0));
      break;
  }
  return open01(rng) * biased;
}

double sample_gamma(Rng& rng, double shape) {
  assert(shape > 0);
  if (shape < 1) return sample_gamma(rng, shape + 1) * std::pow(open01(rng), 1.0 / shape);
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = 0, v = 0;
    do {
      x = rng.normal();
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = open01(rng);
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

namespace {

// H(x) = integral of x^-s, shifted so that it is continuous at s = 1.
double zipf_h(double x, double s) {
  const double lx = std::log(x);
  const double e = (1.0 - s) * lx;
  return (std::abs(e) > 1e-8 ? std::expm1(e) / (1.0 - s) : lx * (1.0 + e / 2.0));
}

double zipf_h_inv(double x, double s) {
  double t = x * (1.0 - s);
  if (t < -1.0) t = -1.0;  // rounding at the far end of the range
  const double l = std::abs(t) > 1e-8 ? std::log1p(t) / (1.0 - s) : x * (1.0 - t / 2.0);
  return std::exp(l);
}

}  // namespace

std::uint64_t sample_zipf(Rng& rng, std::uint64_t n, double s) {
  assert(n >= 1 && s > 0);
  if (n == 1) return 1;
  const double nn = static_cast<double>(n);
  const double h_x1 = zipf_h(1.5, s) - 1.0;  // H(1.5) - 1^-s
  const double h_n = zipf_h(nn + 0.5, s);
  const double threshold = 2.0 - zipf_h_inv(zipf_h(2.5, s) - std::pow(2.0, -s), s);
  for (;;) {
    const double u = h_n + rng.uniform01() * (h_x1 - h_n);
    const double x = zipf_h_inv(u, s);
    double kd = std::floor(x + 0.5);
    if (kd < 1) kd = 1;
    if (kd > nn) kd = nn;
    if (kd - x <= threshold || u >= zipf_h(kd + 0.5, s) - std::pow(kd, -s)) {
      return static_cast<std::uint64_t>(kd);
    }
  }
}

}  // namespace kittengrad::runs
