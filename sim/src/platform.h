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
// take their rates (PlatformHosts::rate_Bps) and latencies (PairLatency) from here. The
// latencies and rates themselves come from runs/pair_latency.h (build_pair_latency,
// access_rate_Bps), which the live runner uses too; this file turns them into SimGrid.
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

#include <cstddef>
#include <cstdint>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <string>
#include <variant>
#include <vector>

#include "kittengrad/runs/pair_latency.h"
#include "kittengrad/scenario.h"

namespace kittengrad::sim {

// The SimGrid-free half of the platform lives in runs/ (the live runner uses it too).
using runs::access_latency_ms;
using runs::access_rate_Bps;
using runs::build_pair_latency;
using runs::LatencyMatrix;
using runs::PairLatency;
using runs::read_latency_matrix_file;
using runs::read_syscoord_file;
using runs::SyscoordNode;

// CPU speed of every host. The protocol costs no simulated CPU; the speed only has to exist.
inline constexpr double kHostSpeedFlops = 1e9;

struct PlatformHosts {
  std::vector<simgrid::s4u::Host*> peers;  // peers[i] is "p<i>"
  std::vector<simgrid::s4u::Host*> extra;  // extra[j] is "x<j>": clients, the oracle
  std::vector<double> rate_Bps;            // access rate of host k (peers, then extra)
  PairLatency latency;                     // build_pair_latency(net, hosts, seed)
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

}  // namespace kittengrad::sim
