// kittengrad/real/codec.h — the wire codec: every core message as a datagram payload, and
// back.
//
// Layout (protocol version 1). One byte holds the version in its top two bits and the
// message kind (the index of the body in kittengrad::Body) in the low six; then the
// namespace as an 8-byte id (namespace_id: the first bytes of SHA-256 of its name); then
// the body's fields in declaration order: LEB128 varints for ids, heights and counts
// (minimal: an overlong varint is refused, so every message has exactly one encoding),
// zigzag varints for signed counts, fixed sizes for ring ids, CIDs, keys, hashes,
// signatures, timestamps (8 bytes), addresses (6) and block positions (4), a byte for a
// flag, an optional's presence or an error code. encode(m).size() == wire_size(m) for
// every message: the simulator charges exactly what the live peer sends.
//
// Entries inside a message do not carry their namespace (the envelope does, once); the
// decoder gives every entry the envelope's.
//
// decode() never throws, never reads past the end and never allocates more than the
// datagram justifies: every count is checked against the bytes left (times the smallest
// encoding of one item) before anything is reserved. Whatever is malformed comes back as
// an Error (kBadRequest) whose detail names the kind and the field; a well-formed message
// for a namespace the peer does not serve comes back as kUnknownNamespace.
//
//   NamespaceTable served;
//   served.add("default");
//   std::vector<std::uint8_t> bytes = codec::encode(Message{"default", Ping{7}});
//   Result<Message> m = codec::decode(bytes, served);
//   if (!m) count(m.error().code);   // malformed or unknown namespace: dropped
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kittengrad/messages.h"
#include "kittengrad/result.h"

namespace kittengrad::codec {

// The protocol version this codec writes and the only one it reads. Version 0 is never
// used, so that a datagram of zeros is refused by its first byte.
inline constexpr std::uint8_t kWireVersion = 1;
inline constexpr unsigned kVersionShift = 6;
inline constexpr std::uint8_t kKindMask = (1u << kVersionShift) - 1;
static_assert(kMessageKinds <= kKindMask + 1u, "the kind byte has six bits for the kind");
static_assert(kWireVersion < (1u << (8 - kVersionShift)), "the kind byte has two bits for the version");

// The largest payload any peer may send (a sealed datagram of kMaxDatagramBytesMax):
// decode() refuses anything longer without looking further.
inline constexpr std::size_t kPayloadBytesMax = kMaxDatagramBytesMax - kTransportOverheadBytes;

using NamespaceId = std::array<std::uint8_t, 8>;

// The first 8 bytes of SHA-256 of the name.
[[nodiscard]] NamespaceId namespace_id(std::string_view name);

// The namespaces a peer serves, by id: how the decoder turns the 8 bytes of the envelope
// back into a name.
class NamespaceTable {
 public:
  // Adds a name. Refuses (kBadRequest) a name longer than kNamespaceBytesMax and a name
  // whose id another name already has (a 2^-64 accident, but decoding would be
  // ambiguous); adding the same name twice is fine.
  [[nodiscard]] Result<bool> add(std::string name);
  // The name with this id, or nullptr.
  [[nodiscard]] const std::string* find(const NamespaceId& id) const;
  [[nodiscard]] std::size_t size() const { return names_.size(); }

 private:
  std::map<NamespaceId, std::string> names_;
};

// The message's encoding, exactly wire_size(m) bytes.
// REQUIRES (what the core's own messages satisfy; a violation is a bug and stops the
// program): node addresses below 2^48; a journal block holds header.entry_count entries and
// a filtered block as many entry hashes; a filtered block or a piece has one position per
// included entry, and a piece's positions are >= its `first`; a piece without a header has
// a zero signature (it travels only with the header).
[[nodiscard]] std::vector<std::uint8_t> encode(const Message& m);

// The message in `bytes`, or an error: kBadRequest for anything malformed (empty, longer
// than kPayloadBytesMax, unknown version or kind, truncated, overlong or out-of-range
// varint, a count the bytes left cannot hold, a flag or error code out of range, trailing
// bytes), kUnknownNamespace for a well-formed message whose namespace is not in `served`.
[[nodiscard]] Result<Message> decode(std::span<const std::uint8_t> bytes,
                                     const NamespaceTable& served);

}  // namespace kittengrad::codec
