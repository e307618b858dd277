// sqlite_schema.cc — opening a kittengrad database: pragmas, the version check, the tables.
//
// Version history (PRAGMA user_version):
//   1 — records(seq, ns, kind, body): entries and journal blocks in persist order, bodies
//       in the wire codec's layout; marks(ns, peer, height): the latest neighbour mark.
#include "sqlite_schema.h"

#include <string>

namespace kittengrad::sqlite {

namespace {

constexpr const char* kCreateTables = R"(
  CREATE TABLE records (
    seq  INTEGER PRIMARY KEY,  -- persist order (rows are never deleted, so rowids only rise)
    ns   TEXT NOT NULL,
    kind INTEGER NOT NULL,     -- RecordKind: 1 entry, 2 journal block
    body BLOB NOT NULL         -- the wire codec's layout, without the namespace
  );
  CREATE TABLE marks (
    ns     TEXT NOT NULL,
    peer   BLOB NOT NULL,      -- the neighbour's 32-byte ring id
    height INTEGER NOT NULL,   -- the uint64 height's bits
    PRIMARY KEY (ns, peer)
  ) WITHOUT ROWID;
)";

Error refuse(const Db& db, const std::string& problem) {
  return Error{ErrorCode::kBadRequest, "database " + db.path() + ": " + problem};
}

// Creates the tables in an empty file, or checks that an existing one is ours and of a
// version this code reads. Runs inside the caller's transaction.
Result<bool> create_or_check(Db& db) {
  const Result<std::int64_t> app = db.query_int("PRAGMA application_id");
  if (!app) return app.error();
  const Result<std::int64_t> version = db.query_int("PRAGMA user_version");
  if (!version) return version.error();
  const Result<std::int64_t> tables = db.query_int("SELECT count(*) FROM sqlite_schema");
  if (!tables) return tables.error();

  if (*app == 0 && *version == 0 && *tables == 0) {
    if (Result<bool> ok = db.exec(kCreateTables); !ok) return ok;
    const std::string stamp =
        "PRAGMA application_id = " + std::to_string(SqliteStorage::kApplicationId) +
        "; PRAGMA user_version = " + std::to_string(SqliteStorage::kSchemaVersion);
    return db.exec(stamp.c_str());
  }
  if (*app != SqliteStorage::kApplicationId) {
    return refuse(db, "not a kittengrad database (application_id " + std::to_string(*app) +
                          ", " + std::to_string(*tables) +
                          " tables): point data_dir at a kittengrad data directory, or move "
                          "this file aside");
  }
  if (*version > SqliteStorage::kSchemaVersion) {
    return refuse(db, "written by a newer kittengrad (schema version " +
                          std::to_string(*version) + "; this one reads version " +
                          std::to_string(SqliteStorage::kSchemaVersion) +
                          "): run that newer kittengrad on it");
  }
  if (*version != SqliteStorage::kSchemaVersion) {
    return refuse(db, "unknown schema version " + std::to_string(*version) +
                          ": the database is damaged; restore it from a backup, or move it "
                          "aside and let the peer catch up from its neighbours");
  }
  return true;
}

}  // namespace

Result<bool> check_database(Db& db) {
  const Result<std::int64_t> app = db.query_int("PRAGMA application_id");
  if (!app) return app.error();
  if (*app != SqliteStorage::kApplicationId) {
    return refuse(db, "not a kittengrad database (application_id " + std::to_string(*app) +
                          "): point at a peer's data directory");
  }
  return create_or_check(db);  // an existing kittengrad file: checks, never creates
}

Result<bool> prepare_database(Db& db, const SqliteOptions& options) {
  // Normal (shared) locking: the WAL index lives in the -shm file, so readers in other
  // processes (`kittengrad live`'s census) read committed snapshots while the peer writes.
  // That only one peer writes is the owner lock's job, taken before this runs.
  // The first statement that reads the file: a file that is not a database fails here.
  const Result<std::string> mode = db.query_text("PRAGMA journal_mode = WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") {
    return refuse(db, "cannot use write-ahead logging (journal mode stays '" + *mode +
                          "'): put data_dir on a local file system");
  }
  if (Result<bool> ok = db.exec("BEGIN IMMEDIATE"); !ok) return ok;
  Result<bool> ready = create_or_check(db);
  if (ready) ready = db.exec("COMMIT");
  if (!ready) {
    if (db.in_transaction()) (void)db.exec("ROLLBACK");
    return ready;
  }
  const char* sync = options.sync == SyncLevel::kFull ? "PRAGMA synchronous = FULL"
                                                      : "PRAGMA synchronous = NORMAL";
  if (Result<bool> ok = db.exec(sync); !ok) return ok;
  if (options.max_bytes > 0) {
    const Result<std::int64_t> page = db.query_int("PRAGMA page_size");
    if (!page) return page.error();
    const std::uint64_t pages = options.max_bytes / static_cast<std::uint64_t>(*page);
    const std::string limit = "PRAGMA max_page_count = " + std::to_string(pages > 0 ? pages : 1);
    if (Result<std::int64_t> ok = db.query_int(limit.c_str()); !ok) return ok.error();
  }
  return true;
}

}  // namespace kittengrad::sqlite
