// session_wire.h — the session layer's four datagram layouts (see session.h for the byte
// table), each described once for both directions with wire_io's Writer and Reader, and
// the exact bytes each signature covers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/real/session.h"

namespace kittengrad::session::wire {

enum class Type : std::uint8_t { kInitiation = 1, kResponse = 2, kCookieReply = 3, kTransport = 4 };
inline constexpr std::uint8_t kVersion = 1;

using KxKey = std::array<std::uint8_t, 32>;  // X25519 public key (crypto_kx_PUBLICKEYBYTES)
using Cookie = std::array<std::uint8_t, 16>;
using XNonce = std::array<std::uint8_t, 24>;
using SealedCookie = std::array<std::uint8_t, 32>;  // cookie + tag

inline constexpr std::size_t kInitiationBytes = 1 + 1 + 4 + 8 + 32 + 32 + 16 + 64;
inline constexpr std::size_t kResponseBytes = 1 + 1 + 4 + 4 + 32 + 32 + 64;
inline constexpr std::size_t kCookieReplyBytes = 1 + 4 + 24 + 32;
static_assert(kInitiationBytes == 158 && kResponseBytes == 138 && kCookieReplyBytes == 61,
              "the sizes in session.h's layout table");
static_assert(kResponseBytes < kInitiationBytes && kCookieReplyBytes < kInitiationBytes,
              "answers to an initiation must not amplify a spoofed one");

struct Initiation {
  std::uint32_t sender = 0;
  std::uint64_t timestamp = 0;
  KxKey ephemeral{};
  PublicKey identity{};
  Cookie cookie{};
  Signature signature{};
};

struct Response {
  std::uint32_t sender = 0;
  std::uint32_t receiver = 0;
  KxKey ephemeral{};
  PublicKey identity{};
  Signature signature{};
};

struct CookieReply {
  std::uint32_t receiver = 0;
  XNonce nonce{};
  SealedCookie sealed{};
};

struct TransportHeader {
  std::uint32_t receiver = 0;
  std::uint64_t counter = 0;
};

// The type byte of a datagram, if it has one.
[[nodiscard]] std::optional<Type> type_of(std::span<const std::uint8_t> bytes);

[[nodiscard]] Bytes encode(const Initiation& m);
[[nodiscard]] Bytes encode(const Response& m);
[[nodiscard]] Bytes encode(const CookieReply& m);
// The 13-byte header; the caller appends ciphertext and tag.
[[nodiscard]] Bytes encode(const TransportHeader& h, std::size_t ciphertext_bytes);

// Each parse returns the message or the reason to drop the datagram (kTruncated when
// shorter than the layout, kMalformed for a wrong type, version or length).
struct InitiationOrDrop { Initiation m; std::optional<Drop> drop; };
struct ResponseOrDrop { Response m; std::optional<Drop> drop; };
struct CookieReplyOrDrop { CookieReply m; std::optional<Drop> drop; };
struct TransportOrDrop { TransportHeader h; std::optional<Drop> drop; };
[[nodiscard]] InitiationOrDrop parse_initiation(std::span<const std::uint8_t> bytes);
[[nodiscard]] ResponseOrDrop parse_response(std::span<const std::uint8_t> bytes);
[[nodiscard]] CookieReplyOrDrop parse_cookie_reply(std::span<const std::uint8_t> bytes);
[[nodiscard]] TransportOrDrop parse_transport(std::span<const std::uint8_t> bytes);

// What each signature covers: a domain string, the message's bytes before its signature,
// and for a response the initiation's ephemeral key and the initiator's identity.
[[nodiscard]] Bytes signed_bytes(const Initiation& m);
[[nodiscard]] Bytes signed_bytes(const Response& m, const KxKey& initiator_ephemeral,
                                 const PublicKey& initiator_identity);

}  // namespace kittengrad::session::wire
