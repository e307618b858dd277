// Repair and transfers stay within bounds: every anti-entropy, range, hand-off and catch-up
// message fits the datagram budget (512 bytes here, the smallest allowed), journal blocks
// larger than the asker's datagrams (written by peers configured for larger ones) arrive
// in pieces and verify, a neighbour that answers anti-entropy
// out of order does not make sessions pile up (they used to, one per round), and the caps
// on sessions and reassembly hold, with what they dropped counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "checkers.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

NetConfig small_datagrams(std::uint64_t seed) {
  NetConfig c;
  c.seed = seed;
  c.repro = "./build/tests/sync_bounds_test";
  c.peer.max_datagram_bytes = kMaxDatagramBytesMin;
  c.peer.anti_entropy_interval = 5 * kMicrosPerSecond;
  // Long block intervals: the blocks a returning peer catches up on hold hundreds of
  // entries, far more than a datagram.
  c.peer.journal_block_interval = 60 * kMicrosPerSecond;
  return c;
}

// The r successors of key among the live peers, by the oracle's global view.
std::vector<std::size_t> true_replicas(const TestNetwork& net, const RingId& key) {
  std::vector<std::size_t> order = net.ring_order();
  const auto r = static_cast<std::size_t>(net.config().peer.replication);
  std::size_t first = 0;
  while (first < order.size() && net.peer(order[first])->self().id < key) ++first;
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < r && i < order.size(); ++i) out.push_back(order[(first + i) % order.size()]);
  return out;
}

bool is_sync_kind(const Body& b) {
  return std::holds_alternative<AeDigest>(b) || std::holds_alternative<AeInSync>(b) ||
         std::holds_alternative<AeSymbols>(b) || std::holds_alternative<AeMore>(b) ||
         std::holds_alternative<AeExchange>(b) || std::holds_alternative<AeEntries>(b) ||
         std::holds_alternative<RangePull>(b) || std::holds_alternative<RangeEntries>(b) ||
         std::holds_alternative<Replicate>(b) || std::holds_alternative<CatchUp>(b) ||
         std::holds_alternative<CatchUpReply>(b);
}

// Canonicals whose replica set includes `slot`; with `primary`, those `slot` is the first
// replica of, so that its successors (whose journal heights its anti-entropy marks, and
// which its catch-up asks) hold them too.
std::vector<Cid> canonicals_on(const TestNetwork& net, std::size_t slot, std::size_t n,
                               const std::string& tag, bool primary = false) {
  std::vector<Cid> out;
  for (int i = 0; out.size() < n && i < 100000; ++i) {
    const Cid c = Cid::of_record(tag + std::to_string(i));
    const auto reps = true_replicas(net, c.ring_key());
    if (primary ? reps.front() == slot : std::count(reps.begin(), reps.end(), slot) > 0)
      out.push_back(c);
  }
  return out;
}

// Peers configured for the largest datagrams, but `small`, which keeps the smallest: the
// others' journal blocks are larger than its datagrams.
NetConfig one_small_peer(std::uint64_t seed, std::size_t small) {
  NetConfig c = small_datagrams(seed);
  c.peer.max_datagram_bytes = kMaxDatagramBytesMax;
  c.max_datagram_bytes_of_slot[small] = kMaxDatagramBytesMin;
  return c;
}

struct Traffic {
  std::size_t over_budget = 0;
  std::string first_over;
  std::size_t pieces = 0;
  std::size_t symbol_pages = 0;
  std::size_t range_pages = 0;
};

// Counts the sync messages over the budget. With `only_to`: the catch-up answers to that
// peer only, against its budget (it states it in CatchUp::max_bytes; the rest of what
// larger peers send it is sized to their own configuration).
void watch(TestNetwork& net, Traffic& t, std::optional<Address> only_to = std::nullopt) {
  const std::size_t budget = net.slot_config(only_to.value_or(0)).message_budget();
  net.core().set_tamper([&t, budget, only_to](Address, Address to, Message& m) {
    if (!is_sync_kind(m.body)) return;
    if (only_to && (to != *only_to || !std::holds_alternative<CatchUpReply>(m.body))) return;
    const std::size_t size = wire_size(m);
    if (size > budget) {
      if (t.first_over.empty())
        t.first_over = std::string(message_kind(m.body)) + " of " + std::to_string(size) + " bytes";
      ++t.over_budget;
    }
    if (const auto* r = std::get_if<CatchUpReply>(&m.body); r && r->piece) ++t.pieces;
    if (std::holds_alternative<AeSymbols>(m.body)) ++t.symbol_pages;
    if (std::holds_alternative<RangeEntries>(m.body)) ++t.range_pages;
  });
}

// Scenario of the first two tests: a peer misses 400 writes to its range while it is
// down; it comes back and catches up from its neighbours' journals (blocks of up to a
// minute of writes).
void miss_and_catch_up(TestNetwork& net, std::size_t victim, std::size_t client,
                       const std::vector<Cid>& canonicals) {
  net.write(client, {net.make_update(canonicals[0])}, victim);
  // A first write, a block cut, and a few rounds: anti-entropy marks the neighbours'
  // heights, where the catch-up will start.
  net.run_for(80 * kMicrosPerSecond);
  net.crash(victim, /*disk_lost=*/false);
  for (std::size_t i = 1; i < canonicals.size(); ++i) {
    const Cid& c = canonicals[i];
    net.write(client, {net.make_update(c)}, true_replicas(net, c.ring_key()).front());
  }
  net.run_for(70 * kMicrosPerSecond);  // the neighbours cut their blocks
  net.recover(victim);
}

std::size_t held_of(const TestNetwork& net, std::size_t slot, const std::vector<Cid>& canonicals) {
  const Store* store = net.peer(slot)->store("default");
  std::size_t held = 0;
  for (const Cid& c : canonicals) held += store->find(c.ring_key()) != nullptr;
  return held;
}

// Every peer keeps 512-byte datagrams: its blocks are cut to fit one. After the catch-up,
// a peer holding the range leaves, handing it off page by page. Every sync message fits
// 512 bytes and the ring ends replicated.
TEST(SyncBounds, EveryTransferFitsSmallDatagrams) {
  TestNetwork net(small_datagrams(3));
  EventChecker events(net);
  net.add_instant_ring(8);
  const std::size_t client = net.add_client();
  Traffic traffic;
  watch(net, traffic);
  const std::size_t victim = net.ring_order()[3];
  const std::vector<Cid> canonicals = canonicals_on(net, victim, 400, "piece ", true);
  ASSERT_EQ(canonicals.size(), 400u);
  miss_and_catch_up(net, victim, client, canonicals);
  net.set_peer_hook([&](std::size_t slot) { events.check(slot); });
  net.run_for(60 * kMicrosPerSecond);
  EXPECT_EQ(held_of(net, victim, canonicals), canonicals.size());

  // A graceful leave hands its ranges off in pages.
  const std::size_t leaver = net.ring_order()[4];
  net.leave(leaver);
  net.run_for(60 * kMicrosPerSecond);
  EXPECT_EQ(net.state(leaver), SlotState::kLeft);

  EXPECT_EQ(traffic.over_budget, 0u) << "first: " << traffic.first_over;
  CheckReport report = check_quiescent(net);
  report.merge(events.report());
  EXPECT_TRUE(report.ok()) << report.describe();
}

// The neighbours write blocks for 65,000-byte datagrams; the returning peer keeps 512
// bytes and asks for no more (CatchUp::max_bytes): the blocks come in pieces, each fits
// its datagrams, and each block verifies whole.
TEST(SyncBounds, LargerBlocksComeInPieces) {
  constexpr std::size_t kVictim = 3;
  TestNetwork net(one_small_peer(4, kVictim));
  EventChecker events(net);
  net.add_instant_ring(8);
  const std::size_t client = net.add_client();
  const std::vector<Cid> canonicals = canonicals_on(net, kVictim, 400, "piece ", true);
  ASSERT_EQ(canonicals.size(), 400u);
  miss_and_catch_up(net, kVictim, client, canonicals);
  Traffic traffic;
  watch(net, traffic, kVictim);
  net.set_peer_hook([&](std::size_t slot) { events.check(slot); });
  net.run_for(60 * kMicrosPerSecond);
  EXPECT_GT(traffic.pieces, 0u) << "no block came in pieces: the test lost its point";
  EXPECT_EQ(traffic.over_budget, 0u) << "first: " << traffic.first_over;
  EXPECT_EQ(held_of(net, kVictim, canonicals), canonicals.size());
  EXPECT_EQ(net.peer(kVictim)->counters().bad_blocks, 0u);
  EXPECT_TRUE(events.report().ok()) << events.report().describe();
}

// Peer `slot` holds entries its neighbours lack: stored through Replicate from a probe
// client, which a replica applies without passing on. Anti-entropy has work every round.
class Sink : public Endpoint {
 public:
  void on_datagram(Address, const Message&) override {}
  void on_persisted(std::uint64_t) override {}
  void on_wakeup() override {}
  [[nodiscard]] std::optional<Time> next_wakeup() const override { return std::nullopt; }
};

void plant_differences(TestNetwork& net, std::size_t slot, std::size_t n) {
  static Sink sink;
  const Address probe = net.core().add_client_node();
  net.core().attach(probe, &sink);
  const std::vector<Cid> canonicals = canonicals_on(net, slot, n, "only here ");
  for (std::size_t i = 0; i < canonicals.size(); ++i) {
    net.core().node_env(probe).network->send(
        slot, Message{"default", Replicate{1000 + i, {net.make_update(canonicals[i])}}});
  }
}

// The initiator of a session receives coded symbols it did not ask for (a page starting
// elsewhere). The session must end at once: it used to stay until its timeout, which had
// already been taken, so each round left one more session behind.
TEST(SyncBounds, OutOfOrderSymbolsEndTheSession) {
  NetConfig config = small_datagrams(5);
  config.peer.max_datagram_bytes = 1200;
  TestNetwork net(config);
  net.add_instant_ring(6);
  const std::size_t holder = net.ring_order()[2];
  plant_differences(net, holder, 40);
  net.run_for(1 * kMicrosPerSecond);
  std::size_t tampered = 0;
  net.core().set_tamper([&](Address, Address, Message& m) {
    if (auto* s = std::get_if<AeSymbols>(&m.body)) {
      s->from += 7;
      ++tampered;
    }
  });
  std::size_t most_sessions = 0;
  net.set_peer_hook([&](std::size_t slot) {
    if (const Peer* p = net.peer(slot)) most_sessions = std::max(most_sessions, p->table_sizes("default").ae_sessions);
  });
  net.run_for(120 * kMicrosPerSecond);  // 24 rounds
  ASSERT_GT(tampered, 20u) << "anti-entropy sent too few symbols for the test to mean anything";
  // A round opens r - 1 = 2 sessions per peer; none may be left over from earlier rounds.
  EXPECT_LE(most_sessions, 2u);
  std::uint64_t malformed = 0;
  for (std::size_t s : net.up_slots()) malformed += net.peer(s)->counters().malformed;
  EXPECT_GE(malformed, tampered / 2);
}

// ae_sessions_max = 1 with r = 3: each round wants two sessions; the older is dropped and
// counted, and no peer ever holds more than one.
TEST(SyncBounds, SessionCapDropsTheOldestAndCounts) {
  NetConfig config = small_datagrams(6);
  config.peer.ae_sessions_max = 1;
  TestNetwork net(config);
  net.add_instant_ring(6);
  plant_differences(net, net.ring_order()[1], 30);
  std::size_t most_sessions = 0;
  net.set_peer_hook([&](std::size_t slot) {
    if (const Peer* p = net.peer(slot)) most_sessions = std::max(most_sessions, p->table_sizes("default").ae_sessions);
  });
  net.run_for(60 * kMicrosPerSecond);
  EXPECT_EQ(most_sessions, 1u);
  std::uint64_t evicted = 0;
  for (std::size_t s : net.up_slots()) evicted += net.peer(s)->counters().ae_evicted;
  EXPECT_GT(evicted, 0u);
}

// A block larger than reassembly_bytes_max allows is refused whole and counted; the
// returning peer still ends up with every write, through its range pull and anti-entropy.
TEST(SyncBounds, OversizedBlockIsRefusedAndCounted) {
  const std::size_t victim = 3;
  NetConfig config = one_small_peer(4, victim);
  config.peer.reassembly_bytes_max = 32 * 16;  // blocks of at most 16 entries
  TestNetwork net(config);
  net.add_instant_ring(8);
  const std::size_t client = net.add_client();
  const std::vector<Cid> canonicals = canonicals_on(net, victim, 120, "big block ", true);
  Traffic traffic;
  watch(net, traffic, victim);
  miss_and_catch_up(net, victim, client, canonicals);
  net.run_for(60 * kMicrosPerSecond);
  EXPECT_GT(traffic.pieces, 0u) << "no block came in pieces: the test lost its point";
  EXPECT_GT(net.peer(victim)->counters().reassembly_refused, 0u);
  EXPECT_EQ(held_of(net, victim, canonicals), canonicals.size());
  EXPECT_EQ(net.peer(victim)->table_sizes("default").catch_ups, 0u);
}

}  // namespace
}  // namespace kittengrad::testnet
