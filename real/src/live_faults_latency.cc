// live_faults_latency.cc — access latencies h_k, drawn as sim/src/platform.cc draws them.
#include "live_faults_latency.h"

#include <cmath>
#include <memory>
#include <vector>

#include "kittengrad/rng.h"

namespace kittengrad::live {

namespace {

double access_latency_ms(const LatencySpec& spec, std::uint64_t seed, std::size_t host) {
  Rng rng = Rng::derive(seed, "platform.access", host);
  switch (spec.model) {
    case LatencyModel::kUniform: {
      const double lo = spec.min_ms / 2;
      const double hi = spec.max_ms / 2;
      return lo + (hi - lo) * rng.uniform01();
    }
    case LatencyModel::kLognormal:
      return spec.median_ms / 2 * std::exp(spec.sigma * rng.normal());
    case LatencyModel::kConstant:
    case LatencyModel::kMatrix:
    case LatencyModel::kCoordinates:
      break;
  }
  return spec.ms / 2;
}

}  // namespace

Result<PairLatencyFn> build_pair_latency(const LatencySpec& spec, std::size_t hosts, std::uint64_t seed) {
  if (spec.model == LatencyModel::kMatrix || spec.model == LatencyModel::kCoordinates) {
    return Error{ErrorCode::kBadRequest,
                 std::string("model \"") + latency_model_name(spec.model) +
                     "\" is not available to live peers yet (constant, uniform or lognormal)"};
  }
  auto h = std::make_shared<std::vector<double>>(hosts);
  for (std::size_t k = 0; k < hosts; ++k) (*h)[k] = access_latency_ms(spec, seed, k) / 1000.0;
  return PairLatencyFn([h](std::size_t a, std::size_t b) { return (*h)[a] + (*h)[b]; });
}

}  // namespace kittengrad::live
