// Signed entries: the bytes signed, the identity hash, and verification.
#include "kittengrad/entry.h"

#include <algorithm>
#include <cstring>
#include <tuple>

namespace kittengrad {

namespace {

// Domain separation: a signature over an entry can never be replayed as another object.
constexpr std::string_view kEntryDomain = "kittengrad/entry/v1";

}  // namespace

bool entry_order_less(const Entry& a, const Entry& b) {
  return std::tie(a.timestamp_ms, a.update, a.author, a.canonical, a.ns, a.signature) <
         std::tie(b.timestamp_ms, b.update, b.author, b.canonical, b.ns, b.signature);
}

std::vector<std::uint8_t> entry_signing_bytes(const Entry& e) {
  // Fixed layout: domain, ns length + ns, canonical, timestamp (big-endian), update, author.
  const std::size_t ns_size = std::min<std::size_t>(e.ns.size(), 255);
  std::vector<std::uint8_t> out(kEntryDomain.size() + 1 + ns_size + 2 * Cid::kSize + 8 + 32);
  std::uint8_t* p = out.data();
  auto put = [&p](const void* src, std::size_t n) {
    std::memcpy(p, src, n);
    p += n;
  };
  put(kEntryDomain.data(), kEntryDomain.size());
  *p++ = static_cast<std::uint8_t>(ns_size);
  put(e.ns.data(), ns_size);
  put(e.canonical.bytes.data(), Cid::kSize);
  const auto ts = static_cast<std::uint64_t>(e.timestamp_ms);
  for (int i = 0; i < 8; ++i) *p++ = static_cast<std::uint8_t>(ts >> (56 - 8 * i));
  put(e.update.bytes.data(), Cid::kSize);
  put(e.author.data(), e.author.size());
  return out;
}

Hash256 entry_hash(const Entry& e) {
  const std::vector<std::uint8_t> bytes = entry_signing_bytes(e);
  return Sha256().update(bytes).update(e.signature).finish();
}

Entry make_entry(const KeyPair& author, std::string ns, const Cid& canonical, const Cid& update,
                 std::int64_t timestamp_ms) {
  Entry e;
  e.ns = std::move(ns);
  e.canonical = canonical;
  e.timestamp_ms = timestamp_ms;
  e.update = update;
  e.author = author.public_key;
  e.signature = sign(author.secret_key, entry_signing_bytes(e));
  return e;
}

bool verify_entry(const Entry& e) {
  if (e.ns.empty() || e.ns.size() > kNamespaceBytesMax) return false;
  if (!e.canonical.well_formed() || !e.update.well_formed()) return false;
  return verify(e.author, entry_signing_bytes(e), e.signature);
}

std::size_t entry_wire_size(const Entry& e) {
  (void)e;
  return kEntryWireBytes;
}

}  // namespace kittengrad
