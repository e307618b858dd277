// session_world.h — the session fuzzer's fixed world, shared with its corpus generator:
// peer A and peer B with one established session, and the datagrams of that world that
// make good seeds (honest transport datagrams B has not seen yet, a third peer's
// initiation, an old response, a cookie reply's layout). Deterministic: the same bytes on
// every run, so a corpus file means the same thing to the target that the generator meant.
//
// An input is a list of records: one control byte, a 16-bit big-endian length, the bytes.
// The control byte's low two bits pick the action, the other six add that many seconds
// to the clock first (so expiry and rekeying are in reach):
//   0: the bytes arrive at B from A's address       1: ... at B from a stranger's address
//   2: the bytes arrive at A from B's address       3: B seals b_plaintext(length) for A
//
// What each honest peer ever seals is fixed, whatever the input: A only a_plaintexts(), B
// only runs of 'B'. The world being deterministic, a datagram one input made B seal is
// authentic in every other (and libFuzzer carries such bytes across inputs), so "sealed
// in this run" would be the wrong oracle; "could ever be sealed" is the right one, and a
// forgery still shows up as a plaintext outside it.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/real/session.h"
#include "session_wire.h"  // real/src: the layouts, to build seeds

namespace kittengrad::session_fuzz {

using session::Bytes;
using session::SessionTable;

inline constexpr Time kT0 = Time{1'700'000'000} * kMicrosPerSecond;
inline constexpr Address kA = 0x7f0000011ce8;  // 127.0.0.1:7400
inline constexpr Address kB = 0x7f0000021ce8;
inline constexpr Address kStranger = 0x0a0000011ce8;

struct World {
  std::unique_ptr<SessionTable> a;
  std::unique_ptr<SessionTable> b;
  KeyPair key_a;
  KeyPair key_b;
  Time now = kT0;
  std::vector<Bytes> seeds;     // single datagrams worth starting from
};

inline std::array<std::uint8_t, 32> seed_bytes(std::string_view name) { return sha256(name); }

// The plaintexts of the seeds A seals for B (make_seeds).
inline Bytes honest_plaintext(int i) {
  return Bytes(static_cast<std::size_t>(10 * (i + 1)), static_cast<std::uint8_t>('a' + i));
}

inline const Bytes& hello() {
  static const Bytes h{'h', 'e', 'l', 'l', 'o'};
  return h;
}

// Everything A ever seals: hello in make_world, the three in make_seeds.
inline std::set<Bytes> a_plaintexts() {
  return {hello(), honest_plaintext(0), honest_plaintext(1), honest_plaintext(2)};
}

// What B seals for action 3 with a record of n bytes.
inline Bytes b_plaintext(std::size_t n) { return Bytes(n, 'B'); }

// A and B after their handshake and one datagram; `seeds` holds those three datagrams.
inline World make_world() {
  World w;
  w.key_a = keypair_from_u64(1);
  w.key_b = keypair_from_u64(2);
  w.a = std::make_unique<SessionTable>(session::SessionConfig{}, w.key_a, seed_bytes("fuzz a"));
  w.b = std::make_unique<SessionTable>(session::SessionConfig{}, w.key_b, seed_bytes("fuzz b"));
  const Bytes init = w.a->seal(kB, hello(), w.now).datagrams.at(0);
  const Bytes response = w.b->on_datagram(kA, init, w.now).replies.at(0);
  const Bytes first = w.a->on_datagram(kB, response, w.now).replies.at(0);
  if (!w.b->on_datagram(kA, first, w.now).delivery) std::abort();
  w.seeds = {init, response, first};
  return w;
}

// Adds the seeds that cost signatures, which the target need not pay for on every input:
// A's honest datagrams 1 to 3 (sealed here; B has not seen them), a third peer's
// initiation to B, and a cookie reply's layout for A's first handshake index.
inline void make_seeds(World& w) {
  for (int i = 0; i < 3; ++i) {
    w.seeds.push_back(w.a->seal(kB, honest_plaintext(i), w.now).datagrams.at(0));
  }
  SessionTable c(session::SessionConfig{}, keypair_from_u64(3), seed_bytes("fuzz c"));
  w.seeds.push_back(c.seal(kB, Bytes{'c'}, w.now).datagrams.at(0));
  session::wire::CookieReply cookie;
  cookie.receiver = session::wire::parse_response(w.seeds[1]).m.receiver;
  w.seeds.push_back(session::wire::encode(cookie));
}

// A record of the input format.
inline Bytes record(std::uint8_t control, std::span<const std::uint8_t> bytes) {
  Bytes r{control, static_cast<std::uint8_t>(bytes.size() >> 8),
          static_cast<std::uint8_t>(bytes.size())};
  r.insert(r.end(), bytes.begin(), bytes.end());
  return r;
}

}  // namespace kittengrad::session_fuzz
