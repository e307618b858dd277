// kittengrad/real/session.h — authenticated sessions between live peers, sans-I/O.
//
// A SessionTable sits between one UDP socket and the wire codec. It binds every datagram
// stream to the Ed25519 identity of the peer at the other end, seals each datagram with an
// AEAD under a counter nonce, refuses replays with a sliding window, and answers handshake
// floods with cookies first, as WireGuard does. It opens no socket and reads no clock: time
// comes in as an argument, randomness from a seed, so a test replays exactly.
//
//   SessionTable table(SessionConfig{}, identity, seed);
//   Outbound out = table.seal(peer, codec::encode(msg), now);     // send out.datagrams
//   Inbound in = table.on_datagram(from, bytes, now);             // send in.replies to from
//   if (in.delivery) core.on_datagram(codec::decode(in.delivery->plaintext, ...));
//
// `now` is wall-clock time in microseconds since the Unix epoch (the daemon passes
// system_clock): initiations carry it as their anti-replay timestamp, which must keep
// growing across restarts and agree between machines within handshake_clock_skew.
//
// Protocol (version 1). Integers big-endian. X25519 keys 32 bytes, Ed25519 keys 32 and
// signatures 64 bytes; "||" is concatenation.
//
//   Initiation (158 bytes), initiator -> responder:
//     type=1 u8 | version=1 u8 | sender index u32 | timestamp u64 | ephemeral X25519 [32]
//     | identity Ed25519 [32] | cookie [16] (zeros unless the responder demanded one)
//     | signature [64]  = Ed25519 over "kittengrad session initiation v1" || bytes 0..93
//   Response (138 bytes), responder -> initiator:
//     type=2 u8 | version=1 u8 | sender index u32 | receiver index u32 (the initiation's
//     sender index) | ephemeral X25519 [32] | identity Ed25519 [32]
//     | signature [64]  = Ed25519 over "kittengrad session response v1" || bytes 0..73
//                         || the initiation's ephemeral key || the initiator's identity
//     Signing the initiator's ephemeral key binds the response to this one handshake: it
//     cannot be replayed into another. The response is shorter than the initiation, so
//     a spoofed initiation gains its sender no amplification.
//   Cookie reply (61 bytes), responder under load -> initiator:
//     type=3 u8 | receiver index u32 | nonce [24] | sealed cookie [16 + 16]
//     XChaCha20-Poly1305, key = BLAKE2b("kittengrad cookie v1" || initiation's ephemeral
//     key), associated data = the initiation's signature: only who saw that initiation can
//     forge one, and a cookie reply fits no other initiation.
//   Transport (29 bytes + plaintext), either direction:
//     type=4 u8 | receiver index u32 | counter u64 | ChaCha20-Poly1305-IETF ciphertext
//     with tag [n + 16]; nonce = 4 zero bytes || counter (little-endian); associated data
//     = the 13-byte header. 29 <= kTransportOverheadBytes: the core's datagram budget
//     already leaves room for it.
//
// Session keys: crypto_kx_client_session_keys (initiator) and crypto_kx_server_session_keys
// (responder) on the two ephemeral key pairs; the signatures bind the ephemerals to the
// identities. Each side names a session by the index it chose (random, never 0), and the
// other side puts that index into every datagram it sends, so a lookup is one hash probe.
//
// Who is acceptable is the caller's decision: every Delivery names the authenticated
// Ed25519 key, and the daemon refuses a peer whose claimed ring id is not sha256 of it.
// Clients use the same handshake with their own key pair.
//
// Floods. Every initiation takes a token from a bucket of handshakes_per_s a second; when
// it is empty the responder is under load (for under_load_for after), and then answers
// an initiation without a valid cookie with a cookie reply (a BLAKE2b MAC of the sender's
// address, keyed with a secret rotated every cookie_rotation; the previous secret still
// counts) and nothing else: no signature check, no Diffie-Hellman. An initiation with a
// valid cookie proves its address is real. Each address also has its own budget,
// handshakes_per_source_per_s, checked after the cookie, so a cookie holder cannot flood
// either. Under a flood of spoofed initiations the signature checks per second stay near
// handshakes_per_s while an honest initiator, one round trip later, still gets through.
// An address has at most one responder session nobody has used yet: a new handshake from
// it replaces that one instead of filling the table.
//
// Replays. Transport counters go through a 2048-bit window (RFC 6479): a counter up to
// 1,984 behind the newest is accepted once, older ones never; the window
// moves only after the tag verified, so forgeries cannot push it. An initiation must carry
// a timestamp within handshake_clock_skew of now and above the last one accepted from its
// identity (remembered for identities_max identities).
//
// Sessions live session_lifetime; the side that sends starts a new handshake after
// rekey_after, after rekey_after_messages, or when it has heard nothing for
// rehandshake_after_silence since it last sent (the other side may have restarted), and
// keeps using the old session until the new one is up. A responder's new session takes
// over sending only once the initiator has used it (or when there is no other), so a
// replayed initiation cannot divert a working session.
//
// Invariants: every table is bounded by the config (sessions, pending handshakes, queued
// plaintexts and bytes, identities, sources), evicting the least recently used; a datagram
// adds at most one entry to any table; bad input of any kind is dropped, counted by
// reason, and changes nothing but counters and the rate limits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/env.h"
#include "kittengrad/messages.h"

namespace kittengrad::session {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::size_t kTransportHeaderBytes = 1 + 4 + 8;
inline constexpr std::size_t kTagBytes = 16;
static_assert(kTransportHeaderBytes + kTagBytes <= kTransportOverheadBytes,
              "the core leaves kTransportOverheadBytes per datagram for the session layer");
// The largest plaintext seal() takes: a sealed datagram of kMaxDatagramBytesMax.
inline constexpr std::size_t kPlaintextBytesMax = kMaxDatagramBytesMax - kTransportOverheadBytes;

struct SessionConfig {
  std::size_t sessions_max = 4096;             // established sessions (LRU evicts)
  std::size_t handshakes_pending_max = 1024;   // our initiations awaiting an answer
  std::size_t queue_per_peer_max = 32;         // plaintexts waiting for a handshake
  std::size_t queued_bytes_max = 4 << 20;      // ... in all
  std::size_t identities_max = 4096;           // last initiation timestamps remembered
  std::size_t sources_max = 4096;              // per-address handshake rate limits
  std::size_t handshakes_per_s = 200;          // above this: cookies first
  std::size_t handshakes_per_source_per_s = 5;
  Time under_load_for = 1 * kMicrosPerSecond;
  Time cookie_rotation = 120 * kMicrosPerSecond;
  Time handshake_retry = 1 * kMicrosPerSecond;       // re-send an unanswered initiation
  Time handshake_timeout = 15 * kMicrosPerSecond;    // then give up its queue
  Time handshake_clock_skew = 120 * kMicrosPerSecond;
  Time rekey_after = 120 * kMicrosPerSecond;
  Time session_lifetime = 180 * kMicrosPerSecond;
  Time rehandshake_after_silence = 15 * kMicrosPerSecond;
  std::uint64_t rekey_after_messages = std::uint64_t{1} << 30;
  std::uint64_t reject_after_messages = std::uint64_t{1} << 40;
};

// Why a datagram (or a queued plaintext) was dropped. One counter each.
enum class Drop : std::uint8_t {
  kTruncated,          // shorter than its type's layout
  kMalformed,          // unknown type or version, wrong length
  kUnknownReceiver,    // no session or pending handshake has that index
  kWrongSource,        // the index belongs to another address
  kForged,             // the AEAD tag (transport or cookie reply) does not verify
  kReplayed,           // a transport counter already seen or behind the window
  kExpired,            // the session is past its lifetime or its message limit
  kBadSignature,       // a handshake whose signature does not verify
  kBadKey,             // an ephemeral key crypto_kx refuses (low order)
  kStaleHandshake,     // initiation timestamp outside handshake_clock_skew
  kReplayedHandshake,  // initiation timestamp not above the identity's last one
  kCookieRequired,     // under load, no cookie: answered with a cookie reply
  kCookieInvalid,      // under load, a wrong or expired cookie: answered with a new one
  kOverRate,           // the source's handshake budget is spent (or its table is full)
  kQueueOverflow,      // a queued plaintext pushed out (queue, bytes or table full)
  kHandshakeTimeout,   // a queued plaintext whose handshake was never answered
  kOversized,          // seal() of more than kPlaintextBytesMax
};
inline constexpr std::size_t kDropReasons = static_cast<std::size_t>(Drop::kOversized) + 1;

// "truncated", "malformed", ... (stats output).
[[nodiscard]] std::string_view drop_name(Drop reason);

struct SessionCounters {
  std::array<std::uint64_t, kDropReasons> dropped{};
  std::uint64_t initiations_sent = 0;
  std::uint64_t responses_sent = 0;      // handshakes answered (responder)
  std::uint64_t handshakes_completed = 0;  // responses accepted (initiator)
  std::uint64_t cookies_sent = 0;
  std::uint64_t cookies_received = 0;
  std::uint64_t signatures_verified = 0;   // every Ed25519 check, passed or not
  std::uint64_t sessions_evicted = 0;
  std::uint64_t sealed = 0;
  std::uint64_t opened = 0;
  std::uint64_t queued = 0;

  [[nodiscard]] std::uint64_t drops(Drop reason) const {
    return dropped[static_cast<std::size_t>(reason)];
  }
  [[nodiscard]] std::uint64_t drops_total() const;
};

struct SessionSizes {
  std::size_t sessions = 0;
  std::size_t pending = 0;
  std::size_t queued_bytes = 0;
  std::size_t identities = 0;
  std::size_t sources = 0;
};

// A plaintext from an authenticated peer.
struct Delivery {
  Address from = 0;
  PublicKey peer{};  // its Ed25519 identity, as its handshake proved
  Bytes plaintext;
};

struct Inbound {
  std::optional<Delivery> delivery;
  std::vector<Bytes> replies;  // to send back to `from`, in order
  std::optional<Drop> dropped;
};

struct Outbound {
  std::vector<Bytes> datagrams;  // to send to `to`, in order
  std::optional<Drop> dropped;   // set if this call dropped a plaintext (this or a queued one)
};

class SessionTable {
 public:
  // REQUIRES: crypto_init() succeeded; every bound in `config` is at least 1 and every
  // duration positive. `seed` keys the table's ChaCha20 random stream (ephemeral keys,
  // indices, cookie secrets): the daemon passes 32 bytes from the OS (randombytes_buf),
  // tests a fixed value to replay a run.
  SessionTable(SessionConfig config, KeyPair identity, const std::array<std::uint8_t, 32>& seed);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // A datagram from the socket: a delivery, replies for `from`, or a drop with its reason.
  [[nodiscard]] Inbound on_datagram(Address from, std::span<const std::uint8_t> bytes, Time now);

  // Seals `plaintext` for `to`. Without a usable session the plaintext waits (bounded; the
  // oldest goes first) and the datagrams are the handshake initiation, re-sent at most
  // every handshake_retry; the queue comes out sealed in on_datagram's replies when the
  // response arrives. The caller's own retries drive re-sends: there is no timer.
  [[nodiscard]] Outbound seal(Address to, std::span<const std::uint8_t> plaintext, Time now);

  // The authenticated identity behind the session seal(to) would use, if any.
  [[nodiscard]] std::optional<PublicKey> peer_at(Address to, Time now) const;

  [[nodiscard]] const SessionCounters& counters() const;
  [[nodiscard]] SessionSizes sizes() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace kittengrad::session
