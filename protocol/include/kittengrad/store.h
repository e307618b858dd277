// kittengrad/store.h — the CRDT map canonical -> grow-only set of entries.
//
// Design. The store is a state-based CRDT: its value is a set of verified entries grouped
// by canonical key, and merge is set union (commutative, associative, idempotent). Nothing
// is overwritten. A peer also drops whole keys that have left its replicated range once
// their new replicas hold them (erase_key); that is storage management, not a CRDT op.
//
// Anti-entropy needs the digest of any clockwise key range in far less than a scan: every
// entry contributes (1, id.key, id.check) to the digest of its key's bucket (top 16 bits of
// the key), and a Fenwick tree over the 65,536 buckets gives prefix sums (count) and
// prefix XORs (key, check), so digest(a, b] costs O(log buckets) plus a scan of the two
// partial boundary buckets.
//
// Memory. The tree costs 1.5 MiB, too much for each of 100k simulated peers that hold a
// few dozen entries each, so a store builds it only once it holds kFenwickEntriesMin
// entries; below that a digest scans the keys in the range, which is just as fast there.
//
// Invariants: every entry held verified (the store itself does not verify; Peer does
// first); each slot's entries strictly increase in entry_order_less (so no duplicates, and
// the order does not depend on arrival order); entries_ is the sum of the slot sizes;
// total_ is the digest of everything held; if fenwick_ exists it holds, per bucket, the
// digest of the entries whose keys fall in that bucket.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "kittengrad/entry.h"
#include "kittengrad/ids.h"

namespace kittengrad {

// What set reconciliation knows of an entry: 64 bits of its hash and a check derived
// from them.
//
// Why `check` is derived from `key` rather than taken from more hash bytes: the rateless
// IBLT must recognise a "pure" cell (one that holds exactly one item) from the cell alone.
// With check = f(key) for a fixed mixing function f, a cell is pure iff |count| == 1 and
// checksum == f(keysum); a mixture of items passes that test with probability 2^-64. The
// price is that reconciliation identifies entries by 64 bits: distinct entries collide
// with probability about n^2 / 2^65 per range (3e-8 for a million entries). The store
// itself compares whole entries, so a collision can only hide a difference from
// anti-entropy, never lose or merge entries. `check` still strengthens range digests: the
// XOR of f(key) over a set is not linear in the keys.
struct EntryId {
  std::uint64_t key = 0;    // hash bytes [0, 8), little-endian
  std::uint64_t check = 0;  // entry_check_of(key)

  // The id of the entry whose hash (entry_hash) is h.
  [[nodiscard]] static EntryId of(const Hash256& h);
  // The id with the given key (the check is derived): what a decoded RIBLT cell names.
  [[nodiscard]] static EntryId of_key(std::uint64_t key);
  auto operator<=>(const EntryId&) const = default;
};

// Count and XOR-sums of a set of entry ids: equal digests mean equal sets w.h.p. It is
// also symbol 0 of the rateless IBLT (every item maps to symbol 0).
struct RangeDigest {
  std::int64_t count = 0;
  std::uint64_t keysum = 0;
  std::uint64_t checksum = 0;

  // Counts add modulo 2^64: digests and coded symbols come from other peers, and a
  // forged count near the limits must not overflow (undefined) but only fail to decode.
  void add(const EntryId& id, std::int64_t sign = 1) {
    count = wrapping_add(count, sign);
    keysum ^= id.key;
    checksum ^= id.check;
  }
  // The digest of the union of two disjoint sets, and of a set less a subset of it.
  void combine(const RangeDigest& d) {
    count = wrapping_add(count, d.count);
    keysum ^= d.keysum;
    checksum ^= d.checksum;
  }
  void remove(const RangeDigest& d) {
    count = wrapping_add(count, static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(d.count)));
    keysum ^= d.keysum;
    checksum ^= d.checksum;
  }
  bool operator==(const RangeDigest&) const = default;

 private:
  static std::int64_t wrapping_add(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
  }
};

struct StoredEntry {
  Entry entry;
  EntryId id;
};

// All entries of one canonical, kept in lookup order.
struct KeySlot {
  std::vector<StoredEntry> entries;
};

class Store {
 public:
  Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // Adds a (verified) entry. Returns true iff it was not already held.
  // REQUIRES: hash == entry_hash(e). Merges tell entries apart by the id taken from it.
  bool insert(const Entry& e, const Hash256& hash);
  bool insert(const Entry& e) { return insert(e, entry_hash(e)); }
  // True iff this very entry (every field, the signature too) is held. A binary search of
  // the key's set: what a peer asks of every entry it receives, before paying for its
  // signature.
  [[nodiscard]] bool contains(const Entry& e) const;
  // True iff an entry of `key` has this id. A scan of the key's set (the set is kept in
  // lookup order, not by id): for tests; hot paths ask contains(entry) or sort the ids.
  [[nodiscard]] bool contains(const RingId& key, const EntryId& id) const;
  // The slot of a key, or nullptr.
  [[nodiscard]] const KeySlot* find(const RingId& key) const;
  // Set union with another store (the CRDT merge). Returns the number of new entries.
  std::size_t merge_from(const Store& other);
  // Drops a whole key; returns the number of entries dropped.
  std::size_t erase_key(const RingId& key);
  void clear();

  [[nodiscard]] std::size_t key_count() const { return slots_.size(); }
  [[nodiscard]] std::size_t entry_count() const { return entries_; }
  // Entries dropped by erase_key and clear over the store's life (metrics).
  [[nodiscard]] std::size_t erased_total() const { return erased_total_; }

  // Digest of the entries whose keys lie in (a, b] clockwise.
  [[nodiscard]] RangeDigest digest(const RingId& a, const RingId& b) const;
  // Calls f(key, slot) for every key in (a, b] in clockwise order from a.
  void for_each_in(const RingId& a, const RingId& b,
                   const std::function<void(const RingId&, const KeySlot&)>& f) const;
  // Calls f(key, slot) for keys in (a, b] in clockwise order from a until f returns false:
  // paging through a range costs the page, not the range.
  void scan_in(const RingId& a, const RingId& b,
               const std::function<bool(const RingId&, const KeySlot&)>& f) const;
  // Calls f(key, slot) for every key.
  void for_each(const std::function<void(const RingId&, const KeySlot&)>& f) const;
  // Up to `limit` keys NOT in (a, b], in ring order starting just after b.
  [[nodiscard]] std::vector<RingId> keys_outside(const RingId& a, const RingId& b,
                                                 std::size_t limit) const;
  // Equality of contents (tests and the oracle).
  [[nodiscard]] bool same_contents(const Store& other) const;

  // A store builds its bucket tree once it holds this many entries (see "Memory").
  static constexpr std::size_t kFenwickEntriesMin = 4096;

 private:
  struct Fenwick;
  // The ordered slots: runs of keys in sorted leaves (see store.cc). Absent until the first
  // key arrives, so an empty store costs a pointer; size() is the key count.
  struct Index;
  struct Slots {
    std::unique_ptr<Index> index;
    std::size_t keys = 0;
    [[nodiscard]] std::size_t size() const { return keys; }
  };
  // Adds `delta` (entries of one key; a negative count removes them) to entries_, total_
  // and the tree.
  void account(const RingId& key, const RangeDigest& delta);
  [[nodiscard]] RangeDigest digest_upto(const RingId& b) const;  // keys in [0, b]
  // Digest of (a, b] by visiting the keys: the path of small stores.
  [[nodiscard]] RangeDigest digest_scan(const RingId& a, const RingId& b) const;
  void build_fenwick_if_large();
  // merge_from into an empty store: a copy of other, leaf by leaf.
  void copy_from(const Store& other);
  Index& index();

  Slots slots_;
  std::size_t entries_ = 0;
  std::size_t erased_total_ = 0;
  RangeDigest total_;
  std::unique_ptr<Fenwick> fenwick_;  // null while the store is small
};

}  // namespace kittengrad
