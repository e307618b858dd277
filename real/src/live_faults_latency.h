// live_faults_latency.h — the one-way latency between two hosts of a run, as the
// simulator gives it (runs::build_pair_latency, the one implementation), for a live peer's
// transport to delay what it sends: the same scenario, seed and host numbering give the
// same table in both worlds, every model included (matrix and coordinate files too).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "kittengrad/result.h"
#include "kittengrad/scenario.h"

namespace kittengrad::live {

// Seconds from host `from` to host `to`; both below the model's host count.
using PairLatencyFn = std::function<double(std::size_t from, std::size_t to)>;

// The latency of `hosts` hosts under `spec`. kBadRequest for the file models (matrix,
// coordinates), whose readers live with the simulator.
[[nodiscard]] Result<PairLatencyFn> build_pair_latency(const LatencySpec& spec, std::size_t hosts,
                                                       std::uint64_t seed);

}  // namespace kittengrad::live
