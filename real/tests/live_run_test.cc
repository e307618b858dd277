// live_run_test.cc — `kittengrad peer` processes as `kittengrad live` runs them: each on its
// run host (127.77.0.X), with a [runner] table. A ring that starts formed from a members
// file answers at once; a partition ordered by the runner cuts a peer off from a client on
// the other side and a heal restores it; forged, replayed and truncated control datagrams
// are refused and counted and change nothing; a constant latency of 50 ms shows in a
// client's lookup round trips.
//
// Every process is started here and stopped by its PID (SIGKILL) in the fixture's
// teardown, also when an assertion fails.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/real/identity_file.h"
#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_control.h"
#include "live_admin_client.h"
#include "live_client_runner.h"

namespace kittengrad::live {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A free UDP port on `host`'s address.
int free_port(std::size_t host) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(run_host_address(host).to_uint());
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::uint64_t stat(const std::vector<admin::Item>& items, const std::string& name) {
  const std::optional<std::uint64_t> v = admin::number_of(items, name);
  if (!v) ADD_FAILURE() << "no stat " << name;
  return v.value_or(0);
}

struct RunPeer {
  std::size_t host = 0;
  int port = 0;
  KeyPair keys;
  fs::path config;
  fs::path log;
  pid_t pid = -1;
  std::string listen() const { return run_host_address(host).to_string() + ":" + std::to_string(port); }
  asio::ip::udp::endpoint endpoint() const {
    return {run_host_address(host), static_cast<unsigned short>(port)};
  }
};

class LiveRun : public ::testing::Test {
 protected:
  const KeyPair runner_ = keypair_from_u64(0x5EED);

  void SetUp() override {
    ASSERT_TRUE(crypto_init());
    dir_ = fs::temp_directory_path() / ("kg-live-run-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  void TearDown() override {
    for (RunPeer& p : peers_) {
      if (p.pid <= 0) continue;
      ::kill(p.pid, SIGKILL);
      ::waitpid(p.pid, nullptr, 0);
    }
    if (!HasFailure()) fs::remove_all(dir_);
    else std::cerr << "peer logs kept in " << dir_ << "\n";
  }

  // n peers on hosts 0..n-1 of a run of n + 1 hosts (the client is host n), the ring formed
  // from a members file; `network` is more of the [runner] table (latency, loss).
  void make_run(std::size_t n, const std::string& network = "") {
    std::string members;
    for (std::size_t i = 0; i < n; ++i) {
      RunPeer p;
      p.host = i;
      p.port = free_port(i);
      auto keys = load_or_create_identity((dir_ / ("peer-" + std::to_string(i) + ".key")).string());
      ASSERT_TRUE(keys.ok()) << keys.error().detail;
      p.keys = *keys;
      p.config = dir_ / ("peer-" + std::to_string(i) + ".toml");
      p.log = dir_ / ("peer-" + std::to_string(i) + ".log");
      members += to_hex(p.keys.public_key) + " " + p.listen() + "\n";
      peers_.push_back(p);
    }
    std::ofstream(dir_ / "members") << members;
    for (std::size_t i = 0; i < n; ++i) {
      std::ofstream(peers_[i].config)
          << "listen = \"" << peers_[i].listen() << "\"\n"
          << "identity = \"peer-" << i << ".key\"\n"
          << "data_dir = \"data-" << i << "\"\n"
          << "sync = \"normal\"\n"
          << "[overlay]\n"
          << "stabilize_interval_s = 0.3\ncheck_predecessor_interval_s = 0.3\n"
          << "fix_fingers_interval_s = 1\nanti_entropy_interval_s = 2\n"
          << "journal_block_interval_s = 1\nrequest_timeout_ms = 300\n"
          << "[runner]\n"
          << "control_key = \"" << to_hex(runner_.public_key) << "\"\n"
          << "members = \"members\"\n"
          << "seed = 7\n"
          << "hosts = " << n + 1 << "\n"
          << network;
    }
  }

  void start(RunPeer& p) {
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

  // Starts every peer; true once every one answers stats.
  bool start_all() {
    for (RunPeer& p : peers_) start(p);
    for (RunPeer& p : peers_) {
      if (!ask_peer(p.endpoint(), admin::Query::kStats, 5000ms).ok()) return false;
    }
    return true;
  }

  std::vector<admin::Item> stats(const RunPeer& p) {
    auto s = ask_peer(p.endpoint(), admin::Query::kStats, 3000ms);
    EXPECT_TRUE(s.ok()) << s.error().detail;
    return s.ok() ? *s : std::vector<admin::Item>{};
  }

  // A client on host `peers_.size()` (inside the run), asking `gateway` first.
  std::unique_ptr<ClientRunner> client_via(const RunPeer& gateway) {
    ClientOptions o;
    o.peer = gateway.listen();
    o.request_timeout_ms = 300;
    o.bind_host = run_host_address(peers_.size()).to_string();
    auto r = ClientRunner::open(o, "default", keypair_from_u64(0xC11E));
    EXPECT_TRUE(r.ok()) << r.error().detail;
    return r.ok() ? std::move(*r) : nullptr;
  }

  // One op, run to its end (or `limit` without an answer: a timeout result).
  static OpResult one(ClientRunner& r, const std::function<std::uint64_t()>& submit,
                      std::chrono::milliseconds limit = 5000ms) {
    OpResult out;
    out.error = ErrorCode::kTimeout;
    out.detail = "no answer within the test's limit";
    const std::uint64_t op = submit();
    r.on_done([&](OpResult res) {
      if (res.op == op) out = std::move(res);
    });
    (void)r.run(limit);
    return out;
  }

  // Writes one entry for each of `n` canonicals; returns the canonicals acknowledged.
  std::vector<Cid> write_canonicals(ClientRunner& r, std::size_t n) {
    const KeyPair author = keypair_from_u64(3);
    std::vector<Cid> acked;
    for (std::size_t i = 0; i < n; ++i) {
      const Cid c = Cid::of_record("run canonical " + std::to_string(i));
      const Entry e = make_entry(author, "default", c, c, static_cast<std::int64_t>(1000 + i));
      const OpResult res = one(r, [&] { return r.client().write("default", {e}, r.gateway()); });
      if (res.error == ErrorCode::kOk) acked.push_back(c);
      else ADD_FAILURE() << "write " << i << ": " << error_name(res.error) << " " << res.detail;
    }
    return acked;
  }

  // Looks each canonical up one at a time; the round trips (ms) of those that succeed.
  static std::vector<double> lookup_rtts_ms(ClientRunner& r, const std::vector<Cid>& canonicals,
                                            std::size_t* failed) {
    std::vector<double> rtts;
    *failed = 0;
    for (const Cid& c : canonicals) {
      const OpResult res = one(r, [&] { return r.client().lookup("default", c, r.gateway()); });
      if (res.error != ErrorCode::kOk || res.entries.size() != 1) {
        std::cerr << "lookup " << (&c - canonicals.data()) << " failed: " << error_name(res.error) << " "
                  << res.detail << " (" << res.entries.size() << " entries)\n";
        ++*failed;
        continue;
      }
      rtts.push_back(static_cast<double>(res.done - res.issued) / 1000.0);
    }
    return rtts;
  }

  // True once one pass of lookups through `gateway` finds every canonical, within `limit`.
  bool every_lookup_answers(const RunPeer& gateway, const std::vector<Cid>& canonicals,
                            std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    std::size_t passes = 0;
    while (std::chrono::steady_clock::now() < end) {
      auto c = client_via(gateway);
      if (c == nullptr) return false;
      std::size_t failed = 0;
      (void)lookup_rtts_ms(*c, canonicals, &failed);
      ++passes;
      if (failed == 0) {
        std::cerr << "every lookup through " << gateway.listen() << " answered at pass " << passes << "\n";
        return true;
      }
    }
    return false;
  }

  static double median(std::vector<double> v) {
    if (v.empty()) return -1;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

  fs::path dir_;
  std::vector<RunPeer> peers_;
};

// The ring of a members file stands from the first instant: every peer's successor is the
// next member in ring order before any stabilization round, and a client is answered.
TEST_F(LiveRun, InstantRingFromAMembersFileAnswersAtOnce) {
  make_run(4);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(start_all()) << "a peer did not answer stats";
  std::vector<std::size_t> order = {0, 1, 2, 3};
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return peers_[a].keys.ring_id() < peers_[b].keys.ring_id(); });
  for (std::size_t k = 0; k < 4; ++k) {
    const RunPeer& p = peers_[order[k]];
    auto ring = ask_peer(p.endpoint(), admin::Query::kRing, 3000ms);
    ASSERT_TRUE(ring.ok()) << ring.error().detail;
    EXPECT_EQ(admin::number_of(*ring, "ns/default/joined"), 1u) << p.listen();
    const auto succ = std::find_if(ring->begin(), ring->end(),
                                   [](const admin::Item& i) { return i.name == "ns/default/successor/0"; });
    ASSERT_NE(succ, ring->end()) << p.listen();
    EXPECT_EQ(std::get<std::string>(succ->value), peers_[order[(k + 1) % 4]].listen());
  }
  auto client = client_via(peers_[0]);
  ASSERT_NE(client, nullptr);
  const std::vector<Cid> written = write_canonicals(*client, 20);
  ASSERT_EQ(written.size(), 20u);
  auto reader = client_via(peers_[2]);
  ASSERT_NE(reader, nullptr);
  std::size_t failed = 0;
  const std::vector<double> rtts = lookup_rtts_ms(*reader, written, &failed);
  EXPECT_EQ(failed, 0u);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(elapsed, 10.0) << "start, 20 writes and 20 lookups";
  // Loopback without a latency model: the baseline the next test compares with.
  EXPECT_LT(median(rtts), 25.0);
  std::cerr << "lookup round trip without latency: median " << median(rtts) << " ms\n";
}

TEST_F(LiveRun, ConstantLatencyShowsInLookupRoundTrips) {
  make_run(4, "latency = { model = \"constant\", ms = 50 }\n");
  ASSERT_TRUE(start_all()) << "a peer did not answer stats";
  auto client = client_via(peers_[1]);
  ASSERT_NE(client, nullptr);
  const std::vector<Cid> written = write_canonicals(*client, 10);
  ASSERT_EQ(written.size(), 10u);
  std::size_t failed = 0;
  const std::vector<double> rtts = lookup_rtts_ms(*client, written, &failed);
  EXPECT_EQ(failed, 0u);
  ASSERT_FALSE(rtts.empty());
  // Every lookup waits for at least one answer from a peer to the client (host 4): 50 ms
  // (25 + 25 ms of access latency) each; a route and a read make two.
  EXPECT_GE(*std::min_element(rtts.begin(), rtts.end()), 50.0);
  EXPECT_LT(median(rtts), 400.0);
  std::cerr << "lookup round trip at 50 ms one way: median " << median(rtts) << " ms\n";
  std::uint64_t delayed = 0;
  for (const RunPeer& p : peers_) delayed += stat(stats(p), "transport/faults/delayed");
  EXPECT_GT(delayed, 0u);
}

TEST_F(LiveRun, PartitionCutsAPeerOffAndHealRestoresIt) {
  make_run(4);
  ASSERT_TRUE(start_all()) << "a peer did not answer stats";
  auto writer = client_via(peers_[0]);
  ASSERT_NE(writer, nullptr);
  const std::vector<Cid> written = write_canonicals(*writer, 10);
  ASSERT_EQ(written.size(), 10u);

  // Peer 3 alone on its side; the client (host 4) is on the other.
  std::uint64_t seq = 1;
  for (const RunPeer& p : peers_) {
    auto r = send_control(p.endpoint(), p.listen(), runner_, seq, Partition{{3}}, 3.0);
    ASSERT_TRUE(r.ok()) << r.error().detail;
  }
  RunPeer& cut = peers_[3];
  EXPECT_EQ(stat(stats(cut), "transport/faults/partitioned"), 1u);
  {
    auto c = client_via(cut);
    ASSERT_NE(c, nullptr);
    const OpResult res = one(*c, [&] { return c->client().lookup("default", written[0], c->gateway()); }, 3000ms);
    EXPECT_NE(res.error, ErrorCode::kOk) << "a peer cut off by a partition answered";
  }
  // The other side routes around the cut-off peer once its failure detection has seen it
  // (a few request timeouts; routes through it fail meanwhile, as in the simulator).
  EXPECT_TRUE(every_lookup_answers(peers_[1], written, 15s)) << "the majority side did not answer";
  const std::vector<admin::Item> during = stats(cut);
  EXPECT_GT(stat(during, "transport/faults/dropped_partition_in"), 0u);
  EXPECT_GT(stat(during, "transport/faults/dropped_partition_out"), 0u);

  ++seq;
  for (const RunPeer& p : peers_) {
    auto r = send_control(p.endpoint(), p.listen(), runner_, seq, Heal{}, 3.0);
    ASSERT_TRUE(r.ok()) << r.error().detail;
  }
  EXPECT_EQ(stat(stats(cut), "transport/faults/partitioned"), 0u);
  // The cut-off peer answers again. The two rings merge when a probe of a lost neighbour
  // gets through (one lost node a stabilize round, round-robin: with three lost, a probe
  // reaches a given one every third round), then a few rounds put the ring right; the
  // client's first requests may meet a session being set up again.
  EXPECT_TRUE(every_lookup_answers(cut, written, 45s)) << "the healed peer did not answer";
  if (HasFailure()) {
    for (const RunPeer& p : peers_) {
      std::cerr << "ring of " << p.listen() << ":";
      for (const admin::Item& i : stats(p)) {
        if (i.name.find("successor") != std::string::npos || i.name.find("predecessor") != std::string::npos ||
            i.name.find("store/entries") != std::string::npos || i.name.find("faults/") != std::string::npos ||
            i.name.find("session/dropped") != std::string::npos) {
          std::cerr << " " << i.name << "=";
          if (const auto* v = std::get_if<std::string>(&i.value)) std::cerr << *v;
          else std::cerr << std::get<std::uint64_t>(i.value);
        }
      }
      std::cerr << "\n";
    }
  }
}

// Raw datagrams to a peer's control port: nothing the runner did not sign for this peer
// with a fresh seq is obeyed or acknowledged.
class RawSocket {
 public:
  RawSocket() : socket_(io_) { socket_.open(asio::ip::udp::v4()); }
  void send(const asio::ip::udp::endpoint& to, const std::vector<std::uint8_t>& b) {
    socket_.send_to(asio::buffer(b), to);
  }
  // The acks that come back within `wait`.
  std::vector<std::uint64_t> acks(std::chrono::milliseconds wait) {
    std::vector<std::uint64_t> out;
    const auto end = std::chrono::steady_clock::now() + wait;
    std::array<std::uint8_t, 512> buf{};
    for (auto now = std::chrono::steady_clock::now(); now < end; now = std::chrono::steady_clock::now()) {
      pollfd pfd{socket_.native_handle(), POLLIN, 0};
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count();
      if (::poll(&pfd, 1, static_cast<int>(std::max<long>(ms, 1))) <= 0) continue;
      asio::ip::udp::endpoint from;
      const std::size_t n = socket_.receive_from(asio::buffer(buf), from);
      auto d = decode_control(std::span<const std::uint8_t>(buf.data(), n));
      if (d.ok() && std::holds_alternative<ControlAck>(*d)) out.push_back(std::get<ControlAck>(*d).seq);
    }
    return out;
  }

 private:
  asio::io_context io_;
  asio::ip::udp::socket socket_;
};

TEST_F(LiveRun, ForgedReplayedAndTruncatedControlIsRefusedAndCounted) {
  make_run(2);
  ASSERT_TRUE(start_all()) << "a peer did not answer stats";
  const RunPeer& p = peers_[0];
  ASSERT_TRUE(send_control(p.endpoint(), p.listen(), runner_, 10, Partition{{0}}, 3.0).ok());
  ASSERT_TRUE(send_control(p.endpoint(), p.listen(), runner_, 11, Loss{0.0, 1.0}, 3.0).ok());
  RawSocket raw;
  const KeyPair stranger = keypair_from_u64(0xBAD);
  raw.send(p.endpoint(), encode_control(sign_order(p.listen(), 12, Heal{}, stranger)));    // forged
  raw.send(p.endpoint(), encode_control(sign_order(peers_[1].listen(), 12, Heal{}, runner_)));  // not for it
  raw.send(p.endpoint(), encode_control(sign_order(p.listen(), 10, Heal{}, runner_)));     // replayed seq
  std::vector<std::uint8_t> truncated = encode_control(sign_order(p.listen(), 12, Heal{}, runner_));
  truncated.resize(truncated.size() - 1);
  raw.send(p.endpoint(), truncated);
  raw.send(p.endpoint(), encode_control(sign_order(p.listen(), 11, Loss{0.0, 1.0}, runner_)));  // a retry
  EXPECT_EQ(raw.acks(500ms), std::vector<std::uint64_t>{11}) << "only the retry of the last order is acked";

  const std::vector<admin::Item> s = stats(p);
  EXPECT_EQ(stat(s, "transport/faults/partitioned"), 1u) << "a refused heal changed the state";
  EXPECT_EQ(stat(s, "transport/control/accepted"), 2u);
  EXPECT_EQ(stat(s, "transport/control/repeated"), 1u);
  EXPECT_EQ(stat(s, "transport/control/refused/bad_signature"), 2u);
  EXPECT_EQ(stat(s, "transport/control/refused/replayed"), 1u);
  EXPECT_EQ(stat(s, "transport/control/refused/malformed"), 1u);
  EXPECT_EQ(stat(s, "transport/dropped/control_refused"), 4u);

  // The runner's own send names the peer when a key is wrong.
  auto wrong = send_control(p.endpoint(), p.listen(), stranger, 20, Heal{}, 0.3);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().detail.find(p.listen()), std::string::npos) << wrong.error().detail;
  EXPECT_NE(wrong.error().detail.find("heal (seq 20)"), std::string::npos) << wrong.error().detail;
  EXPECT_EQ(stat(stats(p), "transport/faults/partitioned"), 1u);
}

}  // namespace
}  // namespace kittengrad::live
