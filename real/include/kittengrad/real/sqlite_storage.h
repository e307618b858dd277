// kittengrad/real/sqlite_storage.h — the live peer's durable Storage: one SQLite database
// in WAL mode holding every namespace's entries, journal blocks and neighbour marks.
//
// Group commit. persist() only queues. The daemon calls flush() once at the end of each
// event-loop turn: every record queued during the turn is written in ONE transaction, and
// flush() returns the tokens that are now durable, in persist order, for the daemon to
// pass to Peer::on_persisted. A turn that stored 500 entries costs one commit (one fsync
// with sync = full), not 500. No token is returned before COMMIT has returned, and a
// failed flush returns no token at all: it rolls back and keeps the queue, so the next
// flush retries the same records in the same order (or the daemon stops; the records were
// never acknowledged).
//
// Bounds. A flush commits everything queued, however much: the core bounds what can be
// queued, since it refuses new work once `PeerConfig::persists_max` persist() calls await
// their token, and each call holds at most a datagram's worth of entries or one block.
//
// Sync levels (PRAGMA synchronous in WAL mode; figures in real/README.md):
//   SyncLevel::kFull   — every commit fsyncs the write-ahead log before COMMIT returns:
//                        a returned token survives kill -9, a kernel panic and power loss.
//                        The default.
//   SyncLevel::kNormal — commits reach the OS but the log is fsynced only at checkpoints:
//                        a returned token survives kill -9 (the OS still has the pages);
//                        power loss or a kernel panic may lose the last commits (never
//                        corrupts: the database rolls back to an earlier commit). Cheaper.
//
// The database (schema version kSchemaVersion in PRAGMA user_version, kittengrad's
// application_id) has one owner: open() takes an advisory lock on PATH.lock for as long as
// the storage lives, and a second process opening the same file is refused. Others may
// read it meanwhile (read_snapshot: the census of `kittengrad live`).
//
// load() returns what Peer::restore takes: entries and blocks in persist order (a block
// seals the entries persisted before it), then one neighbour mark per (namespace, peer),
// the highest (marks only rise, and restore keeps the highest).
//
//   Result<std::unique_ptr<SqliteStorage>> db = SqliteStorage::open(dir + "/peer.db",
//                                                                    SyncLevel::kFull);
//   if (!db) return fail(db.error().detail);          // names the file and what to do
//   Result<std::vector<StorageRecord>> records = (*db)->load();
//   peer.restore(*records);
//   ... each event-loop turn: handle events (the peer calls persist), then
//   Result<std::vector<std::uint64_t>> done = (*db)->flush();
//   for (std::uint64_t token : *done) peer.on_persisted(token);
//
// Not thread-safe: one event loop uses it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kittengrad/env.h"
#include "kittengrad/result.h"

namespace kittengrad {

enum class SyncLevel { kFull, kNormal };

// "full" or "normal" (the peer config's `sync` key); anything else is kBadRequest.
[[nodiscard]] Result<SyncLevel> parse_sync_level(std::string_view text);
[[nodiscard]] std::string_view sync_level_name(SyncLevel level);

struct SqliteOptions {
  SyncLevel sync = SyncLevel::kFull;
  // Largest size of the database file in bytes (PRAGMA max_page_count); 0: no limit. A
  // flush that would grow past it fails and keeps its queue.
  std::uint64_t max_bytes = 0;
};

// What the storage did, for stats and the benchmark. All monotonic.
struct SqliteCounters {
  std::uint64_t commits = 0;         // successful flushes that wrote anything
  std::uint64_t records = 0;         // records written by those commits
  std::uint64_t bytes = 0;           // encoded entry and block bytes written
  std::uint64_t flush_failures = 0;  // flushes that rolled back
};

class SqliteStorage final : public Storage {
 public:
  // The version of the tables this code reads and writes. A database of a newer version is
  // refused (never written by an older kittengrad).
  static constexpr std::int64_t kSchemaVersion = 1;
  // PRAGMA application_id of a kittengrad database ("KGRD").
  static constexpr std::int64_t kApplicationId = 0x4b475244;

  // Opens the database at `path`, creating it (and its tables) if missing. Errors name the
  // file and what to do: a directory that does not exist or is not writable, a file that
  // is not a SQLite database or not a kittengrad one, a newer schema version, a database
  // held by another process.
  [[nodiscard]] static Result<std::unique_ptr<SqliteStorage>> open(const std::string& path,
                                                                   SqliteOptions options);
  [[nodiscard]] static Result<std::unique_ptr<SqliteStorage>> open(const std::string& path,
                                                                   SyncLevel sync);
  ~SqliteStorage() override;
  SqliteStorage(const SqliteStorage&) = delete;
  SqliteStorage& operator=(const SqliteStorage&) = delete;

  // Queues the records; nothing is written until flush().
  // REQUIRES: each entry's namespace (and each block entry's) is the record's namespace
  // (entries are stored without it, as on the wire).
  void persist(std::vector<StorageRecord> records, std::uint64_t token) override;

  // Commits every queued record in one transaction; returns the tokens made durable, in
  // persist order (empty if nothing was queued). On error nothing is durable, no token is
  // returned and the queue is kept for the next flush.
  [[nodiscard]] Result<std::vector<std::uint64_t>> flush();

  // Every durable record: entries and blocks in persist order, then the highest neighbour
  // mark of each (namespace, peer). A row that does not decode is an error naming it.
  [[nodiscard]] Result<std::vector<StorageRecord>> load();

  // What load() returns, read from the database at `path` without owning it: one committed
  // snapshot, while its owner (a running peer) may go on writing. Never creates or changes
  // the file; a missing file, or one that is not a kittengrad database, is an error.
  [[nodiscard]] static Result<std::vector<StorageRecord>> read_snapshot(const std::string& path);

  // persist() calls not yet flushed.
  [[nodiscard]] std::size_t queued() const;
  [[nodiscard]] const SqliteCounters& counters() const;
  [[nodiscard]] const std::string& path() const;

 private:
  struct Impl;
  explicit SqliteStorage(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;  // keeps sqlite3.h out of this header
};

}  // namespace kittengrad
