// Lookups of one hot canonical holding 10,000 updates, through the real Peer and Client on
// an in-process network: r = 3 replicas that all hold the whole set, read quorum R.
//
// A lookup with R > 1 makes the coordinator merge R - 1 replicas' copies of the set with
// its own. What that merge costs per entry (a signature check, a search of the store, a
// sort) decides whether a Zipf-popular key is affordable: items_per_second counts the
// entries a lookup returns, and the time is CPU per lookup.
#include <benchmark/benchmark.h>

#include <algorithm>

#include "direct_net.h"

namespace kittengrad::bench {
namespace {

constexpr std::size_t kUpdates = 10'000;
constexpr std::size_t kWriteBatch = 500;

void BM_LookupHotCanonical(benchmark::State& state) {
  if (!crypto_init()) state.SkipWithError("libsodium did not start");
  DirectNet net;
  PeerConfig config;
  config.read_quorum = static_cast<int>(state.range(0));
  config.anti_entropy_interval = 0;
  std::vector<Peer*> peers;
  std::vector<NodeRef> members;
  for (Address a = 1; a <= 3; ++a) {
    Peer& p = net.add_peer(config, keypair_from_u64(a), a);
    p.serve("default");
    peers.push_back(&p);
    members.push_back(p.self());
  }
  std::sort(members.begin(), members.end(),
            [](const NodeRef& x, const NodeRef& y) { return x.id < y.id; });
  for (Peer* p : peers) p->start_instant("default", members);
  Client& client = net.add_client(100);

  // 10,000 updates of one canonical, written in batches; every replica stores them all.
  const KeyPair author = keypair_from_u64(77);
  const Cid canonical = Cid::of_record("the hot canonical");
  std::vector<Entry> batch;
  for (std::size_t i = 0; i < kUpdates; ++i) {
    const Cid update = Cid::of_record("update " + std::to_string(i));
    batch.push_back(make_entry(author, "default", canonical, update, 1000 + static_cast<std::int64_t>(i)));
    if (batch.size() == kWriteBatch || i + 1 == kUpdates) {
      client.write("default", std::move(batch), 1);
      batch.clear();
      net.pump();
    }
  }
  (void)client.take_completed();
  for (Peer* p : peers) {
    if (p->store("default")->entry_count() != kUpdates) {
      state.SkipWithError("a replica does not hold the whole set");
      return;
    }
  }

  std::size_t returned = 0;
  for (auto _ : state) {
    client.lookup("default", canonical, 1);
    net.pump();
    for (const OpResult& r : client.take_completed()) {
      if (r.error != ErrorCode::kOk || r.entries.size() != kUpdates) {
        state.SkipWithError("a lookup did not return the whole set");
        return;
      }
      returned += r.entries.size();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(returned));
  std::uint64_t bad = 0;
  for (Peer* p : peers) bad += p->counters().bad_signatures;
  state.counters["bad_signatures"] = static_cast<double>(bad);
}
BENCHMARK(BM_LookupHotCanonical)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kittengrad::bench
