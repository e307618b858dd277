// session_fuzz.cc — libFuzzer target for the session layer: arbitrary datagrams (and
// seals) at two peers that share an established session (session_world.h has the input
// format and the world).
//
// Nothing may crash, hang or read out of bounds (ASan and UBSan watch). Beyond that:
//   - a plaintext is delivered only if the honest peer at that address could have sealed
//     it (see session_world.h), and comes with that peer's key (nothing unauthenticated
//     gets through), and a datagram is delivered at most once (no replay gets through);
//   - every datagram is counted exactly once: dropped for a reason, opened, or accepted
//     as a handshake step (response sent, handshake completed, cookie taken);
//   - no table outgrows its bound.
//
//   make fuzz-session FUZZ_SECONDS=60     (builds build-fuzz with clang; see fuzz/README.md)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <span>
#include <tuple>

#include "session_world.h"

namespace {

using namespace kittengrad;
using namespace kittengrad::session_fuzz;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "session_fuzz: %s\n", why);
  std::abort();
}

std::uint64_t handled(const session::SessionCounters& c) {
  return c.drops_total() - c.dropped[static_cast<std::size_t>(session::Drop::kQueueOverflow)] -
         c.dropped[static_cast<std::size_t>(session::Drop::kHandshakeTimeout)] -
         c.dropped[static_cast<std::size_t>(session::Drop::kOversized)] + c.opened +
         c.responses_sent + c.handshakes_completed + c.cookies_received;
}

void check_bounds(const SessionTable& t) {
  const session::SessionConfig config;
  const session::SessionSizes s = t.sizes();
  if (s.sessions > config.sessions_max || s.pending > config.handshakes_pending_max ||
      s.queued_bytes > config.queued_bytes_max || s.identities > config.identities_max ||
      s.sources > config.sources_max) {
    fail("a table outgrew its bound");
  }
}

bool sealed_by_a(const Bytes& p) {
  static const std::set<Bytes> all = a_plaintexts();
  return all.contains(p);
}

bool sealed_by_b(const Bytes& p) {
  return std::all_of(p.begin(), p.end(), [](std::uint8_t c) { return c == 'B'; });
}

struct Peer {
  SessionTable* table;
  Address address;
  const KeyPair* key;
  bool (*sealed_by_other)(const Bytes&);  // could the honest peer across have sealed it
  const KeyPair* other_key;
  std::uint64_t received = 0;
  std::set<Bytes> delivered;  // datagrams whose plaintext came out
};

// `bytes` arrive at `to` from `from`; replies flow between the two honest peers until none
// is left (a stranger's replies go nowhere).
void deliver(Peer& to, Peer& other, Address from, std::span<const std::uint8_t> bytes, Time now) {
  std::deque<std::tuple<Peer*, Address, Bytes>> wire;
  wire.emplace_back(&to, from, Bytes(bytes.begin(), bytes.end()));
  while (!wire.empty()) {
    auto [dst, src, datagram] = std::move(wire.front());
    wire.pop_front();
    ++dst->received;
    session::Inbound in = dst->table->on_datagram(src, datagram, now);
    if (in.delivery) {
      const Peer& honest = dst == &to ? other : to;
      if (src != honest.address) fail("delivered a datagram from a stranger");
      if (in.delivery->peer != dst->other_key->public_key) fail("delivered with the wrong key");
      if (!dst->sealed_by_other(in.delivery->plaintext)) {
        fail("delivered a plaintext the honest peer never sealed");
      }
      if (!dst->delivered.insert(datagram).second) fail("delivered a datagram twice");
    }
    if (src != (dst == &to ? other.address : to.address)) continue;
    Peer* back = dst == &to ? &other : &to;
    for (Bytes& r : in.replies) wire.emplace_back(back, dst->address, std::move(r));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool sodium_ready = crypto_init();
  if (!sodium_ready) std::abort();
  World w = make_world();
  const session::SessionCounters base_a = w.a->counters();
  const session::SessionCounters base_b = w.b->counters();
  Peer a{w.a.get(), kA, &w.key_a, &sealed_by_b, &w.key_b, 0, {}};
  Peer b{w.b.get(), kB, &w.key_b, &sealed_by_a, &w.key_a, 0, {}};

  std::span<const std::uint8_t> in(data, size);
  while (in.size() >= 3) {
    const std::uint8_t control = in[0];
    const std::size_t n = std::min<std::size_t>(in.size() - 3, std::size_t{in[1]} << 8 | in[2]);
    const std::span<const std::uint8_t> bytes = in.subspan(3, n);
    in = in.subspan(3 + n);
    w.now += Time{control >> 2} * kMicrosPerSecond;
    switch (control & 3) {
      case 0: deliver(b, a, kA, bytes, w.now); break;
      case 1: deliver(b, a, kStranger, bytes, w.now); break;
      case 2: deliver(a, b, kB, bytes, w.now); break;
      default: {
        session::Outbound out = w.b->seal(kA, b_plaintext(bytes.size()), w.now);
        for (const Bytes& d : out.datagrams) deliver(a, b, kB, d, w.now);
      }
    }
    check_bounds(*w.a);
    check_bounds(*w.b);
  }
  if (handled(w.a->counters()) - handled(base_a) != a.received ||
      handled(w.b->counters()) - handled(base_b) != b.received) {
    fail("a datagram was not counted exactly once");
  }
  return 0;
}
