// sim_floor.cc — kg_sim_floor: SimGrid's own messaging floor, to set beside our runs.
//
// The same platform as `kittengrad sim` (build_platform, configure_engine_defaults), the
// same number of peers, the same message sizes and rate, and no protocol behind them:
// each peer actor sends one datagram of B bytes to a uniformly random other peer at the
// times of a Poisson process of rate X per second (seeded, our own generator), and
// receives as the peers of a real run do under the same network model (the scenario's
// network.model, or --network-model): with the same Inbox under "flow", through the
// same QueueNet under "queue". Compare a run with the floor of its own model. Whatever a real run costs above
// this floor is ours (protocol, oracle, recording); the floor itself is SimGrid's.
//
//   kg_sim_floor scenarios/steady-10k.toml --msgs-per-peer-s 0.1 --bytes 100
//       --peers 1000 --duration-s 600 [--set key=value]... [--check-arrivals]
//       [--network-model queue|flow] [--cfg=simgrid/option:value]
//
// Prints one line of key=value pairs (for scripts), then one line for people. Besides the
// rates: `uncovered`, the datagrams that reached an Inbox while all its spare receives
// were taken (inbox.h), and with --check-arrivals `late`, those delivered more than 1 ms
// after their route's latency plus bytes / bandwidth (a fidelity check of the receive
// path; it costs a route lookup per datagram, so leave it off when timing). Under "queue",
// `queue_drops` counts datagrams dropped at full link queues.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <simgrid/s4u.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "inbox.h"
#include "kittengrad/rng.h"
#include "kittengrad/scenario_loader.h"
#include "platform.h"
#include "queue_net.h"

namespace {

namespace sg4 = simgrid::s4u;
using kittengrad::Rng;
using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

struct Options {
  std::string scenario_path;
  double msgs_per_peer_s = -1;
  std::int64_t bytes = -1;
  bool check_arrivals = false;         // --check-arrivals
  bool detached_sends = false;         // --detached-sends
  std::vector<std::string> overrides;  // --set and --peers, in order
  std::string duration_s;              // --duration-s, applied last ("" = the scenario's)
};

struct FloorMsg {
  std::uint32_t from;
  double sent_s;
};

// What the actors count; one instance, shared (single-threaded contexts).
struct Counters {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t uncovered = 0;  // Inbox::uncovered(), summed
  std::uint64_t late = 0;       // --check-arrivals: delivered > 1 ms after the network's time
  double late_max_s = 0;
};

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s SCENARIO.toml --msgs-per-peer-s X --bytes B [--peers N] "
               "[--duration-s D] [--set key=value]... [--check-arrivals] "
               "[--network-model queue|flow] [--cfg=simgrid/option:value]...\n"
               "  --network-model   the same as --set network.model=...\n"
               "  --check-arrivals  compare each delivery with the route's latency plus\n"
               "                    bytes / bandwidth, and count those more than 1 ms late\n",
               argv0);
}

// Parses the arguments SimGrid left (it takes --cfg= and --log= itself). Returns false and
// prints why on bad usage.
bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--msgs-per-peer-s" && has_value) {
      o->msgs_per_peer_s = std::strtod(argv[++i], nullptr);
    } else if (a == "--bytes" && has_value) {
      o->bytes = std::strtoll(argv[++i], nullptr, 10);
    } else if (a == "--peers" && has_value) {
      o->overrides.push_back(std::string("overlay.peers=") + argv[++i]);
    } else if (a == "--duration-s" && has_value) {
      o->duration_s = argv[++i];
    } else if (a == "--check-arrivals") {
      o->check_arrivals = true;
    } else if (a == "--detached-sends") {
      o->detached_sends = true;
    } else if (a == "--network-model" && has_value) {
      o->overrides.push_back(std::string("network.model=\"") + argv[++i] + "\"");
    } else if (a == "--set" && has_value) {
      o->overrides.emplace_back(argv[++i]);
    } else if (!a.empty() && a[0] != '-' && o->scenario_path.empty()) {
      o->scenario_path = a;
    } else {
      std::fprintf(stderr, "kg_sim_floor: unexpected argument `%s`\n", argv[i]);
      return false;
    }
  }
  if (o->scenario_path.empty() || !(o->msgs_per_peer_s > 0) || !std::isfinite(o->msgs_per_peer_s) ||
      o->bytes < 0) {
    std::fprintf(stderr,
                 "kg_sim_floor: need SCENARIO.toml, --msgs-per-peer-s X > 0, --bytes B >= 0\n");
    return false;
  }
  return true;
}

// What every peer actor shares.
struct FloorRun {
  std::vector<sg4::Mailbox*> boxes;
  std::vector<sg4::Host*> hosts;
  double rate_per_s = 0;
  std::uint64_t bytes = 0;
  std::vector<double> rate_Bps;  // by host
  std::unique_ptr<kittengrad::sim::QueueNet<FloorMsg>> queue_net;  // "queue" model only
  double end_s = 0;
  std::uint64_t seed = 0;
  bool check_arrivals = false;
  bool detached_sends = false;
  Counters counters;
};

// Counts `m` as late when it arrives more than 1 ms after an idle network would deliver it
// (the route's latency plus bytes / bandwidth): a sign of a receive bound in the wrong
// order, or of congestion.
void check_arrival(FloorRun& run, const FloorMsg& m, std::uint32_t self) {
  std::vector<sg4::Link*> links;
  double latency_s = 0;
  run.hosts[m.from]->route_to(run.hosts[self], links, &latency_s);
  const double expected_s =
      m.sent_s + latency_s +
      static_cast<double>(run.bytes) / std::min(run.rate_Bps[m.from], run.rate_Bps[self]);
  const double late_s = sg4::Engine::get_clock() - expected_s;
  if (late_s > 1e-3) ++run.counters.late;
  run.counters.late_max_s = std::max(run.counters.late_max_s, late_s);
}

// One peer: send at Poisson times to random other peers, receive everything, until the
// end of the run.
void peer_actor(std::uint32_t self, FloorRun& run) {
  const std::vector<sg4::Mailbox*>& boxes = run.boxes;
  const double rate_per_s = run.rate_per_s;
  const double end_s = run.end_s;
  Counters* counters = &run.counters;
  sg4::Mailbox* mine = boxes[self];
  kittengrad::sim::QueueNet<FloorMsg>* queue_net = run.queue_net.get();
  if (queue_net == nullptr) mine->set_receiver(sg4::Actor::self());
  kittengrad::sim::Inbox<FloorMsg> inbox(mine);  // unused under "queue"
  Rng rng = Rng::derive(run.seed, "sim_floor.peer", self);
  const auto peers = static_cast<std::uint64_t>(boxes.size());
  double next_send_s = rng.exponential(1 / rate_per_s);
  while (true) {
    const double now_s = sg4::Engine::get_clock();
    if (now_s >= end_s) break;
    if (now_s >= next_send_s) {
      if (peers > 1) {
        auto to = rng.below(peers - 1);
        if (to >= self) ++to;
        if (queue_net != nullptr) {
          queue_net->send(self, to, new FloorMsg{self, now_s}, run.bytes, 0);
        } else if (run.detached_sends) {
          kittengrad::sim::send_datagram(boxes[to], new FloorMsg{self, now_s}, run.bytes);
        } else {
          inbox.send(boxes[to], new FloorMsg{self, now_s}, run.bytes);
        }
        ++counters->sent;
      }
      next_send_s += rng.exponential(1 / rate_per_s);
      continue;
    }
    const double until_s = std::min(next_send_s, end_s);
    std::unique_ptr<FloorMsg> m(queue_net != nullptr ? queue_net->wait_until(self, until_s)
                                                     : inbox.wait_until(until_s));
    if (!m) continue;
    ++counters->delivered;
    if (run.check_arrivals) check_arrival(run, *m, self);
  }
  counters->uncovered += inbox.uncovered();
  if (queue_net == nullptr) mine->set_receiver(nullptr);
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds (user + system) of this process so far: on a shared machine, wall time
// depends on the neighbours, CPU time much less.
double cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

}  // namespace

int main(int argc, char** argv) {
  const auto t_setup = Clock::now();
  sg4::Engine engine(&argc, argv);  // takes --cfg= and --log= out of argv
  Options opt;
  if (!parse_args(argc, argv, &opt)) {
    usage(argv[0]);
    return kExitUsage;
  }
  auto loaded = kittengrad::load_scenario_file(opt.scenario_path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "kg_sim_floor: %s\n", loaded.error().message().c_str());
    return kExitUsage;
  }
  kittengrad::Scenario& sc = loaded.value();
  for (const auto& o : opt.overrides) {
    if (auto r = kittengrad::apply_override(sc, o); !r.ok()) {
      std::fprintf(stderr, "kg_sim_floor: %s\n", r.error().message().c_str());
      return kExitUsage;
    }
  }
  if (!opt.duration_s.empty()) {
    // A short run must not fail validation on the scenario's longer metrics interval
    // (which the floor does not use): shorten it first.
    const double d = std::strtod(opt.duration_s.c_str(), nullptr);
    std::vector<std::string> last;
    if (d > 0 && d < sc.run.metrics_interval_s) {
      last.push_back("run.metrics_interval_s=" + opt.duration_s);
    }
    last.push_back("run.duration_s=" + opt.duration_s);
    for (const auto& o : last) {
      if (auto r = kittengrad::apply_override(sc, o); !r.ok()) {
        std::fprintf(stderr, "kg_sim_floor: %s\n", r.error().message().c_str());
        return kExitUsage;
      }
    }
  }
  const auto peers = static_cast<std::size_t>(sc.overlay.peers);
  const double end_s = sc.run.duration_s;
  kittengrad::sim::configure_engine_defaults(engine, peers);
  auto built = kittengrad::sim::build_platform(engine, sc.network, peers, 0, sc.run.seed);
  if (auto* err = std::get_if<std::string>(&built)) {
    std::fprintf(stderr, "kg_sim_floor: %s\n", err->c_str());
    return kExitUsage;
  }
  const auto& hosts = std::get<kittengrad::sim::PlatformHosts>(built);

  FloorRun run;
  run.boxes.resize(peers);
  for (std::size_t i = 0; i < peers; ++i) {
    run.boxes[i] = sg4::Mailbox::by_name("p" + std::to_string(i));
  }
  run.hosts = hosts.peers;
  run.rate_per_s = opt.msgs_per_peer_s;
  run.bytes = static_cast<std::uint64_t>(opt.bytes);
  run.rate_Bps = hosts.rate_Bps;
  if (sc.network.model == kittengrad::NetworkModel::kQueue) {
    run.queue_net = std::make_unique<kittengrad::sim::QueueNet<FloorMsg>>(
        hosts.rate_Bps, hosts.latency, static_cast<std::uint64_t>(sc.network.queue_bytes), 1);
  }
  run.end_s = end_s;
  run.seed = sc.run.seed;
  run.check_arrivals = opt.check_arrivals;
  run.detached_sends = opt.detached_sends;
  const Counters& counters = run.counters;
  for (std::size_t i = 0; i < peers; ++i) {
    sg4::Actor::create("peer", hosts.peers[i],
                       [&run, i] { peer_actor(static_cast<std::uint32_t>(i), run); });
  }
  const double setup_wall_s = seconds_since(t_setup);

  const auto t_run = Clock::now();
  const double cpu_before_s = cpu_s();
  engine.run();
  const double run_wall_s = seconds_since(t_run);
  const double run_cpu_s = cpu_s() - cpu_before_s;
  const std::uint64_t queue_drops = run.queue_net != nullptr ? run.queue_net->drops() : 0;
  run.queue_net.reset();  // its semaphores belong to this engine

  const auto delivered = static_cast<double>(counters.delivered);
  const double per_wall_s = delivered / run_wall_s;
  const double per_cpu_s = delivered / run_cpu_s;
  std::printf(
      "peers=%zu sim_s=%.0f network_model=%s latency=%s msgs_per_peer_s=%g bytes=%lld "
      "msgs_sent=%llu msgs_delivered=%llu queue_drops=%llu uncovered=%llu setup_wall_s=%.2f run_wall_s=%.2f run_cpu_s=%.2f "
      "deliveries_per_wall_s=%.0f deliveries_per_cpu_s=%.0f peak_rss_mb=%.0f",
      peers, sg4::Engine::get_clock(), kittengrad::network_model_name(sc.network.model),
      kittengrad::latency_model_name(sc.network.latency.model), opt.msgs_per_peer_s,
      static_cast<long long>(opt.bytes), static_cast<unsigned long long>(counters.sent),
      static_cast<unsigned long long>(counters.delivered),
      static_cast<unsigned long long>(queue_drops),
      static_cast<unsigned long long>(counters.uncovered), setup_wall_s, run_wall_s, run_cpu_s,
      per_wall_s, per_cpu_s, peak_rss_mb());
  if (opt.check_arrivals) {
    std::printf(" late=%llu late_max_ms=%.3f", static_cast<unsigned long long>(counters.late),
                counters.late_max_s * 1000);
  }
  std::printf("\n");
  std::printf(
      "%zu peers, %.0f simulated s, network model %s: %llu datagrams delivered in %.2f wall s (+%.2f s setup), "
      "%.0f per wall second (%.0f per CPU second); peak RSS %.0f MB\n",
      peers, sg4::Engine::get_clock(), kittengrad::network_model_name(sc.network.model),
      static_cast<unsigned long long>(counters.delivered), run_wall_s, setup_wall_s, per_wall_s, per_cpu_s, peak_rss_mb());
  return kExitOk;
}
