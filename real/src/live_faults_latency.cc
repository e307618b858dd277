// live_faults_latency.cc — the simulator's per-pair latencies (runs/pair_latency.h) as the
// live transport's delay function: one implementation for both worlds.
#include "live_faults_latency.h"

#include <memory>
#include <variant>

#include "kittengrad/runs/pair_latency.h"

namespace kittengrad::live {

Result<PairLatencyFn> build_pair_latency(const LatencySpec& spec, std::size_t hosts, std::uint64_t seed) {
  NetworkSection net;
  net.latency = spec;
  auto built = runs::build_pair_latency(net, hosts, seed);
  if (auto* err = std::get_if<std::string>(&built)) return Error{ErrorCode::kBadRequest, *err};
  auto pairs = std::make_shared<const runs::PairLatency>(std::move(std::get<runs::PairLatency>(built)));
  return PairLatencyFn([pairs](std::size_t a, std::size_t b) { return pairs->seconds(a, b); });
}

}  // namespace kittengrad::live
