// Micro-benchmarks of the CRDT store and the rateless IBLT.
//
//   kg_bench --benchmark_filter='Store|Riblt'
//
// Entries here carry random bytes in place of signatures: the store never verifies (Peer
// does, once, before it inserts), so valid signatures would cost the same and only slow
// the set-up. Hashes are computed once, as Peer computes them once on arrival.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "kittengrad/entry.h"
#include "kittengrad/riblt.h"
#include "kittengrad/rng.h"
#include "kittengrad/store.h"

namespace kittengrad {
namespace {

struct BenchEntry {
  Entry entry;
  Hash256 hash;
};

// `n` entries over n/2 canonicals (so slots hold one to a few entries), deterministic.
const std::vector<BenchEntry>& entry_pool(std::size_t n) {
  static std::vector<BenchEntry> pool;
  if (pool.size() >= n) return pool;
  Rng rng(42);
  pool.clear();
  pool.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Entry e;
    e.ns = "default";
    e.canonical = Cid::of_record("canonical-" + std::to_string(rng.below(n / 2)));
    e.update = Cid::of_record("update-" + std::to_string(i));
    e.timestamp_ms = static_cast<std::int64_t>(1'700'000'000'000 + rng.below(1'000'000));
    for (auto& b : e.author) b = static_cast<std::uint8_t>(rng.below(256));
    for (auto& b : e.signature) b = static_cast<std::uint8_t>(rng.below(256));
    const Hash256 h = entry_hash(e);
    pool.push_back(BenchEntry{std::move(e), h});
  }
  return pool;
}

void fill(Store& s, const std::vector<BenchEntry>& pool, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) s.insert(pool[i].entry, pool[i].hash);
}

// Merge a store of `n` entries into one that already holds half of them: the shape of a
// hand-off or of a replica catching up. Items are the entries offered (n per merge).
void BM_StoreMergeHalfShared(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& pool = entry_pool(n + n / 2);
  Store ours, theirs;
  fill(ours, pool, 0, n);
  fill(theirs, pool, n / 2, n + n / 2);
  std::size_t added = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto dest = std::make_unique<Store>();
    dest->merge_from(ours);
    state.ResumeTiming();
    added = dest->merge_from(theirs);
    state.PauseTiming();
    dest.reset();  // freeing 150k entries is not part of a merge
    state.ResumeTiming();
  }
  state.counters["added"] = static_cast<double>(added);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(theirs.entry_count()));
}
BENCHMARK(BM_StoreMergeHalfShared)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

// Merge an identical store: anti-entropy's common case, where nothing is new.
void BM_StoreMergeIdentical(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& pool = entry_pool(n);
  Store ours, theirs;
  fill(ours, pool, 0, n);
  fill(theirs, pool, 0, n);
  for (auto _ : state) benchmark::DoNotOptimize(ours.merge_from(theirs));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_StoreMergeIdentical)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

// Merge into an empty store: a new replica taking a whole range (the copy path).
void BM_StoreMergeIntoEmpty(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& pool = entry_pool(n);
  Store theirs;
  fill(theirs, pool, 0, n);
  for (auto _ : state) {
    auto dest = std::make_unique<Store>();
    benchmark::DoNotOptimize(dest->merge_from(theirs));
    state.PauseTiming();
    dest.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_StoreMergeIntoEmpty)->Arg(100'000)->Unit(benchmark::kMillisecond);

// Merge 100 new entries into a store of `n`: a pull page or a small catch-up, where the
// merge seeks its keys instead of walking the whole store. The keys are erased again
// between iterations, untimed.
void BM_StoreMergeSmallIntoLarge(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kSmall = 100;
  const auto& pool = entry_pool(n + kSmall);
  Store dest, small;
  fill(dest, pool, 0, n);
  fill(small, pool, n, n + kSmall);
  std::vector<RingId> fresh;
  small.for_each([&](const RingId& key, const KeySlot&) {
    if (dest.find(key) == nullptr) fresh.push_back(key);
  });
  for (auto _ : state) {
    benchmark::DoNotOptimize(dest.merge_from(small));
    state.PauseTiming();
    for (const RingId& key : fresh) dest.erase_key(key);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kSmall));
}
BENCHMARK(BM_StoreMergeSmallIntoLarge)->Arg(100'000)->Unit(benchmark::kMicrosecond);

// Insert one by one with a precomputed hash (the path of eager replication).
void BM_StoreInsert(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& pool = entry_pool(n);
  for (auto _ : state) {
    Store s;
    fill(s, pool, 0, n);
    benchmark::DoNotOptimize(s.entry_count());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_StoreInsert)->Arg(100'000)->Unit(benchmark::kMillisecond);

// Digest of a random range of a 100k-entry store (the bucket-tree path).
void BM_StoreDigest(benchmark::State& state) {
  const auto& pool = entry_pool(100'000);
  Store s;
  fill(s, pool, 0, 100'000);
  Rng rng(7);
  for (auto _ : state) {
    const RingId a = RingId::from_u64(rng.next_u64());
    const RingId b = RingId::from_u64(rng.next_u64());
    benchmark::DoNotOptimize(s.digest(a, b));
  }
}
BENCHMARK(BM_StoreDigest);

std::vector<EntryId> random_ids(Rng& rng, std::size_t n) {
  std::vector<EntryId> ids(n);
  for (auto& id : ids) id = EntryId::of_key(rng.next_u64());
  return ids;
}

// Encode 100k items into the first `symbols` coded symbols. Items/s counts items.
void BM_RibltEncode(benchmark::State& state) {
  Rng rng(1);
  const std::vector<EntryId> ids = random_ids(rng, 100'000);
  const auto symbols = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(riblt_encode(ids, 0, symbols));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(ids.size()));
}
BENCHMARK(BM_RibltEncode)->Arg(128)->Arg(1024)->Unit(benchmark::kMillisecond);

// Decode a difference of d items (half each way) from 1.6 d symbols. Items/s counts the
// difference decoded.
void BM_RibltDecode(benchmark::State& state) {
  const auto d = static_cast<std::size_t>(state.range(0));
  Rng rng(2);
  std::vector<EntryId> remote = random_ids(rng, 1000);
  std::vector<EntryId> local = remote;
  for (const EntryId& id : random_ids(rng, d)) (rng.chance(0.5) ? remote : local).push_back(id);
  const std::uint64_t m = (8 * d) / 5 + 16;
  const auto rs = riblt_encode(remote, 0, m);
  const auto ls = riblt_encode(local, 0, m);
  if (!riblt_decode(rs, ls)) state.SkipWithError("did not decode: raise the symbol count");
  for (auto _ : state) benchmark::DoNotOptimize(riblt_decode(rs, ls));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(d));
}
BENCHMARK(BM_RibltDecode)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// The estimator over 1000 symbols of a difference too large for them.
void BM_RibltEstimate(benchmark::State& state) {
  Rng rng(3);
  std::vector<EntryId> remote = random_ids(rng, 1000);
  std::vector<EntryId> local = remote;
  for (const EntryId& id : random_ids(rng, 900)) (rng.chance(0.5) ? remote : local).push_back(id);
  const auto rs = riblt_encode(remote, 0, 1000);
  const auto ls = riblt_encode(local, 0, 1000);
  for (auto _ : state) benchmark::DoNotOptimize(riblt_estimate_difference(rs, ls));
}
BENCHMARK(BM_RibltEstimate)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kittengrad
