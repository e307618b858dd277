// Journal throughput next to raw SHA-256 on the same machine.
//
// The target is journal append (with a block cut every 1024 entries) within 2x of raw
// SHA-256 over the same bytes. Per entry the journal serialises and hashes the entry
// (entry_hash: the signing bytes plus the 64-byte signature) and copies it into the
// pending block; per block it hashes 32 bytes per entry for the root and signs once. The
// fair baseline is therefore SHA-256 of a buffer as long as signing bytes + signature,
// one buffer per entry: compare items_per_second of the two.
//
// The journal keeps every block, so each block's entries (about 216 bytes each in memory)
// land on fresh pages. Where a page fault is dear (about 11 us per 4 KiB page on a
// paravirtualised VM) that first touch costs nearly as much as the hashing; to see the
// journal's own work apart from it, let freed journals' memory be reused:
//   GLIBC_TUNABLES=glibc.malloc.trim_threshold=1000000000:glibc.malloc.mmap_threshold=100000000
//
//   kg_bench --benchmark_filter='Journal|Sha256|EntryHash|VerifyBlock'
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/entry.h"
#include "kittengrad/journal.h"

namespace kittengrad {
namespace {

constexpr std::size_t kBlockEntries = 1024;
// Distinct entries cycled through: enough to defeat any caching, few enough to sign once.
constexpr std::size_t kEntryPool = 4096;
// Blocks kept before the journal is replaced, so memory stays bounded in long runs.
constexpr std::size_t kBlocksPerJournal = 32;

const std::vector<Entry>& entry_pool() {
  static const std::vector<Entry> pool = [] {
    if (!crypto_init()) std::abort();
    const KeyPair author = keypair_from_u64(42);
    std::vector<Entry> out;
    out.reserve(kEntryPool);
    for (std::size_t i = 0; i < kEntryPool; ++i) {
      const std::string n = std::to_string(i);
      out.push_back(make_entry(author, "default", Cid::of_record("canonical-" + n),
                               Cid::of_record("update-" + n), static_cast<std::int64_t>(i)));
    }
    return out;
  }();
  return pool;
}

// Bytes entry_hash feeds to SHA-256 for one entry of the pool.
std::size_t hashed_bytes_per_entry() {
  const Entry& e = entry_pool()[0];
  return entry_signing_bytes(e).size() + e.signature.size();
}

// One iteration = one full block: 1024 appends and the cut.
void BM_JournalAppendCut(benchmark::State& state) {
  const std::vector<Entry>& pool = entry_pool();
  const KeyPair keys = keypair_from_u64(1);
  std::optional<Journal> journal;
  journal.emplace(keys, /*block_interval_ms=*/1'000'000, kBlockEntries);
  std::size_t next = 0;
  std::int64_t now_ms = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBlockEntries; ++i) {
      journal->append(pool[next], now_ms);
      next = (next + 1) % kEntryPool;
    }
    if (!journal->should_cut(now_ms)) state.SkipWithError("block not due by size");
    benchmark::DoNotOptimize(journal->cut(now_ms++));
    if (journal->height() == kBlocksPerJournal) {
      state.PauseTiming();
      journal.emplace(keys, 1'000'000, kBlockEntries);
      state.ResumeTiming();
    }
  }
  const auto entries = static_cast<std::int64_t>(state.iterations() * kBlockEntries);
  state.SetItemsProcessed(entries);
  state.SetBytesProcessed(entries * static_cast<std::int64_t>(entry_wire_size(pool[0])));
  state.counters["hashed_bytes_per_entry"] = static_cast<double>(hashed_bytes_per_entry());
}
BENCHMARK(BM_JournalAppendCut)->Unit(benchmark::kMicrosecond);

// The baseline: raw SHA-256 over a buffer as long as one entry's hashed bytes.
void BM_Sha256SameBytes(benchmark::State& state) {
  std::vector<std::uint8_t> buffer(hashed_bytes_per_entry());
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<std::uint8_t>(i);
  for (auto _ : state) {
    benchmark::DoNotOptimize(sha256(buffer));
    buffer[0] ^= 1;  // a different message each time, as the journal sees
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(buffer.size()));
}
BENCHMARK(BM_Sha256SameBytes);

// The dominant per-entry cost on its own: serialise and hash.
void BM_EntryHash(benchmark::State& state) {
  const std::vector<Entry>& pool = entry_pool();
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(entry_hash(pool[next]));
    next = (next + 1) % kEntryPool;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(hashed_bytes_per_entry()));
}
BENCHMARK(BM_EntryHash);

// What a peer pays to check a neighbour's full block during catch-up.
void BM_VerifyBlock(benchmark::State& state) {
  const std::vector<Entry>& pool = entry_pool();
  Journal journal(keypair_from_u64(1), 1'000'000, kBlockEntries);
  for (std::size_t i = 0; i < kBlockEntries; ++i) journal.append(pool[i], 0);
  const JournalBlock& block = journal.cut(0);
  for (auto _ : state) {
    if (!verify_block(block).ok()) state.SkipWithError("block does not verify");
  }
  const auto entries = static_cast<std::int64_t>(state.iterations() * kBlockEntries);
  state.SetItemsProcessed(entries);
  state.SetBytesProcessed(entries * static_cast<std::int64_t>(entry_wire_size(pool[0])));
}
BENCHMARK(BM_VerifyBlock)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kittengrad
