// session_handshake.cc — the handshake: an initiation answered with a response (or, under
// load, a cookie reply first), and the initiator's side of both. The responder's checks
// run cheapest first: layout, load and cookie, the source's rate, the timestamp, and only
// then the signature and the Diffie-Hellman.
#include <cassert>
#include <limits>

#include "session_state.h"

namespace kittengrad::session {
namespace {

bool is_zero(const wire::Cookie& c) {
  std::uint8_t acc = 0;
  for (std::uint8_t b : c) acc |= b;
  return acc == 0;
}

}  // namespace

Bytes SessionTable::State::cookie_reply(Address from, const wire::Initiation& m, Time now) {
  wire::CookieReply reply;
  reply.receiver = m.sender;
  reply.nonce = random.bytes<24>();
  const wire::Cookie cookie = cookies.make(from, now);
  const std::array<std::uint8_t, 32> key = cookie_reply_key(m.ephemeral);
  unsigned long long sealed_bytes = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(reply.sealed.data(), &sealed_bytes, cookie.data(),
                                             cookie.size(), m.signature.data(),
                                             m.signature.size(), nullptr, reply.nonce.data(),
                                             key.data());
  assert(sealed_bytes == reply.sealed.size());
  ++counters.cookies_sent;
  return wire::encode(reply);
}

std::optional<Inbound> SessionTable::State::screen(Address from, const wire::Initiation& m,
                                                  Time now) {
  if (!handshakes.take(now)) under_load_until = now + config.under_load_for;
  if (now < under_load_until) {
    const bool missing = is_zero(m.cookie);
    if (missing || !cookies.valid(m.cookie, from, now)) {
      Inbound in = drop(missing ? Drop::kCookieRequired : Drop::kCookieInvalid);
      in.replies.push_back(cookie_reply(from, m, now));
      return in;
    }
  }
  if (!sources.allow(from, now)) return drop(Drop::kOverRate);

  // Compared without converting to Time: the field is any 64 bits a sender chose.
  const auto now_u = static_cast<std::uint64_t>(now);
  const auto skew_u = static_cast<std::uint64_t>(config.handshake_clock_skew);
  if (now < 0 || m.timestamp + skew_u < now_u || m.timestamp > now_u + skew_u ||
      m.timestamp > static_cast<std::uint64_t>(std::numeric_limits<Time>::max())) {
    return drop(Drop::kStaleHandshake);
  }
  const auto timestamp = static_cast<Time>(m.timestamp);
  if (const auto known = identities.find(m.identity);
      known != identities.end() && timestamp <= known->second.timestamp) {
    return drop(Drop::kReplayedHandshake);
  }
  return std::nullopt;
}

Inbound SessionTable::State::on_initiation(Address from, std::span<const std::uint8_t> bytes,
                                           Time now) {
  const auto [m, bad] = wire::parse_initiation(bytes);
  if (bad) return drop(*bad);
  if (std::optional<Inbound> refused = screen(from, m, now)) return std::move(*refused);

  ++counters.signatures_verified;
  if (!verify(m.identity, wire::signed_bytes(m), m.signature)) return drop(Drop::kBadSignature);

  wire::KxKey ephemeral;
  Secret32 ephemeral_secret;
  const Secret32 seed(random.bytes<32>());
  crypto_kx_seed_keypair(ephemeral.data(), ephemeral_secret.b.data(), seed.b.data());
  Session s;
  if (crypto_kx_server_session_keys(s.rx.b.data(), s.tx.b.data(), ephemeral.data(),
                                    ephemeral_secret.b.data(), m.ephemeral.data()) != 0) {
    return drop(Drop::kBadKey);
  }
  remember(m.identity, static_cast<Time>(m.timestamp));

  s.local = new_index();
  s.remote = m.sender;
  s.address = from;
  s.peer = m.identity;
  s.created = now;
  const Session& added = add_responder_session(std::move(s), now);

  wire::Response r;
  r.sender = added.local;
  r.receiver = m.sender;
  r.ephemeral = ephemeral;
  r.identity = identity.public_key;
  r.signature = sign(identity.secret_key, wire::signed_bytes(r, m.ephemeral, m.identity));
  ++counters.responses_sent;
  Inbound in;
  in.replies.push_back(wire::encode(r));
  return in;
}

const Session& SessionTable::State::add_responder_session(Session s, Time now) {
  const Address from = s.address;
  // One unused responder session an address: an initiator that retries (its response was
  // lost), or one that handshakes over and over, replaces it instead of filling the table.
  if (const auto old = unconfirmed.find(from); old != unconfirmed.end()) {
    erase_session(old->second);
  }
  // It takes over sending only once the initiator used it (see on_transport), unless there
  // is nothing better: a replayed initiation must not divert a working session.
  const bool take_over = usable_current(from, now) == nullptr;
  Session& added = insert_session(std::move(s));
  unconfirmed[from] = added.local;
  if (take_over) current[from] = added.local;
  return added;
}

Bytes SessionTable::State::new_attempt(Pending& p, Time now) {
  if (p.index != 0) pending_by_index.erase(p.index);
  p.index = new_index();
  pending_by_index[p.index] = p.address;
  const Secret32 seed(random.bytes<32>());
  crypto_kx_seed_keypair(p.ephemeral.data(), p.ephemeral_secret.b.data(), seed.b.data());

  wire::Initiation m;
  m.sender = p.index;
  m.timestamp = static_cast<std::uint64_t>(next_timestamp(now));
  m.ephemeral = p.ephemeral;
  m.identity = identity.public_key;
  // A cookie lasts as long as the responder's secret does (it accepts the previous one).
  if (p.cookie && now - p.cookie_at < config.cookie_rotation) m.cookie = *p.cookie;
  m.signature = sign(identity.secret_key, wire::signed_bytes(m));
  p.signature = m.signature;
  p.sent_at = now;
  ++counters.initiations_sent;
  return wire::encode(m);
}

Inbound SessionTable::State::on_response(Address from, std::span<const std::uint8_t> bytes,
                                         Time now) {
  const auto [m, bad] = wire::parse_response(bytes);
  if (bad) return drop(*bad);
  const auto by_index = pending_by_index.find(m.receiver);
  if (by_index == pending_by_index.end()) return drop(Drop::kUnknownReceiver);
  if (by_index->second != from) return drop(Drop::kWrongSource);
  const auto it = pending.find(from);
  Pending& p = it->second;

  ++counters.signatures_verified;
  if (!verify(m.identity, wire::signed_bytes(m, p.ephemeral, identity.public_key), m.signature)) {
    return drop(Drop::kBadSignature);
  }
  Session s;
  if (crypto_kx_client_session_keys(s.rx.b.data(), s.tx.b.data(), p.ephemeral.data(),
                                    p.ephemeral_secret.b.data(), m.ephemeral.data()) != 0) {
    return drop(Drop::kBadKey);
  }
  // The pending handshake's index becomes the session's: the responder already uses it.
  s.local = p.index;
  s.remote = m.sender;
  s.address = from;
  s.peer = m.identity;
  s.created = now;
  s.confirmed = true;
  pending_by_index.erase(by_index);
  p.index = 0;
  Session& added = insert_session(std::move(s));
  current[from] = added.local;
  ++counters.handshakes_completed;

  Inbound in;
  for (const Bytes& plaintext : p.queue) in.replies.push_back(seal_with(added, plaintext));
  queued_bytes -= p.queued_bytes;
  p.queue.clear();
  p.queued_bytes = 0;
  pending_order.erase(p.order);
  pending.erase(it);
  return in;
}

Inbound SessionTable::State::on_cookie_reply(Address from, std::span<const std::uint8_t> bytes,
                                             Time now) {
  const auto [m, bad] = wire::parse_cookie_reply(bytes);
  if (bad) return drop(*bad);
  const auto by_index = pending_by_index.find(m.receiver);
  if (by_index == pending_by_index.end()) return drop(Drop::kUnknownReceiver);
  if (by_index->second != from) return drop(Drop::kWrongSource);
  Pending& p = pending.find(from)->second;

  const std::array<std::uint8_t, 32> key = cookie_reply_key(p.ephemeral);
  wire::Cookie cookie;
  unsigned long long cookie_bytes = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie.data(), &cookie_bytes, nullptr,
                                                 m.sealed.data(), m.sealed.size(),
                                                 p.signature.data(), p.signature.size(),
                                                 m.nonce.data(), key.data()) != 0) {
    return drop(Drop::kForged);
  }
  ++counters.cookies_received;
  p.cookie = cookie;
  p.cookie_at = now;
  Inbound in;
  if (p.cookie_resends < kCookieResendsMax) {
    ++p.cookie_resends;
    in.replies.push_back(new_attempt(p, now));
  }
  return in;
}

}  // namespace kittengrad::session
