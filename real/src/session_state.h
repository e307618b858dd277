// session_state.h — the SessionTable's insides, shared by session_table.cc (the tables and
// their bounds), session_handshake.cc (initiation, response, cookie reply) and
// session_transport.cc (seal and open).
//
// Invariants (checked by the tests after every step through sizes()):
//   sessions.size() <= sessions_max, pending.size() <= handshakes_pending_max,
//   each pending queue <= queue_per_peer_max, queued_bytes == the sum of the queued
//   plaintexts' sizes <= queued_bytes_max, identities.size() <= identities_max;
//   `current` and `unconfirmed` name only sessions in `sessions` with the same address,
//   `unconfirmed` only responder sessions nobody has used yet (at most one an address);
//   pending_by_index and pending name each other; no index is 0 or used twice.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <unordered_map>

#include "kittengrad/real/session.h"
#include "session_limits.h"
#include "session_random.h"
#include "session_replay.h"
#include "session_wire.h"

namespace kittengrad::session {

inline constexpr Time kNever = INT64_MIN;
// Immediate re-sends a pending handshake makes on cookie replies; further cookies wait for
// the retry timer (a forged cookie reply costs the initiator a signature at most this often).
inline constexpr int kCookieResendsMax = 2;

// 32 secret bytes, wiped when dropped.
struct Secret32 {
  std::array<std::uint8_t, 32> b{};
  Secret32() = default;
  explicit Secret32(const std::array<std::uint8_t, 32>& bytes) : b(bytes) {}
  Secret32(const Secret32&) = default;
  Secret32& operator=(const Secret32&) = default;
  ~Secret32() { sodium_memzero(b.data(), b.size()); }
};

struct Session {
  std::uint32_t local = 0;   // the index we chose: the peer's datagrams carry it
  std::uint32_t remote = 0;  // the index the peer chose: ours carry it
  Address address = 0;
  PublicKey peer{};
  Secret32 rx;
  Secret32 tx;
  std::uint64_t sent = 0;  // the next counter
  ReplayWindow replay;
  Time created = 0;
  std::uint64_t serial = 0;    // creation order: the newer of two sessions takes over
  Time silent_since = kNever;  // the first seal since we last heard from the address
  bool confirmed = false;      // the other side has used it (always, for the initiator)
  std::list<std::uint32_t>::iterator lru;
};

struct Pending {
  Address address = 0;
  std::uint32_t index = 0;  // the current attempt's sender index
  wire::KxKey ephemeral{};
  Secret32 ephemeral_secret;
  Signature signature{};  // the current attempt's: a cookie reply's associated data
  Time started = 0;
  Time sent_at = kNever;
  std::optional<wire::Cookie> cookie;
  Time cookie_at = 0;
  int cookie_resends = 0;
  std::deque<Bytes> queue;
  std::size_t queued_bytes = 0;
  std::list<Address>::iterator order;
};

struct Identity {
  Time timestamp = 0;  // the last initiation accepted from it
  std::list<PublicKey>::iterator lru;
};

struct SessionTable::State {
  State(SessionConfig config, KeyPair identity, const std::array<std::uint8_t, 32>& seed);

  // session_handshake.cc
  Inbound on_initiation(Address from, std::span<const std::uint8_t> bytes, Time now);
  // The cheap checks before a signature, in order of cost: load and cookie, the source's
  // budget, the timestamp. Returns the refusal, if any.
  std::optional<Inbound> screen(Address from, const wire::Initiation& m, Time now);
  const Session& add_responder_session(Session s, Time now);
  Inbound on_response(Address from, std::span<const std::uint8_t> bytes, Time now);
  Inbound on_cookie_reply(Address from, std::span<const std::uint8_t> bytes, Time now);
  // A fresh attempt for `p` (new index, ephemeral key, timestamp): the initiation to send.
  Bytes new_attempt(Pending& p, Time now);
  Bytes cookie_reply(Address from, const wire::Initiation& m, Time now);

  // session_transport.cc
  Inbound on_transport(Address from, std::span<const std::uint8_t> bytes, Time now);
  Outbound seal(Address to, std::span<const std::uint8_t> plaintext, Time now);
  Bytes seal_with(Session& s, std::span<const std::uint8_t> plaintext);
  // The session seal(to) uses, if it may still send.
  Session* usable_current(Address to, Time now);
  // Starts (or re-sends, at most every handshake_retry) a handshake to `to`.
  void initiate(Address to, Time now, Outbound& out);
  void enqueue(Pending& p, std::span<const std::uint8_t> plaintext, Outbound& out);

  // session_table.cc: the tables and their bounds.
  Session& insert_session(Session s);
  void erase_session(std::uint32_t index);
  Pending& pending_for(Address to, Time now, Outbound& out);
  void drop_queue(Pending& p, Drop reason, std::optional<Drop>& noted);
  void erase_pending(std::map<Address, Pending>::iterator it);
  void remember(const PublicKey& identity, Time timestamp);
  std::uint32_t new_index();
  Time next_timestamp(Time now);
  void count(Drop reason) { ++counters.dropped[static_cast<std::size_t>(reason)]; }
  Inbound drop(Drop reason) {
    count(reason);
    Inbound in;
    in.dropped = reason;
    return in;
  }

  SessionConfig config;
  KeyPair identity;
  SessionRandom random;
  SessionCounters counters;

  TokenBucket handshakes;
  Time under_load_until = kNever;
  SourceLimiter sources;
  CookieJar cookies;

  std::unordered_map<std::uint32_t, Session> sessions;  // by our index (random: no flooding)
  std::list<std::uint32_t> session_lru;                 // least recently used first
  std::map<Address, std::uint32_t> current;             // the session seal() uses
  std::map<Address, std::uint32_t> unconfirmed;         // a responder session not yet used
  std::uint64_t sessions_created = 0;

  std::map<Address, Pending> pending;
  std::unordered_map<std::uint32_t, Address> pending_by_index;
  std::list<Address> pending_order;  // oldest first
  std::size_t queued_bytes = 0;

  std::map<PublicKey, Identity> identities;
  std::list<PublicKey> identity_lru;
  Time last_timestamp = kNever;  // of our last initiation
};

}  // namespace kittengrad::session
