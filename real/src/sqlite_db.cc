// sqlite_db.cc — the connection and statement wrappers, and the words an operator reads
// when SQLite refuses something.
#include "sqlite_db.h"

#include <sqlite3.h>

namespace kittengrad::sqlite {

namespace {

// What to do about a failure, by SQLite's primary result code.
std::string_view advice(int code) {
  switch (code & 0xff) {
    case SQLITE_CANTOPEN:
      return "check that its directory exists and that this user may write there";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return "this user may not write it: fix its ownership or mode, or point data_dir elsewhere";
    case SQLITE_NOTADB:
      return "it is not a SQLite database: is data_dir pointing at the right directory?";
    case SQLITE_CORRUPT:
      return "the database is damaged: restore it from a backup, or move it aside and let "
             "the peer catch up from its neighbours";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another process holds the database: is a second peer using this data_dir?";
    case SQLITE_FULL:
      return "the disk (or the configured size limit) is full: free space and restart";
    case SQLITE_IOERR:
      return "the disk reported an I/O error: check the device and the system log";
    default:
      return {};
  }
}

}  // namespace

void Db::Close::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Result<Db> Db::open(const std::string& path, bool create) {
  sqlite3* raw = nullptr;
  // NOMUTEX: one connection used by one thread (the peer's event loop); no locking inside.
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw, path);  // closes `raw` on every path, even when opening failed
  if (rc != SQLITE_OK) {
    if (raw == nullptr) return Error{ErrorCode::kBadRequest, "database " + path + ": out of memory"};
    return db.error("open", rc);
  }
  sqlite3_extended_result_codes(raw, 1);
  // A reader in another process (the census of `kittengrad live`) may hold the WAL index
  // for an instant while it opens; wait that out instead of failing a commit or a read.
  sqlite3_busy_timeout(raw, 2000);
  return db;
}

Result<bool> Db::exec(const char* sql) {
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(sql, rc);
  return true;
}

Result<std::string> Db::query_text(const char* sql) {
  Result<Statement> st = Statement::prepare(*this, sql);
  if (!st) return st.error();
  Result<bool> row = st->step();
  if (!row) return row.error();
  return *row ? st->column_text(0) : std::string();
}

Result<std::int64_t> Db::query_int(const char* sql) {
  Result<Statement> st = Statement::prepare(*this, sql);
  if (!st) return st.error();
  Result<bool> row = st->step();
  if (!row) return row.error();
  return *row ? st->column_int64(0) : std::int64_t{0};
}

bool Db::in_transaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

Error Db::error(std::string_view doing) const {
  return error(doing, sqlite3_extended_errcode(db_.get()));
}

Error Db::error(std::string_view doing, int code) const {
  std::string detail = "database " + path_ + ": " + std::string(doing) + ": ";
  // The connection's message describes its last failure; a code passed in from elsewhere
  // (a bind) may not be that one, so take SQLite's generic text for it then.
  const bool is_last = sqlite3_extended_errcode(db_.get()) == code;
  detail += is_last ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(code);
  const std::string_view what_to_do = advice(code);
  if (!what_to_do.empty()) detail += "; " + std::string(what_to_do);
  return Error{ErrorCode::kBadRequest, std::move(detail)};
}

void Statement::Finalize::operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }

Result<Statement> Statement::prepare(Db& db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return db.error(std::string("prepare ") + sql, rc);
  }
  return Statement(db, raw);
}

void Statement::keep(int rc, const char* what) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
    bind_what_ = what;
  }
}

void Statement::bind(int index, std::int64_t value) {
  keep(sqlite3_bind_int64(st_.get(), index, value), "bind an integer");
}

void Statement::bind(int index, std::string_view text) {
  keep(sqlite3_bind_text64(st_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT,
                           SQLITE_UTF8),
       "bind a text");
}

void Statement::bind(int index, std::span<const std::uint8_t> blob) {
  // A zero-length blob with a null pointer would bind NULL; bind an empty blob instead.
  static const std::uint8_t kNothing = 0;
  keep(sqlite3_bind_blob64(st_.get(), index, blob.empty() ? &kNothing : blob.data(), blob.size(),
                           SQLITE_TRANSIENT),
       "bind a blob");
}

Result<bool> Statement::step() {
  if (bind_rc_ != SQLITE_OK) {
    const int rc = bind_rc_;
    bind_rc_ = SQLITE_OK;
    reset();
    return db_->error(bind_what_, rc);
  }
  const int rc = sqlite3_step(st_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = db_->error(sqlite3_sql(st_.get()), rc);
  reset();
  return e;
}

Result<bool> Statement::run() {
  Result<bool> r = step();
  reset();
  if (!r) return r.error();
  return true;
}

void Statement::reset() {
  // sqlite3_reset returns the last step's error again; step() has reported it already.
  (void)sqlite3_reset(st_.get());
}

std::int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(st_.get(), column);
}

std::string Statement::column_text(int column) const {
  const unsigned char* p = sqlite3_column_text(st_.get(), column);
  const int n = sqlite3_column_bytes(st_.get(), column);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

std::span<const std::uint8_t> Statement::column_blob(int column) const {
  const void* p = sqlite3_column_blob(st_.get(), column);
  const int n = sqlite3_column_bytes(st_.get(), column);
  if (p == nullptr) return {};
  return {static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(n)};
}

int Statement::column_type(int column) const { return sqlite3_column_type(st_.get(), column); }

}  // namespace kittengrad::sqlite
