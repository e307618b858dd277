// session_table.cc — the SessionTable's front door and its bounded tables: sessions (LRU),
// pending handshakes (oldest evicted, with their queues), identities' last timestamps
// (LRU), and the counters' names.
#include <cassert>
#include <numeric>

#include "session_state.h"

namespace kittengrad::session {

std::string_view drop_name(Drop reason) {
  switch (reason) {
    case Drop::kTruncated: return "truncated";
    case Drop::kMalformed: return "malformed";
    case Drop::kUnknownReceiver: return "unknown_receiver";
    case Drop::kWrongSource: return "wrong_source";
    case Drop::kForged: return "forged";
    case Drop::kReplayed: return "replayed";
    case Drop::kExpired: return "expired";
    case Drop::kBadSignature: return "bad_signature";
    case Drop::kBadKey: return "bad_key";
    case Drop::kStaleHandshake: return "stale_handshake";
    case Drop::kReplayedHandshake: return "replayed_handshake";
    case Drop::kCookieRequired: return "cookie_required";
    case Drop::kCookieInvalid: return "cookie_invalid";
    case Drop::kOverRate: return "over_rate";
    case Drop::kQueueOverflow: return "queue_overflow";
    case Drop::kHandshakeTimeout: return "handshake_timeout";
    case Drop::kOversized: return "oversized";
  }
  return "unknown";
}

std::uint64_t SessionCounters::drops_total() const {
  return std::accumulate(dropped.begin(), dropped.end(), std::uint64_t{0});
}

SessionTable::State::State(SessionConfig c, KeyPair id, const std::array<std::uint8_t, 32>& seed)
    : config(c),
      identity(id),
      random(seed),
      handshakes(c.handshakes_per_s, 0),
      sources(c.sources_max, c.handshakes_per_source_per_s),
      cookies(c.cookie_rotation, random, 0) {
  assert(c.sessions_max >= 1 && c.handshakes_pending_max >= 1 && c.queue_per_peer_max >= 1 &&
         c.queued_bytes_max >= 1 && c.identities_max >= 1 && c.sources_max >= 1 &&
         c.handshakes_per_s >= 1 && c.handshakes_per_source_per_s >= 1);
  assert(c.under_load_for > 0 && c.cookie_rotation > 0 && c.handshake_retry > 0 &&
         c.handshake_timeout > 0 && c.handshake_clock_skew > 0 && c.rekey_after > 0 &&
         c.session_lifetime > 0 && c.rehandshake_after_silence > 0);
  assert(c.rekey_after_messages <= c.reject_after_messages &&
         c.reject_after_messages < UINT64_MAX && "counters must stay below the window's limit");
}

Session& SessionTable::State::insert_session(Session s) {
  if (sessions.size() >= config.sessions_max) {
    erase_session(session_lru.front());
    ++counters.sessions_evicted;
  }
  s.serial = ++sessions_created;
  session_lru.push_back(s.local);
  s.lru = std::prev(session_lru.end());
  const auto [it, inserted] = sessions.emplace(s.local, std::move(s));
  assert(inserted && "new_index() never hands out an index in use");
  return it->second;
}

void SessionTable::State::erase_session(std::uint32_t index) {
  const auto it = sessions.find(index);
  for (auto* by_address : {&current, &unconfirmed}) {
    const auto named = by_address->find(it->second.address);
    if (named != by_address->end() && named->second == index) by_address->erase(named);
  }
  session_lru.erase(it->second.lru);
  sessions.erase(it);
}

void SessionTable::State::drop_queue(Pending& p, Drop reason, std::optional<Drop>& noted) {
  for (const Bytes& b : p.queue) {
    queued_bytes -= b.size();
    count(reason);
    noted = reason;
  }
  p.queue.clear();
  p.queued_bytes = 0;
}

void SessionTable::State::erase_pending(std::map<Address, Pending>::iterator it) {
  assert(it->second.queue.empty() && "drop or flush the queue first");
  pending_by_index.erase(it->second.index);
  pending_order.erase(it->second.order);
  pending.erase(it);
}

Pending& SessionTable::State::pending_for(Address to, Time now, Outbound& out) {
  auto it = pending.find(to);
  if (it != pending.end() && now - it->second.started >= config.handshake_timeout) {
    // Unanswered too long: its plaintexts are stale; start over with a clean slate.
    drop_queue(it->second, Drop::kHandshakeTimeout, out.dropped);
    erase_pending(it);
    it = pending.end();
  }
  if (it != pending.end()) return it->second;
  if (pending.size() >= config.handshakes_pending_max) {
    const auto oldest = pending.find(pending_order.front());
    drop_queue(oldest->second, Drop::kQueueOverflow, out.dropped);
    erase_pending(oldest);
  }
  Pending& p = pending[to];
  p.address = to;
  p.started = now;
  pending_order.push_back(to);
  p.order = std::prev(pending_order.end());
  return p;
}

void SessionTable::State::remember(const PublicKey& key, Time timestamp) {
  auto it = identities.find(key);
  if (it == identities.end()) {
    if (identities.size() >= config.identities_max) {
      identities.erase(identity_lru.front());
      identity_lru.pop_front();
    }
    identity_lru.push_back(key);
    it = identities.emplace(key, Identity{timestamp, std::prev(identity_lru.end())}).first;
  }
  it->second.timestamp = timestamp;
  identity_lru.splice(identity_lru.end(), identity_lru, it->second.lru);
}

std::uint32_t SessionTable::State::new_index() {
  // At most sessions_max + handshakes_pending_max of 2^32 - 1 indices are taken: a few
  // draws at worst.
  for (;;) {
    const std::uint32_t i = random.u32();
    if (i != 0 && !sessions.contains(i) && !pending_by_index.contains(i)) return i;
  }
}

Time SessionTable::State::next_timestamp(Time now) {
  last_timestamp = last_timestamp == kNever ? now : std::max(now, last_timestamp + 1);
  return last_timestamp;
}

SessionTable::SessionTable(SessionConfig config, KeyPair identity,
                           const std::array<std::uint8_t, 32>& seed)
    : s_(std::make_unique<State>(config, identity, seed)) {}

SessionTable::~SessionTable() = default;

Inbound SessionTable::on_datagram(Address from, std::span<const std::uint8_t> bytes, Time now) {
  if (bytes.empty()) return s_->drop(Drop::kTruncated);
  const std::optional<wire::Type> type = wire::type_of(bytes);
  if (!type) return s_->drop(Drop::kMalformed);
  switch (*type) {
    case wire::Type::kInitiation: return s_->on_initiation(from, bytes, now);
    case wire::Type::kResponse: return s_->on_response(from, bytes, now);
    case wire::Type::kCookieReply: return s_->on_cookie_reply(from, bytes, now);
    case wire::Type::kTransport: return s_->on_transport(from, bytes, now);
  }
  return s_->drop(Drop::kMalformed);
}

Outbound SessionTable::seal(Address to, std::span<const std::uint8_t> plaintext, Time now) {
  return s_->seal(to, plaintext, now);
}

std::optional<PublicKey> SessionTable::peer_at(Address to, Time now) const {
  if (const Session* s = s_->usable_current(to, now)) return s->peer;
  return std::nullopt;
}

const SessionCounters& SessionTable::counters() const { return s_->counters; }

SessionSizes SessionTable::sizes() const {
  return SessionSizes{s_->sessions.size(), s_->pending.size(), s_->queued_bytes,
                      s_->identities.size(), s_->sources.size()};
}

}  // namespace kittengrad::session
