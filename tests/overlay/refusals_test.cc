// Bad input and wrong-peer operations are refused, with the right error, and change no
// stored state: wrong_peer with a correct redirect, unknown namespaces, forged or altered
// entries on every path an entry can arrive by (a client's write, Replicate, anti-entropy
// as responder and as initiator, range pages, read replies, catch-up blocks, and the
// subscriber's side of a journal feed), each counted on its own path, and tampered
// journal blocks (in a catch-up reply and on disk). Replies to no pending request are
// dropped unread. Also: namespaces are separate overlays, and journal subscriptions
// deliver blocks and live entries.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include "checkers.h"
#include "kittengrad/follower.h"
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

// Three kinds of forgery of a good entry, by index: a field altered after signing, the
// signature made by another key (the author field kept), a bit of the signature flipped.
Entry forgery(const Entry& good, std::size_t i) {
  Entry e = good;
  switch (i % 3) {
    case 0:
      e.update.bytes[10] ^= 1;
      break;
    case 1:
      e.signature = sign(keypair_from_u64(0xbad).secret_key, entry_signing_bytes(e));
      break;
    default:
      e.signature[17] ^= 0x40;
      break;
  }
  return e;
}

std::uint64_t bad_signatures(const TestNetwork& net) {
  std::uint64_t n = 0;
  for (std::size_t s = 0; s < net.peer_slots(); ++s)
    if (net.peer(s)) n += net.peer(s)->counters().bad_signatures;
  return n;
}

// The per-path refusals summed over every peer of the network.
RefusedEntries refused_by_path(const TestNetwork& net) {
  RefusedEntries sum;
  for (std::size_t s = 0; s < net.peer_slots(); ++s) {
    if (!net.peer(s)) continue;
    const RefusedEntries& r = net.peer(s)->counters().bad_signatures_by_path;
    sum.client_write += r.client_write;
    sum.replicate += r.replicate;
    sum.ae_responder += r.ae_responder;
    sum.ae_initiator += r.ae_initiator;
    sum.range_page += r.range_page;
    sum.read_reply += r.read_reply;
    sum.catch_up += r.catch_up;
  }
  return sum;
}

// What every peer stores: entry count, digest of the whole store, journal entries, and
// whether anything is pending persistence-side (journal pending).
struct StoredState {
  std::vector<std::size_t> entries, journalled;
  std::vector<RangeDigest> digests;
  bool operator==(const StoredState&) const = default;
};

StoredState stored_state(const TestNetwork& net) {
  StoredState s;
  for (std::size_t slot = 0; slot < net.peer_slots(); ++slot) {
    const Peer* p = net.peer(slot);
    if (p == nullptr) continue;
    s.entries.push_back(p->store("default")->entry_count());
    s.digests.push_back(p->store("default")->digest(RingId{}, RingId{}));
    s.journalled.push_back(p->journal("default")->entries_total() +
                           p->journal("default")->pending().size());
  }
  return s;
}

std::size_t holders_of(const TestNetwork& net, const std::vector<Entry>& entries) {
  std::size_t n = 0;
  for (std::size_t slot = 0; slot < net.peer_slots(); ++slot) {
    const Peer* p = net.peer(slot);
    if (p == nullptr) continue;
    for (const Entry& e : entries) n += p->store(e.ns)->contains(e);
  }
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
  probe.send(0, Message{"elsewhere", ReadRequest{3, canonical, std::nullopt}});
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

TEST(Refusals, ClientWriteWithAForgedEntryIsRefusedWhole) {
  TestNetwork net(quiet_config(13));
  net.add_instant_ring(16);
  Probe probe(net.core());
  const Cid canonical = Cid::of_record("forgery");
  const std::size_t replica = true_replicas(net, canonical.ring_key()).front();
  const Entry good = net.make_update(canonical);
  for (std::size_t kind = 0; kind < 3; ++kind) {
    const Entry bad = forgery(net.make_update(canonical), kind);
    ASSERT_FALSE(verify_entry(bad));
    const StoredState before = stored_state(net);
    probe.inbox.clear();
    probe.send(replica, Message{"default", WriteRequest{1 + kind, {good, bad}}});
    net.run_for(2 * kMicrosPerSecond);
    const auto replies = probe.received<ClientReply>();
    ASSERT_EQ(replies.size(), 1u) << "forgery kind " << kind;
    EXPECT_EQ(replies[0].error, ErrorCode::kBadSignature);
    EXPECT_EQ(replies[0].index, 1u);
    EXPECT_EQ(stored_state(net), before) << "a refused batch changed stored state";
    EXPECT_EQ(refused_by_path(net), (RefusedEntries{.client_write = kind + 1}));
  }
  EXPECT_EQ(holders_of(net, {good}), 0u) << "the good entry of a refused batch was stored";
}

TEST(Refusals, ForgedEntriesInReplicateAreRefused) {
  TestNetwork net(quiet_config(13));
  net.add_instant_ring(16);
  Probe probe(net.core());
  const Cid canonical = Cid::of_record("forgery");
  const std::size_t replica = true_replicas(net, canonical.ring_key()).front();
  std::vector<Entry> bad;
  for (std::size_t i = 0; i < 3; ++i) bad.push_back(forgery(net.make_update(canonical), i));
  const Entry other_ns = net.make_update(canonical, "elsewhere");  // valid, wrong namespace
  ASSERT_TRUE(verify_entry(other_ns));
  bad.push_back(other_ns);
  const StoredState before = stored_state(net);
  probe.send(replica, Message{"default", Replicate{2, bad}});
  net.run_for(2 * kMicrosPerSecond);
  const auto acks = probe.received<ReplicateAck>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].error, ErrorCode::kBadSignature);
  EXPECT_EQ(stored_state(net), before) << "a forged entry was stored";
  EXPECT_EQ(refused_by_path(net), (RefusedEntries{.replicate = 4}));
  EXPECT_EQ(bad_signatures(net), 4u);
}

TEST(Refusals, ForgedEntriesInAnUnsolicitedAeExchangeAreRefused) {
  // The responder keeps no session: any peer may open an exchange, so its entries are
  // verified like any others.
  TestNetwork net(quiet_config(13));
  net.add_instant_ring(16);
  Probe probe(net.core());
  const Cid canonical = Cid::of_record("forgery");
  const std::size_t replica = true_replicas(net, canonical.ring_key()).front();
  std::vector<Entry> bad;
  for (std::size_t i = 0; i < 3; ++i) bad.push_back(forgery(net.make_update(canonical), i));
  const StoredState before = stored_state(net);
  const RingId self = net.peer(replica)->self().id;
  probe.send(replica, Message{"default", AeExchange{3, KeyRange{self, self}, bad, {}}});
  net.run_for(2 * kMicrosPerSecond);
  EXPECT_EQ(probe.received<AeEntries>().size(), 1u) << "the exchange was not answered";
  EXPECT_EQ(stored_state(net), before) << "a forged entry was stored";
  EXPECT_EQ(refused_by_path(net), (RefusedEntries{.ae_responder = 3}));
}

TEST(Refusals, UnsolicitedRepliesAreDroppedUnread) {
  // Replies that answer no pending request are dropped before anything in them is looked
  // at, forged or not: nothing is stored, and no verification is spent on them.
  TestNetwork net(quiet_config(13));
  net.add_instant_ring(16);
  Probe probe(net.core());
  const Cid canonical = Cid::of_record("forgery");
  const std::size_t replica = true_replicas(net, canonical.ring_key()).front();
  const Entry good = net.make_update(canonical);
  const std::vector<Entry> both = {good, forgery(net.make_update(canonical), 0)};
  const StoredState before = stored_state(net);
  probe.send(replica, Message{"default", AeEntries{9001, both}});
  probe.send(replica, Message{"default", RangeEntries{9002, both, std::nullopt}});
  probe.send(replica, Message{"default", ReadReplicaReply{9003, both}});
  net.run_for(2 * kMicrosPerSecond);
  EXPECT_EQ(stored_state(net), before);
  EXPECT_EQ(holders_of(net, {good}), 0u) << "a valid entry in an unsolicited reply was stored";
  EXPECT_EQ(refused_by_path(net), RefusedEntries{});
}

// ---- Forged entries in replies to real requests, and in peers' own requests ----
//
// A man in the middle rewrites the first message of one kind that carries entries: in one
// run with forgeries of its entries, in a control run (same seed) with no entries at all.
// A peer that refuses every forgery ends with exactly the state of the control run, and
// counts each forgery once, on that path alone.

enum class Rewrite { kForge, kEmpty };

struct PathRun {
  std::unique_ptr<TestNetwork> net;
  std::vector<Entry> forged;  // what the man in the middle put in (kForge)
  std::vector<Entry> looked_up;  // the lookups' results, in order
  bool rewritten = false;
};

template <typename T>
std::vector<Entry>* entries_of_kind(Message& m) {
  if (auto* t = std::get_if<T>(&m.body)) return &t->entries;
  return nullptr;
}

// A ring of 6 whose `victim` lacks some entries: its copies of the Replicates for the
// `lacking` keys are emptied in flight (the coordinators are other replicas). With
// `common` keys written before, the victim and its neighbours differ by a few entries
// (anti-entropy reconciles by coded symbols: AeExchange, AeEntries); without, the victim
// holds nothing and ranges are paged (RangeEntries). With R = 3, lookups merge the other
// replicas' sets (ReadReplicaReply). Then 120 s of anti-entropy.
template <typename Kind>
PathRun run_with_rewrite(Rewrite rewrite, bool common, std::uint64_t seed) {
  PathRun run;
  NetConfig config = quiet_config(seed);
  config.peer.read_quorum = 3;
  config.client.route_first = false;  // the gateway coordinates: never the victim
  run.net = std::make_unique<TestNetwork>(config);
  TestNetwork& net = *run.net;
  net.add_instant_ring(6);
  const std::size_t client = net.add_client();
  const std::size_t victim = net.ring_order()[2];
  bool starve_victim = false;
  net.core().set_tamper([&run, &starve_victim, rewrite, victim](Address, Address to, Message& m) {
    if (starve_victim && to == victim) {
      if (auto* r = std::get_if<Replicate>(&m.body)) r->entries.clear();
    }
    std::vector<Entry>* entries = entries_of_kind<Kind>(m);
    if (run.rewritten || entries == nullptr || entries->empty() || to >= kClientBase) return;
    run.rewritten = true;
    if (rewrite == Rewrite::kForge) {
      for (std::size_t i = 0; i < entries->size(); ++i)
        (*entries)[i] = forgery((*entries)[i], i);
      run.forged = *entries;
    } else {
      entries->clear();
    }
  });
  auto write_avoiding_victim = [&](const std::string& name) {
    const Cid c = Cid::of_record(name);
    const auto reps = true_replicas(net, c.ring_key());
    const auto coordinator = std::find_if(reps.begin(), reps.end(),
                                          [&](std::size_t s) { return s != victim; });
    net.write(client, {net.make_update(c)}, *coordinator);
    return std::pair{c, reps};
  };
  if (common) {
    for (int i = 0; i < 30; ++i) write_avoiding_victim("common " + std::to_string(i));
    net.run_for(10 * kMicrosPerSecond);
  }
  starve_victim = true;
  std::vector<Cid> lacking;
  for (int i = 0; i < 400 && lacking.size() < 8; ++i) {
    const Cid c = Cid::of_record("lacking " + std::to_string(i));
    const auto reps = true_replicas(net, c.ring_key());
    // Both roles: keys the victim reconciles first-hand, and keys a neighbour does.
    const bool wanted = lacking.size() % 2 == 0 ? reps.front() == victim
                                                : std::count(reps.begin(), reps.end(), victim) &&
                                                      reps.front() != victim;
    if (!wanted) continue;
    write_avoiding_victim("lacking " + std::to_string(i));
    lacking.push_back(c);
  }
  net.run_for(10 * kMicrosPerSecond);
  starve_victim = false;
  for (const Cid& c : lacking) net.lookup(client, c, true_replicas(net, c.ring_key()).back());
  net.run_for(120 * kMicrosPerSecond);
  for (const auto& [id, op] : net.ops()) {
    if (op.kind != OpKind::kLookup) continue;
    EXPECT_TRUE(op.done);
    run.looked_up.insert(run.looked_up.end(), op.result.entries.begin(), op.result.entries.end());
  }
  return run;
}

// Runs both and checks: the forged run refused n forgeries on `path` and nowhere else,
// and every peer ends as in the control run.
template <typename Kind>
void expect_refused_on_path(bool common, std::uint64_t RefusedEntries::*path,
                            std::uint64_t seed) {
  PathRun forged = run_with_rewrite<Kind>(Rewrite::kForge, common, seed);
  PathRun control = run_with_rewrite<Kind>(Rewrite::kEmpty, common, seed);
  ASSERT_TRUE(forged.rewritten && control.rewritten)
      << "no message of the kind carried entries (seed " << seed << ")";
  ASSERT_FALSE(forged.forged.empty());
  for (const Entry& e : forged.forged) ASSERT_FALSE(verify_entry(e));
  RefusedEntries expected;
  expected.*path = forged.forged.size();
  EXPECT_EQ(refused_by_path(*forged.net), expected) << "seed " << seed;
  EXPECT_EQ(refused_by_path(*control.net), RefusedEntries{}) << "seed " << seed;
  EXPECT_EQ(holders_of(*forged.net, forged.forged), 0u) << "a forgery was stored";
  EXPECT_EQ(stored_state(*forged.net), stored_state(*control.net))
      << "forgeries changed what the peers store (seed " << seed << ")";
  for (std::size_t slot = 0; slot < forged.net->peer_slots(); ++slot) {
    EXPECT_TRUE(forged.net->peer(slot)->store("default")->same_contents(
        *control.net->peer(slot)->store("default")))
        << "peer " << slot << " differs from the control run";
  }
  EXPECT_EQ(forged.looked_up, control.looked_up) << "forgeries changed what lookups return";
  for (const Entry& e : forged.looked_up) EXPECT_TRUE(verify_entry(e)) << "a lookup served a forgery";
}

TEST(Refusals, ForgedEntriesInASolicitedAeExchangeAreRefused) {
  expect_refused_on_path<AeExchange>(true, &RefusedEntries::ae_responder, 31);
}
TEST(Refusals, ForgedEntriesInAeEntriesAreRefused) {
  expect_refused_on_path<AeEntries>(true, &RefusedEntries::ae_initiator, 32);
}
TEST(Refusals, ForgedEntriesInARangePageAreRefused) {
  expect_refused_on_path<RangeEntries>(false, &RefusedEntries::range_page, 33);
}
TEST(Refusals, ForgedEntriesInAReadReplyAreRefused) {
  expect_refused_on_path<ReadReplicaReply>(true, &RefusedEntries::read_reply, 34);
}

enum class CatchUpAttack { kAlteredHeader, kAlteredEntry };

// A neighbour answers a returning peer's catch-up; its replies are attacked in flight.
// Altered blocks are refused whole (bad_blocks).
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

  bool attacked = false;
  const Address victim_addr = victim;
  net.core().set_tamper([&](Address, Address to, Message& m) {
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
  EXPECT_GT(p->counters().bad_blocks, 0u);
}

TEST(Refusals, CatchUpBlockWithAlteredHeaderIsRejected) {
  run_catch_up_attack(CatchUpAttack::kAlteredHeader);
}
TEST(Refusals, CatchUpBlockWithAlteredEntryIsRejected) {
  run_catch_up_attack(CatchUpAttack::kAlteredEntry);
}
// A block its neighbour really signed (the man in the middle holds the neighbour's key)
// that carries forged entries verifies as a block; each entry is refused. The control run
// carries the same header and signature, with the forged entries left out of the block
// (filtered away), so both runs link, mark and catch up alike.
struct CatchUpRun {
  std::unique_ptr<TestNetwork> net;
  std::vector<Entry> forged;
  std::size_t victim = 0;
};

CatchUpRun run_catch_up_rewrite(Rewrite rewrite) {
  CatchUpRun run;
  run.net = std::make_unique<TestNetwork>(quiet_config(14));
  TestNetwork& net = *run.net;
  net.add_instant_ring(16);
  const std::size_t client = net.add_client();
  const std::size_t victim = net.ring_order()[5];
  run.victim = victim;
  std::vector<Cid> canonicals;
  for (int i = 0; i < 400 && canonicals.size() < 12; ++i) {
    const Cid c = Cid::of_record("catch-up " + std::to_string(i));
    const auto reps = true_replicas(net, c.ring_key());
    if (std::count(reps.begin(), reps.end(), victim)) canonicals.push_back(c);
  }
  for (const Cid& c : canonicals) net.write(client, {net.make_update(c)}, victim);
  net.run_for(90 * kMicrosPerSecond);
  net.crash(victim, /*disk_lost=*/false);
  for (const Cid& c : canonicals)
    net.write(client, {net.make_update(c)}, true_replicas(net, c.ring_key()).front());
  net.run_for(20 * kMicrosPerSecond);
  bool done = false;
  net.core().set_tamper([&net, &run, &done, rewrite, victim](Address from, Address to, Message& m) {
    auto* reply = std::get_if<CatchUpReply>(&m.body);
    if (done || to != victim || !reply) return;
    for (FilteredBlock& b : reply->blocks) {
      if (b.included.empty()) continue;
      std::vector<Entry> forged;
      for (std::size_t i = 0; i < b.included.size(); ++i) {
        forged.push_back(forgery(b.included[i], i));
        b.entry_hashes[b.positions[i]] = entry_hash(forged.back());
      }
      b.header.entries_root = entries_root(b.entry_hashes);
      b.signature = sign(net.keys(from).secret_key, block_header_bytes(b.header));
      if (rewrite == Rewrite::kForge) {
        b.included = forged;
        run.forged = forged;
      } else {
        b.included.clear();
        b.positions.clear();
      }
      EXPECT_TRUE(verify_filtered_block(b).ok());
      done = true;
      return;
    }
  });
  net.recover(victim);
  net.run_for(10 * kMicrosPerSecond);
  EXPECT_TRUE(done) << "no catch-up reply with entries reached the victim (seed 14)";
  return run;
}

TEST(Refusals, CatchUpForgedEntriesInSignedBlockAreRefused) {
  const CatchUpRun forged = run_catch_up_rewrite(Rewrite::kForge);
  const CatchUpRun control = run_catch_up_rewrite(Rewrite::kEmpty);
  ASSERT_FALSE(forged.forged.empty());
  RefusedEntries expected;
  expected.catch_up = forged.forged.size();
  EXPECT_EQ(refused_by_path(*forged.net), expected);
  EXPECT_EQ(refused_by_path(*control.net), RefusedEntries{});
  EXPECT_EQ(forged.net->peer(forged.victim)->counters().bad_blocks,
            control.net->peer(control.victim)->counters().bad_blocks);
  EXPECT_EQ(holders_of(*forged.net, forged.forged), 0u) << "a forged entry from catch-up was stored";
  EXPECT_EQ(stored_state(*forged.net), stored_state(*control.net));
  for (std::size_t slot = 0; slot < forged.net->peer_slots(); ++slot) {
    EXPECT_TRUE(forged.net->peer(slot)->store("default")->same_contents(
        *control.net->peer(slot)->store("default")))
        << "peer " << slot << " differs from the control run";
  }
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
  // Blocks are cut to one datagram, so a feed is several datagrams, and the network may
  // reorder them: put them back in height order as a subscriber does.
  std::vector<JournalBlocks> feed = sub.received<JournalBlocks>();
  std::sort(feed.begin(), feed.end(), [](const JournalBlocks& a, const JournalBlocks& b) {
    return a.blocks.front().header.height < b.blocks.front().header.height;
  });
  std::vector<JournalBlock> blocks;
  std::size_t live = 0;
  for (const auto& b : feed) blocks.insert(blocks.end(), b.blocks.begin(), b.blocks.end());
  for (const auto& l : sub.received<JournalLive>()) live += l.entries.size();
  ASSERT_GT(journal.height(), 0u);
  ASSERT_EQ(blocks.size(), journal.height()) << "every block cut reached the subscriber";
  EXPECT_TRUE(verify_chain(blocks, Hash256{}).ok());
  std::size_t in_blocks = 0;
  for (const auto& b : blocks) in_blocks += b.entries.size();
  EXPECT_EQ(in_blocks, journal.entries_total());
  EXPECT_GT(live, 0u);
  // The subscriber's own checks accept the untouched feed whole.
  JournalFollower follower(net.peer(3)->keys().public_key, 1);
  std::size_t followed = 0;
  for (const auto& b : feed) followed += follower.on_blocks(b).size();
  for (const auto& l : sub.received<JournalLive>()) EXPECT_EQ(follower.on_live(l).size(), l.entries.size());
  EXPECT_EQ(followed, journal.entries_total());
  EXPECT_EQ(follower.counters().blocks, journal.height());
  EXPECT_EQ(follower.counters().bad_blocks + follower.counters().bad_signatures, 0u);
}

// The subscriber side: a block the peer really signed (the man in the middle holds its
// key) that carries forged entries, and live entries forged in flight, are refused by the
// subscriber's follower; what it has accepted does not change.
TEST(Subscription, FollowerRefusesForgedEntries) {
  TestNetwork net(quiet_config(18));
  net.add_instant_ring(8);
  const std::size_t client = net.add_client();
  Probe sub(net.core());
  const Address probe_addr = sub.address();
  std::optional<std::uint64_t> forged_height;
  std::size_t forged_in_block = 0, forged_live = 0;
  net.core().set_tamper([&](Address from, Address to, Message& m) {
    if (to != probe_addr) return;
    if (auto* live = std::get_if<JournalLive>(&m.body); live && forged_live == 0) {
      for (std::size_t i = 0; i < live->entries.size(); ++i)
        live->entries[i] = forgery(live->entries[i], i);
      forged_live = live->entries.size();
      return;
    }
    auto* msg = std::get_if<JournalBlocks>(&m.body);
    if (!msg || forged_height || msg->blocks.empty() || msg->blocks.front().entries.size() < 2)
      return;
    JournalBlock& b = msg->blocks.front();
    b.entries[1] = forgery(b.entries[1], 1);  // one forgery among good entries
    std::vector<Hash256> hashes;
    for (const Entry& e : b.entries) hashes.push_back(entry_hash(e));
    b.header.entries_root = entries_root(hashes);
    b.signature = sign(net.keys(from).secret_key, block_header_bytes(b.header));
    ASSERT_TRUE(verify_block(b).ok());
    forged_height = b.header.height;
    forged_in_block = 1;
  });
  sub.send(3, Message{"default", Subscribe{42, 1}});
  for (int i = 0; i < 80; ++i) {
    net.write(client, {net.make_update(Cid::of_record("sub " + std::to_string(i)))}, 3);
    net.run_for(250 * kMicrosPerMs);
  }
  net.run_for(20 * kMicrosPerSecond);
  ASSERT_TRUE(forged_height.has_value()) << "no block with two entries reached the subscriber";
  ASSERT_GT(forged_live, 0u) << "no live entries reached the subscriber";

  JournalFollower follower(net.peer(3)->keys().public_key, 1);
  bool checked_block = false, checked_live = false;
  std::size_t accepted = 0;
  for (const auto& [from, m] : sub.inbox) {
    const FollowerCounters before = follower.counters();
    const std::uint64_t height = follower.next_height();
    if (const auto* msg = std::get_if<JournalBlocks>(&m.body)) {
      const bool tampered = !checked_block && !msg->blocks.empty() &&
                            msg->blocks.front().header.height == *forged_height;
      const std::vector<Entry> got = follower.on_blocks(*msg);
      accepted += got.size();
      if (tampered) {
        checked_block = true;
        EXPECT_TRUE(got.empty()) << "entries of a block with a forgery were accepted";
        EXPECT_EQ(follower.next_height(), height) << "the follower moved past a forged block";
        EXPECT_EQ(follower.counters().bad_signatures - before.bad_signatures, forged_in_block);
        EXPECT_EQ(follower.counters().bad_blocks - before.bad_blocks, 1u);
      }
    } else if (const auto* live = std::get_if<JournalLive>(&m.body)) {
      const std::vector<Entry> got = follower.on_live(*live);
      if (!checked_live) {
        checked_live = true;
        EXPECT_TRUE(got.empty()) << "a forged live entry was accepted";
        EXPECT_EQ(follower.counters().bad_signatures - before.bad_signatures, forged_live);
        EXPECT_EQ(follower.counters().live, before.live);
      }
    }
  }
  EXPECT_TRUE(checked_block && checked_live);
  EXPECT_EQ(follower.next_height(), *forged_height) << "the chain went on past the hole";
  EXPECT_EQ(follower.counters().blocks, *forged_height - 1);
  EXPECT_LT(accepted, net.peer(3)->journal("default")->entries_total());
}

}  // namespace
}  // namespace kittengrad::testnet
