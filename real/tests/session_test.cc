// Authenticated sessions: handshakes both ways, data both ways, replays and forgeries
// refused (every byte of every datagram kind flipped), reordering within the window, wrong
// keys, a handshake flood answered with cookies while an honest initiator still gets
// through, expiry and rekeying, a restarted peer, and every table's bound.
//
// Randomized cases print the seed that reproduces them:
//   KG_SEED=S ./build/real/session_test    run seed S only
//   KG_SEEDS=N                              run seeds 1..N (default 8)
#include <gtest/gtest.h>

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/real/session.h"
#include "kittengrad/rng.h"
#include "session_limits.h"
#include "session_replay.h"
#include "session_wire.h"

namespace kittengrad::session {
namespace {

constexpr Time kT0 = Time{1'700'000'000} * kMicrosPerSecond;  // wall-clock-like
constexpr Time kSecond = kMicrosPerSecond;

std::vector<std::uint64_t> seeds() {
  if (const char* s = std::getenv("KG_SEED")) return {std::strtoull(s, nullptr, 10)};
  std::uint64_t n = 8;
  if (const char* s = std::getenv("KG_SEEDS")) n = std::strtoull(s, nullptr, 10);
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

std::string repro(std::uint64_t seed) {
  return "seed " + std::to_string(seed) + " (KG_SEED=" + std::to_string(seed) +
         " ./build/real/session_test)";
}

std::array<std::uint8_t, 32> seed_of(std::uint64_t n) {
  return sha256("session_test table seed " + std::to_string(n));
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// An address as the daemon makes them: IPv4 << 16 | port.
Address address_of(std::uint64_t i) { return (0x7f000000ULL + i) << 16 | 7400; }

// A live peer reduced to its session table and what it received.
struct Node {
  Node(std::uint64_t n, SessionConfig config = {})
      : address(address_of(n)), key(keypair_from_u64(n)), table(config, key, seed_of(n)) {}
  Address address;
  KeyPair key;
  SessionTable table;
  std::vector<Delivery> got;
  std::vector<Drop> drops;
};

// Delivers `datagrams` from `from` to `to` and every reply back and forth until none is
// left, all at time `now`. Returns how many datagrams moved.
int exchange(Node& from, Node& to, const std::vector<Bytes>& datagrams, Time now) {
  std::deque<std::tuple<Node*, Node*, Bytes>> wire;
  for (const Bytes& d : datagrams) wire.emplace_back(&from, &to, d);
  int moved = 0;
  while (!wire.empty()) {
    auto [src, dst, bytes] = std::move(wire.front());
    wire.pop_front();
    ++moved;
    Inbound in = dst->table.on_datagram(src->address, bytes, now);
    if (in.delivery) dst->got.push_back(*in.delivery);
    if (in.dropped) dst->drops.push_back(*in.dropped);
    for (Bytes& r : in.replies) wire.emplace_back(dst, src, std::move(r));
  }
  return moved;
}

// Seals `s` from `from` to `to` and delivers everything that follows.
void send(Node& from, Node& to, const std::string& s, Time now) {
  Outbound out = from.table.seal(to.address, text(s), now);
  exchange(from, to, out.datagrams, now);
}

// One sealed datagram from `from` to `to`. REQUIRES: a session is up.
Bytes sealed(Node& from, Node& to, const std::string& s, Time now) {
  Outbound out = from.table.seal(to.address, text(s), now);
  EXPECT_EQ(out.datagrams.size(), 1u);
  return out.datagrams.empty() ? Bytes{} : out.datagrams.front();
}

std::string as_text(const Bytes& b) { return std::string(b.begin(), b.end()); }

class SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto_init()); }
};

TEST_F(SessionTest, HandshakeThenDataBothWays) {
  Node a(1), b(2);
  Outbound out = a.table.seal(b.address, text("hello"), kT0);
  ASSERT_EQ(out.datagrams.size(), 1u);
  EXPECT_EQ(out.datagrams[0].size(), wire::kInitiationBytes);
  EXPECT_EQ(a.table.sizes().pending, 1u);
  EXPECT_EQ(a.table.sizes().queued_bytes, 5u);

  exchange(a, b, out.datagrams, kT0);
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(as_text(b.got[0].plaintext), "hello");
  EXPECT_EQ(b.got[0].peer, a.key.public_key);
  EXPECT_EQ(b.got[0].from, a.address);
  EXPECT_EQ(a.table.peer_at(b.address, kT0), b.key.public_key);
  EXPECT_EQ(b.table.peer_at(a.address, kT0), a.key.public_key);
  EXPECT_EQ(a.table.sizes().pending, 0u);
  EXPECT_EQ(a.table.sizes().queued_bytes, 0u);

  // The responder may answer at once, on the session the initiator just opened.
  const Bytes reply = sealed(b, a, "world", kT0 + 1);
  EXPECT_EQ(reply.size(), kTransportHeaderBytes + 5 + kTagBytes);
  exchange(b, a, {reply}, kT0 + 1);
  ASSERT_EQ(a.got.size(), 1u);
  EXPECT_EQ(as_text(a.got[0].plaintext), "world");
  EXPECT_EQ(a.got[0].peer, b.key.public_key);

  for (int i = 0; i < 50; ++i) {
    send(a, b, "a" + std::to_string(i), kT0 + 2 + i);
    send(b, a, "b" + std::to_string(i), kT0 + 2 + i);
  }
  ASSERT_EQ(b.got.size(), 51u);
  ASSERT_EQ(a.got.size(), 51u);
  EXPECT_EQ(as_text(b.got.back().plaintext), "a49");
  EXPECT_EQ(as_text(a.got.back().plaintext), "b49");

  const SessionCounters& ca = a.table.counters();
  const SessionCounters& cb = b.table.counters();
  EXPECT_EQ(ca.initiations_sent, 1u);
  EXPECT_EQ(ca.handshakes_completed, 1u);
  EXPECT_EQ(cb.responses_sent, 1u);
  EXPECT_EQ(ca.signatures_verified, 1u);
  EXPECT_EQ(cb.signatures_verified, 1u);
  EXPECT_EQ(ca.drops_total() + cb.drops_total(), 0u);
  EXPECT_EQ(a.table.sizes().sessions, 1u);
  EXPECT_EQ(b.table.sizes().sessions, 1u);
}

TEST_F(SessionTest, BothInitiateAtOnceAndDataStillFlows) {
  Node a(1), b(2);
  Outbound from_a = a.table.seal(b.address, text("from a"), kT0);
  Outbound from_b = b.table.seal(a.address, text("from b"), kT0);
  exchange(a, b, from_a.datagrams, kT0);
  exchange(b, a, from_b.datagrams, kT0);
  ASSERT_EQ(b.got.size(), 1u);
  ASSERT_EQ(a.got.size(), 1u);
  for (int i = 0; i < 5; ++i) {
    send(a, b, "x", kT0 + 1 + i);
    send(b, a, "y", kT0 + 1 + i);
  }
  EXPECT_EQ(b.got.size(), 6u);
  EXPECT_EQ(a.got.size(), 6u);
  EXPECT_EQ(a.table.counters().drops_total() + b.table.counters().drops_total(), 0u);
}

TEST_F(SessionTest, SameSeedsSameBytes) {
  auto run = [] {
    Node a(1), b(2);
    std::vector<Bytes> seen;
    Outbound out = a.table.seal(b.address, text("hello"), kT0);
    seen.push_back(out.datagrams.at(0));
    Inbound in = b.table.on_datagram(a.address, out.datagrams[0], kT0);
    seen.push_back(in.replies.at(0));
    Inbound back = a.table.on_datagram(b.address, in.replies[0], kT0);
    seen.push_back(back.replies.at(0));
    return seen;
  };
  EXPECT_EQ(run(), run());
}

TEST_F(SessionTest, ReplayedDatagramRefused) {
  Node a(1), b(2);
  send(a, b, "hello", kT0);
  const Bytes d = sealed(a, b, "pay once", kT0);
  exchange(a, b, {d}, kT0);
  exchange(a, b, {d}, kT0);
  exchange(a, b, {d}, kT0 + kSecond);
  ASSERT_EQ(b.got.size(), 2u);
  EXPECT_EQ(b.table.counters().drops(Drop::kReplayed), 2u);
  EXPECT_EQ(b.table.counters().drops_total(), 2u);
}

TEST_F(SessionTest, ReorderWithinWindowAcceptedOutsideRefused) {
  Node a(1), b(2);
  send(a, b, "hello", kT0);
  // kWindow + 1 datagrams in reverse: the last one delivered is exactly kWindow behind.
  std::vector<Bytes> burst;
  for (std::uint64_t i = 0; i <= ReplayWindow::kWindow; ++i) {
    burst.push_back(sealed(a, b, std::to_string(i), kT0));
  }
  std::reverse(burst.begin(), burst.end());
  exchange(a, b, burst, kT0);
  EXPECT_EQ(b.got.size(), 1 + burst.size());
  EXPECT_EQ(b.table.counters().drops_total(), 0u);

  // Two more behind one new datagram: kWindow + 1 behind is refused, kWindow is not.
  const Bytes old_1 = sealed(a, b, "old 1", kT0);
  const Bytes old_2 = sealed(a, b, "old 2", kT0);
  for (std::uint64_t i = 1; i < ReplayWindow::kWindow; ++i) (void)sealed(a, b, "skip", kT0);
  const Bytes newest = sealed(a, b, "newest", kT0);
  const std::size_t before = b.got.size();
  exchange(a, b, {newest, old_1, old_2}, kT0);
  ASSERT_EQ(b.got.size(), before + 2);
  EXPECT_EQ(as_text(b.got.back().plaintext), "old 2");
  EXPECT_EQ(b.table.counters().drops(Drop::kReplayed), 1u);
}

// The window against a plain model (a set of every counter seen) on random sequences.
TEST_F(SessionTest, ReplayWindowMatchesModel) {
  for (std::uint64_t seed : seeds()) {
    Rng rng(seed);
    ReplayWindow w;
    std::set<std::uint64_t> seen;
    std::uint64_t highest = 0;
    for (int step = 0; step < 20000; ++step) {
      std::uint64_t c;
      switch (rng.below(4)) {
        case 0: c = highest + rng.below(3 * ReplayWindow::kBits); break;  // jumps ahead
        case 1: c = highest > 4000 ? highest - rng.below(4000) : rng.below(4000); break;
        case 2: c = highest > 64 ? highest - rng.below(64) : rng.below(64); break;
        default: c = highest + 1; break;
      }
      const bool model = seen.empty() || (!seen.contains(c) && c + ReplayWindow::kWindow >= highest);
      ASSERT_EQ(w.fresh(c), model) << "counter " << c << " highest " << highest << ", "
                                   << repro(seed);
      if (model) {
        w.mark(c);
        seen.insert(c);
        highest = std::max(highest, c);
      }
    }
  }
}

// Every byte of a transport datagram flipped: none delivered, none changes the session
// (the original still goes through afterwards).
TEST_F(SessionTest, EveryByteFlipOfTransportRefused) {
  Node a(1), b(2);
  send(a, b, "hello", kT0);
  const Bytes d = sealed(a, b, "the honest one", kT0);
  for (std::size_t i = 0; i < d.size(); ++i) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      Bytes bad = d;
      bad[i] ^= mask;
      Inbound in = b.table.on_datagram(a.address, bad, kT0);
      EXPECT_FALSE(in.delivery) << "byte " << i;
      EXPECT_TRUE(in.replies.empty()) << "byte " << i;
      ASSERT_TRUE(in.dropped) << "byte " << i;
      if (i >= kTransportHeaderBytes) {
        EXPECT_EQ(*in.dropped, Drop::kForged) << "byte " << i;
      } else if (i >= 5) {  // the counter: another one, maybe one already seen
        EXPECT_TRUE(*in.dropped == Drop::kForged || *in.dropped == Drop::kReplayed) << i;
      }
    }
  }
  EXPECT_EQ(b.table.counters().drops_total(), 2 * d.size());
  exchange(a, b, {d}, kT0);
  ASSERT_EQ(b.got.size(), 2u);
  EXPECT_EQ(as_text(b.got.back().plaintext), "the honest one");
}

TEST_F(SessionTest, EveryByteFlipOfInitiationRefused) {
  Node a(1), b(2);
  const Bytes init = a.table.seal(b.address, text("hello"), kT0).datagrams.at(0);
  for (std::size_t i = 0; i < init.size(); ++i) {
    Bytes bad = init;
    bad[i] ^= 0x01;
    Inbound in = b.table.on_datagram(a.address, bad, kT0);
    EXPECT_TRUE(in.replies.empty()) << "byte " << i;
    EXPECT_TRUE(in.dropped) << "byte " << i;
  }
  EXPECT_EQ(b.table.sizes().sessions, 0u);
  EXPECT_EQ(b.table.sizes().identities, 0u);
  // The flips spent A's address's handshake budget: the honest one comes a second later.
  exchange(a, b, {init}, kT0 + kSecond);
  EXPECT_EQ(b.got.size(), 1u);
}

TEST_F(SessionTest, EveryByteFlipOfResponseRefused) {
  Node a(1), b(2);
  const Bytes init = a.table.seal(b.address, text("hello"), kT0).datagrams.at(0);
  const Bytes response = b.table.on_datagram(a.address, init, kT0).replies.at(0);
  EXPECT_EQ(response.size(), wire::kResponseBytes);
  for (std::size_t i = 0; i < response.size(); ++i) {
    Bytes bad = response;
    bad[i] ^= 0x01;
    Inbound in = a.table.on_datagram(b.address, bad, kT0);
    EXPECT_TRUE(in.replies.empty()) << "byte " << i;
    EXPECT_TRUE(in.dropped) << "byte " << i;
  }
  EXPECT_EQ(a.table.counters().handshakes_completed, 0u);
  EXPECT_EQ(a.table.sizes().sessions, 0u);
  exchange(b, a, {response}, kT0);  // the honest one still completes and flushes
  EXPECT_EQ(a.table.counters().handshakes_completed, 1u);
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(as_text(b.got[0].plaintext), "hello");
}

TEST_F(SessionTest, MalformedAndTruncatedRefused) {
  Node a(1), b(2);
  send(a, b, "hello", kT0);
  const Bytes d = sealed(a, b, "x", kT0);
  const Bytes init = Node(3).table.seal(b.address, text("x"), kT0).datagrams.at(0);
  struct Case {
    Bytes bytes;
    Drop reason;
  };
  Bytes bad_version = init;
  bad_version[1] = 2;
  Bytes longer = init;
  longer.push_back(0);
  const std::vector<Case> cases = {
      {{}, Drop::kTruncated},
      {{0}, Drop::kMalformed},
      {{5, 1, 2, 3}, Drop::kMalformed},
      {{0xff}, Drop::kMalformed},
      {Bytes(init.begin(), init.end() - 1), Drop::kTruncated},
      {longer, Drop::kMalformed},
      {bad_version, Drop::kMalformed},
      {{2}, Drop::kTruncated},
      {{3, 0, 0}, Drop::kTruncated},
      {Bytes(d.begin(), d.begin() + kTransportHeaderBytes + kTagBytes - 1), Drop::kTruncated},
      {Bytes(kMaxDatagramBytesMax + 1, 4), Drop::kMalformed},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    Inbound in = b.table.on_datagram(a.address, cases[i].bytes, kT0);
    ASSERT_TRUE(in.dropped) << "case " << i;
    EXPECT_EQ(*in.dropped, cases[i].reason) << "case " << i;
    EXPECT_FALSE(in.delivery);
    EXPECT_TRUE(in.replies.empty());
  }
  EXPECT_EQ(b.table.counters().drops_total(), cases.size());
  // A header and an empty tag's worth of bytes under a real index: forged, not a crash.
  Bytes empty = Bytes(d.begin(), d.begin() + kTransportHeaderBytes + kTagBytes);
  EXPECT_EQ(b.table.on_datagram(a.address, empty, kT0).dropped, Drop::kForged);
}

// Random datagrams at a peer with a live session: nothing delivered, each one counted
// once, no table grows.
TEST_F(SessionTest, RandomDatagramsDroppedAndCounted) {
  for (std::uint64_t seed : seeds()) {
    Node a(1), b(2);
    send(a, b, "hello", kT0);
    const Bytes d = sealed(a, b, "x", kT0);
    const SessionSizes before = b.table.sizes();
    Rng rng(seed);
    const int n = 3000;
    for (int i = 0; i < n; ++i) {
      Bytes junk = rng.chance(0.5) ? d : Bytes(rng.below(200));
      if (junk.size() > 1 && rng.chance(0.5)) junk.resize(rng.below(junk.size()));
      for (auto& byte : junk) {
        if (rng.chance(0.3)) byte = static_cast<std::uint8_t>(rng.below(256));
      }
      if (!junk.empty() && rng.chance(0.7)) junk[0] = static_cast<std::uint8_t>(1 + rng.below(4));
      Inbound in = b.table.on_datagram(a.address, junk, kT0);
      ASSERT_FALSE(in.delivery && junk != d) << repro(seed);
    }
    EXPECT_EQ(b.table.counters().drops_total() + b.table.counters().opened, n + 1u) << repro(seed);
    EXPECT_EQ(b.table.sizes().sessions, before.sessions) << repro(seed);
    EXPECT_EQ(b.table.sizes().identities, before.identities) << repro(seed);
  }
}

TEST_F(SessionTest, WrongKeysRefused) {
  Node a(1), b(2), c(3);
  const KeyPair mallory = keypair_from_u64(99);
  const Bytes init = a.table.seal(b.address, text("hello"), kT0).datagrams.at(0);
  auto [m, bad] = wire::parse_initiation(init);
  ASSERT_FALSE(bad);

  // A's initiation claiming Mallory's identity; Mallory's claiming A's: both refused.
  wire::Initiation claims_other = m;
  claims_other.identity = mallory.public_key;
  wire::Initiation signed_by_other = m;
  signed_by_other.signature = sign(mallory.secret_key, wire::signed_bytes(m));
  for (const wire::Initiation& forged : {claims_other, signed_by_other}) {
    Inbound in = b.table.on_datagram(a.address, wire::encode(forged), kT0);
    EXPECT_EQ(in.dropped, Drop::kBadSignature);
    EXPECT_TRUE(in.replies.empty());
  }

  // A response signed by someone other than the identity it names.
  const Bytes response = b.table.on_datagram(a.address, init, kT0).replies.at(0);
  auto [r, bad_r] = wire::parse_response(response);
  ASSERT_FALSE(bad_r);
  wire::Response resigned = r;
  resigned.signature = sign(mallory.secret_key, wire::signed_bytes(r, m.ephemeral, m.identity));
  EXPECT_EQ(a.table.on_datagram(b.address, wire::encode(resigned), kT0).dropped,
            Drop::kBadSignature);
  exchange(b, a, {response}, kT0);
  ASSERT_EQ(b.got.size(), 1u);

  // C has its own session with B; a datagram sealed with C's keys but naming A's session
  // is a forgery, and C's own datagram from A's address is from the wrong source.
  send(c, b, "c here", kT0);
  ASSERT_EQ(b.got.size(), 2u);
  EXPECT_EQ(b.got[1].peer, c.key.public_key);
  Bytes c_datagram = sealed(c, b, "c again", kT0);
  EXPECT_EQ(b.table.on_datagram(a.address, c_datagram, kT0).dropped, Drop::kWrongSource);
  const Bytes a_datagram = sealed(a, b, "a again", kT0);
  std::copy(a_datagram.begin() + 1, a_datagram.begin() + 5, c_datagram.begin() + 1);
  EXPECT_EQ(b.table.on_datagram(a.address, c_datagram, kT0).dropped, Drop::kForged);
}

TEST_F(SessionTest, ResponseCannotBeReplayedIntoAnotherHandshake) {
  Node a(1), b(2);
  const Bytes init = a.table.seal(b.address, text("hello"), kT0).datagrams.at(0);
  const Bytes response = b.table.on_datagram(a.address, init, kT0).replies.at(0);
  exchange(b, a, {response}, kT0);
  EXPECT_EQ(a.table.on_datagram(b.address, response, kT0).dropped, Drop::kUnknownReceiver);

  // A rekeys: the old response, pointed at the new handshake's index, does not verify.
  const Time later = kT0 + 121 * kSecond;
  Outbound out = a.table.seal(b.address, text("rekey"), later);
  ASSERT_EQ(out.datagrams.size(), 2u);
  auto [m2, bad] = wire::parse_initiation(out.datagrams[0]);
  ASSERT_FALSE(bad);
  auto [r, bad_r] = wire::parse_response(response);
  ASSERT_FALSE(bad_r);
  r.receiver = m2.sender;
  EXPECT_EQ(a.table.on_datagram(b.address, wire::encode(r), later).dropped, Drop::kBadSignature);

  // Even a response B really signed for this index, but for another initiation (another
  // ephemeral key: an index reused by a restarted initiator), does not complete it.
  wire::KxKey other_ephemeral = m2.ephemeral;
  other_ephemeral[0] ^= 1;
  r.signature = sign(b.key.secret_key, wire::signed_bytes(r, other_ephemeral, a.key.public_key));
  EXPECT_EQ(a.table.on_datagram(b.address, wire::encode(r), later).dropped, Drop::kBadSignature);
  r.signature = sign(b.key.secret_key, wire::signed_bytes(r, m2.ephemeral, b.key.public_key));
  EXPECT_EQ(a.table.on_datagram(b.address, wire::encode(r), later).dropped, Drop::kBadSignature);
  EXPECT_EQ(a.table.counters().handshakes_completed, 1u);
  // The checker itself: signed for this very initiation, it completes.
  r.signature = sign(b.key.secret_key, wire::signed_bytes(r, m2.ephemeral, a.key.public_key));
  EXPECT_FALSE(a.table.on_datagram(b.address, wire::encode(r), later).dropped);
  EXPECT_EQ(a.table.counters().handshakes_completed, 2u);
}

TEST_F(SessionTest, ReplayedOrStaleInitiationRefused) {
  Node a(1), b(2);
  const Bytes init = a.table.seal(b.address, text("hello"), kT0).datagrams.at(0);
  exchange(a, b, {init}, kT0);
  const Inbound again = b.table.on_datagram(a.address, init, kT0 + kSecond);
  EXPECT_EQ(again.dropped, Drop::kReplayedHandshake);
  EXPECT_TRUE(again.replies.empty());

  Node c(3), d(4);
  const Bytes old = c.table.seal(d.address, text("late"), kT0).datagrams.at(0);
  const Time skew = SessionConfig{}.handshake_clock_skew;
  EXPECT_EQ(d.table.on_datagram(c.address, old, kT0 + skew + 1).dropped, Drop::kStaleHandshake);
  EXPECT_EQ(d.table.on_datagram(c.address, old, kT0 - skew - 1).dropped, Drop::kStaleHandshake);
  EXPECT_EQ(d.table.counters().signatures_verified, 0u);
  exchange(c, d, {old}, kT0 + skew);  // at the edge of the skew: accepted
  EXPECT_EQ(d.got.size(), 1u);
}

// A flood of 10,000 validly signed initiations from 1,000 sources in one second. The
// responder verifies about handshakes_per_s of them before it is under load, then answers
// the rest with cookie replies; an honest initiator starting mid-flood gets its session one
// round trip later.
TEST_F(SessionTest, HandshakeFloodAnsweredWithCookies) {
  Node a(1), b(2);
  const SessionConfig config;
  std::vector<KeyPair> attackers;
  for (std::uint64_t i = 0; i < 1000; ++i) attackers.push_back(keypair_from_u64(1000 + i));
  bool honest_done = false;
  for (int k = 0; k < 10000; ++k) {
    const Time now = kT0 + k * 100;  // 10,000 in one second
    const std::size_t who = static_cast<std::size_t>(k) % attackers.size();
    wire::Initiation m;
    m.sender = static_cast<std::uint32_t>(k + 1);
    m.timestamp = static_cast<std::uint64_t>(now);
    m.ephemeral = sha256("ephemeral " + std::to_string(k));
    m.identity = attackers[who].public_key;
    m.signature = sign(attackers[who].secret_key, wire::signed_bytes(m));
    (void)b.table.on_datagram(address_of(5000 + who), wire::encode(m), now);
    if (k == 5000) {
      Outbound out = a.table.seal(b.address, text("honest"), now);
      exchange(a, b, out.datagrams, now);
      honest_done = true;
    }
  }
  ASSERT_TRUE(honest_done);
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(as_text(b.got[0].plaintext), "honest");
  EXPECT_EQ(a.table.counters().cookies_received, 1u);
  const SessionCounters& c = b.table.counters();
  // The bucket's burst, one second of refill, and the honest initiation.
  EXPECT_LE(c.signatures_verified, 2 * config.handshakes_per_s + 1);
  EXPECT_GE(c.signatures_verified, config.handshakes_per_s);
  EXPECT_GE(c.cookies_sent, 9000u);
  EXPECT_EQ(c.drops(Drop::kCookieRequired), c.cookies_sent);  // A's first try among them
  EXPECT_LE(b.table.sizes().sessions, 2 * config.handshakes_per_s + 1);
  std::printf("flood: %llu signature checks, %llu cookie replies for 10,000 initiations\n",
              static_cast<unsigned long long>(c.signatures_verified),
              static_cast<unsigned long long>(c.cookies_sent));
}

// An attacker at a real address fetches a valid cookie and floods with it: its source's
// budget holds the signature checks to handshakes_per_source_per_s.
TEST_F(SessionTest, CookieHolderLimitedPerSource) {
  SessionConfig config;
  config.handshakes_per_s = 1;  // under load at once
  Node b(2, config);
  const KeyPair attacker = keypair_from_u64(77);
  const Address from = address_of(77);
  auto initiation = [&](std::uint32_t i, const wire::Cookie& cookie) {
    wire::Initiation m;
    m.sender = i;
    m.timestamp = static_cast<std::uint64_t>(kT0 + i);
    m.ephemeral = sha256("ephemeral " + std::to_string(i));
    m.identity = attacker.public_key;
    m.cookie = cookie;
    m.signature = sign(attacker.secret_key, wire::signed_bytes(m));
    return m;
  };
  (void)b.table.on_datagram(from, wire::encode(initiation(1, {})), kT0);  // uses the token
  const wire::Initiation second = initiation(2, {});
  Inbound in = b.table.on_datagram(from, wire::encode(second), kT0);
  ASSERT_EQ(in.dropped, Drop::kCookieRequired);
  auto [reply, bad] = wire::parse_cookie_reply(in.replies.at(0));
  ASSERT_FALSE(bad);
  const auto key = cookie_reply_key(second.ephemeral);
  wire::Cookie cookie;
  ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_decrypt(
                cookie.data(), nullptr, nullptr, reply.sealed.data(), reply.sealed.size(),
                second.signature.data(), second.signature.size(), reply.nonce.data(), key.data()),
            0);
  const std::uint64_t checks_before = b.table.counters().signatures_verified;
  for (std::uint32_t i = 3; i < 1003; ++i) {
    (void)b.table.on_datagram(from, wire::encode(initiation(i, cookie)), kT0 + i);
  }
  const std::uint64_t checks = b.table.counters().signatures_verified - checks_before;
  EXPECT_LE(checks, config.handshakes_per_source_per_s);
  EXPECT_GE(b.table.counters().drops(Drop::kOverRate), 1000 - checks);
  // The same cookie from another address is worthless.
  EXPECT_EQ(b.table.on_datagram(address_of(78), wire::encode(initiation(2000, cookie)), kT0)
                .dropped,
            Drop::kCookieInvalid);
}

// A cookie lives as long as the secret it was made with: one rotation, plus the next one
// (the previous secret still counts), then no more.
TEST_F(SessionTest, CookieExpiresWithItsSecret) {
  SessionConfig config;
  config.handshakes_per_s = 1;
  Node b(2, config);
  const KeyPair peer = keypair_from_u64(77);
  const Address from = address_of(77);
  const KeyPair other = keypair_from_u64(78);
  std::uint32_t next = 1;
  auto initiation = [&](Time now, const wire::Cookie& cookie, const KeyPair& who) {
    wire::Initiation m;
    m.sender = next++;
    m.timestamp = static_cast<std::uint64_t>(now);
    m.ephemeral = sha256("ephemeral " + std::to_string(m.sender));
    m.identity = who.public_key;
    m.cookie = cookie;
    m.signature = sign(who.secret_key, wire::signed_bytes(m));
    return m;
  };
  // Another peer takes the second's only token: B is under load.
  auto under_load = [&](Time now) {
    (void)b.table.on_datagram(address_of(1), wire::encode(initiation(now, {}, other)), now);
  };
  under_load(kT0);
  const wire::Initiation asked = initiation(kT0, {}, peer);
  Inbound in = b.table.on_datagram(from, wire::encode(asked), kT0);
  ASSERT_EQ(in.dropped, Drop::kCookieRequired);
  auto [reply, bad] = wire::parse_cookie_reply(in.replies.at(0));
  ASSERT_FALSE(bad);
  const auto key = cookie_reply_key(asked.ephemeral);
  wire::Cookie cookie;
  ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_decrypt(
                cookie.data(), nullptr, nullptr, reply.sealed.data(), reply.sealed.size(),
                asked.signature.data(), asked.signature.size(), reply.nonce.data(), key.data()),
            0);
  const Time rotation = config.cookie_rotation;
  for (const Time t : {kT0 + 1, kT0 + rotation + 1, kT0 + 2 * rotation + 1}) {
    under_load(t);
    Inbound r = b.table.on_datagram(from, wire::encode(initiation(t, cookie, peer)), t);
    if (t < kT0 + 2 * rotation) {
      EXPECT_FALSE(r.dropped) << (t - kT0);
      EXPECT_EQ(r.replies.at(0).size(), wire::kResponseBytes);
    } else {
      EXPECT_EQ(r.dropped, Drop::kCookieInvalid);
      EXPECT_EQ(r.replies.at(0).size(), wire::kCookieReplyBytes);  // a fresh cookie
    }
  }
}

TEST_F(SessionTest, EveryByteFlipOfCookieReplyRefused) {
  SessionConfig config;
  config.handshakes_per_s = 1;
  Node a(1), b(2, config), c(3);
  send(c, b, "take the only token", kT0);
  const Bytes init = a.table.seal(b.address, text("hello"), kT0).datagrams.at(0);
  Inbound in = b.table.on_datagram(a.address, init, kT0);
  ASSERT_EQ(in.dropped, Drop::kCookieRequired);
  const Bytes reply = in.replies.at(0);
  EXPECT_EQ(reply.size(), wire::kCookieReplyBytes);
  for (std::size_t i = 0; i < reply.size(); ++i) {
    Bytes bad = reply;
    bad[i] ^= 0x01;
    Inbound out = a.table.on_datagram(b.address, bad, kT0);
    EXPECT_TRUE(out.replies.empty()) << "byte " << i;
    EXPECT_TRUE(out.dropped) << "byte " << i;
  }
  EXPECT_EQ(a.table.counters().cookies_received, 0u);
  exchange(b, a, {reply}, kT0);
  EXPECT_EQ(a.table.counters().cookies_received, 1u);
  ASSERT_EQ(b.got.size(), 2u);
  EXPECT_EQ(as_text(b.got[1].plaintext), "hello");
}

TEST_F(SessionTest, RekeyAfterTimeKeepsTheOldSessionUntilTheNewIsUp) {
  Node a(1), b(2);
  send(a, b, "hello", kT0);
  const Time later = kT0 + SessionConfig{}.rekey_after;
  Outbound out = a.table.seal(b.address, text("still old"), later);
  ASSERT_EQ(out.datagrams.size(), 2u);  // the initiation, then data on the old session
  EXPECT_EQ(out.datagrams[0].size(), wire::kInitiationBytes);
  const Bytes in_flight = sealed(a, b, "in flight", later);  // handshake pending: old session
  exchange(a, b, out.datagrams, later);
  EXPECT_EQ(a.table.counters().handshakes_completed, 2u);
  send(a, b, "new", later + 1);
  send(b, a, "back", later + 1);
  exchange(a, b, {in_flight}, later + 2);  // the old session still opens what it sealed
  ASSERT_EQ(b.got.size(), 4u);
  EXPECT_EQ(as_text(b.got[3].plaintext), "in flight");
  ASSERT_EQ(a.got.size(), 1u);
  EXPECT_EQ(b.table.counters().drops_total(), 0u);
  EXPECT_EQ(a.table.sizes().sessions, 2u);
}

TEST_F(SessionTest, ExpiredSessionRefusedAndReplaced) {
  Node a(1), b(2);
  send(a, b, "hello", kT0);
  const Bytes d = sealed(a, b, "late", kT0);
  const Time expired = kT0 + SessionConfig{}.session_lifetime;
  EXPECT_EQ(b.table.on_datagram(a.address, d, expired).dropped, Drop::kExpired);
  EXPECT_FALSE(a.table.peer_at(b.address, expired));
  Outbound out = a.table.seal(b.address, text("again"), expired);
  ASSERT_EQ(out.datagrams.size(), 1u);  // only the initiation: the plaintext waits
  exchange(a, b, out.datagrams, expired);
  ASSERT_EQ(b.got.size(), 2u);
  EXPECT_EQ(as_text(b.got[1].plaintext), "again");
}

TEST_F(SessionTest, RekeyAndRejectAfterMessages) {
  SessionConfig config;
  config.rekey_after_messages = 5;
  config.reject_after_messages = 8;
  Node a(1, config), b(2, config);
  send(a, b, "m0", kT0);  // counter 0
  int initiations = 0;
  for (int i = 1; i < 8; ++i) {
    Outbound out = a.table.seal(b.address, text("m"), kT0);
    initiations += static_cast<int>(out.datagrams.size()) - 1;
    exchange(a, b, {out.datagrams.back()}, kT0);  // the responder never sees the rekey
  }
  EXPECT_EQ(initiations, 1);  // once the 5th was sent; re-sent only after handshake_retry
  EXPECT_EQ(b.got.size(), 8u);
  Outbound out = a.table.seal(b.address, text("ninth"), kT0);
  EXPECT_TRUE(out.datagrams.empty());  // 8 sent: no more under this key, and queued
  EXPECT_EQ(a.table.sizes().queued_bytes, 5u);
  Outbound retry = a.table.seal(b.address, text("tenth"), kT0 + kSecond);
  ASSERT_EQ(retry.datagrams.size(), 1u);
  exchange(a, b, retry.datagrams, kT0 + kSecond);
  ASSERT_EQ(b.got.size(), 10u);
  EXPECT_EQ(as_text(b.got[9].plaintext), "tenth");
}

// B restarts (a new table, same identity): A's datagrams hit no session there; after
// rehandshake_after_silence A handshakes again and the flow resumes.
TEST_F(SessionTest, RestartedPeerRecoversAfterSilence) {
  Node a(1);
  auto b = std::make_unique<Node>(2);
  send(a, *b, "hello", kT0);
  b = std::make_unique<Node>(2);
  const Time silence = SessionConfig{}.rehandshake_after_silence;
  for (Time t = kT0 + kSecond; t < kT0 + silence + kSecond; t += kSecond) {
    send(a, *b, "lost", t);
  }
  EXPECT_GE(b->table.counters().drops(Drop::kUnknownReceiver), 1u);
  EXPECT_EQ(a.table.counters().initiations_sent, 1u);
  send(a, *b, "found", kT0 + silence + kSecond);
  EXPECT_EQ(a.table.counters().initiations_sent, 2u);
  send(a, *b, "flowing", kT0 + silence + 2 * kSecond);
  ASSERT_GE(b->got.size(), 1u);  // "found" went out on the old session too, and was lost
  EXPECT_EQ(as_text(b->got.back().plaintext), "flowing");
}

TEST_F(SessionTest, SessionTableBounded) {
  SessionConfig config;
  config.sessions_max = 8;
  Node a(1, config);
  std::vector<std::unique_ptr<Node>> peers;
  for (int i = 0; i < 20; ++i) {
    peers.push_back(std::make_unique<Node>(100 + i));
    send(a, *peers.back(), "hi", kT0);
    ASSERT_LE(a.table.sizes().sessions, 8u);
  }
  EXPECT_EQ(a.table.counters().sessions_evicted, 12u);
  EXPECT_FALSE(a.table.peer_at(peers[0]->address, kT0));  // least recently used: gone
  EXPECT_TRUE(a.table.peer_at(peers[19]->address, kT0));
  send(a, *peers[0], "back", kT0);  // a new handshake
  EXPECT_EQ(peers[0]->got.size(), 2u);
}

// Responses lost, the initiator retries: each retry replaces the responder's unused
// session instead of adding one.
TEST_F(SessionTest, RetriedHandshakesReplaceTheUnusedSession) {
  Node a(1), b(2);
  Bytes response;
  for (int i = 0; i < 10; ++i) {
    const Time now = kT0 + i * kSecond;
    Outbound out = a.table.seal(b.address, text("try " + std::to_string(i)), now);
    ASSERT_EQ(out.datagrams.size(), 1u) << i;
    Inbound in = b.table.on_datagram(a.address, out.datagrams[0], now);
    response = in.replies.at(0);  // lost, but the last one
    EXPECT_EQ(b.table.sizes().sessions, 1u) << i;
  }
  EXPECT_EQ(b.table.counters().responses_sent, 10u);
  exchange(b, a, {response}, kT0 + 10 * kSecond);
  EXPECT_EQ(b.got.size(), 10u);
  send(b, a, "answer", kT0 + 11 * kSecond);
  ASSERT_EQ(a.got.size(), 1u);
  EXPECT_EQ(a.table.sizes().sessions, 1u);
  EXPECT_EQ(b.table.sizes().sessions, 1u);
}

TEST_F(SessionTest, PendingAndQueuesBounded) {
  SessionConfig config;
  config.handshakes_pending_max = 4;
  config.queue_per_peer_max = 3;
  config.queued_bytes_max = 1000;
  Node a(1, config), b(2);
  for (int i = 0; i < 10; ++i) (void)a.table.seal(address_of(500 + i), text("xx"), kT0);
  EXPECT_EQ(a.table.sizes().pending, 4u);
  EXPECT_EQ(a.table.counters().drops(Drop::kQueueOverflow), 6u);
  EXPECT_EQ(a.table.sizes().queued_bytes, 8u);

  // Ten to B: the three newest wait, and come out in order.
  std::vector<Bytes> first;
  for (int i = 0; i < 10; ++i) {
    Outbound out = a.table.seal(b.address, text("q" + std::to_string(i)), kT0);
    if (i == 0) first = out.datagrams;
  }
  EXPECT_EQ(a.table.counters().drops(Drop::kQueueOverflow), 6u + 1u + 7u);
  exchange(a, b, first, kT0);
  ASSERT_EQ(b.got.size(), 3u);
  EXPECT_EQ(as_text(b.got[0].plaintext), "q7");
  EXPECT_EQ(as_text(b.got[2].plaintext), "q9");

  // Bytes: 600 + 600 do not fit in 1000; the older goes.
  const Address far = address_of(900);
  (void)a.table.seal(far, Bytes(600, 1), kT0);
  Outbound out = a.table.seal(far, Bytes(600, 2), kT0);
  EXPECT_EQ(out.dropped, Drop::kQueueOverflow);
  EXPECT_LE(a.table.sizes().queued_bytes, 1000u);

  // An unanswered handshake gives up its queue.
  const std::uint64_t timeouts = a.table.counters().drops(Drop::kHandshakeTimeout);
  (void)a.table.seal(far, Bytes(10, 3), kT0 + config.handshake_timeout);
  EXPECT_EQ(a.table.counters().drops(Drop::kHandshakeTimeout), timeouts + 1);

  EXPECT_EQ(a.table.seal(far, Bytes(kPlaintextBytesMax + 1), kT0).dropped, Drop::kOversized);
}

TEST_F(SessionTest, IdentitiesAndSourcesBounded) {
  SessionConfig config;
  config.identities_max = 5;
  config.sources_max = 5;
  Node b(2, config);
  std::vector<std::unique_ptr<Node>> peers;
  for (int i = 0; i < 20; ++i) {
    peers.push_back(std::make_unique<Node>(100 + i));
    send(*peers.back(), b, "hi", kT0 + i);
    EXPECT_LE(b.table.sizes().identities, 5u);
    EXPECT_LE(b.table.sizes().sources, 5u);
  }
  // Within a second the source table is full of fresh entries: the others wait.
  EXPECT_EQ(b.got.size(), 5u);
  EXPECT_EQ(b.table.counters().drops(Drop::kOverRate), 15u);
  send(*peers[10], b, "a second later", kT0 + kSecond + 10);  // with its queued "hi"
  EXPECT_EQ(b.got.size(), 7u);
}

}  // namespace
}  // namespace kittengrad::session
