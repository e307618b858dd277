// session_wire.cc — the four layouts through wire_io's Writer and Reader. Lengths are
// checked before the Reader runs, so a parse that starts cannot fail half-way.
#include "session_wire.h"

#include <cassert>
#include <string_view>

#include "wire_io.h"

namespace kittengrad::session::wire {
namespace {

using codec::detail::Like;
using codec::detail::Reader;
using codec::detail::Writer;

constexpr std::string_view kInitiationDomain = "kittengrad session initiation v1";
constexpr std::string_view kResponseDomain = "kittengrad session response v1";

template <typename IO>
void fields(IO& io, Like<IO, Initiation>& m, bool with_signature) {
  io.u32("sender index", m.sender);
  io.u64("timestamp", m.timestamp);
  io.bytes("ephemeral key", m.ephemeral);
  io.bytes("identity", m.identity);
  io.bytes("cookie", m.cookie);
  if (with_signature) io.bytes("signature", m.signature);
}

template <typename IO>
void fields(IO& io, Like<IO, Response>& m, bool with_signature) {
  io.u32("sender index", m.sender);
  io.u32("receiver index", m.receiver);
  io.bytes("ephemeral key", m.ephemeral);
  io.bytes("identity", m.identity);
  if (with_signature) io.bytes("signature", m.signature);
}

template <typename IO>
void fields(IO& io, Like<IO, CookieReply>& m, bool) {
  io.u32("receiver index", m.receiver);
  io.bytes("nonce", m.nonce);
  io.bytes("sealed cookie", m.sealed);
}

template <typename IO>
void fields(IO& io, Like<IO, TransportHeader>& h, bool) {
  io.u32("receiver index", h.receiver);
  io.u64("counter", h.counter);
}

// Handshakes carry a version byte after the type; transport and cookie replies do not (a
// new version would use new type values), to keep the per-datagram overhead small.
constexpr bool versioned(Type t) { return t == Type::kInitiation || t == Type::kResponse; }

template <typename M>
Bytes write(Type type, const M& m, std::size_t bytes, bool with_signature) {
  Writer w(bytes);
  w.u8("type", static_cast<std::uint8_t>(type));
  if (versioned(type)) w.u8("version", kVersion);
  fields(w, m, with_signature);
  return w.take();
}

// Reads `m` from exactly `size` bytes (transport: at least `size`, the header is read).
template <typename M>
std::optional<Drop> read(std::span<const std::uint8_t> bytes, Type type, std::size_t size,
                         bool exact, M& m) {
  if (bytes.size() < size) return Drop::kTruncated;
  if (exact && bytes.size() > size) return Drop::kMalformed;
  Reader r(bytes);
  std::uint8_t t = 0;
  std::uint8_t version = kVersion;
  r.u8("type", t);
  if (versioned(type)) r.u8("version", version);
  if (t != static_cast<std::uint8_t>(type) || version != kVersion) return Drop::kMalformed;
  fields(r, m, true);
  if (exact) r.expect_end();
  assert(!r.failed() && "the length check admits only complete layouts");
  return std::nullopt;
}

Bytes with_domain(std::string_view domain, Bytes body) {
  Bytes out(domain.begin(), domain.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace

std::optional<Type> type_of(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return std::nullopt;
  const std::uint8_t t = bytes[0];
  if (t < static_cast<std::uint8_t>(Type::kInitiation) ||
      t > static_cast<std::uint8_t>(Type::kTransport)) {
    return std::nullopt;
  }
  return static_cast<Type>(t);
}

Bytes encode(const Initiation& m) {
  return write(Type::kInitiation, m, kInitiationBytes, true);
}
Bytes encode(const Response& m) { return write(Type::kResponse, m, kResponseBytes, true); }
Bytes encode(const CookieReply& m) {
  return write(Type::kCookieReply, m, kCookieReplyBytes, true);
}
Bytes encode(const TransportHeader& h, std::size_t ciphertext_bytes) {
  return write(Type::kTransport, h, kTransportHeaderBytes + ciphertext_bytes, true);
}

InitiationOrDrop parse_initiation(std::span<const std::uint8_t> bytes) {
  InitiationOrDrop r;
  r.drop = read(bytes, Type::kInitiation, kInitiationBytes, true, r.m);
  return r;
}
ResponseOrDrop parse_response(std::span<const std::uint8_t> bytes) {
  ResponseOrDrop r;
  r.drop = read(bytes, Type::kResponse, kResponseBytes, true, r.m);
  return r;
}
CookieReplyOrDrop parse_cookie_reply(std::span<const std::uint8_t> bytes) {
  CookieReplyOrDrop r;
  r.drop = read(bytes, Type::kCookieReply, kCookieReplyBytes, true, r.m);
  return r;
}
TransportOrDrop parse_transport(std::span<const std::uint8_t> bytes) {
  TransportOrDrop r;
  if (bytes.size() > kMaxDatagramBytesMax) {
    r.drop = Drop::kMalformed;
    return r;
  }
  r.drop = read(bytes, Type::kTransport, kTransportHeaderBytes + kTagBytes, false, r.h);
  return r;
}

Bytes signed_bytes(const Initiation& m) {
  return with_domain(kInitiationDomain,
                     write(Type::kInitiation, m, kInitiationBytes - 64, false));
}

Bytes signed_bytes(const Response& m, const KxKey& initiator_ephemeral,
                   const PublicKey& initiator_identity) {
  Bytes out = with_domain(kResponseDomain, write(Type::kResponse, m, kResponseBytes - 64, false));
  out.insert(out.end(), initiator_ephemeral.begin(), initiator_ephemeral.end());
  out.insert(out.end(), initiator_identity.begin(), initiator_identity.end());
  return out;
}

}  // namespace kittengrad::session::wire
