// Tests of SqliteStorage: every record kind round-trips byte for byte; a flush is one
// transaction whose tokens come back in persist order, and only after COMMIT; a process
// killed with SIGKILL (quiet, or in the middle of a write load) leaves every batch whose
// token it was given, in order, and a peer restores from load() to what it held; damaged
// rows and wrong files are errors that name them.
#include "kittengrad/real/sqlite_storage.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "kittengrad/rng.h"
#include "sqlite_records.h"
#include "sqlite_test_records.h"

namespace kittengrad {
namespace {

namespace fs = std::filesystem;
using testing::expected_load;
using testing::RecordStream;
using testing::RestoredPeer;

using Calls = std::vector<std::vector<StorageRecord>>;

class SqliteStorageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto_init()); }

  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kg-sqlite-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (fs::path(dir_) / "peer.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::unique_ptr<SqliteStorage> open_ok(const std::string& path,
                                                SyncLevel sync = SyncLevel::kFull) {
    Result<std::unique_ptr<SqliteStorage>> db = SqliteStorage::open(path, sync);
    EXPECT_TRUE(db.ok()) << db.error().detail;
    return db.ok() ? std::move(*db) : nullptr;
  }

  static std::vector<StorageRecord> load_ok(SqliteStorage& db) {
    Result<std::vector<StorageRecord>> records = db.load();
    EXPECT_TRUE(records.ok()) << records.error().detail;
    return records.ok() ? std::move(*records) : std::vector<StorageRecord>{};
  }

  // Persists and flushes each call alone; expects each flush to return its token.
  static void write_calls(SqliteStorage& db, const Calls& calls, std::uint64_t first_token = 1) {
    for (std::size_t i = 0; i < calls.size(); ++i) {
      db.persist(calls[i], first_token + i);
      Result<std::vector<std::uint64_t>> done = db.flush();
      ASSERT_TRUE(done.ok()) << done.error().detail;
      ASSERT_EQ(*done, std::vector<std::uint64_t>{first_token + i});
    }
  }

  // Runs SQL on the database through a connection of its own (with the storage closed, so
  // that nothing it holds in memory goes stale).
  static void tamper(const std::string& path, const std::string& sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    char* message = nullptr;
    const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &message);
    const std::string text = message ? message : "";
    sqlite3_free(message);
    sqlite3_close(raw);
    ASSERT_EQ(rc, SQLITE_OK) << text;
  }

  static Calls make_calls(RecordStream& stream, std::size_t n) {
    Calls calls;
    for (std::size_t i = 0; i < n; ++i) calls.push_back(stream.next_call());
    return calls;
  }

  std::string dir_;
  std::string path_;
};

Entry arbitrary_entry(Rng& rng, const std::string& ns) {
  Entry e;
  e.ns = ns;
  for (auto& b : e.canonical.bytes) b = static_cast<std::uint8_t>(rng.next_u64());
  for (auto& b : e.update.bytes) b = static_cast<std::uint8_t>(rng.next_u64());
  for (auto& b : e.author) b = static_cast<std::uint8_t>(rng.next_u64());
  for (auto& b : e.signature) b = static_cast<std::uint8_t>(rng.next_u64());
  e.timestamp_ms = static_cast<std::int64_t>(rng.next_u64());
  return e;
}

// ---- Round trips ----

// Every kind, with every byte arbitrary (storage does not check signatures: restore does),
// and the extreme values of each integer field.
TEST_F(SqliteStorageTest, EveryRecordKindRoundTripsExactly) {
  Rng rng(11);
  Calls calls;
  calls.push_back({StorageRecord{"default", arbitrary_entry(rng, "default")},
                   StorageRecord{"other", arbitrary_entry(rng, "other")}});
  JournalBlock block;
  block.header.height = UINT64_MAX;
  for (auto& b : block.header.prev) b = static_cast<std::uint8_t>(rng.next_u64());
  block.header.timestamp_ms = INT64_MIN;
  for (auto& b : block.header.entries_root) b = static_cast<std::uint8_t>(rng.next_u64());
  for (auto& b : block.header.author) b = static_cast<std::uint8_t>(rng.next_u64());
  for (auto& b : block.signature) b = static_cast<std::uint8_t>(rng.next_u64());
  for (int i = 0; i < 5; ++i) block.entries.push_back(arbitrary_entry(rng, "default"));
  block.header.entry_count = static_cast<std::uint32_t>(block.entries.size());
  JournalBlock empty_block;
  empty_block.header.height = 1;
  calls.push_back({StorageRecord{"default", block}, StorageRecord{"default", empty_block}});
  RingId peer;
  for (auto& b : peer.bytes) b = static_cast<std::uint8_t>(rng.next_u64());
  calls.push_back({StorageRecord{"default", NeighbourMark{peer, UINT64_MAX}},
                   StorageRecord{"other", NeighbourMark{peer, 0}}});
  calls.push_back({StorageRecord{"", arbitrary_entry(rng, "")}});  // the empty namespace
  {
    auto db = open_ok(path_);
    ASSERT_TRUE(db);
    write_calls(*db, calls);
  }
  auto db = open_ok(path_);
  ASSERT_TRUE(db);
  const std::vector<StorageRecord> loaded = load_ok(*db);
  const std::vector<StorageRecord> want = expected_load(calls);
  ASSERT_EQ(loaded.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(loaded[i], want[i]) << "record " << i;
}

// A core-like stream over two namespaces: load() gives entries and blocks in persist order
// and the latest mark per (namespace, peer), and a peer restored from it holds exactly what
// a peer restored from every record ever persisted holds.
TEST_F(SqliteStorageTest, RestoreFromLoadMatchesRestoreFromEveryRecord) {
  RecordStream stream(5, {"default", "music"});
  const Calls calls = make_calls(stream, 300);
  {
    auto db = open_ok(path_);
    ASSERT_TRUE(db);
    // Several calls per flush, as in a busy event-loop turn.
    for (std::size_t i = 0; i < calls.size(); ++i) {
      db->persist(calls[i], i + 1);
      if (i % 7 == 6 || i + 1 == calls.size()) {
        ASSERT_TRUE(db->flush().ok());
      }
    }
  }
  auto db = open_ok(path_);
  ASSERT_TRUE(db);
  const std::vector<StorageRecord> loaded = load_ok(*db);
  EXPECT_EQ(loaded, expected_load(calls));

  std::vector<StorageRecord> everything;
  std::size_t marks = 0;
  for (const auto& call : calls) {
    for (const StorageRecord& r : call) {
      everything.push_back(r);
      marks += std::holds_alternative<NeighbourMark>(r.item);
    }
  }
  ASSERT_GT(marks, 6u) << "the stream should repeat marks, so that keeping the latest matters";
  RestoredPeer from_load(stream.peer_keys(), stream.namespaces());
  RestoredPeer from_all(stream.peer_keys(), stream.namespaces());
  const Result<bool> a = from_load.restore(loaded);
  ASSERT_TRUE(a.ok()) << a.error().detail;
  const Result<bool> b = from_all.restore(everything);
  ASSERT_TRUE(b.ok()) << b.error().detail;
  std::string why;
  EXPECT_TRUE(testing::same_durable_state(from_load.peer(), from_all.peer(), stream.namespaces(), &why))
      << why;
  EXPECT_GT(from_load.peer().journal("default")->height(), 3u);
}

// ---- Group commit ----

TEST_F(SqliteStorageTest, OneFlushIsOneCommitAndReturnsTokensInPersistOrder) {
  RecordStream stream(7, {"default"});
  const Calls calls = make_calls(stream, 50);
  std::vector<std::uint64_t> tokens;
  {
    auto db = open_ok(path_);
    ASSERT_TRUE(db);
    for (std::size_t i = 0; i < calls.size(); ++i) {
      tokens.push_back(1000 - 3 * i);  // not sorted: the order is the calls', not the values'
      db->persist(calls[i], tokens.back());
    }
    EXPECT_EQ(db->queued(), calls.size());
    EXPECT_EQ(db->counters().commits, 0u) << "persist() only queues";
    Result<std::vector<std::uint64_t>> done = db->flush();
    ASSERT_TRUE(done.ok()) << done.error().detail;
    EXPECT_EQ(*done, tokens);
    EXPECT_EQ(db->counters().commits, 1u);
    EXPECT_EQ(db->queued(), 0u);
    std::uint64_t records = 0;
    for (const auto& call : calls) records += call.size();
    EXPECT_EQ(db->counters().records, records);
    // Nothing queued: no commit, no token.
    Result<std::vector<std::uint64_t>> again = db->flush();
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->empty());
    EXPECT_EQ(db->counters().commits, 1u);
  }
  auto db = open_ok(path_);
  ASSERT_TRUE(db);
  EXPECT_EQ(load_ok(*db), expected_load(calls));
}

TEST_F(SqliteStorageTest, PersistWithoutFlushWritesNothing) {
  RecordStream stream(8, {"default"});
  const Calls calls = make_calls(stream, 20);
  {
    auto db = open_ok(path_);
    ASSERT_TRUE(db);
    write_calls(*db, Calls(calls.begin(), calls.begin() + 10));
    for (std::size_t i = 10; i < calls.size(); ++i) db->persist(calls[i], i + 1);
  }  // closed with ten calls queued: they were never acknowledged
  auto db = open_ok(path_);
  ASSERT_TRUE(db);
  EXPECT_EQ(load_ok(*db), expected_load(Calls(calls.begin(), calls.begin() + 10)));
}

TEST_F(SqliteStorageTest, CallsWithoutRecordsStillGetTheirTokensInOrder) {
  auto db = open_ok(path_);
  ASSERT_TRUE(db);
  RecordStream stream(9, {"default"});
  std::vector<StorageRecord> some;
  while (some.empty()) some = stream.next_call();
  db->persist({}, 4);
  db->persist(some, 2);
  db->persist({}, 9);
  Result<std::vector<std::uint64_t>> done = db->flush();
  ASSERT_TRUE(done.ok()) << done.error().detail;
  EXPECT_EQ(*done, (std::vector<std::uint64_t>{4, 2, 9}));
  db->persist({}, 5);
  done = db->flush();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done, std::vector<std::uint64_t>{5});
  EXPECT_EQ(db->counters().commits, 1u) << "a turn with nothing to write commits nothing";
}

// A flush that cannot commit (the size limit is reached) returns no token, keeps its queue
// and leaves the earlier commits intact; nothing of it is in the file afterwards.
TEST_F(SqliteStorageTest, FailedFlushReturnsNoTokenAndKeepsTheQueue) {
  RecordStream stream(10, {"default"});
  const Calls first = make_calls(stream, 5);
  Calls big;
  for (int i = 0; i < 400; ++i) big.push_back(stream.next_call());
  {
    Result<std::unique_ptr<SqliteStorage>> opened =
        SqliteStorage::open(path_, SqliteOptions{SyncLevel::kFull, 48 * 1024});
    ASSERT_TRUE(opened.ok()) << opened.error().detail;
    SqliteStorage& db = **opened;
    write_calls(db, first);
    for (std::size_t i = 0; i < big.size(); ++i) db.persist(big[i], 100 + i);
    Result<std::vector<std::uint64_t>> done = db.flush();
    ASSERT_FALSE(done.ok()) << "400 calls should not fit in 48 KiB";
    EXPECT_NE(done.error().detail.find(path_), std::string::npos) << done.error().detail;
    EXPECT_NE(done.error().detail.find("full"), std::string::npos) << done.error().detail;
    EXPECT_EQ(db.queued(), big.size());
    EXPECT_EQ(db.counters().flush_failures, 1u);
    // The retry fails the same way and still hands out nothing.
    EXPECT_FALSE(db.flush().ok());
    EXPECT_EQ(db.queued(), big.size());
  }
  auto db = open_ok(path_);
  ASSERT_TRUE(db);
  EXPECT_EQ(load_ok(*db), expected_load(first));
}

// ---- Crashes ----

// A child process that writes a stream of calls, flushing each, and reports each token on
// a pipe once flush() returned it. After `quiet_after` calls (0: never) it stops writing
// and waits to be killed.
[[noreturn]] void crash_child(const std::string& path, SyncLevel sync, std::uint64_t seed,
                              std::size_t quiet_after, int report_fd) {
  Result<std::unique_ptr<SqliteStorage>> opened = SqliteStorage::open(path, sync);
  if (!opened) _exit(3);
  SqliteStorage& db = **opened;
  RecordStream stream(seed, {"default", "music"});
  for (std::uint64_t token = 1;; ++token) {
    if (quiet_after != 0 && token > quiet_after) {
      for (;;) pause();
    }
    db.persist(stream.next_call(), token);
    Result<std::vector<std::uint64_t>> done = db.flush();
    if (!done || done->size() != 1 || done->front() != token) _exit(4);
    if (write(report_fd, &token, sizeof token) != static_cast<ssize_t>(sizeof token)) _exit(5);
  }
}

struct CrashCase {
  SyncLevel sync;
  std::size_t quiet_after;  // 0: killed in the middle of the load
  std::size_t kill_after;   // tokens read before the kill
};

void PrintTo(const CrashCase& c, std::ostream* os) {
  *os << "sync=" << sync_level_name(c.sync) << " quiet_after=" << c.quiet_after
      << " kill_after=" << c.kill_after;
}

class SqliteCrashTest : public SqliteStorageTest,
                        public ::testing::WithParamInterface<CrashCase> {};

TEST_P(SqliteCrashTest, EveryReportedBatchSurvivesKill9InOrder) {
  const CrashCase c = GetParam();
  const std::uint64_t seed = 21;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    crash_child(path_, c.sync, seed, c.quiet_after, fds[1]);
  }
  close(fds[1]);
  std::uint64_t last = 0;
  std::uint64_t token = 0;
  while (last < c.kill_after && read(fds[0], &token, sizeof token) == sizeof token) last = token;
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child stopped by itself, status " << status;
  // Tokens the child reported before it died count as acknowledged too.
  while (read(fds[0], &token, sizeof token) == sizeof token) last = token;
  close(fds[0]);
  ASSERT_GE(last, c.kill_after);

  auto db = open_ok(path_);
  ASSERT_TRUE(db);
  const std::vector<StorageRecord> loaded = load_ok(*db);
  // Durable: every reported call; at most one more (committed, killed before reporting).
  RecordStream stream(seed, {"default", "music"});
  Calls calls = make_calls(stream, last);
  const bool exactly = loaded == expected_load(calls);
  calls.push_back(stream.next_call());
  const bool one_more = loaded == expected_load(calls);
  EXPECT_TRUE(exactly || (one_more && c.quiet_after == 0))
      << "after " << last << " reported calls, load() returned " << loaded.size()
      << " records, not those calls (seed " << seed << ")";
  if (exactly) calls.pop_back();

  RestoredPeer restored(stream.peer_keys(), stream.namespaces());
  const Result<bool> ok = restored.restore(loaded);
  ASSERT_TRUE(ok.ok()) << ok.error().detail;
  std::vector<StorageRecord> everything;
  for (const auto& call : calls) everything.insert(everything.end(), call.begin(), call.end());
  RestoredPeer reference(stream.peer_keys(), stream.namespaces());
  ASSERT_TRUE(reference.restore(everything).ok());
  std::string why;
  EXPECT_TRUE(testing::same_durable_state(restored.peer(), reference.peer(), stream.namespaces(),
                                          &why))
      << why;
}

INSTANTIATE_TEST_SUITE_P(
    Kill9, SqliteCrashTest,
    ::testing::Values(CrashCase{SyncLevel::kFull, 40, 40}, CrashCase{SyncLevel::kNormal, 40, 40},
                      CrashCase{SyncLevel::kFull, 0, 60}, CrashCase{SyncLevel::kNormal, 0, 150}),
    [](const ::testing::TestParamInfo<CrashCase>& info) {
      return std::string(sync_level_name(info.param.sync)) +
             (info.param.quiet_after ? "_quiet" : "_mid_load");
    });

// ---- Damaged rows and wrong files ----

std::vector<StorageRecord> small_stream(std::size_t calls, Calls* out = nullptr) {
  RecordStream stream(12, {"default"});
  std::vector<StorageRecord> all;
  for (std::size_t i = 0; i < calls; ++i) {
    std::vector<StorageRecord> call = stream.next_call();
    if (out) out->push_back(call);
    all.insert(all.end(), call.begin(), call.end());
  }
  return all;
}

// Opens, writes `calls` calls of a stream, closes.
void write_stream(const std::string& path, std::size_t calls) {
  auto opened = SqliteStorage::open(path, SyncLevel::kNormal);
  ASSERT_TRUE(opened.ok()) << opened.error().detail;
  Calls cs;
  (void)small_stream(calls, &cs);
  for (std::size_t i = 0; i < cs.size(); ++i) (*opened)->persist(cs[i], i + 1);
  ASSERT_TRUE((*opened)->flush().ok());
}

// Expects load() to fail with a message that holds every one of `words`.
void expect_load_fails(const std::string& path, const std::vector<std::string>& words) {
  auto opened = SqliteStorage::open(path, SyncLevel::kFull);
  ASSERT_TRUE(opened.ok()) << opened.error().detail;
  Result<std::vector<StorageRecord>> loaded = (*opened)->load();
  ASSERT_FALSE(loaded.ok());
  for (const std::string& w : words) {
    EXPECT_NE(loaded.error().detail.find(w), std::string::npos)
        << "'" << w << "' not in: " << loaded.error().detail;
  }
}

TEST_F(SqliteStorageTest, TruncatedEntryRowIsAnErrorNamingTheRow) {
  write_stream(path_, 30);
  tamper(path_, "UPDATE records SET kind = 1, body = substr(body, 1, 20) WHERE seq = 3");
  expect_load_fails(path_, {path_, "record 3 ", "namespace 'default'", "truncated", "damaged"});
}

TEST_F(SqliteStorageTest, TrailingBytesInABlockRowAreAnError) {
  write_stream(path_, 60);
  tamper(path_,
         "UPDATE records SET body = body || x'00' WHERE seq = (SELECT min(seq) FROM records "
         "WHERE kind = 2)");
  expect_load_fails(path_, {"record ", "block", "trailing"});
}

TEST_F(SqliteStorageTest, UnknownKindAndBadMarkAreErrors) {
  write_stream(path_, 30);
  tamper(path_, "UPDATE records SET kind = 7 WHERE seq = 5");
  expect_load_fails(path_, {"record 5 ", "unknown record kind 7"});
  tamper(path_, "UPDATE records SET kind = 1 WHERE seq = 5");
  tamper(path_, "INSERT INTO marks (ns, peer, height) VALUES ('default', x'0102', 3)");
  expect_load_fails(path_, {"neighbour mark", "2 bytes"});
}

// Every prefix of a valid body fails to decode (a cut-off row never passes for a shorter
// record), and random bodies never crash the decoder.
TEST_F(SqliteStorageTest, DecodersRefuseEveryTruncationAndSurviveNoise) {
  Calls calls;
  (void)small_stream(60, &calls);
  std::size_t checked = 0;
  for (const auto& call : calls) {
    for (const StorageRecord& r : call) {
      const auto* entry = std::get_if<Entry>(&r.item);
      const auto* block = std::get_if<JournalBlock>(&r.item);
      if (entry == nullptr && block == nullptr) continue;
      const std::vector<std::uint8_t> body =
          entry ? sqlite::encode_entry(*entry) : sqlite::encode_block(*block);
      if (entry) {
        Result<Entry> back = sqlite::decode_entry(body, r.ns);
        ASSERT_TRUE(back.ok()) << back.error().detail;
        EXPECT_EQ(*back, *entry);
      } else {
        Result<JournalBlock> back = sqlite::decode_block(body, r.ns);
        ASSERT_TRUE(back.ok()) << back.error().detail;
        EXPECT_EQ(*back, *block);
      }
      for (std::size_t n = 0; n < body.size(); ++n) {
        const std::span<const std::uint8_t> cut(body.data(), n);
        if (entry) {
          EXPECT_FALSE(sqlite::decode_entry(cut, r.ns).ok()) << "entry prefix of " << n;
        } else {
          EXPECT_FALSE(sqlite::decode_block(cut, r.ns).ok()) << "block prefix of " << n;
        }
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 50u);
  Rng rng(13);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::uint8_t> noise(rng.below(400));
    for (auto& b : noise) b = static_cast<std::uint8_t>(rng.next_u64());
    (void)sqlite::decode_entry(noise, "default");
    (void)sqlite::decode_block(noise, "default");
  }
}

void expect_open_fails(const std::string& path, const std::vector<std::string>& words) {
  Result<std::unique_ptr<SqliteStorage>> opened = SqliteStorage::open(path, SyncLevel::kFull);
  ASSERT_FALSE(opened.ok()) << path << " opened";
  for (const std::string& w : words) {
    EXPECT_NE(opened.error().detail.find(w), std::string::npos)
        << "'" << w << "' not in: " << opened.error().detail;
  }
}

TEST_F(SqliteStorageTest, MissingDirectoryIsAnErrorNamingTheFile) {
  const std::string path = dir_ + "/no-such-dir/peer.db";
  expect_open_fails(path, {path, "directory exists"});
}

TEST_F(SqliteStorageTest, AFileThatIsNoDatabaseIsRefusedAndLeftAlone) {
  const std::string text = "listen = \"127.0.0.1:7400\"\nidentity = \"peer.key\"\n";
  std::ofstream(path_) << text;
  expect_open_fails(path_, {path_, "not a SQLite database"});
  std::ifstream in(path_);
  const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, text);
}

TEST_F(SqliteStorageTest, AnotherProgramsDatabaseIsRefused) {
  tamper(path_, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)");
  expect_open_fails(path_, {path_, "not a kittengrad database", "1 tables"});
}

TEST_F(SqliteStorageTest, NewerSchemaVersionIsRefused) {
  write_stream(path_, 5);
  tamper(path_, "PRAGMA user_version = 2");
  expect_open_fails(path_, {path_, "newer kittengrad", "schema version 2", "reads version 1"});
}

TEST_F(SqliteStorageTest, SecondOpenOfAHeldDatabaseIsRefused) {
  auto db = open_ok(path_);
  ASSERT_TRUE(db);
  expect_open_fails(path_, {path_, "second peer"});
  // The holder is unaffected.
  RecordStream stream(14, {"default"});
  const Calls calls = make_calls(stream, 3);
  write_calls(*db, calls);
  EXPECT_EQ(load_ok(*db), expected_load(calls));
}

// The census of `kittengrad live` reads a running peer's database: it sees every committed
// call and nothing queued, and the owner goes on committing while a snapshot is open.
TEST_F(SqliteStorageTest, ReadSnapshotSeesCommittedCallsWhileTheOwnerWrites) {
  auto db = open_ok(path_);
  ASSERT_TRUE(db);
  RecordStream stream(15, {"default", "music"});
  const Calls calls = make_calls(stream, 12);
  write_calls(*db, Calls(calls.begin(), calls.begin() + 8));
  db->persist(calls[8], 9);  // queued, not committed: a reader must not see it
  Result<std::vector<StorageRecord>> seen = SqliteStorage::read_snapshot(path_);
  ASSERT_TRUE(seen.ok()) << seen.error().detail;
  EXPECT_EQ(*seen, expected_load(Calls(calls.begin(), calls.begin() + 8)));
  ASSERT_TRUE(db->flush().ok());
  write_calls(*db, Calls(calls.begin() + 9, calls.end()), 10);
  seen = SqliteStorage::read_snapshot(path_);
  ASSERT_TRUE(seen.ok()) << seen.error().detail;
  EXPECT_EQ(*seen, expected_load(calls));
  EXPECT_EQ(load_ok(*db), expected_load(calls));
}

TEST_F(SqliteStorageTest, ReadSnapshotOfAMissingOrForeignFileIsAnErrorAndCreatesNothing) {
  Result<std::vector<StorageRecord>> missing = SqliteStorage::read_snapshot(path_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().detail.find(path_), std::string::npos) << missing.error().detail;
  EXPECT_FALSE(fs::exists(path_)) << "a reader created the database";
  tamper(path_, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)");
  Result<std::vector<StorageRecord>> foreign = SqliteStorage::read_snapshot(path_);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().detail.find("not a kittengrad database"), std::string::npos)
      << foreign.error().detail;
}

TEST(SyncLevelTest, ParsesTheConfigWords) {
  EXPECT_EQ(*parse_sync_level("full"), SyncLevel::kFull);
  EXPECT_EQ(*parse_sync_level("normal"), SyncLevel::kNormal);
  const Result<SyncLevel> bad = parse_sync_level("FULL");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("\"full\" or \"normal\""), std::string::npos);
}

}  // namespace
}  // namespace kittengrad
