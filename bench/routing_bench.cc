// Routing and write-path benchmarks: one peer's routing step (answering FindSuccessor from
// its finger table in rings of 1k to 1M peers), and batched writes through the
// deterministic test network with signature verification at every replica.
#include <benchmark/benchmark.h>

#include <algorithm>

#include "kittengrad/peer.h"
#include "testnet.h"

namespace kittengrad::bench {
namespace {

// A world that absorbs everything: the routing step alone is measured.
struct NullWorld : Clock, Network, Storage {
  Time now() const override { return 0; }
  std::int64_t wall_ms() const override { return 0; }
  void send(Address, Message) override { ++sent; }
  void persist(std::vector<StorageRecord>, std::uint64_t) override {}
  std::uint64_t sent = 0;
};

void BM_LookupRoutingStep(benchmark::State& state) {
  if (!crypto_init()) state.SkipWithError("libsodium did not start");
  const auto n = static_cast<std::size_t>(state.range(0));
  // Members are synthetic ids (no key pairs needed for the other N-1 peers).
  std::vector<NodeRef> members;
  members.reserve(n);
  Rng rng(42);
  for (std::size_t i = 0; i < n; ++i) {
    RingId id;
    for (auto& b : id.bytes) b = static_cast<std::uint8_t>(rng.next_u64());
    members.push_back(NodeRef{id, i + 1});
  }
  const KeyPair keys = keypair_from_u64(7);
  members.push_back(NodeRef{keys.ring_id(), 0});
  std::sort(members.begin(), members.end(),
            [](const NodeRef& a, const NodeRef& b) { return a.id < b.id; });
  NullWorld world;
  Peer peer(PeerConfig{}, keys, 0, Env{&world, &world, &world}, 1);
  peer.serve("default");
  peer.start_instant("default", members);
  std::vector<RingId> keys_to_route(4096);
  for (auto& k : keys_to_route)
    for (auto& b : k.bytes) b = static_cast<std::uint8_t>(rng.next_u64());
  std::size_t i = 0;
  for (auto _ : state) {
    peer.on_datagram(12345, Message{"default", FindSuccessor{i, keys_to_route[i % 4096]}});
    ++i;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["fingers"] = static_cast<double>(peer.ring("default").fingers.size());
}
BENCHMARK(BM_LookupRoutingStep)->Arg(1000)->Arg(100'000)->Arg(1'000'000);

// Batches of 64 updates of one canonical, written by one client through a 64-peer ring
// with 20 ms median latency and 0.1-3 ms storage latency; the coordinator verifies every
// entry, applies, journals and replicates to r - 1 = 2 replicas that verify again, and
// acknowledges at W = 2. Reported: acknowledged entries per wall second.
void BM_BatchedWritesThroughTestNetwork(benchmark::State& state) {
  if (!crypto_init()) state.SkipWithError("libsodium did not start");
  const std::size_t batch = static_cast<std::size_t>(state.range(0));
  const std::size_t batches = 64;
  std::uint64_t acked_entries = 0;
  for (auto _ : state) {
    state.PauseTiming();
    testnet::NetConfig config;
    config.seed = 3;
    testnet::TestNetwork net(config);
    net.add_instant_ring(64);
    const std::size_t client = net.add_client();
    std::vector<std::vector<Entry>> writes;
    for (std::size_t b = 0; b < batches; ++b) {
      const Cid canonical = Cid::of_record("canonical " + std::to_string(b));
      std::vector<Entry> entries;
      for (std::size_t e = 0; e < batch; ++e) entries.push_back(net.make_update(canonical));
      writes.push_back(std::move(entries));
    }
    state.ResumeTiming();
    for (std::size_t b = 0; b < batches; ++b) net.write(client, writes[b], b % 64);
    for (int step = 0; step < 600 && net.ops_in_flight() > 0; ++step) {
      net.run_for(50 * kMicrosPerMs);  // until every write is answered (30 s at most)
    }
    state.PauseTiming();
    for (const auto& [id, op] : net.ops())
      if (op.done && op.result.error == ErrorCode::kOk) acked_entries += op.entries;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(acked_entries));
  state.counters["acked_entries"] = static_cast<double>(acked_entries);
}
BENCHMARK(BM_BatchedWritesThroughTestNetwork)->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond);

// The bound of the write path: every replica verifies every entry's Ed25519 signature.
void BM_Ed25519VerifyEntry(benchmark::State& state) {
  if (!crypto_init()) state.SkipWithError("libsodium did not start");
  const KeyPair author = keypair_from_u64(5);
  const Cid c = Cid::of_record("verify");
  const Entry e = make_entry(author, "default", c, c, 1);
  for (auto _ : state) benchmark::DoNotOptimize(verify_entry(e));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Ed25519VerifyEntry);

}  // namespace
}  // namespace kittengrad::bench
