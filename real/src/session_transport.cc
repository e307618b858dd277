// session_transport.cc — sealing and opening transport datagrams, and seal()'s choice
// between sending now, starting a handshake, and queueing.
#include <cassert>

#include "session_state.h"

namespace kittengrad::session {
namespace {

using Nonce = std::array<std::uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES>;
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kTagBytes);
static_assert(crypto_kx_SESSIONKEYBYTES == crypto_aead_chacha20poly1305_ietf_KEYBYTES);

// 4 zero bytes, then the counter little-endian (as WireGuard): unique per key as long as
// the counter never repeats, which reject_after_messages guarantees.
Nonce nonce_of(std::uint64_t counter) {
  Nonce n{};
  for (int i = 0; i < 8; ++i) n[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
  return n;
}

}  // namespace

Bytes SessionTable::State::seal_with(Session& s, std::span<const std::uint8_t> plaintext) {
  assert(s.sent < config.reject_after_messages);
  const std::uint64_t counter = s.sent++;
  Bytes out = wire::encode(wire::TransportHeader{s.remote, counter}, plaintext.size() + kTagBytes);
  assert(out.size() == kTransportHeaderBytes);
  out.resize(kTransportHeaderBytes + plaintext.size() + kTagBytes);
  const Nonce nonce = nonce_of(counter);
  unsigned long long sealed_bytes = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + kTransportHeaderBytes, &sealed_bytes,
                                            plaintext.data(), plaintext.size(), out.data(),
                                            kTransportHeaderBytes, nullptr, nonce.data(),
                                            s.tx.b.data());
  assert(sealed_bytes == plaintext.size() + kTagBytes);
  session_lru.splice(session_lru.end(), session_lru, s.lru);
  ++counters.sealed;
  return out;
}

Inbound SessionTable::State::on_transport(Address from, std::span<const std::uint8_t> bytes,
                                          Time now) {
  const auto [h, bad] = wire::parse_transport(bytes);
  if (bad) return drop(*bad);
  const auto it = sessions.find(h.receiver);
  if (it == sessions.end()) return drop(Drop::kUnknownReceiver);
  Session& s = it->second;
  if (s.address != from) return drop(Drop::kWrongSource);
  if (now - s.created >= config.session_lifetime) return drop(Drop::kExpired);
  // Cheap refusal of a replay before the AEAD; the window itself moves only after it.
  const bool counter_ok = h.counter < config.reject_after_messages;
  if (counter_ok && !s.replay.fresh(h.counter)) return drop(Drop::kReplayed);

  const std::span<const std::uint8_t> header = bytes.first(kTransportHeaderBytes);
  const std::span<const std::uint8_t> sealed = bytes.subspan(kTransportHeaderBytes);
  Delivery d;
  d.plaintext.resize(sealed.size() - kTagBytes);
  const Nonce nonce = nonce_of(h.counter);
  unsigned long long plain_bytes = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(d.plaintext.data(), &plain_bytes, nullptr,
                                                sealed.data(), sealed.size(), header.data(),
                                                header.size(), nonce.data(), s.rx.b.data()) != 0) {
    return drop(Drop::kForged);
  }
  // Authentic, but past what the sender may send under this key: refuse it anyway.
  if (!counter_ok) return drop(Drop::kExpired);
  s.replay.mark(h.counter);
  session_lru.splice(session_lru.end(), session_lru, s.lru);

  // The other side holds the keys: this session may now carry our datagrams, and does if
  // it is newer than the one that does (a rekey by the other side).
  if (!s.confirmed) {
    s.confirmed = true;
    unconfirmed.erase(from);
  }
  auto cur = current.find(from);
  if (cur == current.end()) {
    cur = current.emplace(from, s.local).first;
  } else if (cur->second != s.local && sessions.at(cur->second).serial < s.serial) {
    cur->second = s.local;
  }
  sessions.at(cur->second).silent_since = kNever;  // we heard from the address

  ++counters.opened;
  d.from = from;
  d.peer = s.peer;
  Inbound in;
  in.delivery = std::move(d);
  return in;
}

Session* SessionTable::State::usable_current(Address to, Time now) {
  const auto cur = current.find(to);
  if (cur == current.end()) return nullptr;
  Session& s = sessions.at(cur->second);
  if (now - s.created >= config.session_lifetime || s.sent >= config.reject_after_messages) {
    return nullptr;
  }
  return &s;
}

void SessionTable::State::initiate(Address to, Time now, Outbound& out) {
  const bool fresh = !pending.contains(to);
  Pending& p = pending_for(to, now, out);
  if (fresh || p.sent_at == kNever || now - p.sent_at >= config.handshake_retry) {
    out.datagrams.push_back(new_attempt(p, now));
  }
}

void SessionTable::State::enqueue(Pending& p, std::span<const std::uint8_t> plaintext,
                                  Outbound& out) {
  auto pop_oldest = [&] {
    queued_bytes -= p.queue.front().size();
    p.queued_bytes -= p.queue.front().size();
    p.queue.pop_front();
    count(Drop::kQueueOverflow);
    out.dropped = Drop::kQueueOverflow;
  };
  while (!p.queue.empty() && (p.queue.size() >= config.queue_per_peer_max ||
                              queued_bytes + plaintext.size() > config.queued_bytes_max)) {
    pop_oldest();
  }
  if (queued_bytes + plaintext.size() > config.queued_bytes_max) {
    // Other peers' queues hold the bytes: this plaintext is the one that does not fit.
    count(Drop::kQueueOverflow);
    out.dropped = Drop::kQueueOverflow;
    return;
  }
  p.queue.emplace_back(plaintext.begin(), plaintext.end());
  p.queued_bytes += plaintext.size();
  queued_bytes += plaintext.size();
  ++counters.queued;
}

Outbound SessionTable::State::seal(Address to, std::span<const std::uint8_t> plaintext, Time now) {
  Outbound out;
  if (plaintext.size() > kPlaintextBytesMax) {
    count(Drop::kOversized);
    out.dropped = Drop::kOversized;
    return out;
  }
  if (Session* s = usable_current(to, now)) {
    const bool silent = s->silent_since != kNever &&
                        now - s->silent_since >= config.rehandshake_after_silence;
    if (now - s->created >= config.rekey_after || s->sent >= config.rekey_after_messages ||
        silent) {
      // A new session is due; this one still carries data until it is up.
      initiate(to, now, out);
    }
    if (s->silent_since == kNever) s->silent_since = now;
    out.datagrams.push_back(seal_with(*s, plaintext));
    return out;
  }
  initiate(to, now, out);
  enqueue(pending.at(to), plaintext, out);
  return out;
}

}  // namespace kittengrad::session
