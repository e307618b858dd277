// The CRDT store: one slot of entries per canonical key, in sorted leaves, and range
// digests for anti-entropy.
//
// A digest of (a, b] is the count and the XOR-sums of the EntryIds of every entry whose key
// lies in the range. Both operations are group operations (integer addition and XOR), so
// the digest of a range is the difference of two prefix digests, and prefix digests come
// from a Fenwick tree over 65,536 buckets cut by the top 16 bits of the key: the tree
// answers "all buckets before bucket(b)" in 16 steps, and the keys of bucket(b) itself that
// are <= b are added by a short walk of the keys (a bucket holds 1/65,536 of them).
// Wrapping ranges (b < a) are the total minus the prefix up to a, plus the prefix up to b.
//
// Layout. Keys and their slots live in leaves: sorted vectors of at most kLeafItemsMax
// (key, slot) pairs. The leaves sit in a std::map by their fence, the smallest key a leaf
// may hold; a leaf holds the keys from its fence up to the next leaf's fence, and the first
// fence is zero, so every key has exactly one leaf. A std::map of one node per key (the
// layout before this one) puts every key in its own heap block: walking it in order is a
// chain of dependent cache misses (about 160 ns each on our VMs), and that chain, not the
// comparisons, bounded a merge at about 3 M entries/s. In leaves, a walk reads keys from
// contiguous memory, and the only scattered reads left are the entries themselves, whose
// addresses are known many keys ahead, so they are prefetched and overlap. An insert splits
// a full leaf in halves (or, when the new key falls past its last item, starts a fresh leaf,
// so that keys arriving in order fill leaves instead of halving them); a merge that
// overflows a leaf cuts it into even leaves; an erase folds a leaf that runs low into a
// neighbour. Inserting shifts at most a leaf, and finding a leaf is a map lookup over
// keys/48 nodes or so: both logarithmic.
//
// Pointers: find() returns a slot inside a leaf, which moves when the leaf shifts, splits or
// folds; hence the contract "valid until the next mutation". An empty store holds no
// leaves at all (a null pointer), so the 100k small stores of a simulation stay small.
//
// Merge is set union, slot by slot: both stores are walked side by side in key order, a key
// we lack is copied, a key we share merges two sorted vectors. Entries are never
// re-verified or re-hashed here: the EntryId travels with the entry. A large merge is bound
// by memory, not by comparisons, so it is written to touch as little as it can: it asks for
// the entries of the slots a few keys ahead (prefetch), holds the keys it adds to a leaf
// until its walk leaves the leaf (one shift of the leaf instead of one per key), reuses the
// entry vectors that growing slots give up (fewer trips to malloc, and warm memory), and adds
// its digests to the bucket tree in one pass as it walks (no buffer of the buckets).
#include "kittengrad/store.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <utility>

#include "kittengrad/rng.h"

namespace kittengrad {

namespace {

constexpr std::size_t kBucketBits = 16;
constexpr std::size_t kBuckets = std::size_t{1} << kBucketBits;
static_assert(kBucketBits == 16, "bucket_of reads exactly two key bytes");

// Separates entry_check_of from every other use of mix64 on the same key (notably the
// RIBLT index stream), so that the check is not correlated with anything else.
constexpr std::uint64_t kCheckSalt = 0x6b67636865636b31ULL;  // "kgcheck1"

// A merge that may bring this many entries adds them to the tree in one pass along its
// walk (at most a pass over the tree, about 100 us) instead of 16 steps per key.
constexpr std::size_t kBatchAccountMin = 2048;

// Keys per leaf. A leaf of 64 (key, slot) pairs is 3.5 KiB: an insert shifts half of that
// on average, and a walk crosses a leaf boundary (one map node) every few dozen keys.
constexpr std::size_t kLeafItemsMax = 64;
// An erase folds a leaf this small into a neighbour when the two fit in one leaf.
constexpr std::size_t kLeafItemsLow = kLeafItemsMax / 4;
static_assert(kLeafItemsLow >= 1 && kLeafItemsLow < kLeafItemsMax / 2);

// A merge asks for the entries of slots this far ahead of the ones it works on (theirs by
// key, ours by position), so that their cache misses overlap: each key has two slots to
// fetch, and a core keeps a few dozen misses in flight.
constexpr std::size_t kPrefetchKeys = 8;
// Prefetch at most this much of one slot: a slot is usually one or two entries.
constexpr std::size_t kPrefetchBytesMax = 4 * sizeof(StoredEntry);
constexpr std::size_t kCacheLineBytes = 64;

// A seek steps through this many keys before it binary-searches the rest of the leaf:
// dense merges move a key or two, sparse ones far.
constexpr std::size_t kSeekLinearSteps = 4;

std::size_t bucket_of(const RingId& key) {
  return (static_cast<std::size_t>(key.bytes[0]) << 8) | key.bytes[1];
}

// The smallest key of a bucket.
RingId bucket_start(std::size_t bucket) {
  RingId id;
  id.bytes[0] = static_cast<std::uint8_t>(bucket >> 8);
  id.bytes[1] = static_cast<std::uint8_t>(bucket & 0xff);
  return id;
}

void combine(RangeDigest& acc, const RangeDigest& d) { acc.combine(d); }

// a - b: XOR is its own inverse, counts subtract.
RangeDigest minus(RangeDigest a, const RangeDigest& b) {
  a.remove(b);
  return a;
}

RangeDigest negated(RangeDigest d) {
  d.count = -d.count;
  return d;
}

RangeDigest slot_digest(const KeySlot& slot) {
  RangeDigest d;
  for (const StoredEntry& s : slot.entries) d.add(s.id);
  return d;
}

// Word `w` of a ring id as a number: ids are big-endian, so its first byte is the most
// significant.
std::uint64_t id_word(const RingId& id, std::size_t w) {
  std::uint64_t x = 0;
  std::memcpy(&x, id.bytes.data() + 8 * w, sizeof x);
  if constexpr (std::endian::native == std::endian::little) x = __builtin_bswap64(x);
  return x;
}

// Three-way comparison of ring ids as four words: far cheaper than the byte-wise
// comparisons of RingId's operator<=>, and the walks of a merge make several per key.
int compare_ids(const RingId& a, const RingId& b) {
  for (std::size_t w = 0; w < 4; ++w) {
    const std::uint64_t x = id_word(a, w), y = id_word(b, w);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// Equality of byte arrays, a word at a time (the library's operator== calls memcmp). A
// length that is not a multiple of 8 ends with a word that overlaps the one before.
template <std::size_t N>
bool same_bytes(const std::array<std::uint8_t, N>& a, const std::array<std::uint8_t, N>& b) {
  static_assert(N >= 8);
  auto word = [](const std::array<std::uint8_t, N>& v, std::size_t at) {
    std::uint64_t x = 0;
    std::memcpy(&x, v.data() + at, sizeof x);
    return x;
  };
  std::uint64_t diff = 0;
  for (std::size_t i = 0; i + 8 <= N; i += 8) diff |= word(a, i) ^ word(b, i);
  if constexpr (N % 8 != 0) diff |= word(a, N - 8) ^ word(b, N - 8);
  return diff == 0;
}

bool same_key(const RingId& a, const RingId& b) { return same_bytes(a.bytes, b.bytes); }

bool stored_less(const StoredEntry& a, const StoredEntry& b) {
  // Most pairs differ in timestamp: decide those inline, before the full comparison.
  if (a.entry.timestamp_ms != b.entry.timestamp_ms) {
    return a.entry.timestamp_ms < b.entry.timestamp_ms;
  }
  return entry_order_less(a.entry, b.entry);
}

// Whether two stored entries are the same entry. Different ids settle it at once (the id
// is a hash of the entry); equal ids are confirmed field by field, because 64 bits can be
// ground to a collision and the store must never take one entry for another.
bool same_stored(const StoredEntry& a, const StoredEntry& b) {
  return a.id == b.id && a.entry.timestamp_ms == b.entry.timestamp_ms &&
         same_bytes(a.entry.signature, b.entry.signature) &&
         same_bytes(a.entry.update.bytes, b.entry.update.bytes) &&
         same_bytes(a.entry.author, b.entry.author) &&
         same_bytes(a.entry.canonical.bytes, b.entry.canonical.bytes) &&
         std::equal(a.entry.ns.begin(), a.entry.ns.end(), b.entry.ns.begin(), b.entry.ns.end());
}

// Advances `i` past the entries of `ours` that sort before `t`; returns true iff `t` is
// then at `i` (already held). Equal entries are caught before any order comparison, since
// merges mostly offer entries we hold.
template <typename It>
bool skip_to(It& i, It end, const StoredEntry& t) {
  for (; i != end; ++i) {
    if (same_stored(*i, t)) return true;
    if (!stored_less(*i, t)) return false;
  }
  return false;
}

// Entry vectors that a merge has let go, kept to hold the next slot of exactly their
// capacity. A slot that gains entries moves to a larger vector and gives up its old one,
// and a key we lack needs a new one: about one allocation and one free per key offered, and
// glibc pays for each with walks of its free lists, on chunks long out of cache. A vector
// given up a moment ago is in cache, and taking it costs nothing; capacities are kept
// exact, so no slot holds more memory than before.
class Recycler {
 public:
  Recycler() = default;
  Recycler(const Recycler&) = delete;
  Recycler& operator=(const Recycler&) = delete;

  // An empty vector whose capacity is exactly n.
  std::vector<StoredEntry> take(std::size_t n) {
    if (n >= 1 && n <= kCapacities && !kept_[n - 1].empty()) {
      std::vector<StoredEntry> v = std::move(kept_[n - 1].back());
      kept_[n - 1].pop_back();
      return v;
    }
    std::vector<StoredEntry> v;
    v.reserve(n);
    return v;
  }

  // Takes back a vector that no slot holds any more (freeing it if there is no room).
  void give(std::vector<StoredEntry>&& v) {
    v.clear();  // the capacity stays
    const std::size_t n = v.capacity();
    if (n < 1 || n > kCapacities || kept_[n - 1].size() == kKeptPerCapacity) return;
    if (kept_[n - 1].empty()) kept_[n - 1].reserve(kKeptPerCapacity);
    kept_[n - 1].push_back(std::move(v));
  }

 private:
  static constexpr std::size_t kCapacities = 8;        // slots rarely hold more entries
  static constexpr std::size_t kKeptPerCapacity = 16;  // the most recent are the warm ones
  std::array<std::vector<std::vector<StoredEntry>>, kCapacities> kept_;
};

// Union of two sorted slots into `ours`; returns the digest of the entries it added.
//
// One pass of comparisons plans the merge (where each entry of theirs goes among ours, or
// that we hold it already); when nothing is missing, nothing moves. Otherwise the merged
// vector is filled from the plan, with no second round of comparisons.
RangeDigest merge_slot(KeySlot& ours, const KeySlot& theirs, Recycler& recycler) {
  constexpr std::size_t kPlanInline = 16;  // slots are rarely larger
  constexpr std::size_t kHeld = SIZE_MAX;
  const std::vector<StoredEntry>& mine = ours.entries;
  const std::vector<StoredEntry>& offered = theirs.entries;
  std::array<std::size_t, kPlanInline> inline_plan;
  std::vector<std::size_t> long_plan;
  std::size_t* place = inline_plan.data();
  if (offered.size() > kPlanInline) {
    long_plan.resize(offered.size());
    place = long_plan.data();
  }
  std::size_t missing = 0;
  auto i = mine.begin();
  for (std::size_t j = 0; j < offered.size(); ++j) {
    const bool held = skip_to(i, mine.end(), offered[j]);
    place[j] = held ? kHeld : static_cast<std::size_t>(i - mine.begin());
    if (!held) ++missing;
  }
  RangeDigest added;
  if (missing == 0) return added;
  std::vector<StoredEntry> merged = recycler.take(mine.size() + missing);
  std::size_t from = 0;  // ours before `from` are in merged
  for (std::size_t j = 0; j < offered.size(); ++j) {
    if (place[j] == kHeld) continue;
    for (; from < place[j]; ++from) merged.push_back(std::move(ours.entries[from]));
    merged.push_back(offered[j]);
    added.add(offered[j].id);
  }
  for (; from < mine.size(); ++from) merged.push_back(std::move(ours.entries[from]));
  ours.entries.swap(merged);
  recycler.give(std::move(merged));
  return added;
}

// A copy of a slot, in a recycled vector when there is one.
KeySlot copy_slot(const KeySlot& slot, Recycler& recycler) {
  KeySlot copy{recycler.take(slot.entries.size())};
  copy.entries.insert(copy.entries.end(), slot.entries.begin(), slot.entries.end());
  return copy;
}

// Asks for the cache lines of a slot's entries (the first few of them).
//
// Always inlined, and not as a matter of speed: GCC 12 finds a function whose only effect
// is a prefetch "pure", and then deletes every call to it, since a pure function that
// returns nothing does nothing. Inlined, the prefetches stay in the caller.
[[gnu::always_inline]] inline void prefetch_slot(const KeySlot& slot) {
  if (slot.entries.empty()) return;
  const auto first = reinterpret_cast<std::uintptr_t>(slot.entries.data());
  const std::size_t bytes = std::min(slot.entries.size() * sizeof(StoredEntry), kPrefetchBytesMax);
  const std::uintptr_t last = first + bytes - 1;
  for (std::uintptr_t line = first & ~std::uintptr_t{kCacheLineBytes - 1}; line <= last;
       line += kCacheLineBytes) {
    __builtin_prefetch(reinterpret_cast<const void*>(line));
  }
}

bool key_less(const RingId& a, const RingId& b) { return compare_ids(a, b) < 0; }

struct KeyLess {
  bool operator()(const RingId& a, const RingId& b) const { return key_less(a, b); }
};

// ---- The leaves ----
//
// Invariants (see "Layout" above): every leaf holds 1..kLeafItemsMax items with strictly
// increasing keys; every key of a leaf is >= its fence and < the next leaf's fence; the
// first fence is zero. An empty map is an empty store.

struct SlotItem {
  RingId key;
  KeySlot slot;
};
using Leaf = std::vector<SlotItem>;
using LeafMap = std::map<RingId, Leaf, KeyLess>;

// A position for reading: item `idx` of `leaf`, or past the end when leaf is end().
struct ConstPos {
  LeafMap::const_iterator leaf;
  std::size_t idx = 0;
};

// Where a key is or belongs among our leaves, for inserts and for the walk of a merge: item
// `idx` of `leaf` (idx may be leaf's size: past its last item), and the leaf after it.
struct Cursor {
  LeafMap::iterator leaf;
  std::size_t idx = 0;
  LeafMap::iterator next;  // std::next(leaf), kept at hand: the walk checks it every key

  Cursor(LeafMap::iterator l, std::size_t i) : leaf(l), idx(i), next(std::next(l)) {}
};

// The leaf whose fence range holds `key`. REQUIRES: leaves not empty (the first fence is
// zero, so there is always one).
template <typename Map>
auto leaf_of(Map& leaves, const RingId& key) {
  assert(!leaves.empty());
  return std::prev(leaves.upper_bound(key));
}

// Index of the first item of `leaf`, at or after `from`, whose key is >= `key`.
std::size_t lower_index(const Leaf& leaf, std::size_t from, const RingId& key) {
  const auto it =
      std::lower_bound(leaf.begin() + static_cast<std::ptrdiff_t>(from), leaf.end(), key,
                       [](const SlotItem& item, const RingId& k) { return key_less(item.key, k); });
  return static_cast<std::size_t>(it - leaf.begin());
}

// Index of the first item of `leaf` whose key is > `key`.
std::size_t upper_index(const Leaf& leaf, const RingId& key) {
  const auto it =
      std::upper_bound(leaf.begin(), leaf.end(), key,
                       [](const RingId& k, const SlotItem& item) { return key_less(k, item.key); });
  return static_cast<std::size_t>(it - leaf.begin());
}

ConstPos first_pos(const LeafMap& leaves) { return ConstPos{leaves.begin(), 0}; }

// The first item whose key is >= key (inclusive) or > key (not inclusive), or the end.
ConstPos search(const LeafMap& leaves, const RingId& key, bool inclusive) {
  if (leaves.empty()) return ConstPos{leaves.end(), 0};
  ConstPos p{leaf_of(leaves, key), 0};
  const Leaf& items = p.leaf->second;
  p.idx = inclusive ? lower_index(items, 0, key) : upper_index(items, key);
  if (p.idx == items.size()) p = ConstPos{std::next(p.leaf), 0};  // leaves are never empty
  return p;
}

// Moves to the next item (or the end).
void step(ConstPos& p) {
  if (++p.idx < p.leaf->second.size()) return;
  ++p.leaf;
  p.idx = 0;
}

const SlotItem& item_at(const ConstPos& p) { return p.leaf->second[p.idx]; }

// The slot of `key`, or nullptr.
const KeySlot* find_slot(const LeafMap& leaves, const RingId& key) {
  if (leaves.empty()) return nullptr;
  const Leaf& items = leaf_of(leaves, key)->second;
  const std::size_t idx = lower_index(items, 0, key);
  return idx < items.size() && same_key(items[idx].key, key) ? &items[idx].slot : nullptr;
}

// Makes room for one more item in a leaf that is not full. Capacity grows by half up to a
// full leaf, so the one leaf of a small store wastes little (peers of a large simulation
// hold a few dozen keys each); leaves cut by splits are given a full capacity at once.
void make_room(Leaf& leaf) {
  assert(leaf.size() < kLeafItemsMax);
  if (leaf.size() < leaf.capacity()) return;
  const std::size_t grown = leaf.size() + std::max<std::size_t>(1, leaf.size() / 2);
  leaf.reserve(std::min(kLeafItemsMax, grown));
}

// Moves the items of leaf `it` from `from` on into a new leaf fenced at `fence`, placed
// right after it; returns the new leaf. REQUIRES: fence <= those items, and fence above
// the items that stay.
LeafMap::iterator split_leaf(LeafMap& leaves, LeafMap::iterator it, std::size_t from,
                             const RingId& fence) {
  Leaf& lower = it->second;
  Leaf upper;
  upper.reserve(kLeafItemsMax);  // a full leaf split: keys are arriving here
  const auto cut = lower.begin() + static_cast<std::ptrdiff_t>(from);
  upper.assign(std::make_move_iterator(cut), std::make_move_iterator(lower.end()));
  lower.erase(cut, lower.end());
  return leaves.emplace_hint(std::next(it), fence, std::move(upper));
}

// Inserts the new key `key` at `c` (the first item above it in the leaf whose range holds
// it), and leaves `c` on it; returns its slot. The path of Store::insert; a merge holds its
// new keys in PendingInserts instead.
KeySlot& insert_at(LeafMap& leaves, Cursor& c, const RingId& key, KeySlot slot) {
  if (c.leaf->second.size() == kLeafItemsMax) {
    const std::size_t size = c.leaf->second.size();
    if (c.idx == size) {
      // Past the last item: start a fresh leaf at the key, which keys that follow in order
      // will fill.
      c = Cursor(split_leaf(leaves, c.leaf, size, key), 0);
    } else {
      const std::size_t half = size / 2;
      const auto upper = split_leaf(leaves, c.leaf, half, c.leaf->second[half].key);
      // At exactly `half` the key is below the new fence: it ends the lower leaf.
      c = c.idx > half ? Cursor(upper, c.idx - half) : Cursor(c.leaf, c.idx);
    }
  }
  Leaf& items = c.leaf->second;
  make_room(items);
  items.insert(items.begin() + static_cast<std::ptrdiff_t>(c.idx), SlotItem{key, std::move(slot)});
  return items[c.idx].slot;
}

// Keys a merge adds to the leaf its walk is in, held back until the walk leaves that leaf
// and then put in place in one pass: inserted one by one, each would shift the rest of the
// leaf, and a merge brings keys to most of the leaves it walks.
class PendingInserts {
 public:
  // Holds `key` (new to the store) for the place where a seek for it stopped.
  // REQUIRES: keys come in increasing order, all in one leaf until flush().
  void add(const Cursor& c, const RingId& key, KeySlot slot) {
    assert(held_.empty() || c.leaf == leaf_);
    leaf_ = c.leaf;
    held_.push_back(Held{c.idx, SlotItem{key, std::move(slot)}});
  }

  [[nodiscard]] bool empty() const { return held_.empty(); }

  // Puts the held keys in their leaf, which splits into even leaves if they do not fit;
  // returns the last of these (the one that now ends the old leaf's range).
  LeafMap::iterator flush(LeafMap& leaves) {
    Leaf& leaf = leaf_->second;
    const std::size_t total = leaf.size() + held_.size();
    if (total <= kLeafItemsMax) {
      // Merge from the back: every item moves once, at most.
      if (leaf.capacity() < total) leaf.reserve(std::min(kLeafItemsMax, total + total / 2));
      std::size_t i = leaf.size();
      leaf.resize(total);
      std::size_t w = total;
      for (auto h = held_.rbegin(); h != held_.rend(); ++h) {
        for (; i > h->idx; --i) leaf[--w] = std::move(leaf[i - 1]);
        leaf[--w] = std::move(h->item);
      }
      held_.clear();
      return leaf_;
    }
    std::vector<SlotItem> all;
    all.reserve(total);
    std::size_t i = 0;
    for (Held& h : held_) {
      for (; i < h.idx; ++i) all.push_back(std::move(leaf[i]));
      all.push_back(std::move(h.item));
    }
    for (; i < leaf.size(); ++i) all.push_back(std::move(leaf[i]));
    held_.clear();
    const std::size_t pieces = (total + kLeafItemsMax - 1) / kLeafItemsMax;
    auto it = leaf_;
    for (std::size_t p = 0, from = 0; p < pieces; ++p) {
      const std::size_t to = total * (p + 1) / pieces;
      Leaf piece;
      piece.reserve(kLeafItemsMax);
      piece.assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(from)),
                   std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(to)));
      if (p == 0) {
        it->second = std::move(piece);  // the first piece keeps the leaf and its fence
      } else {
        const RingId fence = piece.front().key;
        it = leaves.emplace_hint(std::next(it), fence, std::move(piece));
      }
      from = to;
    }
    return it;
  }

 private:
  struct Held {
    std::size_t idx;  // goes before this item of the leaf as it was
    SlotItem item;
  };
  LeafMap::iterator leaf_;
  std::vector<Held> held_;
};

// Moves `c` forward to `key`'s place: the first item >= key in the leaf whose fence range
// holds it (possibly just past that leaf's last item). Keys sought in increasing order
// cost a step each when dense and a map lookup each when sparse. REQUIRES: key is above
// every key before c, and c.next is still the leaf after c.leaf.
void seek(LeafMap& leaves, Cursor& c, const RingId& key) {
  if (c.next != leaves.end() && !key_less(key, c.next->first)) {
    const auto after = std::next(c.next);
    c = Cursor(
        (after == leaves.end() || key_less(key, after->first)) ? c.next : leaf_of(leaves, key), 0);
  }
  const Leaf& items = c.leaf->second;
  assert(c.idx <= items.size());
  for (std::size_t s = 0; s < kSeekLinearSteps; ++s, ++c.idx) {
    if (c.idx == items.size() || !key_less(items[c.idx].key, key)) return;
  }
  c.idx = lower_index(items, c.idx, key);
}

// Asks for the entries of the item `distance` places after c (in c's leaf or the next). A
// merge of stores of similar sizes compares our slots nearly one per key offered, so the
// slot a few places on is one it will soon read; when the stores differ much in size some
// of these are wasted (at most one slot per key offered) or early, which costs far less
// than a second search for the key ahead. Always inlined, as prefetch_slot is.
[[gnu::always_inline]] inline void prefetch_after(const LeafMap& leaves, const Cursor& c,
                                                  std::size_t distance) {
  const Leaf& items = c.leaf->second;
  std::size_t i = c.idx + distance;
  if (i < items.size()) return prefetch_slot(items[i].slot);
  if (c.next == leaves.end()) return;
  i -= items.size();
  if (i < c.next->second.size()) prefetch_slot(c.next->second[i].slot);
}

// Moves all items of `from` to the end of `to`. REQUIRES: they fit in one leaf, and all of
// from's keys are above to's.
void append_leaf(Leaf& to, Leaf& from) {
  assert(to.size() + from.size() <= kLeafItemsMax);
  to.reserve(to.size() + from.size());
  std::move(from.begin(), from.end(), std::back_inserter(to));
  from.clear();
}

// After an erase from leaf `it`: a leaf that ran low is folded into its neighbour (the
// previous one, or for the first leaf the next one) when they fit, and the last leaf of an
// emptied store goes.
void fold_if_low(LeafMap& leaves, LeafMap::iterator it) {
  if (it->second.size() >= kLeafItemsLow) return;
  if (it != leaves.begin()) {
    const auto prev = std::prev(it);
    if (prev->second.size() + it->second.size() > kLeafItemsMax) return;
    append_leaf(prev->second, it->second);
    leaves.erase(it);
    return;
  }
  const auto next = std::next(it);
  if (next == leaves.end()) {
    if (it->second.empty()) leaves.erase(it);
    return;
  }
  if (it->second.size() + next->second.size() > kLeafItemsMax) return;
  append_leaf(it->second, next->second);  // the first leaf keeps its zero fence
  leaves.erase(next);
}

// A copy of the leaves, each slot copied as the walk reaches it, with the slots ahead
// prefetched (the source's entries are scattered; the copy's are laid out in key order).
LeafMap copy_leaves(const LeafMap& from) {
  LeafMap out;
  ConstPos ahead = first_pos(from);
  for (std::size_t k = 0; k < kPrefetchKeys && ahead.leaf != from.end(); ++k) {
    prefetch_slot(item_at(ahead).slot);
    step(ahead);
  }
  for (const auto& [fence, items] : from) {
    Leaf copy;
    copy.reserve(items.capacity());  // room to grow as the source had, without moving
    for (const SlotItem& item : items) {
      if (ahead.leaf != from.end()) {
        prefetch_slot(item_at(ahead).slot);
        step(ahead);
      }
      copy.push_back(item);
    }
    out.emplace_hint(out.end(), fence, std::move(copy));
  }
  return out;
}

// Calls f(item) for each key in (a, b] clockwise from a, until f returns false.
// (a, a] is the whole ring, starting just after a.
template <typename F>
void visit_clockwise(const LeafMap& leaves, const RingId& a, const RingId& b, F&& f) {
  const bool wraps = !key_less(a, b);
  for (ConstPos p = search(leaves, a, false); p.leaf != leaves.end(); step(p)) {
    const SlotItem& item = item_at(p);
    if (!wraps && key_less(b, item.key)) return;
    if (!f(item)) return;
  }
  if (!wraps) return;
  for (ConstPos p = first_pos(leaves); p.leaf != leaves.end(); step(p)) {
    const SlotItem& item = item_at(p);
    if (key_less(b, item.key)) return;
    if (!f(item)) return;
  }
}

// The leaves of a store's index, or none.
template <typename Index>
const LeafMap& leaves_of(const std::unique_ptr<Index>& index) {
  static const LeafMap kNone;
  return index ? index->leaves : kNone;
}

}  // namespace

EntryId EntryId::of(const Hash256& h) {
  // Little-endian, byte by byte, so the id is the same on every machine.
  std::uint64_t key = 0;
  for (int i = 7; i >= 0; --i) key = (key << 8) | h[static_cast<std::size_t>(i)];
  return of_key(key);
}

EntryId EntryId::of_key(std::uint64_t key) { return EntryId{key, mix64(key ^ kCheckSalt)}; }

struct Store::Index {
  LeafMap leaves;
};

// Prefix digests over the buckets, 1-based as Fenwick trees are: tree_[i] holds the
// buckets (i - lowbit(i), i] (1-based), so a prefix is at most 16 nodes.
struct Store::Fenwick {
  std::vector<RangeDigest> tree = std::vector<RangeDigest>(kBuckets + 1);

  void add(std::size_t bucket, const RangeDigest& d) {
    for (std::size_t i = bucket + 1; i <= kBuckets; i += i & (~i + 1)) combine(tree[i], d);
  }

  // Digest of buckets [0, n).
  [[nodiscard]] RangeDigest prefix(std::size_t n) const {
    RangeDigest acc;
    for (std::size_t i = n; i > 0; i -= i & (~i + 1)) combine(acc, tree[i]);
    return acc;
  }

  // Adds per-bucket digests that arrive in nondecreasing bucket order (as a walk of the
  // keys yields them) in one pass over the tree, with no buffer of the buckets. The tree is
  // linear in its buckets, so tree(x + delta) = tree(x) + tree(delta), and node i of
  // tree(delta) is bucket i - 1 plus its children i - 1, i - 2, i - 4, ... (the nodes just
  // before it whose lowbit is below its own). A node is complete once the stream has passed
  // its bucket: it is added to the tree and waits, one per level, for its parent, which
  // takes the waiting nodes of every level below its own. The pass costs a few nanoseconds
  // per node, 65,536 nodes whatever the number of buckets added: worth it for large merges
  // only (kBatchAccountMin), and far cheaper than a bucket buffer, whose 1.5 MiB of fresh
  // pages alone cost milliseconds to fault in on a VM.
  class InOrder {
   public:
    explicit InOrder(Fenwick& f) : f_(f) {}
    InOrder(const InOrder&) = delete;
    InOrder& operator=(const InOrder&) = delete;

    void add(std::size_t bucket, const RangeDigest& d) {
      assert(bucket + 1 >= next_);
      complete_below(bucket + 1);
      combine(open_, d);
    }
    // Completes every node: the tree then holds all that was added.
    void finish() { complete_below(kBuckets + 1); }

   private:
    // Completes the nodes from next_ to node - 1 (1-based); open_ belongs to next_.
    void complete_below(std::size_t node) {
      for (; next_ < node; ++next_) {
        const auto level = static_cast<std::size_t>(std::countr_zero(next_));
        RangeDigest value = std::exchange(open_, RangeDigest{});
        for (std::size_t k = 0; k < level; ++k) combine(value, waiting_[k]);
        combine(f_.tree[next_], value);
        waiting_[level] = value;
      }
    }

    Fenwick& f_;
    std::size_t next_ = 1;  // the first node not yet complete
    RangeDigest open_;      // the digest of bucket next_ - 1 so far
    // waiting_[k]: the last complete node of level k (its parent takes it; the root, of
    // level kBucketBits, has none, and nothing reads its slot).
    std::array<RangeDigest, kBucketBits + 1> waiting_{};
  };
};

Store::Store() = default;
Store::~Store() = default;

Store::Store(Store&& other) noexcept
    : slots_{std::move(other.slots_.index), std::exchange(other.slots_.keys, 0)},
      entries_(std::exchange(other.entries_, 0)),
      erased_total_(std::exchange(other.erased_total_, 0)),
      total_(std::exchange(other.total_, RangeDigest{})),
      fenwick_(std::move(other.fenwick_)) {}

Store& Store::operator=(Store&& other) noexcept {
  if (this == &other) return *this;
  slots_.index = std::move(other.slots_.index);
  slots_.keys = std::exchange(other.slots_.keys, 0);
  entries_ = std::exchange(other.entries_, 0);
  erased_total_ = std::exchange(other.erased_total_, 0);
  total_ = std::exchange(other.total_, RangeDigest{});
  fenwick_ = std::move(other.fenwick_);
  return *this;
}

Store::Index& Store::index() {
  if (!slots_.index) slots_.index = std::make_unique<Index>();
  return *slots_.index;
}

void Store::account(const RingId& key, const RangeDigest& delta) {
  entries_ = static_cast<std::size_t>(static_cast<std::int64_t>(entries_) + delta.count);
  combine(total_, delta);
  if (fenwick_) fenwick_->add(bucket_of(key), delta);
}

void Store::build_fenwick_if_large() {
  if (fenwick_ || entries_ < kFenwickEntriesMin) return;
  fenwick_ = std::make_unique<Fenwick>();
  Fenwick::InOrder adder(*fenwick_);
  for (const auto& [fence, items] : leaves_of(slots_.index)) {
    for (const SlotItem& item : items) adder.add(bucket_of(item.key), slot_digest(item.slot));
  }
  adder.finish();
}

bool Store::insert(const Entry& e, const Hash256& hash) {
  const RingId key = e.key();
  LeafMap& leaves = index().leaves;
  if (leaves.empty()) leaves.emplace(RingId{}, Leaf{});
  Cursor c(leaf_of(leaves, key), 0);
  c.idx = lower_index(c.leaf->second, 0, key);
  const StoredEntry stored{e, EntryId::of(hash)};
  if (c.idx < c.leaf->second.size() && same_key(c.leaf->second[c.idx].key, key)) {
    std::vector<StoredEntry>& entries = c.leaf->second[c.idx].slot.entries;
    const auto pos = std::lower_bound(entries.begin(), entries.end(), stored, stored_less);
    if (pos != entries.end() && pos->entry == e) return false;
    entries.insert(pos, stored);
  } else {
    insert_at(leaves, c, key, KeySlot{}).entries.push_back(stored);
    ++slots_.keys;
  }
  RangeDigest delta;
  delta.add(stored.id);
  account(key, delta);
  build_fenwick_if_large();
  return true;
}

bool Store::contains(const Entry& e) const {
  const KeySlot* slot = find(e.key());
  if (slot == nullptr) return false;
  // The slot is sorted by stored_less, which orders entries as entry_order_less does.
  const auto pos = std::lower_bound(
      slot->entries.begin(), slot->entries.end(), e, [](const StoredEntry& s, const Entry& x) {
        if (s.entry.timestamp_ms != x.timestamp_ms) return s.entry.timestamp_ms < x.timestamp_ms;
        return entry_order_less(s.entry, x);
      });
  return pos != slot->entries.end() && pos->entry == e;
}

bool Store::contains(const RingId& key, const EntryId& id) const {
  const KeySlot* slot = find(key);
  if (slot == nullptr) return false;
  return std::any_of(slot->entries.begin(), slot->entries.end(),
                     [&id](const StoredEntry& s) { return s.id == id; });
}

const KeySlot* Store::find(const RingId& key) const {
  return find_slot(leaves_of(slots_.index), key);
}

void Store::copy_from(const Store& other) {
  assert(slots_.size() == 0 && entries_ == 0);
  index().leaves = copy_leaves(other.slots_.index->leaves);
  slots_.keys = other.slots_.keys;
  entries_ = other.entries_;
  total_ = other.total_;
  fenwick_.reset();
  if (other.fenwick_) fenwick_ = std::make_unique<Fenwick>(*other.fenwick_);
  build_fenwick_if_large();
}

std::size_t Store::merge_from(const Store& other) {
  if (&other == this || other.slots_.size() == 0) return 0;
  if (slots_.size() == 0) {
    copy_from(other);
    return entries_;
  }
  const std::size_t entries_before = entries_;
  // Large merges into a large store add to the tree in one pass, as the walk goes.
  std::optional<Fenwick::InOrder> adder;
  if (fenwick_ != nullptr && other.entries_ >= kBatchAccountMin) adder.emplace(*fenwick_);
  auto note = [&](const RingId& key, const RangeDigest& added) {
    if (added.count == 0) return;
    if (!adder) return account(key, added);
    entries_ += static_cast<std::size_t>(added.count);
    combine(total_, added);
    adder->add(bucket_of(key), added);
  };
  LeafMap& leaves = slots_.index->leaves;
  const LeafMap& theirs = other.slots_.index->leaves;
  // `ours` is where the key being merged is or belongs in our leaves. Entries are asked for
  // kPrefetchKeys ahead: theirs by key (`ahead`), ours by position past `ours` (see
  // prefetch_after).
  Recycler recycler;
  PendingInserts pending;
  Cursor ours(leaves.begin(), 0);
  ConstPos ahead = first_pos(theirs);
  for (std::size_t k = 0; k < kPrefetchKeys && ahead.leaf != theirs.end(); ++k) {
    prefetch_slot(item_at(ahead).slot);
    step(ahead);
  }
  for (const auto& [fence, items] : theirs) {
    for (const SlotItem& t : items) {
      if (ahead.leaf != theirs.end()) {
        prefetch_slot(item_at(ahead).slot);
        step(ahead);
      }
      if (!pending.empty() && ours.next != leaves.end() && !key_less(t.key, ours.next->first)) {
        // The walk leaves the leaf: put the keys held for it in place first.
        const auto last = pending.flush(leaves);
        ours = Cursor(last, last->second.size());
      }
      seek(leaves, ours, t.key);
      prefetch_after(leaves, ours, kPrefetchKeys);
      Leaf& here = ours.leaf->second;
      if (ours.idx < here.size() && same_key(here[ours.idx].key, t.key)) {
        note(t.key, merge_slot(here[ours.idx].slot, t.slot, recycler));
      } else {
        pending.add(ours, t.key, copy_slot(t.slot, recycler));
        ++slots_.keys;
        note(t.key, slot_digest(t.slot));
      }
    }
  }
  if (!pending.empty()) pending.flush(leaves);
  if (adder) adder->finish();
  build_fenwick_if_large();
  return entries_ - entries_before;
}

std::size_t Store::erase_key(const RingId& key) {
  if (slots_.size() == 0) return 0;
  LeafMap& leaves = slots_.index->leaves;
  const auto leaf = leaf_of(leaves, key);
  Leaf& items = leaf->second;
  const std::size_t idx = lower_index(items, 0, key);
  if (idx == items.size() || !same_key(items[idx].key, key)) return 0;
  const RangeDigest held = slot_digest(items[idx].slot);
  account(key, negated(held));
  erased_total_ += static_cast<std::size_t>(held.count);
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(idx));
  --slots_.keys;
  fold_if_low(leaves, leaf);
  return static_cast<std::size_t>(held.count);
}

void Store::clear() {
  erased_total_ += entries_;
  slots_.index.reset();
  slots_.keys = 0;
  entries_ = 0;
  total_ = RangeDigest{};
  fenwick_.reset();  // a store emptied for good gives its 1.5 MiB back
}

RangeDigest Store::digest(const RingId& a, const RingId& b) const {
  if (a == b) return total_;
  if (!fenwick_) return digest_scan(a, b);
  const RangeDigest upto_a = digest_upto(a);
  const RangeDigest upto_b = digest_upto(b);
  if (a < b) return minus(upto_b, upto_a);
  // Wraps past zero: everything after a, then [0, b].
  RangeDigest d = minus(total_, upto_a);
  combine(d, upto_b);
  return d;
}

RangeDigest Store::digest_upto(const RingId& b) const {
  const std::size_t bucket = bucket_of(b);
  RangeDigest d = fenwick_->prefix(bucket);
  const LeafMap& leaves = leaves_of(slots_.index);
  for (ConstPos p = search(leaves, bucket_start(bucket), true);
       p.leaf != leaves.end() && !key_less(b, item_at(p).key); step(p)) {
    combine(d, slot_digest(item_at(p).slot));
  }
  return d;
}

RangeDigest Store::digest_scan(const RingId& a, const RingId& b) const {
  RangeDigest d;
  visit_clockwise(leaves_of(slots_.index), a, b, [&d](const SlotItem& item) {
    combine(d, slot_digest(item.slot));
    return true;
  });
  return d;
}

void Store::for_each_in(const RingId& a, const RingId& b,
                        const std::function<void(const RingId&, const KeySlot&)>& f) const {
  visit_clockwise(leaves_of(slots_.index), a, b, [&f](const SlotItem& item) {
    f(item.key, item.slot);
    return true;
  });
}

void Store::scan_in(const RingId& a, const RingId& b,
                    const std::function<bool(const RingId&, const KeySlot&)>& f) const {
  visit_clockwise(leaves_of(slots_.index), a, b,
                  [&f](const SlotItem& item) { return f(item.key, item.slot); });
}

void Store::for_each(const std::function<void(const RingId&, const KeySlot&)>& f) const {
  for (const auto& [fence, items] : leaves_of(slots_.index)) {
    for (const SlotItem& item : items) f(item.key, item.slot);
  }
}

std::vector<RingId> Store::keys_outside(const RingId& a, const RingId& b, std::size_t limit) const {
  std::vector<RingId> out;
  if (a == b || limit == 0) return out;  // (a, a] is the whole ring: nothing is outside
  // The complement of (a, b] is (b, a], and visiting it starts just after b.
  visit_clockwise(leaves_of(slots_.index), b, a, [&out, limit](const SlotItem& item) {
    out.push_back(item.key);
    return out.size() < limit;
  });
  return out;
}

bool Store::same_contents(const Store& other) const {
  if (entries_ != other.entries_ || slots_.size() != other.slots_.size()) return false;
  const LeafMap& mine = leaves_of(slots_.index);
  const LeafMap& theirs = leaves_of(other.slots_.index);
  ConstPos q = first_pos(theirs);
  for (ConstPos p = first_pos(mine); p.leaf != mine.end(); step(p), step(q)) {
    const SlotItem& x = item_at(p);
    const SlotItem& y = item_at(q);  // as many keys on both sides
    if (!same_key(x.key, y.key) ||
        !std::equal(x.slot.entries.begin(), x.slot.entries.end(), y.slot.entries.begin(),
                    y.slot.entries.end(), same_stored)) {
      return false;
    }
  }
  return true;
}

}  // namespace kittengrad
