// demo.cc — kittengrad-demo: a narrated run of the protocol core on the deterministic test
// network, for `make demo` until the SimGrid backend takes over.
//
// 128 peers start in a stabilized ring and 16 more join at once; clients insert, update
// (single and batched) and look up canonicals over 5% datagram loss with duplicates and
// reordering; a quarter of the ring is cut off and healed; r-1 adjacent replicas crash and
// lose their disks. Then the network goes quiet, the survivors repair, and every invariant
// checker judges the result. Exit status: 0 when every invariant holds, 1 otherwise.
//
//   kittengrad-demo [SEED]      (or KG_SEED=SEED)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "checkers.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

constexpr Time kSecond = kMicrosPerSecond;
constexpr std::size_t kPeers = 128;
constexpr std::size_t kJoins = 16;
constexpr Time kJoinAt = 10 * kSecond;
constexpr Time kPartitionAt = 40 * kSecond;
constexpr Time kHealAt = 60 * kSecond;
constexpr Time kCrashAt = 110 * kSecond;
constexpr Time kWorkloadEnd = 140 * kSecond;
constexpr Time kQuietEnd = 400 * kSecond;

double seconds(Time t) { return static_cast<double>(t) / kSecond; }

void step(Time at, const std::string& what) {
  std::printf("[%6.1f s] %s\n", seconds(at), what.c_str());
}

NetConfig demo_config(std::uint64_t seed) {
  NetConfig cfg;
  cfg.seed = seed;
  cfg.latency_model = LatencyModel::kLogNormal;
  cfg.latency_median = 30 * kMicrosPerMs;
  cfg.latency_sigma = 0.5;
  cfg.latency_min = 2 * kMicrosPerMs;
  cfg.latency_max = 150 * kMicrosPerMs;
  cfg.loss = 0.05;
  cfg.duplicate = 0.02;
  cfg.clock_skew_ms_max = 500;
  cfg.peer.anti_entropy_interval = 10 * kSecond;
  cfg.peer.stabilize_interval = 2 * kSecond;
  cfg.client.request_timeout = 3 * cfg.peer.request_timeout;
  cfg.repro = "./build/tests/kittengrad-demo " + std::to_string(seed);
  return cfg;
}

// Write and lookup outcomes so far, in one line.
std::string op_summary(const TestNetwork& net) {
  std::size_t acked = 0, failed = 0, lookups = 0, routes = 0;
  std::uint64_t hops = 0;
  std::vector<Time> latencies;
  for (const auto& [id, op] : net.ops()) {
    if (!op.done) continue;
    const bool ok = op.result.error == ErrorCode::kOk;
    if (op.kind == OpKind::kWrite) {
      ok ? ++acked : ++failed;
      if (ok) latencies.push_back(op.result.done - op.result.issued);
    } else if (ok) {
      op.kind == OpKind::kLookup ? ++lookups : ++routes;
    }
    if (ok) hops += op.result.hops;
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&latencies](double p) {
    return latencies.empty() ? 0.0
                             : seconds(latencies[static_cast<std::size_t>(
                                   p * static_cast<double>(latencies.size() - 1))]) *
                                   1000;
  };
  const std::size_t routed = acked + lookups + routes;
  char line[256];
  std::snprintf(line, sizeof line,
                "%zu writes acknowledged (p50 %.0f ms, p99 %.0f ms), %zu not, %zu lookups "
                "answered; %.2f route hops on average",
                acked, pct(0.5), pct(0.99), failed, lookups,
                routed == 0 ? 0.0 : static_cast<double>(hops) / static_cast<double>(routed));
  return line;
}

// Keys whose responsible live peers do not all hold them equal (repair still to do).
std::size_t replica_problems(const TestNetwork& net) {
  QuiescenceOptions only_replicas;
  only_replicas.ring = false;
  only_replicas.history = false;
  only_replicas.journals = false;
  const CheckReport r = check_quiescent(net, only_replicas);
  return r.violations.size() + r.suppressed;
}

void schedule_churn(TestNetwork& net, std::shared_ptr<Rng> rng) {
  net.at(kJoinAt, [&net, rng] {
    const std::vector<std::size_t> live = net.joined_slots();
    for (std::size_t i = 0; i < kJoins; ++i) net.add_joining_peer(live[rng->below(live.size())]);
    step(net.now(), std::to_string(kJoins) + " peers join at the same instant");
  });
  net.at(kPartitionAt, [&net, rng] {
    std::vector<std::size_t> cut;
    for (std::size_t slot : net.up_slots()) {
      if (rng->chance(0.25)) cut.push_back(slot);
    }
    net.partition({cut});
    step(net.now(), "partition: " + std::to_string(cut.size()) +
                        " peers cut off from the rest (clients still reach everyone)");
  });
  net.at(kHealAt, [&net] {
    net.heal();
    step(net.now(), "partition healed; " + op_summary(net));
  });
}

void schedule_crash(TestNetwork& net, std::shared_ptr<Rng> rng) {
  net.at(kCrashAt, [&net, rng] {
    const std::size_t count = static_cast<std::size_t>(net.config().peer.replication - 1);
    const std::vector<std::size_t> ring = net.ring_order();
    const std::size_t start = rng->below(ring.size());
    std::string names;
    for (std::size_t k = 0; k < count; ++k) {
      const std::size_t slot = ring[(start + k) % ring.size()];
      names += " " + net.keys(slot).ring_id().short_hex();
      net.crash(slot, /*disk_lost=*/true);
    }
    step(net.now(),
         "crash of " + std::to_string(count) + " adjacent replicas, disks lost:" + names + "; " +
             std::to_string(replica_problems(net)) + " replica problems (keys under-replicated)");
  });
}

void schedule_routes(TestNetwork& net, std::size_t client) {
  net.at(30 * kSecond, [&net, client] {
    Rng rng = net.rng("demo-routes");
    const std::vector<std::size_t> live = net.joined_slots();
    for (int i = 0; i < 200; ++i) {
      RingId key;
      for (auto& b : key.bytes) b = static_cast<std::uint8_t>(rng.next_u64());
      net.route(client, key, live[rng.below(live.size())]);
    }
    step(net.now(), "200 route(key) lookups from random gateways");
  });
}

// Repair progress every 10 s from the crash on, told only when it changes.
void narrate_quiet(TestNetwork& net) {
  auto last = std::make_shared<std::size_t>(SIZE_MAX);
  for (Time t = kCrashAt + 10 * kSecond; t <= kQuietEnd; t += 10 * kSecond) {
    net.at(t, [&net, last] {
      const std::size_t left = replica_problems(net);
      if (left == *last && net.now() < kQuietEnd) return;
      *last = left;
      step(net.now(), "repair: " + std::to_string(left) +
                          " replica problems left (under-replicated, divergent or stray keys)");
    });
  }
}

void print_counters(const TestNetwork& net) {
  PeerCounters sum;
  for (std::size_t slot : net.up_slots()) {
    const PeerCounters& c = net.peer(slot)->counters();
    sum.ae_rounds += c.ae_rounds;
    sum.ae_in_sync += c.ae_in_sync;
    sum.ae_reconciled += c.ae_reconciled;
    sum.ae_paged += c.ae_paged;
    sum.entries_applied += c.entries_applied;
    sum.wrong_peer += c.wrong_peer;
    sum.timeouts += c.timeouts;
  }
  std::printf(
      "anti-entropy: %llu digests, %llu in sync, %llu reconciled by coded symbols, "
      "%llu paged; %llu entries applied; %llu wrong_peer redirects; %llu timeouts\n",
      static_cast<unsigned long long>(sum.ae_rounds),
      static_cast<unsigned long long>(sum.ae_in_sync),
      static_cast<unsigned long long>(sum.ae_reconciled),
      static_cast<unsigned long long>(sum.ae_paged),
      static_cast<unsigned long long>(sum.entries_applied),
      static_cast<unsigned long long>(sum.wrong_peer),
      static_cast<unsigned long long>(sum.timeouts));
}

int run(std::uint64_t seed) {
  if (!crypto_init()) return 1;
  TestNetwork net(demo_config(seed));
  EventChecker events(net);
  std::printf("kittengrad demo — seed %llu, r=%d, W=%d, R=%d, 5%% loss, 2%% duplicates\n\n",
              static_cast<unsigned long long>(seed), net.config().peer.replication,
              net.config().peer.write_quorum, net.config().peer.read_quorum);
  net.add_instant_ring(kPeers);
  step(0, std::to_string(kPeers) + " peers start in a stabilized ring");
  auto rng = std::make_shared<Rng>(net.rng("demo"));
  WorkloadConfig w;
  w.end = kWorkloadEnd;
  w.inserts_per_s = 3;
  w.updates_per_s = 5;
  w.lookups_per_s = 5;
  w.batch_probability = 0.15;
  w.write_pauses.push_back({kCrashAt - 20 * kSecond, kCrashAt});
  net.start_workload(w);
  step(0, "4 clients start writing (inserts, updates, batches) and looking up");
  schedule_routes(net, 0);
  schedule_churn(net, rng);
  schedule_crash(net, rng);
  net.at(kWorkloadEnd, [&net] {
    net.set_loss(0);
    step(net.now(), "workload ends, loss off; " + op_summary(net));
  });
  narrate_quiet(net);
  net.run_until(kQuietEnd);

  CheckReport report = check_quiescent(net);
  report.merge(events.report());
  std::printf("\nfinal: %zu peers up, %s\n", net.up_slots().size(), op_summary(net).c_str());
  print_counters(net);
  std::printf("\ntraffic by message kind:\n%s\n\n", net.metrics().describe().c_str());
  std::printf("invariants (%llu per-event checks, then at quiescence):\n%s\n",
              static_cast<unsigned long long>(events.checks()), report.describe().c_str());
  return report.ok() ? 0 : 1;
}

}  // namespace
}  // namespace kittengrad::testnet

int main(int argc, char** argv) {
  const char* env = std::getenv("KG_SEED");
  const char* arg = argc > 1 ? argv[1] : (env != nullptr ? env : "1");
  char* end = nullptr;
  const unsigned long long seed = std::strtoull(arg, &end, 10);
  if (end == arg || *end != '\0') {
    std::fprintf(stderr, "usage: kittengrad-demo [SEED]  (SEED: a non-negative integer)\n");
    return 2;
  }
  return kittengrad::testnet::run(seed);
}
