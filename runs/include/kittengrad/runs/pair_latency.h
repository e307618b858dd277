// kittengrad/runs/pair_latency.h — the one-way latency of every pair of hosts of a run,
// from the scenario's network.latency, and the per-host access rates of
// network.bandwidth_mbps. The simulator's platform (sim/src/platform.h) builds its
// SimGrid routes from these figures and its queue model asks them per datagram; the live
// runner delays datagrams with the same figures, so one scenario gives one network.
//
// The models (DESIGN.md, "Scenario file"; sim/src/platform.h says how SimGrid routes
// them):
//
//   coordinates   |xy_a - xy_b| + h_a + h_b ms, from a Vivaldi coordinate file
//                 (`ID X Y h HEIGHT`); host k sits on the file's node k mod N.
//   constant      ms for every pair.
//   uniform       access latency: host k draws h_k ~ U(min_ms/2, max_ms/2) and the pair
//                 pays h_a + h_b.
//   lognormal     access latency: h_k = (median_ms / 2) * exp(sigma * Z_k), Z_k ~ N(0,1).
//   matrix        m[i][j] ms from an N x N CSV; host k sits on node k mod N; hosts that
//                 share a node see 0 ms (the diagonal is ignored).
//
// Constant, uniform and lognormal are coordinates (0, 0, h_k), so every model but matrix
// is a list of per-host coordinates: O(hosts) memory, O(1) per pair. Random access
// latencies come from Rng::derive(seed, "platform.access", k): the same for a seed, and
// a host's latency does not depend on how many hosts come after it.
//
//   auto built = build_pair_latency(scenario.network, hosts, scenario.run.seed);
//   if (auto* err = std::get_if<std::string>(&built)) { report(*err); return 2; }
//   double s = std::get<PairLatency>(built).seconds(0, 1);
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "kittengrad/scenario.h"

namespace kittengrad::runs {

// Limits on latency files, so that a wrong file fails fast instead of exhausting memory.
inline constexpr std::size_t kSyscoordNodesMax = 1'000'000;
inline constexpr std::size_t kMatrixNodesMax = 10'000;  // 10^8 floats: 400 MB

// One node of a Vivaldi coordinate file, in milliseconds.
struct SyscoordNode {
  double x_ms = 0;
  double y_ms = 0;
  double height_ms = 0;
  bool operator==(const SyscoordNode&) const = default;
};

// An N x N matrix of one-way latencies in ms; at(i, j) is the latency from node i to j.
struct LatencyMatrix {
  std::size_t n = 0;
  std::vector<float> one_way_ms;  // row-major, n * n
  [[nodiscard]] double at(std::size_t from, std::size_t to) const {
    return from == to ? 0.0 : one_way_ms[from * n + to];
  }
};

// The one-way latency of every host pair from per-host parameters (O(hosts) memory, O(1)
// per pair, no routing).
class PairLatency {
 public:
  // Vivaldi models: coordinates of host k (latency |xy_a - xy_b| + |h_a| + |h_b| ms, as
  // SimGrid's VivaldiZone computes it).
  explicit PairLatency(std::vector<SyscoordNode> coords) : coords_(std::move(coords)) {}
  // Matrix: host k sits on node k mod n.
  explicit PairLatency(std::shared_ptr<const LatencyMatrix> matrix) : matrix_(std::move(matrix)) {}
  PairLatency() = default;

  // REQUIRES: a and b are hosts of the coordinates given (any index for a matrix).
  [[nodiscard]] double seconds(std::size_t a, std::size_t b) const {
    if (matrix_ != nullptr) return matrix_->at(a % matrix_->n, b % matrix_->n) / 1000.0;
    const SyscoordNode& p = coords_[a];
    const SyscoordNode& q = coords_[b];
    const double dx = p.x_ms - q.x_ms;
    const double dy = p.y_ms - q.y_ms;
    return (std::sqrt(dx * dx + dy * dy) + std::abs(p.height_ms) + std::abs(q.height_ms)) / 1000.0;
  }

  // What it was built from (the platform turns them into SimGrid routes): the matrix, or
  // nullptr and the coordinates of each host.
  [[nodiscard]] const std::shared_ptr<const LatencyMatrix>& matrix() const { return matrix_; }
  [[nodiscard]] const std::vector<SyscoordNode>& coordinates() const { return coords_; }

 private:
  std::vector<SyscoordNode> coords_;
  std::shared_ptr<const LatencyMatrix> matrix_;
};

// The latencies of hosts 0 .. hosts-1 under `net.latency` (files are read from
// LatencySpec::path), or an error message that names the scenario key, e.g.
// "network.latency.file: line 17 of /x/y.syscoord: expected `ID X Y h HEIGHT` ...". The
// simulator numbers its hosts this way (peers, then its extra hosts), so host k here has
// the latencies of the simulator's host k.
[[nodiscard]] std::variant<PairLatency, std::string> build_pair_latency(const NetworkSection& net,
                                                                        std::size_t hosts,
                                                                        std::uint64_t seed);

// ---- The pieces, exposed for tests and for validating scenario files early. ----

// Reads `ID X Y h HEIGHT` lines (IDs: distinct non-negative integers; nodes are kept in
// file order; `#` starts a comment line; blank lines are skipped). Returns the nodes or an
// error "line L of PATH: ..." (without the scenario key).
[[nodiscard]] std::variant<std::vector<SyscoordNode>, std::string> read_syscoord_file(
    const std::string& path);

// Reads a CSV matrix: one row per line, fields separated by commas (spaces around them are
// allowed), no header row and no index column; `#` starts a comment line; blank lines are
// skipped. Every field must be a number; off-diagonal ones finite and >= 0; the diagonal
// is read but ignored. The matrix must be square, 1 <= N <= kMatrixNodesMax. It may be
// asymmetric. Returns the matrix or an error "line L of PATH: ...".
[[nodiscard]] std::variant<LatencyMatrix, std::string> read_latency_matrix_file(
    const std::string& path);

// The access latency h_k of host k under the constant, uniform and lognormal models: the
// one-way latency between hosts a and b is access_latency_ms(a) + access_latency_ms(b).
// REQUIRES: spec.model is kConstant, kUniform or kLognormal.
[[nodiscard]] double access_latency_ms(const LatencySpec& spec, std::uint64_t seed,
                                       std::size_t host_index);

// The access rate of host k in bytes/s: bandwidth_mbps, or with a range a draw from
// U(bandwidth_mbps, bandwidth_max_mbps) by Rng::derive(seed, "platform.bandwidth", k).
[[nodiscard]] double access_rate_Bps(const NetworkSection& net, std::uint64_t seed,
                                     std::size_t host_index);

}  // namespace kittengrad::runs
