// Eight `kittengrad peer` processes on loopback, written to through the core's Client on a
// LiveLoop while two adjacent peers are killed with SIGKILL; one of them comes back from
// its SQLite database. Judged by what users read: every lookup (final reads through the
// client) holds every acknowledged update, the core's history checker passes, and every
// peer's journal chain in its database verifies.
//
// Every process is started here and stopped by its PID (SIGKILL) in the fixture's
// teardown, also when an assertion fails. KG_SEED=S replays the workload's choices.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <atomic>
#include <thread>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/history.h"
#include "kittengrad/journal.h"
#include "kittengrad/peer.h"
#include "kittengrad/real/identity_file.h"
#include "kittengrad/real/live_address.h"
#include "kittengrad/real/sqlite_storage.h"
#include "kittengrad/rng.h"
#include "kittengrad/real/session.h"
#include "live_admin_client.h"
#include "live_client_runner.h"

namespace kittengrad::live {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kPeers = 8;
constexpr std::size_t kCanonicals = 1000;

std::uint64_t test_seed() {
  const char* s = std::getenv("KG_SEED");
  return s != nullptr ? std::strtoull(s, nullptr, 10) : 1;
}

// A number from a peer's stats (defined below).
std::uint64_t stat(const std::vector<admin::Item>& items, const std::string& name);

int free_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct LivePeer {
  int port = 0;
  fs::path config;
  fs::path log;
  fs::path data_dir;
  KeyPair keys;
  pid_t pid = -1;
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port); }
};

class LiveRing : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto_init());
    dir_ = fs::temp_directory_path() / ("kg-live-ring-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  // n peer configs (identities made here, so the ring order is known), the first
  // starting the ring, the others joining through it.
  void make_peers(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      LivePeer p;
      p.port = free_udp_port();
      p.config = dir_ / ("peer-" + std::to_string(i) + ".toml");
      p.log = dir_ / ("peer-" + std::to_string(i) + ".log");
      p.data_dir = dir_ / ("data-" + std::to_string(i));
      const fs::path key = dir_ / ("peer-" + std::to_string(i) + ".key");
      auto keys = load_or_create_identity(key.string());  // known ids: ring order below
      ASSERT_TRUE(keys.ok()) << keys.error().detail;
      p.keys = *keys;
      peers_.push_back(p);
    }
    for (std::size_t i = 0; i < n; ++i) {
      write_config(i, i == 0 ? "[]" : "[\"" + peers_[0].host_port() + "\"]");
    }
  }

  void write_config(std::size_t i, const std::string& bootstrap) {
    std::ofstream(peers_[i].config)
        << "listen = \"" << peers_[i].host_port() << "\"\n"
        << "identity = \"peer-" << i << ".key\"\n"
        << "data_dir = \"data-" << i << "\"\n"
        << "namespaces = [\"default\"]\n"
        << "bootstrap = " << bootstrap << "\n"
        << "sync = \"normal\"\n"  // survives kill -9, which is what this test does
        << "log_level = \"info\"\n"
        << "[overlay]\n"
        << "stabilize_interval_s = 0.3\ncheck_predecessor_interval_s = 0.3\n"
        << "fix_fingers_interval_s = 1\nanti_entropy_interval_s = 2\n"
        << "journal_block_interval_s = 1\nrequest_timeout_ms = 200\n";
  }

  // Once the ring stands, every peer's config lists all the others as bootstraps, as an
  // operator's would: a peer that restarts (even the one that created the ring) rejoins
  // through whichever of them answers, whoever else is down.
  void bootstrap_from_everyone() {
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      std::string list;
      for (std::size_t j = 0; j < peers_.size(); ++j) {
        if (j != i) list += (list.empty() ? "\"" : ", \"") + peers_[j].host_port() + "\"";
      }
      write_config(i, "[" + list + "]");
    }
  }

  void TearDown() override {
    for (LivePeer& p : peers_) kill_peer(p);
    if (!HasFailure()) fs::remove_all(dir_);
    else std::cerr << "peer logs kept in " << dir_ << "\n";
  }

  void start_peer(LivePeer& p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int log = ::open(p.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, STDERR_FILENO);
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, STDOUT_FILENO);
      if (::chdir(dir_.c_str()) != 0) ::_exit(127);
      ::execl(KG_BINARY, KG_BINARY, "peer", "--config", p.config.c_str(), nullptr);
      ::_exit(127);
    }
    p.pid = pid;
  }

  static void kill_peer(LivePeer& p) {
    if (p.pid <= 0) return;
    ::kill(p.pid, SIGKILL);
    ::waitpid(p.pid, nullptr, 0);
    p.pid = -1;
  }

  static bool healthy(const LivePeer& p) {
    const std::string cmd = std::string(KG_BINARY) + " health --timeout-ms 500 --peer " +
                            p.host_port() + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }

  // Every running peer healthy, within `limit`.
  bool wait_healthy(std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      bool all = true;
      for (const LivePeer& p : peers_) all = all && (p.pid <= 0 || healthy(p));
      if (all) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return false;
  }

  void start_all() {
    start_peer(peers_[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (std::size_t i = 1; i < peers_.size(); ++i) start_peer(peers_[i]);
  }

  // Peer indices in ring order (by the ids their keys hash to).
  std::vector<std::size_t> ring_order() const {
    std::vector<std::size_t> order(peers_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return peers_[a].keys.ring_id() < peers_[b].keys.ring_id();
    });
    return order;
  }

  std::unique_ptr<ClientRunner> client_via(const LivePeer& p) {
    ClientOptions o;
    o.peer = p.host_port();
    o.request_timeout_ms = 300;
    auto r = ClientRunner::open(o, "default", keypair_from_u64(0xC11E));
    EXPECT_TRUE(r.ok()) << r.error().detail;
    return r.ok() ? std::move(*r) : nullptr;
  }

  // The exit status of a peer that was told to stop, within `limit`; -1 if it did not exit.
  static int wait_exit(LivePeer& p, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(p.pid, &status, WNOHANG) == p.pid) {
        p.pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }

  // Writes `entries` through the client, one write per canonical (the Client pages it),
  // `window` in flight. Returns the entries acknowledged.
  std::vector<Entry> write_all(const LivePeer& gateway,
                               const std::vector<std::vector<Entry>>& writes, std::size_t window) {
    std::vector<Entry> acked;
    auto runner = client_via(gateway);
    if (runner == nullptr) return acked;
    ClientRunner& r = *runner;
    std::map<std::uint64_t, std::size_t> in_flight;
    std::size_t next = 0;
    auto submit = [&] {
      while (in_flight.size() < window && next < writes.size()) {
        in_flight[r.client().write("default", writes[next], r.gateway())] = next;
        ++next;
      }
    };
    r.on_done([&](OpResult res) {
      auto it = in_flight.find(res.op);
      if (it == in_flight.end()) return;
      if (res.error == ErrorCode::kOk) {
        acked.insert(acked.end(), writes[it->second].begin(), writes[it->second].end());
      } else if (failures_.size() < 5) {
        failures_.push_back(std::string(error_name(res.error)) + ": " + res.detail);
      }
      in_flight.erase(it);
      r.progress();
      submit();
    });
    submit();
    EXPECT_TRUE(r.run(std::chrono::seconds(60)));
    return acked;
  }

  // The hashes of the entries in a stopped peer's database.
  static std::set<Hash256> db_entries(const LivePeer& p) {
    std::set<Hash256> out;
    auto db = SqliteStorage::open((p.data_dir / "kittengrad.sqlite").string(), SyncLevel::kNormal);
    EXPECT_TRUE(db.ok()) << db.error().detail;
    if (!db.ok()) return out;
    auto records = (*db)->load();
    EXPECT_TRUE(records.ok()) << records.error().detail;
    if (!records.ok()) return out;
    for (const StorageRecord& rec : *records) {
      if (const auto* e = std::get_if<Entry>(&rec.item)) out.insert(entry_hash(*e));
    }
    return out;
  }

  static std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  fs::path dir_;
  std::vector<LivePeer> peers_;
  std::vector<std::string> failures_;  // the first failed writes of write_all, for messages
};

TEST_F(LiveRing, AcknowledgedUpdatesSurviveTwoAdjacentCrashes) {
  const std::uint64_t seed = test_seed();
  SCOPED_TRACE("replay: KG_SEED=" + std::to_string(seed) + " ./build/real/live_ring_test");
  make_peers(kPeers);
  start_all();
  ASSERT_TRUE(wait_healthy(std::chrono::seconds(40))) << "the ring did not become healthy";
  bootstrap_from_everyone();

  // The workload: an insert of each canonical and an update of each, 32 writes in flight,
  // through gateways chosen at random. After a third of the writes completed, two adjacent
  // peers are killed with SIGKILL while the rest are in flight.
  const auto order = ring_order();
  Rng rng = Rng::derive(seed, "live ring");
  const std::size_t first_victim = rng.below(kPeers);
  LivePeer& victim_a = peers_[order[first_victim]];
  LivePeer& victim_b = peers_[order[(first_victim + 1) % kPeers]];
  LivePeer& gateway = peers_[order[(first_victim + 4) % kPeers]];
  auto author = keypair_from_u64(seed);

  std::vector<Cid> canonicals;
  std::vector<Entry> writes;
  for (std::size_t i = 0; i < kCanonicals; ++i) {
    const Cid c = Cid::of_record("live canonical " + std::to_string(seed) + "/" + std::to_string(i));
    canonicals.push_back(c);
    writes.push_back(make_entry(author, "default", c, c, 1000 + static_cast<std::int64_t>(i)));
  }
  for (std::size_t i = 0; i < kCanonicals; ++i) {
    const Cid u = Cid::of_record("live update " + std::to_string(i));
    writes.push_back(make_entry(author, "default", canonicals[i], u, 5000 + static_cast<std::int64_t>(i)));
  }

  History history;
  auto runner = client_via(gateway);
  ASSERT_NE(runner, nullptr);
  ClientRunner& r = *runner;
  std::map<std::uint64_t, std::uint64_t> op_to_history;
  std::size_t next = 0, completed = 0, acked = 0;
  bool crashed = false;
  auto submit = [&] {
    while (op_to_history.size() < 32 && next < writes.size()) {
      const std::uint64_t h = next;
      history.invoke_write(h, "default", {writes[next]}, r.clock().now());
      op_to_history[r.client().write("default", {writes[next]}, r.gateway())] = h;
      ++next;
    }
  };
  r.on_done([&](OpResult res) {
    auto it = op_to_history.find(res.op);
    if (it == op_to_history.end()) return;
    const OpStatus status = res.error == ErrorCode::kOk ? OpStatus::kOk
                            : res.indeterminate         ? OpStatus::kUnknown
                                                        : OpStatus::kFailed;
    history.complete(it->second, status, r.clock().now());
    op_to_history.erase(it);
    ++completed;
    acked += status == OpStatus::kOk;
    if (!crashed && completed >= writes.size() / 3) {
      crashed = true;
      kill_peer(victim_a);
      kill_peer(victim_b);
    }
    r.progress();
    submit();
  });
  submit();
  ASSERT_TRUE(r.run(std::chrono::seconds(60))) << completed << " of " << writes.size() << " writes completed";
  ASSERT_TRUE(crashed);
  // Most writes go through: the survivors take the victims' ranges over.
  EXPECT_GT(acked, writes.size() * 8 / 10) << acked << " of " << writes.size() << " acknowledged";

  // One victim comes back from its database (same identity, same data_dir).
  start_peer(victim_a);
  ASSERT_TRUE(wait_healthy(std::chrono::seconds(40))) << "the ring did not heal after the restart";
  std::this_thread::sleep_for(std::chrono::seconds(6));  // anti-entropy rounds (2 s)

  // Final reads: every canonical looked up through the client, gateways in turn.
  FinalReads finals;
  std::size_t lookups_failed = 0;
  auto reader = client_via(victim_a);  // the restarted one as gateway
  ASSERT_NE(reader, nullptr);
  std::map<std::uint64_t, std::size_t> lookup_of;
  std::size_t next_lookup = 0;
  auto submit_lookups = [&] {
    while (lookup_of.size() < 32 && next_lookup < canonicals.size()) {
      lookup_of[reader->client().lookup("default", canonicals[next_lookup], reader->gateway())] = next_lookup;
      ++next_lookup;
    }
  };
  reader->on_done([&](OpResult res) {
    auto it = lookup_of.find(res.op);
    if (it == lookup_of.end()) return;
    const Cid& c = canonicals[it->second];
    if (res.error != ErrorCode::kOk) {
      ++lookups_failed;
    } else {
      auto& set = finals[{"default", c.ring_key()}];
      for (const Entry& e : res.entries) set.insert(entry_hash(e));
    }
    lookup_of.erase(it);
    reader->progress();
    submit_lookups();
  });
  submit_lookups();
  ASSERT_TRUE(reader->run(std::chrono::seconds(60)));
  EXPECT_EQ(lookups_failed, 0u);
  // Every canonical ever written is in finals (an unacknowledged insert may be missing:
  // give it an empty set so the checker judges it).
  for (const Cid& c : canonicals) finals[{"default", c.ring_key()}];
  const HistoryReport report = check_history(history, finals);
  EXPECT_TRUE(report.valid()) << report.describe();
  EXPECT_EQ(report.writes_ok, acked);

  // Stop everything, then verify every journal chain from the databases.
  for (LivePeer& p : peers_) kill_peer(p);
  for (const LivePeer& p : peers_) {
    auto db = SqliteStorage::open((p.data_dir / "kittengrad.sqlite").string(), SyncLevel::kNormal);
    ASSERT_TRUE(db.ok()) << db.error().detail;
    auto records = (*db)->load();
    ASSERT_TRUE(records.ok()) << records.error().detail;
    std::vector<JournalBlock> chain;
    for (const StorageRecord& rec : *records) {
      if (const auto* b = std::get_if<JournalBlock>(&rec.item)) chain.push_back(*b);
    }
    // Blocks are cut every second; the victim that never came back may have died before
    // its first. Every peer that ran to the end has cut some.
    if (&p != &victim_b) {
      ASSERT_FALSE(chain.empty()) << p.host_port() << " wrote no journal block";
    }
    const Result<bool> verified = verify_chain(chain, Hash256{});
    EXPECT_TRUE(verified.ok()) << p.host_port() << ": " << verified.error().detail;
  }
}

// SIGTERM on a peer holding over 100,000 entries: it hands them off (its log shows the
// progress), exits 0, and the three others (r = 3) then hold every acknowledged entry; the
// leaver restarts with the same identity and data and rejoins: the ring is healthy again.
TEST_F(LiveRing, GracefulLeaveHandsOffEverything) {
  make_peers(4);
  start_all();
  ASSERT_TRUE(wait_healthy(std::chrono::seconds(40))) << "the ring did not become healthy";
  bootstrap_from_everyone();
  // 134,000 entries: 2,000 canonicals of 67 updates. With 4 peers and r = 3 each peer
  // replicates three quarters of the keys, so the leaver holds about 100,000.
  const KeyPair author = keypair_from_u64(test_seed());
  std::vector<std::vector<Entry>> writes;
  for (std::size_t c = 0; c < 2000; ++c) {
    const Cid canonical = Cid::of_record("handoff canonical " + std::to_string(c));
    std::vector<Entry> w;
    for (std::size_t u = 0; u < 67; ++u) {
      w.push_back(make_entry(author, "default", canonical,
                             Cid::of_record("handoff update " + std::to_string(c) + "/" + std::to_string(u)),
                             static_cast<std::int64_t>(u)));
    }
    writes.push_back(std::move(w));
  }
  const auto order = ring_order();
  const std::vector<Entry> acked = write_all(peers_[order[0]], writes, 32);
  ASSERT_EQ(acked.size(), 134000u) << "every write should be acknowledged on a calm ring; first failures: "
                                    << ::testing::PrintToString(failures_);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  // The leaver: the peer holding the most (each holds about three quarters, as the ids
  // happen to fall; the most is over 100,000 since the four hold 3 x 134,000).
  LivePeer* most = nullptr;
  std::uint64_t most_entries = 0;
  for (LivePeer& p : peers_) {
    auto st = ask_peer(*parse_host_port(p.host_port()), admin::Query::kStats, std::chrono::milliseconds(3000));
    ASSERT_TRUE(st.ok()) << st.error().detail;
    const std::uint64_t n = stat(*st, "ns/default/store/entries");
    if (most == nullptr || n > most_entries) {
      most = &p;
      most_entries = n;
    }
  }
  LivePeer& leaver = *most;

  ::kill(leaver.pid, SIGTERM);
  const int status = wait_exit(leaver, std::chrono::seconds(120));
  ASSERT_EQ(status, 0) << "the leaver did not exit 0 within 120 s; log: " << leaver.log;
  const std::string log = read_file(leaver.log);
  EXPECT_NE(log.find("\"event\":\"leave_started\""), std::string::npos);
  EXPECT_NE(log.find("\"event\":\"handoff_progress\""), std::string::npos) << "no progress line";
  EXPECT_NE(log.find("\"event\":\"left\""), std::string::npos) << "did not finish the hand-off";
  // What it held, by its database.
  const std::set<Hash256> held = db_entries(leaver);
  EXPECT_GT(held.size(), 100000u);

  // The three others, each a replica of every key now, hold every acknowledged entry.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::vector<LivePeer*> survivors;
  for (LivePeer& p : peers_) {
    if (&p != &leaver) survivors.push_back(&p);
  }
  // Their databases are read after they stop; the ring is asked again after the restart.
  for (LivePeer* p : survivors) kill_peer(*p);
  for (const LivePeer* p : survivors) {
    const std::set<Hash256> has = db_entries(*p);
    std::size_t missing = 0;
    for (const Entry& e : acked) missing += has.count(entry_hash(e)) == 0;
    EXPECT_EQ(missing, 0u) << p->host_port() << " lacks " << missing << " acknowledged entries";
  }

  // Everyone back, the leaver with the same identity and data: a healthy ring. A cold start
  // of a whole ring, as an operator does it: one peer starts it (its config has no
  // bootstrap), the others join through whoever answers.
  write_config(static_cast<std::size_t>(survivors[0] - peers_.data()), "[]");
  start_peer(*survivors[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (std::size_t i = 1; i < survivors.size(); ++i) start_peer(*survivors[i]);
  start_peer(leaver);
  ASSERT_TRUE(wait_healthy(std::chrono::seconds(40))) << "the ring did not become healthy again";
  const std::string again = read_file(leaver.log);
  EXPECT_NE(again.find("\"event\":\"restored\""), std::string::npos);
}


// A raw UDP socket on loopback that speaks the session protocol as any party could: it
// makes sessions with its own key pair, and sends whatever bytes it likes.
class Attacker {
 public:
  Attacker(const asio::ip::udp::endpoint& target, std::uint64_t key)
      : target_(*address_of(target)),
        table_(session::SessionConfig{}, keypair_from_u64(key), std::array<std::uint8_t, 32>{}) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    timeval tv{0, 200000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    to_.sin_family = AF_INET;
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to_.sin_port = htons(target.port());
  }
  ~Attacker() { ::close(fd_); }

  void raw(std::span<const std::uint8_t> bytes) {
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_);
  }
  // Seals `plaintext` in this attacker's own (authenticated) session, handshaking first if
  // needed; returns the sealed datagram it sent.
  std::vector<std::uint8_t> sealed(std::span<const std::uint8_t> plaintext) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      const session::Outbound out = table_.seal(target_, plaintext, LiveLoopClock::now());
      if (table_.peer_at(target_, LiveLoopClock::now()) && !out.datagrams.empty()) {
        raw(out.datagrams.back());
        return out.datagrams.back();
      }
      for (const auto& d : out.datagrams) raw(d);
      // The response completes the handshake and flushes what was queued.
      std::vector<std::uint8_t> buf(2048);
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n > 0) {
        buf.resize(static_cast<std::size_t>(n));
        const session::Inbound in = table_.on_datagram(target_, buf, LiveLoopClock::now());
        for (const auto& d : in.replies) raw(d);
        if (!in.replies.empty()) return in.replies.back();
      }
    }
    ADD_FAILURE() << "the attacker could not make a session";
    return {};
  }
  // A datagram sealed in the established session, not sent.
  std::vector<std::uint8_t> seal_only(std::span<const std::uint8_t> plaintext) {
    const session::Outbound out = table_.seal(target_, plaintext, LiveLoopClock::now());
    EXPECT_EQ(out.datagrams.size(), 1u);
    return out.datagrams.empty() ? std::vector<std::uint8_t>{} : out.datagrams.back();
  }

 private:
  struct LiveLoopClock {
    static Time now() {
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    }
  };
  Address target_;
  session::SessionTable table_;
  int fd_ = -1;
  sockaddr_in to_{};
};

std::uint64_t stat(const std::vector<admin::Item>& items, const std::string& name) {
  const std::optional<std::uint64_t> v = admin::number_of(items, name);
  if (!v) ADD_FAILURE() << "no stat " << name;
  return v.value_or(0);
}

// Malformed, truncated, oversized, unauthenticated, replayed and forged datagrams, forged
// entries inside a valid session, and a handshake flood, at one live peer: each is refused
// and counted in its stats, an honest client is served throughout, and the peers' stores
// hold exactly what the honest client wrote.
TEST_F(LiveRing, AttacksAreRefusedCountedAndChangeNothing) {
  make_peers(3);
  start_all();
  ASSERT_TRUE(wait_healthy(std::chrono::seconds(40))) << "the ring did not become healthy";
  bootstrap_from_everyone();
  LivePeer& target = peers_[0];
  auto target_ep = parse_host_port(target.host_port());
  ASSERT_TRUE(target_ep.ok());
  const KeyPair author = keypair_from_u64(7);
  auto honest_writes = [&](std::size_t from, std::size_t n) {
    std::vector<std::vector<Entry>> w;
    for (std::size_t i = from; i < from + n; ++i) {
      const Cid c = Cid::of_record("honest " + std::to_string(i));
      w.push_back({make_entry(author, "default", c, c, static_cast<std::int64_t>(i))});
    }
    return w;
  };
  ASSERT_EQ(write_all(target, honest_writes(0, 50), 8).size(), 50u);

  // The flood runs in its own thread for the whole attack: 10,000 initiations with valid
  // signatures from fresh key pairs (made beforehand), sent from 50 source ports, again
  // and again until the honest client is done.
  std::vector<std::vector<std::uint8_t>> initiation_bytes;
  for (std::uint64_t key = 1000; key < 11000; ++key) {
    session::SessionTable t(session::SessionConfig{}, keypair_from_u64(key), std::array<std::uint8_t, 32>{});
    const std::vector<std::uint8_t> nothing(8, 0);
    const auto out = t.seal(*address_of(*target_ep), nothing,
                            std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count());
    initiation_bytes.insert(initiation_bytes.end(), out.datagrams.begin(), out.datagrams.end());
  }
  std::atomic<bool> flooding{true};
  std::atomic<std::size_t> initiations{0};
  std::thread flood([&] {
    std::vector<std::unique_ptr<Attacker>> senders;
    for (std::uint64_t k = 0; k < 50; ++k) senders.push_back(std::make_unique<Attacker>(*target_ep, k + 100));
    for (std::size_t i = 0; flooding || i < initiation_bytes.size(); ++i) {
      senders[i % senders.size()]->raw(initiation_bytes[i % initiation_bytes.size()]);
      ++initiations;
      if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });

  Attacker a(*target_ep, 42);
  const std::vector<std::uint8_t> ping = codec::encode(Message{"default", Ping{7}});
  // Malformed, truncated, oversized and unauthenticated (a whole valid message, unsealed).
  a.raw(std::vector<std::uint8_t>{});
  a.raw(std::vector<std::uint8_t>{4, 1, 2});
  a.raw(std::vector<std::uint8_t>(65000, 0x04));
  a.raw(ping);
  // Inside its own valid session: a datagram replayed, one forged (a flipped byte), one
  // whose plaintext does not decode, and a write of entries whose signatures are forged.
  const std::vector<std::uint8_t> sealed_ping = a.sealed(ping);
  ASSERT_FALSE(sealed_ping.empty());
  a.raw(sealed_ping);  // replay
  std::vector<std::uint8_t> forged = a.seal_only(ping);
  ASSERT_FALSE(forged.empty());
  forged[forged.size() / 2] ^= 0x20;
  a.raw(forged);
  (void)a.sealed(std::vector<std::uint8_t>{0x41, 0xff, 0xff});
  Entry fake = make_entry(keypair_from_u64(666), "default", Cid::of_record("forged"),
                          Cid::of_record("forged"), 1);
  fake.signature[0] ^= 1;
  (void)a.sealed(codec::encode(Message{"default", WriteRequest{9, {fake}}}));
  // Claims of another identity: a Notify with peer 1's key, a LeaveNotice in its name.
  (void)a.sealed(codec::encode(Message{"default", Notify{peers_[1].keys.public_key, {}}}));
  const NodeRef other{peers_[1].keys.ring_id(), *address_of(*parse_host_port(peers_[1].host_port()))};
  (void)a.sealed(codec::encode(Message{"default", LeaveNotice{other, {}, {}}}));

  // Meanwhile an honest client writes and reads through the attacked peer.
  const std::vector<Entry> during = write_all(target, honest_writes(50, 50), 8);
  EXPECT_EQ(during.size(), 50u) << "the honest client was not served during the attack";
  flooding = false;
  flood.join();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // replication settles

  auto stats = ask_peer(*target_ep, admin::Query::kStats, std::chrono::milliseconds(3000));
  ASSERT_TRUE(stats.ok()) << stats.error().detail;
  EXPECT_GE(stat(*stats, "transport/dropped/session"), 3u + 2u);  // raw, replay and forged
  EXPECT_GE(stat(*stats, "session/dropped/replayed"), 1u);
  EXPECT_GE(stat(*stats, "session/dropped/forged"), 1u);
  EXPECT_GE(stat(*stats, "transport/dropped/malformed"), 1u);
  EXPECT_GE(stat(*stats, "counters/bad_signatures"), 1u);
  EXPECT_EQ(stat(*stats, "transport/dropped/false_identity"), 2u);
  EXPECT_GT(stat(*stats, "session/cookies_sent"), 0u) << "the flood never met a cookie";
  // Cheap under the flood: far fewer signature checks than initiations.
  EXPECT_LT(stat(*stats, "session/signatures_verified"), initiations / 4) << initiations << " initiations";
  // Every peer holds the honest 100 entries (r = 3 of 3 peers) and nothing else.
  for (const LivePeer& p : peers_) {
    auto ps = ask_peer(*parse_host_port(p.host_port()), admin::Query::kStats, std::chrono::milliseconds(3000));
    ASSERT_TRUE(ps.ok()) << ps.error().detail;
    EXPECT_EQ(stat(*ps, "ns/default/store/entries"), 100u) << p.host_port();
  }
}

}  // namespace
}  // namespace kittengrad::live
