// Bad input and wrong-peer operations are refused, with the right error, and change no
// stored state: wrong_peer with a correct redirect, unknown namespaces, forged or altered
// entries arriving from a client, through replication, anti-entropy and catch-up, and
// tampered journal blocks (in a catch-up reply and on disk). Also: namespaces are
// separate overlays, and journal subscriptions deliver blocks and live entries.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include "checkers.h"
#include "kittengrad/ring.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

// A raw node on the test network: sends any message and keeps what it receives.
class Probe : public Endpoint {
 public:
  explicit Probe(NetCore& core) : core_(core), addr_(core.add_client_node()) {
    core_.attach(addr_, this);
  }
  void send(Address to, Message m) { core_.node_env(addr_).network->send(to, std::move(m)); }
  void on_datagram(Address from, const Message& m) override { inbox.push_back({from, m}); }
  void on_persisted(std::uint64_t) override {}
  void on_wakeup() override {}
  [[nodiscard]] std::optional<Time> next_wakeup() const override { return std::nullopt; }

  template <typename T>
  std::vector<T> received() const {
    std::vector<T> out;
    for (const auto& [from, m] : inbox)
      if (const T* t = std::get_if<T>(&m.body)) out.push_back(*t);
    return out;
  }
  Address address() const { return addr_; }
  std::deque<std::pair<Address, Message>> inbox;

 private:
  NetCore& core_;
  Address addr_;
};

NetConfig quiet_config(std::uint64_t seed) {
  NetConfig c;
  c.seed = seed;
  c.repro = "./build/tests/refusals_test";
  return c;
}

// The r successors of key among the live peers, by the oracle's global view.
std::vector<std::size_t> true_replicas(const TestNetwork& net, const RingId& key) {
  const std::vector<std::size_t> order = net.ring_order();
  const auto r = static_cast<std::size_t>(net.config().peer.replication);
  std::vector<std::size_t> out;
  for (auto it : ring_successors(order, key, r,
                                 [&net](std::size_t slot) { return net.peer(slot)->self().id; })) {
    out.push_back(*it);
  }
  return out;
}

std::size_t total_entries(const TestNetwork& net, const std::string& ns = "default") {
  std::size_t n = 0;
  for (std::size_t s : net.up_slots()) n += net.peer(s)->store(ns)->entry_count();
  return n;
}

Entry forged(const Entry& good) {
  Entry e = good;
  e.update.bytes[10] ^= 1;  // altered after signing
  return e;
}

std::uint64_t bad_signatures(const TestNetwork& net) {
  std::uint64_t n = 0;
  for (std::size_t s = 0; s < net.peer_slots(); ++s)
    if (net.peer(s)) n += net.peer(s)->counters().bad_signatures;
  return n;
}

TEST(Refusals, WrongPeerCarriesTheTrueReplicaSet) {
  TestNetwork net(quiet_config(11));
  net.add_instant_ring(64);
  Probe probe(net.core());
  Rng rng = net.rng("keys");
  int checked = 0;
  for (int i = 0; i < 40; ++i) {
    const Cid canonical = Cid::of_record("wrong peer " + std::to_string(i));
    const std::vector<std::size_t> reps = true_replicas(net, canonical.ring_key());
    // Ask a peer that is not a replica: sometimes a neighbour, sometimes far away.
    std::size_t target = rng.below(64);
    while (std::count(reps.begin(), reps.end(), target)) target = rng.below(64);
    const std::size_t before = total_entries(net);
    probe.inbox.clear();
    probe.send(target, Message{"default", WriteRequest{100 + static_cast<std::uint64_t>(i),
                                                       {net.make_update(canonical)}}});
    net.run_for(5 * kMicrosPerSecond);
    const auto replies = probe.received<ClientReply>();
    ASSERT_EQ(replies.size(), 1u) << "seed 11, key " << i;
    EXPECT_EQ(replies[0].error, ErrorCode::kWrongPeer);
    ASSERT_EQ(replies[0].redirect.size(), reps.size());
    for (std::size_t k = 0; k < reps.size(); ++k)
      EXPECT_EQ(replies[0].redirect[k].addr, reps[k]) << "redirect position " << k;
    EXPECT_EQ(total_entries(net), before) << "a refused write changed stored state";
    ++checked;
  }
  EXPECT_EQ(checked, 40);
}

TEST(Refusals, UnknownNamespaceIsRefusedAndCounted) {
  TestNetwork net(quiet_config(12));
  net.add_instant_ring(8);
  Probe probe(net.core());
  const Cid canonical = Cid::of_record("unserved");
  Entry e = net.make_update(canonical);
  e.ns = "elsewhere";
  probe.send(0, Message{"elsewhere", WriteRequest{1, {e}}});
  probe.send(0, Message{"elsewhere", Replicate{2, {e}}});
  probe.send(0, Message{"elsewhere", ReadRequest{3, canonical}});
  net.run_for(2 * kMicrosPerSecond);
  const auto replies = probe.received<ClientReply>();
  ASSERT_EQ(replies.size(), 2u);
  for (const ClientReply& r : replies) EXPECT_EQ(r.error, ErrorCode::kUnknownNamespace);
  const auto refused = probe.received<Refused>();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].error, ErrorCode::kUnknownNamespace);
  EXPECT_EQ(net.peer(0)->counters().unknown_namespace, 3u);
  EXPECT_EQ(total_entries(net), 0u);
}

TEST(Refusals, ForgedEntriesAreRefusedOnEveryPath) {
  TestNetwork net(quiet_config(13));
  net.add_instant_ring(16);
  Probe probe(net.core());
  const Cid canonical = Cid::of_record("forgery");
  const std::size_t replica = true_replicas(net, canonical.ring_key()).front();
  const Entry bad = forged(net.make_update(canonical));
  ASSERT_FALSE(verify_entry(bad));

  // From a client: the whole batch is refused, good entries included.
  const Entry good = net.make_update(canonical);
  probe.send(replica, Message{"default", WriteRequest{1, {good, bad}}});
  net.run_for(2 * kMicrosPerSecond);
  auto replies = probe.received<ClientReply>();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].error, ErrorCode::kBadSignature);
  EXPECT_EQ(replies[0].index, 1u);
  EXPECT_EQ(total_entries(net), 0u);

  // Through replication.
  probe.send(replica, Message{"default", Replicate{2, {bad}}});
  // Through anti-entropy.
  const RingId self = net.peer(replica)->self().id;
  probe.send(replica, Message{"default", AeExchange{3, KeyRange{self, self}, {bad}, {}}});
  // Through a read reply nobody asked for (ignored), and a range page nobody asked for.
  probe.send(replica, Message{"default", RangeEntries{4, {bad}, std::nullopt}});
  net.run_for(2 * kMicrosPerSecond);
  const auto acks = probe.received<ReplicateAck>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].error, ErrorCode::kBadSignature);
  EXPECT_EQ(total_entries(net), 0u) << "a forged entry was stored";
  EXPECT_GE(bad_signatures(net), 3u);
}

enum class CatchUpAttack { kAlteredHeader, kAlteredEntry, kResignedForgery };

// A neighbour answers a returning peer's catch-up; its replies are attacked in flight.
// Altered blocks are refused whole (bad_blocks); a block the neighbour really signed that
// carries a forged entry verifies as a block, and the entry is refused (bad_signature).
void run_catch_up_attack(CatchUpAttack attack) {
  TestNetwork net(quiet_config(14));
  net.add_instant_ring(16);
  const std::size_t client = net.add_client();
  const std::size_t victim = net.ring_order()[5];
  std::vector<Cid> canonicals;
  for (int i = 0; i < 400 && canonicals.size() < 12; ++i) {
    const Cid c = Cid::of_record("catch-up " + std::to_string(i));
    const auto reps = true_replicas(net, c.ring_key());
    if (std::count(reps.begin(), reps.end(), victim)) canonicals.push_back(c);
  }
  ASSERT_FALSE(canonicals.empty());
  for (const Cid& c : canonicals) net.write(client, {net.make_update(c)}, victim);
  net.run_for(90 * kMicrosPerSecond);  // blocks cut; anti-entropy marks the neighbours
  net.crash(victim, /*disk_lost=*/false);
  for (const Cid& c : canonicals)
    net.write(client, {net.make_update(c)}, true_replicas(net, c.ring_key()).front());
  net.run_for(20 * kMicrosPerSecond);

  Entry planted;
  bool attacked = false;
  const Address victim_addr = victim;
  net.core().set_tamper([&](Address from, Address to, Message& m) {
    auto* reply = std::get_if<CatchUpReply>(&m.body);
    if (to != victim_addr || !reply || reply->blocks.empty()) return;
    for (FilteredBlock& b : reply->blocks) {
      if (b.included.empty()) continue;
      switch (attack) {
        case CatchUpAttack::kAlteredHeader:
          b.header.timestamp_ms += 1;
          break;
        case CatchUpAttack::kAlteredEntry:
          b.included.front().update.bytes[9] ^= 1;
          break;
        case CatchUpAttack::kResignedForgery: {
          b.included.front() = forged(b.included.front());
          planted = b.included.front();
          b.entry_hashes[b.positions.front()] = entry_hash(planted);
          b.header.entries_root = entries_root(b.entry_hashes);
          b.signature = sign(net.keys(from).secret_key, block_header_bytes(b.header));
          ASSERT_TRUE(verify_filtered_block(b).ok());
          break;
        }
      }
      attacked = true;
      return;  // one block per reply is enough
    }
  });
  net.recover(victim);
  net.run_for(10 * kMicrosPerSecond);
  ASSERT_TRUE(attacked) << "no catch-up reply with entries reached the victim (seed 14)";
  const Peer* p = net.peer(victim);
  ASSERT_NE(p, nullptr);
  if (attack == CatchUpAttack::kResignedForgery) {
    EXPECT_GT(p->counters().bad_signatures, 0u);
    const KeySlot* slot = p->store("default")->find(planted.key());
    const bool stored = slot && std::any_of(slot->entries.begin(), slot->entries.end(),
                                            [&](const StoredEntry& e) { return e.entry == planted; });
    EXPECT_FALSE(stored) << "a forged entry from catch-up was stored";
  } else {
    EXPECT_GT(p->counters().bad_blocks, 0u);
  }
}

TEST(Refusals, CatchUpBlockWithAlteredHeaderIsRejected) {
  run_catch_up_attack(CatchUpAttack::kAlteredHeader);
}
TEST(Refusals, CatchUpBlockWithAlteredEntryIsRejected) {
  run_catch_up_attack(CatchUpAttack::kAlteredEntry);
}
TEST(Refusals, CatchUpForgedEntryInSignedBlockIsRefused) {
  run_catch_up_attack(CatchUpAttack::kResignedForgery);
}

TEST(Refusals, CorruptedDurableJournalIsRefusedOnRestore) {
  TestNetwork net(quiet_config(15));
  net.add_instant_ring(4);
  const std::size_t client = net.add_client();
  for (int i = 0; i < 20; ++i)
    net.write(client, {net.make_update(Cid::of_record("disk " + std::to_string(i)))}, 0);
  net.run_for(30 * kMicrosPerSecond);
  std::vector<StorageRecord> records = net.core().durable(0);
  auto block = std::find_if(records.begin(), records.end(), [](const StorageRecord& r) {
    return std::holds_alternative<JournalBlock>(r.item);
  });
  ASSERT_NE(block, records.end()) << "no block was cut";
  std::get<JournalBlock>(block->item).entries.front().timestamp_ms += 1;
  NetCore& core = net.core();
  Peer fresh(net.config().peer, net.keys(0), 999, core.node_env(0), 1);
  fresh.serve("default");
  Result<bool> ok = fresh.restore(records);
  ASSERT_FALSE(ok.ok());
  EXPECT_EQ(ok.error().code, ErrorCode::kBadBlock);
  EXPECT_EQ(fresh.store("default")->entry_count(), 0u) << "a refused journal left entries";
}

TEST(Namespaces, AreSeparateOverlays) {
  NetConfig config = quiet_config(16);
  config.namespaces = {"art", "music"};
  TestNetwork net(config);
  net.add_instant_ring(32);
  const std::size_t client = net.add_client();
  for (int i = 0; i < 30; ++i) {
    const Cid c = Cid::of_record("ns " + std::to_string(i));
    net.write(client, {net.make_update(c, "art")}, static_cast<std::size_t>(i) % 32);
  }
  net.run_for(20 * kMicrosPerSecond);
  std::size_t acked = 0;
  for (const auto& [id, op] : net.ops()) acked += op.done && op.result.error == ErrorCode::kOk;
  EXPECT_EQ(acked, 30u);
  EXPECT_GE(total_entries(net, "art"), 60u);  // at least W = 2 copies each
  EXPECT_EQ(total_entries(net, "music"), 0u);
}

TEST(Subscription, DeliversBlocksAndLiveEntries) {
  TestNetwork net(quiet_config(17));
  net.add_instant_ring(8);
  const std::size_t client = net.add_client();
  Probe sub(net.core());
  sub.send(3, Message{"default", Subscribe{42, 1}});
  for (int i = 0; i < 40; ++i) {
    net.write(client, {net.make_update(Cid::of_record("sub " + std::to_string(i)))}, 3);
    net.run_for(500 * kMicrosPerMs);
  }
  net.run_for(20 * kMicrosPerSecond);
  const Journal& journal = *net.peer(3)->journal("default");
  std::vector<JournalBlock> blocks;
  std::size_t live = 0;
  for (const auto& b : sub.received<JournalBlocks>())
    blocks.insert(blocks.end(), b.blocks.begin(), b.blocks.end());
  for (const auto& l : sub.received<JournalLive>()) live += l.entries.size();
  ASSERT_GT(journal.height(), 0u);
  ASSERT_EQ(blocks.size(), journal.height()) << "every block cut reached the subscriber";
  EXPECT_TRUE(verify_chain(blocks, Hash256{}).ok());
  std::size_t in_blocks = 0;
  for (const auto& b : blocks) in_blocks += b.entries.size();
  EXPECT_EQ(in_blocks, journal.entries_total());
  EXPECT_GT(live, 0u);
}

}  // namespace
}  // namespace kittengrad::testnet
