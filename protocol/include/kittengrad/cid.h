// kittengrad/cid.h — content identifiers of records: CIDv1 with a sha2-256 multihash.
//
// Records (canonicals and updates) are bytes in a content store (IPFS). A Cid names them:
// <0x01 version><codec><0x12 sha2-256><0x20 length><32-byte digest>, 36 bytes, printed in
// multibase base32 ("b..."), exactly as IPFS prints CIDv1. A canonical's ring key is
// SHA-256 of its CID bytes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "kittengrad/ids.h"

namespace kittengrad {

struct Cid {
  static constexpr std::uint8_t kCodecRaw = 0x55;
  static constexpr std::uint8_t kCodecDagCbor = 0x71;
  static constexpr std::size_t kSize = 36;

  std::array<std::uint8_t, kSize> bytes{};

  // The CID of a record's bytes.
  [[nodiscard]] static Cid of_record(std::span<const std::uint8_t> record,
                                     std::uint8_t codec = kCodecRaw);
  [[nodiscard]] static Cid of_record(std::string_view record);
  // Parses "b..." base32 text; returns false if it is not a CIDv1 with a sha2-256 digest.
  [[nodiscard]] static bool parse(std::string_view text, Cid* out);
  // True if the bytes have the CIDv1 / sha2-256 layout.
  [[nodiscard]] bool well_formed() const;

  [[nodiscard]] std::string to_string() const;
  // Position on the ring: SHA-256 of the CID bytes.
  [[nodiscard]] RingId ring_key() const { return RingId::of_bytes(bytes); }

  auto operator<=>(const Cid&) const = default;
  bool operator==(const Cid&) const = default;
};

}  // namespace kittengrad
