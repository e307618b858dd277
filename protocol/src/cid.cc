// CIDv1 with a sha2-256 multihash, printed in multibase base32 (lowercase, no padding).
#include "kittengrad/cid.h"

#include "kittengrad/crypto.h"

namespace kittengrad {

namespace {

constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::uint8_t kVersion = 0x01;
constexpr std::uint8_t kSha256Code = 0x12;
constexpr std::uint8_t kSha256Length = 0x20;

int base32_value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

Cid Cid::of_record(std::span<const std::uint8_t> record, std::uint8_t codec) {
  Cid cid;
  cid.bytes[0] = kVersion;
  cid.bytes[1] = codec;
  cid.bytes[2] = kSha256Code;
  cid.bytes[3] = kSha256Length;
  const Hash256 digest = sha256(record);
  std::copy(digest.begin(), digest.end(), cid.bytes.begin() + 4);
  return cid;
}

Cid Cid::of_record(std::string_view record) {
  return of_record(std::span(reinterpret_cast<const std::uint8_t*>(record.data()), record.size()));
}

bool Cid::well_formed() const {
  // Single-byte codec varints only (< 0x80): raw, dag-pb, dag-cbor, dag-json, ...
  return bytes[0] == kVersion && bytes[1] < 0x80 && bytes[2] == kSha256Code &&
         bytes[3] == kSha256Length;
}

std::string Cid::to_string() const {
  std::string out = "b";
  unsigned buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : bytes) {
    buffer = buffer << 8 | byte;
    bits += 8;
    while (bits >= 5) {
      out += kBase32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kBase32[(buffer << (5 - bits)) & 31];
  return out;
}

bool Cid::parse(std::string_view text, Cid* out) {
  if (text.size() < 2 || text[0] != 'b') return false;
  Cid cid;
  std::size_t n = 0;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text.substr(1)) {
    const int v = base32_value(c);
    if (v < 0) return false;
    buffer = (buffer << 5 | static_cast<unsigned>(v)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      if (n == kSize) return false;
      cid.bytes[n++] = static_cast<std::uint8_t>(buffer >> (bits - 8));
      bits -= 8;
    }
  }
  if (n != kSize || !cid.well_formed()) return false;
  *out = cid;
  return true;
}

}  // namespace kittengrad
