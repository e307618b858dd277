// platform.cc — builds the simulated network (see platform.h for the models) and sets the
// engine options that kittengrad runs depend on.
//
// The whole platform is one flat star zone: each host has an up link and a down link of
// the access bandwidth and no latency; the latency of a pair is added by the zone itself
// when SimGrid asks it for a route. SimGrid's Vivaldi zone does this from three
// coordinates per host, which covers the coordinate file and (with x = y = 0 and the
// height set to the access latency) the constant, uniform and lognormal models. For a
// latency matrix we subclass SimGrid's StarZone the same way VivaldiZone does, with a
// lookup in an N x N float array instead of a distance. The textbook construction, one
// sub-zone per matrix node joined by a full zone with one link per node pair, costs N^2
// SimGrid links (hundreds of bytes each, and one more routing level per datagram); the
// subclass costs 4 bytes per pair and routes as fast as Vivaldi. It relies on SimGrid's
// kernel routing headers (installed, exported, but less stable than s4u across versions).
//
// The latencies themselves (files read, access latencies drawn) come from
// runs::build_pair_latency, so the queue model and the live runner see the same figures.
#include "platform.h"

#include <charconv>
#include <cmath>
#include <exception>
#include <fstream>
#include <memory>
#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/kernel/routing/StarZone.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>
#include <system_error>
#include <xbt/config.hpp>

namespace kittengrad::sim {
namespace {

namespace sg4 = simgrid::s4u;
namespace sgr = simgrid::kernel::routing;

// ---------------------------------------------------------------------------------------
// Engine settings.

// Actor stacks. SimGrid's default is 8 MiB of address space per actor, one mmap each:
// only touched pages become resident, but mapping and faulting in a fresh stack per actor
// costs: at 10k peers we measured 1.7 to 3 times fewer deliveries per wall second with
// 8 MiB stacks than with stacks of 16 to 64 KiB (which come from the heap).
//
// How deep an actor goes, measured by running with 1 MiB zero-filled stacks and scanning
// them afterwards for the deepest byte written: `kittengrad sim` on churn-1k (with joins,
// loss and duplication), adjacent-crash, partition-heal and chord-mass-failure at 200-300
// peers peaks at 6.4 KiB (the director killing every actor at the end); the protocol core
// alone, driven by the test network inside one actor (joins, crashes, a leave,
// anti-entropy, signatures checked with libsodium) at 9 KiB.
//
// With a guard page (below) a stack only costs the pages it touches (139 MB at 10k peers
// for 16, 32 or 64 KiB stacks alike), so we can be generous: 64 KiB, 7 times the deepest
// use we saw. Without one, SimGrid allocates stacks with calloc, which zero-fills (touches)
// all of it, so every KiB is resident for every actor (3.2 GB at 100k actors for 32 KiB;
// the page faults of that fill are most of the 30 s setup at 100k peers), and an overflow
// silently corrupts the heap instead of stopping the run: 32 KiB, 3.5 times the deepest.
constexpr int kGuardedStackKiB = 64;
constexpr int kUnguardedStackKiB = 32;

// A guard page turns a stack overflow into a clean SIGSEGV, so we keep it while we can;
// but a guarded stack costs two memory mappings (the stack and its PROT_NONE page), and
// Linux refuses more than vm.max_map_count mappings per process (65530 by default): SimGrid
// then aborts with "Failed to protect stack" (we measured the limit at 32.5k-34k actors).
// Mappings left for the program itself (libraries, malloc arenas, large buffers):
constexpr std::size_t kMapsReserved = 4000;
constexpr std::size_t kMaxMapCountDefault = 65530;

// vm.max_map_count of this machine, or Linux's default when it cannot be read.
std::size_t max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  std::size_t n = 0;
  if (in >> n && n > 0) return n;
  return kMaxMapCountDefault;
}

// TCP-gamma is SimGrid's TCP window: a flow's rate is capped at gamma / (2 * latency).
// Datagrams are not window-limited, so we lift the cap (1 TB) rather than let 4 MiB
// throttle big messages on long paths.
constexpr double kTcpGammaBytes = 1e12;

// Sets `name` to `value` unless the user chose it on the command line.
template <typename T>
void set_default_config(sg4::Engine& e, const char* name, T value) {
  if (simgrid::config::is_default(name)) e.set_config(name, value);
}

// ---------------------------------------------------------------------------------------
// The matrix zone.

// A star zone whose routes pay m[node(src)][node(dst)] on top of their links, as SimGrid's
// VivaldiZone pays a distance. Invariant: every host of the zone has an entry in node_of_.
class MatrixZone final : public sgr::StarZone {
 public:
  MatrixZone(const std::string& name, std::shared_ptr<const LatencyMatrix> matrix)
      : StarZone(name), matrix_(std::move(matrix)) {}

  // Records that `host` sits on matrix node `node`.
  void place(const sg4::Host* host, std::size_t node) {
    const auto id = host->get_netpoint()->id();
    if (node_of_.size() <= id) node_of_.resize(id + 1, 0);
    node_of_[id] = static_cast<std::uint32_t>(node);
  }

  void get_local_route(const sgr::NetPoint* src, const sgr::NetPoint* dst, sgr::Route* route,
                       double* latency_s) override {
    StarZone::get_local_route(src, dst, route, latency_s);
    if (latency_s != nullptr) {
      *latency_s += matrix_->at(node_of_.at(src->id()), node_of_.at(dst->id())) / 1000.0;
    }
  }

 private:
  std::shared_ptr<const LatencyMatrix> matrix_;
  std::vector<std::uint32_t> node_of_;  // by NetPoint::id()
};

// ---------------------------------------------------------------------------------------
// Building.

// Checks the access rates; returns "" or the error naming the key. (The latency model's
// numbers are checked by build_pair_latency.)
std::string check_bandwidth(const NetworkSection& net) {
  if (!(std::isfinite(net.bandwidth_mbps) && net.bandwidth_mbps > 0)) {
    return "network.bandwidth_mbps: must be a finite number > 0, got " +
           std::to_string(net.bandwidth_mbps);
  }
  if (net.bandwidth_max_mbps && !(std::isfinite(*net.bandwidth_max_mbps) &&
                                  *net.bandwidth_max_mbps >= net.bandwidth_mbps)) {
    return "network.bandwidth_mbps.max: must be a finite number >= min, got " +
           std::to_string(*net.bandwidth_max_mbps);
  }
  return "";
}

std::string host_name(char prefix, std::size_t i) { return prefix + std::to_string(i); }

// Shortest round-trip decimal form of v (locale-independent).
std::string decimal(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "0";
}

// Creates host `name` in `zone` with its up and down access links of `bw_Bps`.
sg4::Host* add_host(sg4::NetZone* zone, const std::string& name, double bw_Bps) {
  sg4::Host* host = zone->create_host(name, kHostSpeedFlops);
  const sg4::Link* up = zone->create_link(name + "_up", bw_Bps);
  const sg4::Link* down = zone->create_link(name + "_down", bw_Bps);
  auto* np = host->get_netpoint();
  zone->add_route(np, nullptr, nullptr, nullptr, {sg4::LinkInRoute(up)}, false);
  zone->add_route(nullptr, np, nullptr, nullptr, {sg4::LinkInRoute(down)}, false);
  return host;
}

// Creates all hosts, calling place(host, k) for host number k; seals the zone. Host k's
// links run at access_rate_Bps(net, seed, k).
template <typename Place>
PlatformHosts add_all_hosts(sg4::NetZone* zone, const NetworkSection& net, std::size_t peers,
                            std::size_t extra, std::uint64_t seed, Place place) {
  PlatformHosts hosts;
  hosts.peers.reserve(peers);
  hosts.extra.reserve(extra);
  hosts.rate_Bps.reserve(peers + extra);
  for (std::size_t k = 0; k < peers + extra; ++k) {
    hosts.rate_Bps.push_back(access_rate_Bps(net, seed, k));
  }
  for (std::size_t i = 0; i < peers; ++i) {
    hosts.peers.push_back(add_host(zone, host_name('p', i), hosts.rate_Bps[i]));
    place(hosts.peers.back(), i);
  }
  for (std::size_t j = 0; j < extra; ++j) {
    hosts.extra.push_back(add_host(zone, host_name('x', j), hosts.rate_Bps[peers + j]));
    place(hosts.extra.back(), peers + j);
  }
  zone->seal();
  return hosts;
}

// Every model but matrix: SimGrid's Vivaldi zone, host k at latency.coordinates()[k].
PlatformHosts build_vivaldi(const NetworkSection& net, PairLatency latency, std::size_t peers,
                            std::size_t extra, std::uint64_t seed) {
  sg4::NetZone* zone = sg4::create_vivaldi_zone("kittengrad");
  const std::vector<SyscoordNode>& coords = latency.coordinates();
  PlatformHosts hosts =
      add_all_hosts(zone, net, peers, extra, seed, [&](sg4::Host* host, std::size_t k) {
        // decimal() round-trips: SimGrid reads back exactly these doubles.
        const SyscoordNode& c = coords[k];
        host->set_coordinates(decimal(c.x_ms) + " " + decimal(c.y_ms) + " " +
                              decimal(c.height_ms));
      });
  hosts.latency = std::move(latency);
  return hosts;
}

PlatformHosts build_matrix(const NetworkSection& net, PairLatency latency, std::size_t peers,
                           std::size_t extra, std::uint64_t seed) {
  const std::shared_ptr<const LatencyMatrix>& matrix = latency.matrix();
  const std::size_t n = matrix->n;
  // The zone registers itself with the engine (as root) and is deleted by it.
  auto* zone = new MatrixZone("kittengrad", matrix);
  PlatformHosts hosts =
      add_all_hosts(zone->get_iface(), net, peers, extra, seed,
                    [&](const sg4::Host* host, std::size_t k) { zone->place(host, k % n); });
  hosts.latency = std::move(latency);
  return hosts;
}

}  // namespace

// ---------------------------------------------------------------------------------------

void configure_engine_defaults(simgrid::s4u::Engine& e, std::size_t actors) {
  // CM02 is max-min sharing with no TCP corrections: LV08 (the default) multiplies every
  // latency by 13.01 and adds weight-S penalties that model TCP slow start; a datagram is
  // one packet, not a TCP flow. It is also far faster at scale: in a bare messaging test at
  // 100k peers we measured 150k deliveries per wall second with CM02 against 27k/s with LV08.
  set_default_config(e, "network/model", std::string("CM02"));
  // Crosstraffic charges every flow 5% on the reverse route for TCP acknowledgements;
  // datagrams have none. It would also double the constraints of each flow.
  set_default_config(e, "network/crosstraffic", false);
  set_default_config(e, "network/TCP-gamma", kTcpGammaBytes);
  if (2 * actors + kMapsReserved > max_map_count()) {
    set_default_config(e, "contexts/guard-size", 0);
  }
  const bool guarded = simgrid::config::get_value<int>("contexts/guard-size") > 0;
  set_default_config(e, "contexts/stack-size", guarded ? kGuardedStackKiB : kUnguardedStackKiB);
  // Left at SimGrid's defaults on purpose: contexts/factory (raw, the fastest on x86-64),
  // contexts/nthreads = 1 (our actors share state through the oracle; parallel contexts
  // also make the order of same-time events depend on thread timing), network/optim =
  // Lazy (only flows whose share changed are recomputed).
}

std::variant<PlatformHosts, std::string> build_platform(simgrid::s4u::Engine& e,
                                                        const NetworkSection& net,
                                                        std::size_t peer_hosts,
                                                        std::size_t extra_hosts,
                                                        std::uint64_t seed) {
  if (auto err = check_bandwidth(net); !err.empty()) return err;
  if (e.get_netzone_root() != nullptr) {
    return std::string("network: the simulation engine already has a platform");
  }
  auto latency = build_pair_latency(net, peer_hosts + extra_hosts, seed);
  if (auto* err = std::get_if<std::string>(&latency)) return *err;
  try {
    if (net.latency.model == LatencyModel::kMatrix) {
      return build_matrix(net, std::move(std::get<PairLatency>(latency)), peer_hosts, extra_hosts,
                          seed);
    }
    return build_vivaldi(net, std::move(std::get<PairLatency>(latency)), peer_hosts, extra_hosts,
                         seed);
  } catch (const std::exception& ex) {
    return std::string("network: SimGrid refused the platform: ") + ex.what();
  }
}

}  // namespace kittengrad::sim
