// platform.h — the simulated network of a run, built from the scenario's [network] table.
//
// Every host (peer "p<i>", client or oracle "x<j>") sits at the edge of an uncongested core
// behind its own access link, one link up and one link down, each of
// network.bandwidth_mbps. A datagram from a to b crosses a's up link and b's down link and
// pays the one-way latency that the latency model gives the pair (a, b):
//
//   coordinates   |xy_a - xy_b| + h_a + h_b ms, from a Vivaldi coordinate file
//                 (`ID X Y h HEIGHT`); host k sits on the file's node k mod N.
//   constant      ms for every pair.
//   uniform       an *access-latency* model: host k draws h_k ~ U(min_ms/2, max_ms/2) and
//                 the pair pays h_a + h_b, so pair latencies span [min_ms, max_ms] with mean
//                 (min_ms + max_ms) / 2; their distribution is triangular, not uniform, and
//                 two pairs that share a host are correlated (as with real access links).
//   lognormal     also access latency: h_k = (median_ms / 2) * exp(sigma * Z_k), Z_k ~ N(0,1),
//                 so each host's h is exactly lognormal; the pair latency h_a + h_b is a
//                 sum of two, with mean median_ms * exp(sigma^2 / 2) and a median a little
//                 above median_ms (x1.02 for sigma = 0.3, x1.08 for 0.6, x1.22 for 1.0).
//   matrix        m[i][j] ms from an N x N CSV; host k sits on node k mod N; hosts that
//                 share a node see 0 ms (the diagonal is ignored).
//
// On idle links a datagram of B bytes takes latency + B / bandwidth. Under network.model =
// "flow", concurrent transfers share each link max-min fairly (SimGrid's CM02 model, see
// configure_engine_defaults); under "queue" the links are FIFO queues (queue_net.h) that
// take their rates (PlatformHosts::rate_Bps) and latencies (PairLatency) from here.
// With network.bandwidth_mbps a range, each host draws its own rate (access_rate_Bps).
// A host sending to itself also crosses its own up and down links. (SimGrid 3.32 quirk:
// a 0-byte message sent at exactly t = 0 arrives at once, without its latency.)
//
// Hosts are numbered k = 0 .. peers-1 for the peers, then k = peers + j for extra host j.
// Random access latencies come from Rng::derive(seed, "platform.access", k): the platform
// is the same for a seed (bit for bit with the same libm: lognormal draws use exp, log and
// cos), and a host's latency does not depend on how many hosts come after it.
//
// Memory is O(hosts) for every model but matrix (O(N^2) floats + O(hosts)): the first four
// are SimGrid's Vivaldi zone (a star of per-host links whose latency comes from three
// coordinates per host; for constant/uniform/lognormal the coordinates are (0, 0, h_k));
// matrix is a star zone of our own that adds m[node(a)][node(b)] to the route's latency.
// Both are flat: no routing tables, no per-pair links.
//
//   simgrid::s4u::Engine e(&argc, argv);
//   configure_engine_defaults(e, peers + extra);          // before the platform exists
//   auto hosts = build_platform(e, scenario.network, peers, extra, scenario.run.seed);
//   if (auto* err = std::get_if<std::string>(&hosts)) { report(*err); return 2; }
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <string>
#include <variant>
#include <vector>

#include "kittengrad/scenario.h"

namespace kittengrad::sim {

// Limits on latency files, so that a wrong file fails fast instead of exhausting memory.
inline constexpr std::size_t kSyscoordNodesMax = 1'000'000;
inline constexpr std::size_t kMatrixNodesMax = 10'000;  // 10^8 floats: 400 MB

// CPU speed of every host. The protocol costs no simulated CPU; the speed only has to exist.
inline constexpr double kHostSpeedFlops = 1e9;

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

// The one-way latency of every host pair, exactly as the platform's routes give it, from
// per-host parameters (O(hosts) memory, O(1) per pair, no SimGrid routing): the queue
// model (queue_net.h) asks it once per datagram. Hosts are numbered as in build_platform.
class PairLatency {
 public:
  // Vivaldi models: coordinates of host k (latency |xy_a - xy_b| + |h_a| + |h_b| ms, as
  // SimGrid's VivaldiZone computes it).
  explicit PairLatency(std::vector<SyscoordNode> coords) : coords_(std::move(coords)) {}
  // Matrix: host k sits on node k mod n.
  explicit PairLatency(std::shared_ptr<const LatencyMatrix> matrix) : matrix_(std::move(matrix)) {}
  PairLatency() = default;

  [[nodiscard]] double seconds(std::size_t a, std::size_t b) const {
    if (matrix_ != nullptr) return matrix_->at(a % matrix_->n, b % matrix_->n) / 1000.0;
    const SyscoordNode& p = coords_[a];
    const SyscoordNode& q = coords_[b];
    const double dx = p.x_ms - q.x_ms;
    const double dy = p.y_ms - q.y_ms;
    return (std::sqrt(dx * dx + dy * dy) + std::abs(p.height_ms) + std::abs(q.height_ms)) / 1000.0;
  }

 private:
  std::vector<SyscoordNode> coords_;
  std::shared_ptr<const LatencyMatrix> matrix_;
};

struct PlatformHosts {
  std::vector<simgrid::s4u::Host*> peers;  // peers[i] is "p<i>"
  std::vector<simgrid::s4u::Host*> extra;  // extra[j] is "x<j>": clients, the oracle
  std::vector<double> rate_Bps;            // access rate of host k (peers, then extra)
  PairLatency latency;
};

// Builds the platform: one zone, `peer_hosts` + `extra_hosts` hosts with their access
// links, and the latency model of `net.latency` (files are read from LatencySpec::path).
// Returns the hosts, or an error message that names the scenario key, e.g.
// "network.latency.file: line 17 of /x/y.syscoord: expected `ID X Y h HEIGHT`".
// Never throws: SimGrid's exceptions become error messages.
// REQUIRES: configure_engine_defaults(e, ...) was called and e has no platform yet.
[[nodiscard]] std::variant<PlatformHosts, std::string> build_platform(simgrid::s4u::Engine& e,
                                                                      const NetworkSection& net,
                                                                      std::size_t peer_hosts,
                                                                      std::size_t extra_hosts,
                                                                      std::uint64_t seed);

// Engine settings for kittengrad runs of `actors` actors (see platform.cc for the reasons
// behind each). A setting the user already gave with --cfg is left alone.
// REQUIRES: called before build_platform (SimGrid reads the network model when the first
// zone is created).
void configure_engine_defaults(simgrid::s4u::Engine& e, std::size_t actors);

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

}  // namespace kittengrad::sim
