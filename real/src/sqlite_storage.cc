// sqlite_storage.cc — SqliteStorage: the queue of one event-loop turn, its group commit,
// and load() for Peer::restore.
#include "kittengrad/real/sqlite_storage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "kittengrad/overloaded.h"
#include "sqlite_db.h"
#include "sqlite_records.h"
#include "sqlite_schema.h"

namespace kittengrad {

using sqlite::Db;
using sqlite::RecordKind;
using sqlite::Statement;

namespace {

struct Queued {
  std::vector<StorageRecord> records;
  std::uint64_t token = 0;
};

// The entries a record stores without their namespace must have the record's.
bool namespaces_agree(const StorageRecord& r) {
  if (const auto* e = std::get_if<Entry>(&r.item)) return e->ns == r.ns;
  if (const auto* b = std::get_if<JournalBlock>(&r.item)) {
    for (const Entry& e : b->entries) {
      if (e.ns != r.ns) return false;
    }
  }
  return true;
}

// The owner lock: an advisory lock on PATH.lock, held while the storage is open, so that a
// second peer on the same data directory is refused at open instead of interleaving its
// writes with ours. (SQLite's own exclusive locking mode would do it too, but it also
// shuts out readers: the census of `kittengrad live` reads a running peer's database.)
class OwnerLock {
 public:
  static Result<OwnerLock> take(const std::string& db_path) {
    const std::string path = db_path + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Error{ErrorCode::kBadRequest, "database " + db_path + ": cannot open " + path + ": " +
                                               std::strerror(errno) +
                                               "; check that its directory exists and that this user may write there"};
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Error{ErrorCode::kBadRequest,
                     "database " + db_path +
                         ": another process holds the database: is a second peer using this "
                         "data_dir?"};
      }
      return Error{ErrorCode::kBadRequest,
                   "database " + db_path + ": cannot lock " + path + ": " + std::strerror(err)};
    }
    return OwnerLock(fd);
  }
  OwnerLock(OwnerLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  OwnerLock& operator=(OwnerLock&&) = delete;
  OwnerLock(const OwnerLock&) = delete;
  ~OwnerLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the lock
  }

 private:
  explicit OwnerLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace

// Invariant: `queue` holds the persist() calls since the last successful flush, in call
// order; every record of an earlier call is in the database or in an earlier queue slot.
struct SqliteStorage::Impl {
  Impl(OwnerLock l, Db d) : lock(std::move(l)), db(std::move(d)) {}

  Result<bool> prepare_statements();
  Result<bool> write(const StorageRecord& r);
  Result<bool> insert(const std::string& ns, RecordKind kind, const std::vector<std::uint8_t>& body);
  Result<bool> write_queue();

  OwnerLock lock;  // released after the connection closes (members go in reverse order)
  Db db;           // before the statements, which point at it
  std::optional<Statement> insert_record;
  std::optional<Statement> upsert_mark;
  std::vector<Queued> queue;
  std::size_t queued_records = 0;
  std::uint64_t queued_bytes = 0;  // encoded bytes of the transaction under way
  SqliteCounters counters;
};

Result<bool> SqliteStorage::Impl::prepare_statements() {
  Result<Statement> ins =
      Statement::prepare(db, "INSERT INTO records (ns, kind, body) VALUES (?1, ?2, ?3)");
  if (!ins) return ins.error();
  // The latest mark replaces the one before: the core persists a mark only when it rises.
  Result<Statement> mark = Statement::prepare(
      db, "INSERT INTO marks (ns, peer, height) VALUES (?1, ?2, ?3) "
          "ON CONFLICT (ns, peer) DO UPDATE SET height = excluded.height");
  if (!mark) return mark.error();
  insert_record.emplace(std::move(*ins));
  upsert_mark.emplace(std::move(*mark));
  return true;
}

Result<bool> SqliteStorage::Impl::insert(const std::string& ns, RecordKind kind,
                                         const std::vector<std::uint8_t>& body) {
  queued_bytes += body.size();
  insert_record->bind(1, ns);
  insert_record->bind(2, static_cast<std::int64_t>(kind));
  insert_record->bind(3, body);
  return insert_record->run();
}

Result<bool> SqliteStorage::Impl::write(const StorageRecord& r) {
  return std::visit(
      Overloaded{
          [&](const Entry& e) { return insert(r.ns, RecordKind::kEntry, sqlite::encode_entry(e)); },
          [&](const JournalBlock& b) {
            return insert(r.ns, RecordKind::kBlock, sqlite::encode_block(b));
          },
          [&](const NeighbourMark& m) {
            upsert_mark->bind(1, r.ns);
            upsert_mark->bind(2, m.peer.bytes);
            upsert_mark->bind(3, static_cast<std::int64_t>(m.height));
            return upsert_mark->run();
          },
      },
      r.item);
}

Result<bool> SqliteStorage::Impl::write_queue() {
  queued_bytes = 0;
  if (Result<bool> ok = db.exec("BEGIN"); !ok) return ok;
  for (const Queued& q : queue) {
    for (const StorageRecord& r : q.records) {
      if (Result<bool> ok = write(r); !ok) return ok;
    }
  }
  // Durable (with synchronous = FULL, fsynced) once COMMIT returns; only then are the
  // queue's tokens handed out.
  return db.exec("COMMIT");
}


SqliteStorage::SqliteStorage(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStorage::~SqliteStorage() = default;

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::open(const std::string& path,
                                                           SqliteOptions options) {
  Result<OwnerLock> lock = OwnerLock::take(path);
  if (!lock) return lock.error();
  Result<Db> db = Db::open(path);
  if (!db) return db.error();
  if (Result<bool> ok = sqlite::prepare_database(*db, options); !ok) return ok.error();
  auto impl = std::make_unique<Impl>(std::move(*lock), std::move(*db));
  if (Result<bool> ok = impl->prepare_statements(); !ok) return ok.error();
  return std::unique_ptr<SqliteStorage>(new SqliteStorage(std::move(impl)));
}

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::open(const std::string& path,
                                                           SyncLevel sync) {
  return open(path, SqliteOptions{sync, 0});
}

void SqliteStorage::persist(std::vector<StorageRecord> records, std::uint64_t token) {
  for (const StorageRecord& r : records) {
    assert(namespaces_agree(r) && "a stored entry carries its record's namespace");
    (void)r;
  }
  impl_->queued_records += records.size();
  impl_->queue.push_back(Queued{std::move(records), token});
}

Result<std::vector<std::uint64_t>> SqliteStorage::flush() {
  Impl& s = *impl_;
  if (s.queue.empty()) return std::vector<std::uint64_t>{};
  if (s.queued_records > 0) {
    Result<bool> ok = s.write_queue();
    if (!ok) {
      // A failed statement may have ended the transaction already (SQLITE_FULL does).
      if (s.db.in_transaction()) (void)s.db.exec("ROLLBACK");
      ++s.counters.flush_failures;
      return ok.error();
    }
    ++s.counters.commits;
    s.counters.records += s.queued_records;
    s.counters.bytes += s.queued_bytes;  // counted once committed (a retried flush re-encodes)
  }
  std::vector<std::uint64_t> tokens;
  tokens.reserve(s.queue.size());
  for (const Queued& q : s.queue) tokens.push_back(q.token);
  s.queue.clear();
  s.queued_records = 0;
  return tokens;
}

namespace {

Error damaged_row(const Db& db, std::int64_t seq, const std::string& ns,
                  const std::string& problem) {
  return Error{ErrorCode::kBadRequest,
               "database " + db.path() + ": record " + std::to_string(seq) + " (namespace '" +
                   ns + "'): " + problem +
                   "; the database is damaged: restore it from a backup, or move it aside and "
                   "let the peer catch up from its neighbours"};
}

// Every record of the database, as load() documents it.
Result<std::vector<StorageRecord>> read_records(Db& db) {
  std::vector<StorageRecord> out;
  Result<Statement> rows =
      Statement::prepare(db, "SELECT seq, ns, kind, body FROM records ORDER BY seq");
  if (!rows) return rows.error();
  for (;;) {
    Result<bool> row = rows->step();
    if (!row) return row.error();
    if (!*row) break;
    const std::int64_t seq = rows->column_int64(0);
    std::string ns = rows->column_text(1);
    const std::int64_t kind = rows->column_int64(2);
    const std::span<const std::uint8_t> body = rows->column_blob(3);
    if (kind == static_cast<std::int64_t>(RecordKind::kEntry)) {
      Result<Entry> e = sqlite::decode_entry(body, ns);
      if (!e) return damaged_row(db, seq, ns, e.error().detail);
      out.push_back(StorageRecord{std::move(ns), std::move(*e)});
    } else if (kind == static_cast<std::int64_t>(RecordKind::kBlock)) {
      Result<JournalBlock> b = sqlite::decode_block(body, ns);
      if (!b) return damaged_row(db, seq, ns, b.error().detail);
      out.push_back(StorageRecord{std::move(ns), std::move(*b)});
    } else {
      return damaged_row(db, seq, ns, "unknown record kind " + std::to_string(kind));
    }
  }

  Result<Statement> marks =
      Statement::prepare(db, "SELECT ns, peer, height FROM marks ORDER BY ns, peer");
  if (!marks) return marks.error();
  for (;;) {
    Result<bool> row = marks->step();
    if (!row) return row.error();
    if (!*row) break;
    std::string ns = marks->column_text(0);
    const std::span<const std::uint8_t> peer = marks->column_blob(1);
    NeighbourMark m;
    if (peer.size() != m.peer.bytes.size()) {
      return Error{ErrorCode::kBadRequest,
                   "database " + db.path() + ": neighbour mark (namespace '" + ns +
                       "') names a peer of " + std::to_string(peer.size()) +
                       " bytes, not 32; the database is damaged: restore it from a backup, "
                       "or move it aside and let the peer catch up from its neighbours"};
    }
    std::copy(peer.begin(), peer.end(), m.peer.bytes.begin());
    m.height = static_cast<std::uint64_t>(marks->column_int64(2));
    out.push_back(StorageRecord{std::move(ns), m});
  }
  return out;
}

}  // namespace

Result<std::vector<StorageRecord>> SqliteStorage::load() { return read_records(impl_->db); }

Result<std::vector<StorageRecord>> SqliteStorage::read_snapshot(const std::string& path) {
  Result<Db> db = Db::open(path, /*create=*/false);
  if (!db) return db.error();
  // One read transaction: the rows of one commit, whatever the owner writes meanwhile.
  if (Result<bool> ok = db->exec("BEGIN"); !ok) return ok.error();
  Result<bool> ours = sqlite::check_database(*db);
  if (!ours) return ours.error();
  Result<std::vector<StorageRecord>> records = read_records(*db);
  (void)db->exec("COMMIT");
  return records;
}

std::size_t SqliteStorage::queued() const { return impl_->queue.size(); }
const SqliteCounters& SqliteStorage::counters() const { return impl_->counters; }
const std::string& SqliteStorage::path() const { return impl_->db.path(); }

Result<SyncLevel> parse_sync_level(std::string_view text) {
  if (text == "full") return SyncLevel::kFull;
  if (text == "normal") return SyncLevel::kNormal;
  return Error{ErrorCode::kBadRequest,
               "sync = \"" + std::string(text) + "\": expected \"full\" or \"normal\""};
}

std::string_view sync_level_name(SyncLevel level) {
  return level == SyncLevel::kFull ? "full" : "normal";
}

}  // namespace kittengrad
