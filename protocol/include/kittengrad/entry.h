// kittengrad/entry.h — the self-certifying statements the store holds.
//
// An Entry says "author adds update U to canonical C in namespace N at about time T", and
// carries the author's Ed25519 signature over exactly those fields. Any peer can verify it
// without trusting whoever forwarded it, so entries may travel through any path
// (replication, anti-entropy, catch-up, hand-off). An insert is the entry whose update is
// the canonical itself (the canonical's first record).
//
//   Entry e = make_entry(keys, "default", canonical, update, now_ms);
//   assert(verify_entry(e));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kittengrad/cid.h"
#include "kittengrad/crypto.h"
#include "kittengrad/ids.h"

namespace kittengrad {

// Namespaces are short names; longer ones are refused as bad requests.
inline constexpr std::size_t kNamespaceBytesMax = 64;

struct Entry {
  std::string ns;
  Cid canonical;
  std::int64_t timestamp_ms = 0;  // approximate (author's clock), for ordering only
  Cid update;
  PublicKey author{};
  Signature signature{};

  [[nodiscard]] bool is_insert() const { return update == canonical; }
  [[nodiscard]] RingId key() const { return canonical.ring_key(); }

  bool operator==(const Entry&) const = default;
};

// Lookup order: (timestamp, update CID, author), a total order on distinct entries.
[[nodiscard]] bool entry_order_less(const Entry& a, const Entry& b);

// The bytes the author signs: every field but the signature, length-prefixed.
[[nodiscard]] std::vector<std::uint8_t> entry_signing_bytes(const Entry& e);
// Identity of an entry: SHA-256 over the signing bytes and the signature.
[[nodiscard]] Hash256 entry_hash(const Entry& e);

[[nodiscard]] Entry make_entry(const KeyPair& author, std::string ns, const Cid& canonical,
                               const Cid& update, std::int64_t timestamp_ms);
// True iff the signature verifies for the author's key and the namespace is in limits.
[[nodiscard]] bool verify_entry(const Entry& e);

// Bytes an entry takes on the wire (the simulator charges bandwidth by it): two CIDs, the
// timestamp, the author's key and the signature. Inside a message an entry's namespace is
// the envelope's, so it does not travel again.
inline constexpr std::size_t kEntryWireBytes = 2 * Cid::kSize + 8 + 32 + 64;
[[nodiscard]] std::size_t entry_wire_size(const Entry& e);

}  // namespace kittengrad
