// large_ops.cc — client operations larger than a datagram, measured on the test network:
// a batch of 4,096 entries (written page by page) and a lookup of a canonical with 10,000
// updates (read page by page). For each: datagrams and bytes on the wire, round trips and
// simulated time, at max_datagram_bytes 1,200 and 65,000.
//
//   build/bench/kg_large_ops [--latency-ms 10]
//
// The network has a constant one-way latency and instant storage, so round trips are the
// simulated time divided by the round-trip time. Figures go to docs/PERFORMANCE.md.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "testnet.h"

namespace kittengrad::bench {
namespace {

using testnet::NetConfig;
using testnet::TestNetwork;

struct Figures {
  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;
  Time elapsed = 0;
  bool ok = false;
  std::size_t entries = 0;
};

NetConfig config_for(std::size_t max_datagram_bytes, Time latency) {
  NetConfig c;
  c.seed = 5;
  c.latency_min = c.latency_max = latency;
  c.storage_latency_min = c.storage_latency_max = 1;
  c.peer.max_datagram_bytes = max_datagram_bytes;
  c.peer.anti_entropy_interval = 0;  // only the operation's own traffic is counted
  c.client.request_timeout = 5 * kMicrosPerSecond;
  return c;
}

// Runs `op` (which starts one client op and returns its id) to completion and measures it.
template <typename Start>
Figures measure(TestNetwork& net, Start start) {
  const std::uint64_t msgs = net.metrics().messages_total;
  const std::uint64_t bytes = net.metrics().bytes_total;
  const Time t0 = net.now();
  const std::uint64_t id = start();
  Figures f;
  for (int i = 0; i < 100000 && !net.ops().at(id).done; ++i) net.run_for(10 * kMicrosPerMs);
  const auto& op = net.ops().at(id);
  f.ok = op.done && op.result.error == ErrorCode::kOk;
  f.elapsed = op.result.done - t0;
  f.datagrams = net.metrics().messages_total - msgs;
  f.bytes = net.metrics().bytes_total - bytes;
  f.entries = op.result.entries.size();
  return f;
}

void print(const char* what, std::size_t max_datagram, Time rtt, const Figures& f) {
  std::printf("%-34s %7zu %9llu %12llu %10.1f %12.3f %s\n", what, max_datagram,
              static_cast<unsigned long long>(f.datagrams), static_cast<unsigned long long>(f.bytes),
              static_cast<double>(f.elapsed) / static_cast<double>(rtt),
              static_cast<double>(f.elapsed) / kMicrosPerSecond, f.ok ? "ok" : "FAILED");
}

int run(Time latency) {
  if (!crypto_init()) return 1;
  std::printf("one-way latency %.1f ms, 8 peers, r = 3, W = 2, R = 1\n",
              static_cast<double>(latency) / kMicrosPerMs);
  std::printf("%-34s %7s %9s %12s %10s %12s\n", "operation", "datagram", "datagrams", "bytes",
              "round trips", "simulated s");
  int failures = 0;
  for (std::size_t max_datagram : {std::size_t{1200}, std::size_t{65000}}) {
    TestNetwork net(config_for(max_datagram, latency));
    net.add_instant_ring(8);
    const std::size_t client = net.add_client();
    const Time rtt = 2 * latency;

    const Cid batch_key = Cid::of_record("a batch of 4096");
    std::vector<Entry> batch;
    for (int i = 0; i < 4096; ++i) batch.push_back(net.make_update(batch_key));
    const Figures w = measure(net, [&] { return net.write(client, batch, 0); });
    print("write batch of 4,096 entries", max_datagram, rtt, w);

    // 10,000 updates of one canonical, then one lookup of it.
    const Cid hot = Cid::of_record("a canonical with 10000 updates");
    for (int chunk = 0; chunk < 10; ++chunk) {
      std::vector<Entry> updates;
      for (int i = 0; i < 1000; ++i) updates.push_back(net.make_update(hot));
      if (!measure(net, [&] { return net.write(client, updates, 0); }).ok) ++failures;
    }
    const Figures r = measure(net, [&] { return net.lookup(client, hot, 0); });
    print("lookup of 10,000 updates", max_datagram, rtt, r);
    if (r.entries != 10000) {
      std::printf("  the lookup returned %zu entries, not 10,000\n", r.entries);
      ++failures;
    }
    failures += !w.ok + !r.ok;
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace kittengrad::bench

int main(int argc, char** argv) {
  double latency_ms = 10;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--latency-ms") == 0) latency_ms = std::atof(argv[i + 1]);
  }
  if (latency_ms <= 0) {
    std::fprintf(stderr, "kg_large_ops: --latency-ms must be > 0\n");
    return 2;
  }
  return kittengrad::bench::run(
      static_cast<kittengrad::Time>(latency_ms * kittengrad::kMicrosPerMs));
}
