// sqlite_schema.h — what a connection to a kittengrad database is set up with: WAL, the
// sync level, the size limit, and the tables of schema version
// SqliteStorage::kSchemaVersion (created in a new file, checked in an existing one). Who
// owns the file is settled before, by the owner lock (sqlite_storage.cc).
#pragma once

#include "kittengrad/real/sqlite_storage.h"
#include "sqlite_db.h"

namespace kittengrad::sqlite {

// Sets `db` up for SqliteStorage, creating the tables if the file is new. Errors name the
// file and what is wrong with it: not a database, another program's database, a newer
// schema version, held by another process, no WAL on this file system.
[[nodiscard]] Result<bool> prepare_database(Db& db, const SqliteOptions& options);

// Checks, inside the caller's read transaction, that an existing file is a kittengrad
// database of a version this code reads (a reader never creates or changes anything).
[[nodiscard]] Result<bool> check_database(Db& db);

}  // namespace kittengrad::sqlite
