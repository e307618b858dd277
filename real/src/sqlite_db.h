// sqlite_db.h — the little of SQLite's C API that SqliteStorage needs, with ownership: a
// connection (Db) closes itself, a prepared statement (Statement) finalizes itself, and
// every failure comes back as an Error that names the file, what was being done, SQLite's
// own message and what an operator can do about it.
//
//   Result<Db> db = Db::open("/var/lib/kittengrad/peer.db");
//   Result<Statement> st = Statement::prepare(*db, "SELECT height FROM marks WHERE ns = ?1");
//   st->bind(1, "default");
//   for (Result<bool> row = st->step(); row && *row; row = st->step()) use(st->column_int64(0));
//
// Statement binding never fails loudly: the first bind error is kept and the next step()
// returns it, so that callers check once per statement run, not once per field (the same
// sticky rule as the codec's Reader).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "kittengrad/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kittengrad::sqlite {

class Db {
 public:
  // Opens `path` read-write, creating an empty file if missing (`create`; otherwise a
  // missing file is an error). SQLite opens lazily: a file that is not a database is only
  // detected at the first statement that reads it.
  [[nodiscard]] static Result<Db> open(const std::string& path, bool create = true);

  // Runs SQL that returns no rows we need (pragmas that set, BEGIN, COMMIT, CREATE).
  [[nodiscard]] Result<bool> exec(const char* sql);
  // Runs SQL whose first row holds one value (PRAGMA x, SELECT count(*)) and returns it
  // as text ("" when there is no row or the value is NULL).
  [[nodiscard]] Result<std::string> query_text(const char* sql);
  [[nodiscard]] Result<std::int64_t> query_int(const char* sql);

  // True iff a transaction is open (after BEGIN, or left open by a failed statement).
  [[nodiscard]] bool in_transaction() const;
  // The connection's last failure as an Error: "database FILE: DOING: MESSAGE; ADVICE".
  [[nodiscard]] Error error(std::string_view doing) const;
  [[nodiscard]] Error error(std::string_view doing, int code) const;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] sqlite3* get() const { return db_.get(); }

 private:
  struct Close {
    void operator()(sqlite3* db) const;
  };
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  std::unique_ptr<sqlite3, Close> db_;
  std::string path_;
};

class Statement {
 public:
  // REQUIRES: `db` outlives the statement.
  [[nodiscard]] static Result<Statement> prepare(Db& db, const char* sql);

  // Parameters are 1-based, as in SQLite.
  void bind(int index, std::int64_t value);
  void bind(int index, std::string_view text);
  void bind(int index, std::span<const std::uint8_t> blob);

  // One step: true when a row is ready, false when the statement is done.
  [[nodiscard]] Result<bool> step();
  // Runs a statement that returns no rows, then resets it for the next run.
  [[nodiscard]] Result<bool> run();
  // Makes the statement ready to run again (bindings are replaced by the next binds).
  void reset();

  // Columns of the current row, 0-based. A blob's span lives until the next step/reset.
  [[nodiscard]] std::int64_t column_int64(int column) const;
  [[nodiscard]] std::string column_text(int column) const;
  [[nodiscard]] std::span<const std::uint8_t> column_blob(int column) const;
  // SQLITE_INTEGER, SQLITE_TEXT, SQLITE_BLOB, ... of the current row's column.
  [[nodiscard]] int column_type(int column) const;

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* st) const;
  };
  Statement(Db& db, sqlite3_stmt* st) : db_(&db), st_(st) {}
  void keep(int rc, const char* what);

  Db* db_;
  std::unique_ptr<sqlite3_stmt, Finalize> st_;
  int bind_rc_ = 0;  // SQLITE_OK, or the first bind failure
  const char* bind_what_ = "";
};

}  // namespace kittengrad::sqlite
