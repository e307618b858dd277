// The live peer's storage: what one group commit costs at each sync level, and how many
// records a second one commit can carry (kg_sqlite_bench).
//
// Each iteration is one event-loop turn: persist() calls holding `records` entries in
// all (8 entries a call, as a client batch replicates), then one flush(), which commits
// them in one transaction. commits_per_s is the turn rate the disk allows; records_per_s
// the entry rate. With sync = full each commit waits for an fsync of the write-ahead log,
// so commits_per_s is about the device's fsync rate; with sync = normal it waits for none
// (the log is synced at checkpoints), so the cost is SQLite's own work and the copy into
// the page cache. The figures depend on the disk far more than on the CPU, which is why
// this is a binary of its own and not part of kg_bench: run it on the disk that will hold
// data_dir (the database goes in $KG_BENCH_DIR, default the system's temporary directory).
//
//   build/bench/kg_sqlite_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kittengrad/cid.h"
#include "kittengrad/crypto.h"
#include "kittengrad/entry.h"
#include "kittengrad/real/sqlite_storage.h"

namespace kittengrad {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kEntriesPerCall = 8;
// Distinct entries cycled through, signed once before any timing.
constexpr std::size_t kEntryPool = 4096;

const std::vector<Entry>& entry_pool() {
  static const std::vector<Entry> pool = [] {
    if (!crypto_init()) std::abort();
    const KeyPair author = keypair_from_u64(42);
    std::vector<Entry> out;
    for (std::size_t i = 0; i < kEntryPool; ++i) {
      const std::string n = std::to_string(i);
      out.push_back(make_entry(author, "default", Cid::of_record("canonical-" + n),
                               Cid::of_record("update-" + n), 1'700'000'000'000 + i));
    }
    return out;
  }();
  return pool;
}

// A fresh directory for one benchmark's database, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("KG_BENCH_DIR");
    std::string pattern =
        ((base && *base) ? fs::path(base) : fs::temp_directory_path()) / "kg-sqlite-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() { fs::remove_all(path_); }
  [[nodiscard]] std::string file(const char* name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

void BM_SqliteGroupCommit(benchmark::State& state, SyncLevel sync) {
  const auto records = static_cast<std::size_t>(state.range(0));
  const std::vector<Entry>& pool = entry_pool();
  ScratchDir dir;
  Result<std::unique_ptr<SqliteStorage>> opened = SqliteStorage::open(dir.file("peer.db"), sync);
  if (!opened) {
    state.SkipWithError(opened.error().detail.c_str());
    return;
  }
  SqliteStorage& db = **opened;
  std::size_t next = 0;
  std::uint64_t token = 0;
  for (auto _ : state) {
    for (std::size_t done = 0; done < records;) {
      std::vector<StorageRecord> call;
      for (std::size_t i = 0; i < kEntriesPerCall && done < records; ++i, ++done) {
        call.push_back(StorageRecord{"default", pool[next++ % pool.size()]});
      }
      db.persist(std::move(call), ++token);
    }
    Result<std::vector<std::uint64_t>> tokens = db.flush();
    if (!tokens) {
      state.SkipWithError(tokens.error().detail.c_str());
      return;
    }
    benchmark::DoNotOptimize(tokens->data());
  }
  const auto commits = static_cast<double>(db.counters().commits);
  state.counters["commits_per_s"] = benchmark::Counter(commits, benchmark::Counter::kIsRate);
  state.counters["records_per_s"] =
      benchmark::Counter(static_cast<double>(db.counters().records), benchmark::Counter::kIsRate);
  state.counters["bytes_per_record"] =
      static_cast<double>(db.counters().bytes) / static_cast<double>(db.counters().records);
}
BENCHMARK_CAPTURE(BM_SqliteGroupCommit, full, SyncLevel::kFull)
    ->ArgName("records")->Arg(1)->Arg(64)->Arg(1024)
    ->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SqliteGroupCommit, normal, SyncLevel::kNormal)
    ->ArgName("records")->Arg(1)->Arg(64)->Arg(1024)
    ->UseRealTime()->Unit(benchmark::kMicrosecond);

// What load() costs at restart, per stored entry (100,000 entries: a full peer of the
// acceptance test).
void BM_SqliteLoad(benchmark::State& state) {
  const auto entries = static_cast<std::size_t>(state.range(0));
  const std::vector<Entry>& pool = entry_pool();
  ScratchDir dir;
  Result<std::unique_ptr<SqliteStorage>> opened =
      SqliteStorage::open(dir.file("peer.db"), SyncLevel::kNormal);
  if (!opened) {
    state.SkipWithError(opened.error().detail.c_str());
    return;
  }
  SqliteStorage& db = **opened;
  for (std::size_t i = 0; i < entries; i += kEntriesPerCall) {
    std::vector<StorageRecord> call;
    for (std::size_t j = i; j < i + kEntriesPerCall && j < entries; ++j) {
      call.push_back(StorageRecord{"default", pool[j % pool.size()]});
    }
    db.persist(std::move(call), i + 1);
  }
  if (!db.flush()) std::abort();
  for (auto _ : state) {
    Result<std::vector<StorageRecord>> loaded = db.load();
    if (!loaded || loaded->size() != entries) std::abort();
    benchmark::DoNotOptimize(loaded->data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * entries));
}
BENCHMARK(BM_SqliteLoad)->Arg(100'000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kittengrad
