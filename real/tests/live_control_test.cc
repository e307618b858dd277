// live_control_test.cc — the pieces `kittengrad live` runs peers with, without processes:
// the run's host addresses, the control datagrams (every truncation refused, signatures
// bound to a key and a listen text), a peer's transport faults (partition sides, loss,
// duplicates, latency, the delay queue's bound, which orders it obeys), the [runner]
// table, the members file and the latency draws.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <chrono>
#include <thread>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "kittengrad/real/live_config.h"
#include "kittengrad/real/live_control.h"
#include "live_control_members.h"
#include "live_faults.h"
#include "live_faults_latency.h"

namespace kittengrad::live {
namespace {

using Bytes = std::vector<std::uint8_t>;

asio::ip::udp::endpoint host_ep(std::size_t h, unsigned short port = 7400) {
  return {run_host_address(h), port};
}

// ---- hosts ----

TEST(RunHosts, AddressesAndIndicesRoundTrip) {
  EXPECT_EQ(run_host_address(0).to_string(), "127.77.0.1");
  EXPECT_EQ(run_host_address(254).to_string(), "127.77.0.255");
  EXPECT_EQ(run_host_address(255).to_string(), "127.77.1.0");
  EXPECT_EQ(run_host_address(kRunHostsMax - 1).to_string(), "127.77.255.254");
  for (std::size_t h : {std::size_t{0}, std::size_t{1}, std::size_t{255}, std::size_t{4095}, kRunHostsMax - 1}) {
    EXPECT_EQ(run_host_index(run_host_address(h)), h);
  }
  auto index = [](const char* a) { return run_host_index(asio::ip::make_address(a)); };
  EXPECT_EQ(index("127.77.0.0"), std::nullopt);
  EXPECT_EQ(index("127.77.255.255"), std::nullopt);
  EXPECT_EQ(index("127.0.0.1"), std::nullopt);
  EXPECT_EQ(index("127.78.0.1"), std::nullopt);
  EXPECT_EQ(index("10.77.0.1"), std::nullopt);
  EXPECT_EQ(index("::1"), std::nullopt);
  EXPECT_EQ(index("::ffff:127.77.0.3"), std::size_t{2});
}

// ---- the control datagrams ----

std::vector<ControlDatagram> samples(const KeyPair& runner) {
  return {sign_order("127.77.0.1:7400", 1, Partition{{0, 3, 200, 65533}}, runner),
          sign_order("127.77.0.1:7400", 300, Partition{{}}, runner),
          sign_order("127.77.0.1:7400", 1ull << 40, Heal{}, runner),
          sign_order("127.77.0.1:7400", 7, Loss{0.3, 60}, runner),
          ControlAck{12345}};
}

TEST(ControlWire, RoundTripsEveryKind) {
  ASSERT_TRUE(crypto_init());
  const KeyPair runner = keypair_from_u64(1);
  for (const ControlDatagram& d : samples(runner)) {
    const Bytes b = encode_control(d);
    EXPECT_TRUE(is_control(b));
    auto back = decode_control(b);
    ASSERT_TRUE(back.ok()) << back.error().detail;
    EXPECT_EQ(*back, d);
  }
}

TEST(ControlWire, EveryTruncationAndAnyTrailingByteIsRefused) {
  const KeyPair runner = keypair_from_u64(1);
  for (const ControlDatagram& d : samples(runner)) {
    const Bytes b = encode_control(d);
    for (std::size_t n = 0; n < b.size(); ++n) {
      auto r = decode_control(std::span<const std::uint8_t>(b.data(), n));
      ASSERT_FALSE(r.ok()) << "accepted " << n << " of " << b.size() << " bytes";
      EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
      EXPECT_FALSE(r.error().detail.empty());
    }
    Bytes longer = b;
    longer.push_back(0);
    EXPECT_FALSE(decode_control(longer).ok());
  }
}

TEST(ControlWire, OutOfRangeFieldsAreRefused) {
  const KeyPair runner = keypair_from_u64(1);
  auto refused = [](const ControlOrder& o, const char* field) {
    auto r = decode_control(encode_control(o));
    EXPECT_FALSE(r.ok()) << field;
    if (!r.ok()) {
      EXPECT_NE(r.error().detail.find(field), std::string::npos) << r.error().detail;
    }
  };
  refused(sign_order("x", 1, Partition{{3, 3}}, runner), "group");         // not increasing
  refused(sign_order("x", 1, Partition{{5, 2}}, runner), "group");
  refused(sign_order("x", 1, Partition{{static_cast<std::uint32_t>(kRunHostsMax)}}, runner), "group");
  refused(sign_order("x", 1, Loss{1.5, 1}, runner), "rate");
  refused(sign_order("x", 1, Loss{-0.1, 1}, runner), "rate");
  refused(sign_order("x", 1, Loss{std::nan(""), 1}, runner), "rate");
  refused(sign_order("x", 1, Loss{0.5, std::numeric_limits<double>::infinity()}, runner), "duration_s");
  refused(sign_order("x", 1, Loss{0.5, kLossSecondsMax * 2}, runner), "duration_s");
  Bytes b = encode_control(sign_order("x", 1, Heal{}, runner));
  b[3] = 9;  // the command tag (kind, tag, seq 1, command)
  EXPECT_FALSE(decode_control(b).ok());
  b = encode_control(ControlAck{1});
  b[1] = 2;
  EXPECT_FALSE(decode_control(b).ok());
}

TEST(ControlWire, SignatureBindsKeyListenTextSeqAndCommand) {
  const KeyPair runner = keypair_from_u64(1);
  const KeyPair other = keypair_from_u64(2);
  const ControlOrder o = sign_order("127.77.0.1:7400", 5, Partition{{1}}, runner);
  EXPECT_TRUE(verify_order(o, "127.77.0.1:7400", runner.public_key));
  EXPECT_FALSE(verify_order(o, "127.77.0.2:7400", runner.public_key));
  EXPECT_FALSE(verify_order(o, "127.77.0.1:7400", other.public_key));
  ControlOrder changed = o;
  changed.seq = 6;
  EXPECT_FALSE(verify_order(changed, "127.77.0.1:7400", runner.public_key));
  changed = o;
  changed.command = Partition{{2}};
  EXPECT_FALSE(verify_order(changed, "127.77.0.1:7400", runner.public_key));
  changed = o;
  changed.command = Heal{};
  EXPECT_FALSE(verify_order(changed, "127.77.0.1:7400", runner.public_key));
}

// ---- a peer's transport faults ----

struct Sent {
  asio::ip::udp::endpoint to;
  Bytes bytes;
  std::chrono::steady_clock::time_point at;
};

struct FaultsHarness {
  asio::io_context io;
  std::vector<Sent> sent;
  KeyPair runner = keypair_from_u64(1);
  std::unique_ptr<LiveFaults> faults;

  std::string listen_text;

  explicit FaultsHarness(std::size_t host, FaultSettings s = {}) {
    s.host = host;
    s.listen_text = listen_text = "127.77.0." + std::to_string(host + 1) + ":7400";
    if (!s.control_key) s.control_key = runner.public_key;
    faults = std::make_unique<LiveFaults>(io, std::move(s), [this](const asio::ip::udp::endpoint& to,
                                                                   std::span<const std::uint8_t> b) {
      sent.push_back({to, Bytes(b.begin(), b.end()), std::chrono::steady_clock::now()});
    });
  }
  LiveFaults::ControlOutcome order(std::uint64_t seq, const ControlCommand& c, const KeyPair* key = nullptr) {
    return faults->on_control(encode_control(sign_order(listen(), seq, c, key ? *key : runner)));
  }
  const std::string& listen() const { return listen_text; }
};

TEST(LiveFaults, PartitionCutsExactlyBetweenTheTwoSides) {
  const asio::ip::udp::endpoint outside(asio::ip::make_address("127.0.0.1"), 9000);
  for (const std::size_t self : {std::size_t{1}, std::size_t{4}}) {
    FaultsHarness h(self);
    ASSERT_TRUE(h.order(1, Partition{{1, 2}}).ack.has_value());
    EXPECT_TRUE(h.faults->partitioned());
    const bool self_in = self == 1;
    // Hosts 1, 2 are the group; 0, 3 and anything outside the block are the other side.
    for (std::size_t other : {0, 1, 2, 3}) {
      const bool other_in = other == 1 || other == 2;
      EXPECT_EQ(h.faults->admit(host_ep(other)), other_in == self_in) << self << " <- " << other;
      const std::size_t before = h.sent.size();
      h.faults->send(host_ep(other), Bytes{1, 2, 3});
      EXPECT_EQ(h.sent.size() - before, other_in == self_in ? 1u : 0u) << self << " -> " << other;
    }
    EXPECT_EQ(h.faults->admit(outside), !self_in);
    ASSERT_TRUE(h.order(2, Heal{}).ack.has_value());
    EXPECT_FALSE(h.faults->partitioned());
    for (std::size_t other : {0, 1, 2, 3}) EXPECT_TRUE(h.faults->admit(host_ep(other)));
    EXPECT_TRUE(h.faults->admit(outside));
    const FaultCounters& c = h.faults->counters();
    EXPECT_EQ(c.dropped_partition_in, self_in ? 3u : 2u);
    EXPECT_EQ(c.dropped_partition_out, 2u);
    EXPECT_EQ(c.control_accepted, 2u);
  }
}

TEST(LiveFaults, ObeysOnlySignedFreshOrdersAndAcksRepeats) {
  FaultsHarness h(0);
  const KeyPair stranger = keypair_from_u64(99);
  auto refused_as = [&](const LiveFaults::ControlOutcome& o, ControlRefusal r) {
    EXPECT_FALSE(o.ack.has_value());
    ASSERT_TRUE(o.refused.has_value());
    EXPECT_EQ(*o.refused, r);
  };
  refused_as(h.order(1, Partition{{0}}, &stranger), ControlRefusal::kBadSignature);
  EXPECT_FALSE(h.faults->partitioned());
  // Signed for another peer's listen text.
  refused_as(h.faults->on_control(encode_control(sign_order("127.77.0.2:7400", 1, Partition{{0}}, h.runner))),
             ControlRefusal::kBadSignature);
  EXPECT_FALSE(h.faults->partitioned());
  const auto ok = h.order(5, Partition{{0}});
  ASSERT_TRUE(ok.ack.has_value());
  auto ack = decode_control(*ok.ack);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(std::get<ControlAck>(*ack).seq, 5u);
  EXPECT_TRUE(h.faults->partitioned());
  refused_as(h.order(4, Heal{}), ControlRefusal::kReplayed);  // an older seq
  refused_as(h.order(0, Heal{}), ControlRefusal::kReplayed);
  EXPECT_TRUE(h.faults->partitioned());
  const auto again = h.order(5, Partition{{0}});  // the runner's retry: acked, not re-obeyed
  EXPECT_TRUE(again.ack.has_value());
  Bytes truncated = encode_control(sign_order(h.listen(), 6, Heal{}, h.runner));
  truncated.pop_back();
  refused_as(h.faults->on_control(truncated), ControlRefusal::kMalformed);
  refused_as(h.faults->on_control(encode_control(ControlAck{6})), ControlRefusal::kMalformed);
  EXPECT_TRUE(h.faults->partitioned());
  const FaultCounters& c = h.faults->counters();
  EXPECT_EQ(c.control_accepted, 1u);
  EXPECT_EQ(c.control_repeated, 1u);
  EXPECT_EQ(c.control_refused[static_cast<std::size_t>(ControlRefusal::kBadSignature)], 2u);
  EXPECT_EQ(c.control_refused[static_cast<std::size_t>(ControlRefusal::kReplayed)], 2u);
  EXPECT_EQ(c.control_refused[static_cast<std::size_t>(ControlRefusal::kMalformed)], 2u);
  EXPECT_EQ(c.control_refused_total(), 6u);
}

TEST(LiveFaults, WithoutAControlKeyEveryOrderIsRefused) {
  asio::io_context io;
  FaultSettings s;
  s.host = 0;
  s.listen_text = "127.77.0.1:7400";
  LiveFaults f(io, s, [](const asio::ip::udp::endpoint&, std::span<const std::uint8_t>) {});
  const auto out = f.on_control(encode_control(sign_order(s.listen_text, 1, Partition{{0}}, keypair_from_u64(1))));
  EXPECT_FALSE(out.ack.has_value());
  EXPECT_EQ(out.refused, ControlRefusal::kNoKey);
  EXPECT_FALSE(f.partitioned());
}

TEST(LiveFaults, LossAndDuplicateFollowTheirRates) {
  FaultSettings s;
  s.loss = 0.25;
  s.duplicate = 0.1;
  s.seed = 7;
  FaultsHarness h(0, s);
  constexpr int kSends = 20000;
  for (int i = 0; i < kSends; ++i) h.faults->send(host_ep(1), Bytes{1});
  const FaultCounters& c = h.faults->counters();
  EXPECT_NEAR(static_cast<double>(c.dropped_loss) / kSends, 0.25, 0.02);
  EXPECT_NEAR(static_cast<double>(c.duplicated) / (kSends - c.dropped_loss), 0.1, 0.02);
  EXPECT_EQ(h.sent.size(), kSends - c.dropped_loss + c.duplicated);
  EXPECT_EQ(c.dropped_loss_burst, 0u);
  // A burst adds its loss for its duration only.
  ASSERT_TRUE(h.order(1, Loss{1.0, 0.2}).ack.has_value());
  EXPECT_EQ(h.faults->burst_rate(), 1.0);
  const std::size_t before = h.sent.size();
  for (int i = 0; i < 100; ++i) h.faults->send(host_ep(1), Bytes{1});
  EXPECT_EQ(h.sent.size(), before);
  EXPECT_GT(c.dropped_loss_burst, 50u);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(h.faults->burst_rate(), 0.0);
  const std::uint64_t burst = c.dropped_loss_burst;
  for (int i = 0; i < 100; ++i) h.faults->send(host_ep(1), Bytes{1});
  EXPECT_EQ(c.dropped_loss_burst, burst);
}

TEST(LiveFaults, SameSeedSameDecisions) {
  auto run = [](std::uint64_t seed) {
    FaultSettings s;
    s.loss = 0.5;
    s.seed = seed;
    FaultsHarness h(3, s);
    for (std::uint8_t i = 0; i < 200; ++i) h.faults->send(host_ep(1), Bytes{i});
    Bytes got;
    for (const Sent& x : h.sent) got.push_back(x.bytes[0]);
    return got;
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

TEST(LiveFaults, LatencyDelaysInsideTheRunOnlyAndKeepsOrder) {
  LatencySpec spec;
  spec.model = LatencyModel::kConstant;
  spec.ms = 60;
  FaultSettings s;
  s.latency_s = *build_pair_latency(spec, 4, 1);
  s.latency_hosts = 4;
  FaultsHarness h(0, s);
  const auto start = std::chrono::steady_clock::now();
  for (std::uint8_t i = 0; i < 10; ++i) h.faults->send(host_ep(1), Bytes{i});
  h.faults->send(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 9), Bytes{100});
  h.faults->send(host_ep(7), Bytes{101});  // a host beyond the model's: no delay
  ASSERT_EQ(h.sent.size(), 2u);
  EXPECT_EQ(h.faults->delayed_now(), 10u);
  h.io.run_for(std::chrono::milliseconds(500));
  ASSERT_EQ(h.sent.size(), 12u);
  for (std::uint8_t i = 0; i < 10; ++i) {
    const Sent& x = h.sent[2 + i];
    EXPECT_EQ(x.bytes[0], i);
    const double ms = std::chrono::duration<double, std::milli>(x.at - start).count();
    EXPECT_GE(ms, 60.0);
    EXPECT_LT(ms, 400.0);
  }
  EXPECT_EQ(h.faults->counters().delayed, 10u);
}

TEST(LiveFaults, TheDelayQueueIsBounded) {
  LatencySpec spec;
  spec.ms = 10'000;
  FaultSettings s;
  s.latency_s = *build_pair_latency(spec, 2, 1);
  s.latency_hosts = 2;
  FaultsHarness h(0, s);
  for (std::size_t i = 0; i < kDelayedMax + 10; ++i) h.faults->send(host_ep(1), Bytes{1});
  EXPECT_EQ(h.faults->delayed_now(), kDelayedMax);
  EXPECT_EQ(h.faults->counters().delay_overflow, 10u);
  // The byte bound: 64 datagrams of 1 MiB fill it whatever the count.
  FaultsHarness big(0, s);
  const Bytes mib(1 << 20, 0);
  for (int i = 0; i < 70; ++i) big.faults->send(host_ep(1), mib);
  EXPECT_EQ(big.faults->delayed_now(), kDelayedBytesMax / mib.size());
  EXPECT_EQ(big.faults->counters().delay_overflow, 70u - kDelayedBytesMax / mib.size());
  EXPECT_TRUE(h.sent.empty());
}

// ---- latency draws ----

TEST(LiveLatency, ModelsGiveThePlatformsPairLatencies) {
  LatencySpec c;
  c.ms = 50;
  auto constant = build_pair_latency(c, 10, 1);
  ASSERT_TRUE(constant.ok());
  EXPECT_DOUBLE_EQ((*constant)(0, 9), 0.050);
  LatencySpec u;
  u.model = LatencyModel::kUniform;
  u.min_ms = 10;
  u.max_ms = 100;
  auto uniform = build_pair_latency(u, 200, 3);
  auto uniform_again = build_pair_latency(u, 200, 3);
  auto uniform_other = build_pair_latency(u, 200, 4);
  double lo = 1, hi = 0;
  for (std::size_t a = 0; a < 200; ++a) {
    const double l = (*uniform)(a, (a + 1) % 200);
    lo = std::min(lo, l);
    hi = std::max(hi, l);
    EXPECT_EQ(l, (*uniform_again)(a, (a + 1) % 200));
    // Symmetric access latencies: h_a + h_b.
    EXPECT_DOUBLE_EQ(l, (*uniform)((a + 1) % 200, a));
  }
  EXPECT_GE(lo, 0.010);
  EXPECT_LE(hi, 0.100);
  EXPECT_LT(lo, 0.030);
  EXPECT_GT(hi, 0.080);
  EXPECT_NE((*uniform)(0, 1), (*uniform_other)(0, 1));
  // A host's draw does not depend on how many hosts there are.
  EXPECT_EQ((*build_pair_latency(u, 5, 3))(2, 4), (*uniform)(2, 4));
  LatencySpec m;
  m.model = LatencyModel::kMatrix;
  EXPECT_FALSE(build_pair_latency(m, 4, 1).ok());
}

// ---- [runner] and the members file ----

std::string config_with(const std::string& listen, const std::string& runner, const std::string& bootstrap = "[]") {
  return "listen = \"" + listen + "\"\nidentity = \"k\"\ndata_dir = \"d\"\nbootstrap = " + bootstrap +
         "\n[overlay]\nreplication = 3\n[runner]\n" + runner;
}

TEST(RunnerConfig, ReadsEveryKey) {
  const std::string key(64, 'a');
  auto c = parse_peer_config(config_with("127.77.0.3:7400",
                                         "control_key = \"" + key + "\"\nmembers = \"members.txt\"\nseed = 42\n"
                                         "hosts = 5\nlatency = { model = \"uniform\", min_ms = 10, max_ms = 30 }\n"
                                         "loss = 0.01\nduplicate = 0.002\n"),
                             "peer.toml", "/run/x");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  ASSERT_TRUE(c->runner.has_value());
  const RunnerSettings& r = *c->runner;
  ASSERT_TRUE(r.control_key.has_value());
  EXPECT_EQ((*r.control_key)[0], 0xaa);
  EXPECT_EQ(r.members, "/run/x/members.txt");
  EXPECT_EQ(r.seed, 42u);
  EXPECT_EQ(r.hosts, 5u);
  ASSERT_TRUE(r.latency.has_value());
  EXPECT_EQ(r.latency->model, LatencyModel::kUniform);
  EXPECT_EQ(r.latency->max_ms, 30);
  EXPECT_EQ(r.loss, 0.01);
  EXPECT_EQ(r.duplicate, 0.002);
  EXPECT_EQ(c->peer.replication, 3);
  // Without [runner]: none.
  auto plain = parse_peer_config("listen = \"127.0.0.1:1\"\nidentity = \"k\"\ndata_dir = \"d\"\n", "p", "/");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->runner.has_value());
}

TEST(RunnerConfig, RefusesBadValuesNamingKeyAndLine) {
  auto refusal = [](const std::string& text) {
    auto c = parse_peer_config(text, "peer.toml", "/run/x");
    EXPECT_FALSE(c.ok()) << text;
    return c.ok() ? std::string() : c.error().detail;
  };
  // The [runner] header is line 7.
  EXPECT_EQ(refusal(config_with("127.77.0.1:1", "control_key = \"abc\"\n")),
            "peer.toml:8: runner.control_key: must be the runner's Ed25519 public key, 64 hex digits");
  EXPECT_EQ(refusal(config_with("127.77.0.1:1", "seed = 1\nfoo = 2\n")),
            "peer.toml:9: runner.foo: unknown key ([runner] takes control_key, members, seed, hosts, "
            "latency, loss and duplicate)");
  EXPECT_EQ(refusal(config_with("127.77.0.1:1", "hosts = 0\n")),
            "peer.toml:8: runner.hosts: must be an integer in [1, 65534]");
  EXPECT_EQ(refusal(config_with("127.77.0.1:1", "hosts = 2\nloss = 1.5\n")).substr(0, 26),
            "peer.toml:9: runner.loss: ");
  EXPECT_EQ(refusal(config_with("127.77.0.1:1", "hosts = 2\nlatency = { model = \"fast\" }\n")).substr(0, 37),
            "peer.toml:9: runner.latency.model: mu");
  // A latency file is read at start: one that is not a matrix is named, with its line.
  const std::string matrix = refusal(config_with("127.77.0.1:1", "hosts = 2\nlatency = { model = \"matrix\", file = \"/etc/hosts\" }\n"));
  EXPECT_EQ(matrix.rfind("peer.toml:9: runner.latency.file: ", 0), 0u) << matrix;
  EXPECT_NE(matrix.find("/etc/hosts"), std::string::npos) << matrix;
  EXPECT_EQ(refusal(config_with("127.77.0.1:1", "latency = { model = \"constant\", ms = 5 }\n")),
            "peer.toml:8: runner.hosts: missing: the hosts of the latency model");
  EXPECT_EQ(refusal(config_with("127.0.0.1:1", "seed = 1\n")),
            "peer.toml: listen: with [runner], must be a run host's address 127.77.X.Y (got 127.0.0.1:1)");
  EXPECT_EQ(refusal(config_with("127.77.0.1:1", "members = \"m\"\n", "[\"127.77.0.2:1\"]")),
            "peer.toml:8: runner.members: a ring that starts formed has no bootstrap: leave bootstrap = []");
  EXPECT_EQ(refusal("listen = \"127.77.0.1:1\"\nidentity = \"k\"\ndata_dir = \"d\"\nrunner = { seed = 1 }\n"),
            "peer.toml:4: runner: must be a [runner] table");
}

TEST(MembersFile, ReadsSortsAndRefusesBadLines) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kg-members-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "members").string();
  auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  std::string good = "# the ring\n";
  std::vector<RingId> ids;
  for (std::uint64_t i = 0; i < 5; ++i) {
    const KeyPair k = keypair_from_u64(i + 1);
    ids.push_back(k.ring_id());
    good += to_hex(k.public_key) + " 127.77.0." + std::to_string(i + 1) + ":7400\n";
  }
  write(good + "\n");
  auto m = load_members(path);
  ASSERT_TRUE(m.ok()) << m.error().detail;
  ASSERT_EQ(m->size(), 5u);
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ((*m)[i].id, ids[i]);
  auto refusal = [&](const std::string& text) {
    write(text);
    auto r = load_members(path);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.error().detail.substr(path.size());
  };
  const std::string key = to_hex(keypair_from_u64(1).public_key);
  EXPECT_EQ(refusal("# x\n" + key + "\n"), ":2: expected `PUBKEYHEX HOST:PORT`");
  EXPECT_EQ(refusal("abc 127.77.0.1:1\n"), ":1: the key must be 64 hex digits");
  EXPECT_EQ(refusal(key + " 127.77.0.1:1\n" + key + " 127.77.0.2:1\n"), ": a key is listed twice (" +
                                                                           keypair_from_u64(1).ring_id().short_hex() + ")");
  EXPECT_EQ(refusal(key + " 127.77.0.1:1\n" + to_hex(keypair_from_u64(2).public_key) + " 127.77.0.1:1\n"),
            ":2: 127.77.0.1:1 is listed twice");
  EXPECT_EQ(refusal(""), ": no members");
  EXPECT_NE(refusal(key + " nowhere\n").find(":1: "), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kittengrad::live
