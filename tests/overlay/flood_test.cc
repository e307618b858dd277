// flood_test.cc — one peer under a flood of requests from thousands of forged senders.
//
// Every kind of request a peer answers arrives from 3,000 distinct addresses that are no
// peers of the ring (a spoofing attacker on the open Internet), at once and again a second
// later. The peer's tables must stay within their PeerConfig bounds, the counters must show
// the refusals, and an honest client's writes and lookups through the same peer must still
// succeed while the flood goes on.
#include <gtest/gtest.h>

#include <cstdio>

#include "checkers.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

constexpr Time kSecond = kMicrosPerSecond;
constexpr std::size_t kSenders = 3000;

// A raw node that sends whatever it is told and ignores its answers.
class Forger : public Endpoint {
 public:
  explicit Forger(NetCore& core) : core_(core), addr_(core.add_client_node()) {
    core_.attach(addr_, this);
  }
  void send(Address to, Message m) { core_.node_env(addr_).network->send(to, std::move(m)); }
  void on_datagram(Address, const Message&) override { ++received; }
  void on_persisted(std::uint64_t) override {}
  void on_wakeup() override {}
  [[nodiscard]] std::optional<Time> next_wakeup() const override { return std::nullopt; }
  std::uint64_t received = 0;

 private:
  NetCore& core_;
  Address addr_;
};

RingId random_id(Rng& rng) {
  RingId id;
  for (auto& b : id.bytes) b = static_cast<std::uint8_t>(rng.next_u64());
  return id;
}

// Every request a peer serves, as a forger would send it: ids, keys and ranges random,
// entries signed by a key of the forger's own (valid) or altered after signing.
std::vector<Body> flood_of(TestNetwork& net, const Peer& victim, Rng& rng, std::uint64_t i) {
  // Canonicals the victim holds, so that writes and reads reach its tables.
  Cid canonical;
  do {
    canonical = Cid::of_record("flood " + std::to_string(rng.next_u64()));
  } while (!victim.is_replica("default", canonical.ring_key()));
  Entry good = net.make_update(canonical);
  Entry bad = good;
  bad.update.bytes[5] ^= 1;
  const KeyRange range{random_id(rng), random_id(rng)};
  const KeyPair stranger = keypair_from_u64(rng.next_u64());
  return {
      FindSuccessor{i, random_id(rng)},
      GetNeighbours{i},
      Notify{stranger.public_key, {}},
      Ping{i},
      WriteRequest{i, {rng.chance(0.5) ? good : bad}},
      ReadRequest{i, canonical, std::nullopt},
      RouteRequest{i, random_id(rng)},
      Replicate{i, {good}},
      Replicate{i + 1, {bad}},
      ReadReplica{i, canonical.ring_key(), std::nullopt},
      AeDigest{i, range, RangeDigest{}, 0},
      AeMore{i, range, 0, 64},
      AeExchange{i, range, {good}, {1, 2, 3}},
      RangePull{i, range, std::nullopt},
      CatchUp{i, 0, {range}},
      Subscribe{i, 0},
  };
}

void expect_within_bounds(const TableSizes& t, const PeerConfig& c, const char* when) {
  EXPECT_LE(t.writes, c.pending_ops_max) << when;
  EXPECT_LE(t.reads, c.reads_max) << when;
  EXPECT_LE(t.lookups, c.lookups_max) << when;
  EXPECT_LE(t.persists, c.persists_max) << when;
  EXPECT_LE(t.subscribers, c.subscribers_max) << when;
}

TEST(Flood, ForgedSendersCannotGrowAPeerOrStopHonestClients) {
  ASSERT_TRUE(crypto_init());
  NetConfig cfg;
  cfg.seed = 77;
  cfg.repro = "./build/tests/flood_test";
  // Small bounds, so that the flood reaches every one of them.
  cfg.peer.reads_max = 64;
  cfg.peer.lookups_max = 32;
  cfg.peer.pending_ops_max = 64;
  cfg.peer.subscribers_max = 16;
  cfg.peer.persists_max = 256;
  cfg.peer.read_quorum = 2;  // a read waits for another replica: reads stay in the table
  cfg.client.request_timeout = 3 * cfg.peer.request_timeout;
  TestNetwork net(cfg);
  net.add_instant_ring(32);
  const std::size_t target = 0;
  const Peer* victim = net.peer(target);
  const std::string ns = "default";

  std::vector<std::unique_ptr<Forger>> forgers;
  for (std::size_t k = 0; k < kSenders; ++k) forgers.push_back(std::make_unique<Forger>(net.core()));

  // The honest client writes and reads through the victim, before, during and after.
  const std::size_t client = net.add_client();
  std::vector<Cid> written;
  Rng rng = net.rng("flood");
  auto honest_round = [&net, &written, client, target](int k) {
    const Cid c = Cid::of_record("honest " + std::to_string(k));
    written.push_back(c);
    net.write(client, {net.make_update(c)}, target);
    if (written.size() > 1) net.lookup(client, written[written.size() - 2], target);
  };

  TableSizes peak;
  auto sample = [&] {
    const TableSizes t = victim->table_sizes(ns);
    peak.writes = std::max(peak.writes, t.writes);
    peak.reads = std::max(peak.reads, t.reads);
    peak.lookups = std::max(peak.lookups, t.lookups);
    peak.persists = std::max(peak.persists, t.persists);
    peak.subscribers = std::max(peak.subscribers, t.subscribers);
    peak.ae_sessions = std::max(peak.ae_sessions, t.ae_sessions);
    peak.pending = std::max(peak.pending, t.pending);
    expect_within_bounds(t, victim->config(), "during the flood");
  };
  net.set_peer_hook([&](std::size_t slot) {
    if (slot == target) sample();
  });

  const PeerCounters before = victim->counters();
  std::uint64_t sent = 0;
  for (int wave = 0; wave < 2; ++wave) {
    net.at(net.now() + static_cast<Time>(wave) * kSecond, [&, wave] {
      for (std::size_t k = 0; k < kSenders; ++k) {
        for (Body& b : flood_of(net, *victim, rng, 1000 * k + static_cast<std::uint64_t>(wave))) {
          forgers[k]->send(target, Message{ns, std::move(b)});
          ++sent;
        }
      }
    });
  }
  for (int k = 0; k < 20; ++k) {
    net.at(net.now() + static_cast<Time>(k) * 200 * kMicrosPerMs, [&, k] { honest_round(k); });
  }
  net.run_for(30 * kSecond);
  net.set_peer_hook(nullptr);

  std::size_t writes_ok = 0, writes = 0, lookups_ok = 0, lookups = 0;
  for (const auto& [id, op] : net.ops()) {
    ASSERT_TRUE(op.done) << "an honest op never completed";
    if (op.result.error != ErrorCode::kOk) {
      std::printf("honest op %llu failed: %s\n", static_cast<unsigned long long>(id),
                  op.result.detail.c_str());
    }
    if (op.kind == OpKind::kWrite) {
      ++writes;
      writes_ok += op.result.error == ErrorCode::kOk;
    } else if (op.kind == OpKind::kLookup) {
      ++lookups;
      lookups_ok += op.result.error == ErrorCode::kOk;
    }
  }
  const PeerCounters& after = victim->counters();
  std::printf("%llu forged requests from %zu senders\n", static_cast<unsigned long long>(sent),
              kSenders);
  std::printf("peak tables: writes %zu/%zu reads %zu/%zu lookups %zu/%zu persists %zu/%zu "
              "subscribers %zu/%zu ae_sessions %zu pending %zu\n",
              peak.writes, victim->config().pending_ops_max, peak.reads, victim->config().reads_max,
              peak.lookups, victim->config().lookups_max, peak.persists,
              victim->config().persists_max, peak.subscribers, victim->config().subscribers_max,
              peak.ae_sessions, peak.pending);
  std::printf("refused: overloaded %llu, bad signatures %llu, malformed %llu, wrong peer %llu\n",
              static_cast<unsigned long long>(after.overloaded - before.overloaded),
              static_cast<unsigned long long>(after.bad_signatures - before.bad_signatures),
              static_cast<unsigned long long>(after.malformed - before.malformed),
              static_cast<unsigned long long>(after.wrong_peer - before.wrong_peer));
  std::printf("honest client during the flood: writes %zu/%zu ok, lookups %zu/%zu ok\n", writes_ok,
              writes, lookups_ok, lookups);

  expect_within_bounds(peak, victim->config(), "at the peak");
  EXPECT_EQ(after.oversized_sent, 0u) << "the victim sent a message larger than a datagram";
  // The flood reached the bounds, and the refusals are counted.
  EXPECT_EQ(peak.subscribers, victim->config().subscribers_max);
  EXPECT_GT(after.overloaded, before.overloaded);
  EXPECT_GT(after.bad_signatures, before.bad_signatures);
  // The honest client still gets its work done.
  EXPECT_EQ(writes, 20u);
  EXPECT_GE(writes_ok, 19u);
  EXPECT_GE(lookups_ok, lookups - 1);
  EXPECT_GT(lookups, 0u);
  // Nothing the honest client wrote was lost, and no forged entry was stored anywhere.
  for (std::size_t s : net.up_slots()) {
    const Store* store = net.peer(s)->store(ns);
    store->for_each([&](const RingId&, const KeySlot& slot) {
      for (const StoredEntry& e : slot.entries) EXPECT_TRUE(verify_entry(e.entry)) << "slot " << s;
    });
  }
}

}  // namespace
}  // namespace kittengrad::testnet
