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
// addresses are known many keys ahead, so they are prefetched and overlap. A leaf splits
// when full (in halves, or, when the new key falls past its last item, into a fresh leaf,
// so that keys arriving in order fill leaves instead of halving them), and an erase folds a
// leaf that runs low into a neighbour. Inserting shifts at most a leaf, and finding a leaf
// is a map lookup over keys/48 nodes or so: both logarithmic.
//
// Pointers: find() returns a slot inside a leaf, which moves when the leaf shifts, splits or
// folds; hence the contract "valid until the next mutation". An empty store holds no
// leaves at all (a null pointer), so the 100k small stores of a simulation stay small.
//
// Merge is set union, slot by slot: both stores are walked side by side in key order, a key
// we lack copies the whole slot into place, a key we share merges two sorted vectors.
// Entries are never re-verified or re-hashed here: the EntryId travels with the entry.
#include "kittengrad/store.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <type_traits>
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

// A merge that may bring this many entries adds them to the tree in one linear pass over
// the buckets (about 100 us) instead of 16 steps per key.
constexpr std::size_t kBatchAccountMin = 2048;

// Keys per leaf. A leaf of 64 (key, slot) pairs is 3.5 KiB: an insert shifts half of that
// on average, and a walk crosses a leaf boundary (one map node) every few dozen keys.
constexpr std::size_t kLeafItemsMax = 64;
// An erase folds a leaf this small into a neighbour when the two fit in one leaf.
constexpr std::size_t kLeafItemsLow = kLeafItemsMax / 4;
static_assert(kLeafItemsLow >= 1 && kLeafItemsLow < kLeafItemsMax / 2);

// A merge asks for the entries of the keys this far ahead of the one it works on, so that
// their cache misses overlap; each key has two slots to fetch (ours and theirs), and a core
// keeps a few dozen misses in flight.
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

void combine(RangeDigest& acc, const RangeDigest& d) {
  acc.count += d.count;
  acc.keysum ^= d.keysum;
  acc.checksum ^= d.checksum;
}

// a - b: XOR is its own inverse, counts subtract.
RangeDigest minus(RangeDigest a, const RangeDigest& b) {
  a.count -= b.count;
  a.keysum ^= b.keysum;
  a.checksum ^= b.checksum;
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

// Equality of byte arrays, a word at a time (the library's operator== calls memcmp).
template <std::size_t N>
bool same_bytes(const std::array<std::uint8_t, N>& a, const std::array<std::uint8_t, N>& b) {
  std::uint64_t diff = 0;
  std::size_t i = 0;
  for (; i + 8 <= N; i += 8) {
    std::uint64_t x = 0, y = 0;
    std::memcpy(&x, a.data() + i, sizeof x);
    std::memcpy(&y, b.data() + i, sizeof y);
    diff |= x ^ y;
  }
  for (; i < N; ++i) diff |= static_cast<std::uint64_t>(a[i] ^ b[i]);
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
         same_bytes(a.entry.canonical.bytes, b.entry.canonical.bytes) && a.entry.ns == b.entry.ns;
}

// Advances `i` past the entries of `ours` that sort before `t`; returns true iff `t` is
// then at `i` (already held). Equal entries are caught before any order comparison, since
// merges mostly offer entries we hold.
template <typename It>
bool skip_to(It& i, It end, const StoredEntry& t, std::vector<StoredEntry>* moved_to) {
  while (i != end) {
    if (same_stored(*i, t)) return true;
    if (!stored_less(*i, t)) return false;
    if (moved_to != nullptr) moved_to->push_back(std::move(*i));
    ++i;
  }
  return false;
}

// Number of entries of `theirs` that `ours` lacks (both sorted, strictly increasing).
std::size_t count_missing(const std::vector<StoredEntry>& ours,
                          const std::vector<StoredEntry>& theirs) {
  std::size_t missing = 0;
  auto i = ours.begin();
  for (const StoredEntry& t : theirs) {
    if (!skip_to(i, ours.end(), t, nullptr)) ++missing;
  }
  return missing;
}

// Union of two sorted slots into `ours`; returns the digest of the entries it added.
RangeDigest merge_slot(KeySlot& ours, const KeySlot& theirs) {
  RangeDigest added;
  // Count first: when nothing is missing, nothing moves.
  const std::size_t missing = count_missing(ours.entries, theirs.entries);
  if (missing == 0) return added;
  std::vector<StoredEntry> merged;
  merged.reserve(ours.entries.size() + missing);
  auto i = ours.entries.begin();
  for (const StoredEntry& t : theirs.entries) {
    if (skip_to(i, ours.entries.end(), t, &merged)) continue;
    merged.push_back(t);
    added.add(t.id);
  }
  std::move(i, ours.entries.end(), std::back_inserter(merged));
  ours.entries = std::move(merged);
  return added;
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

// A position: item `idx` of `leaf`, or past the end when leaf is the map's end().
template <typename LeafIt>
struct Pos {
  LeafIt leaf;
  std::size_t idx = 0;
};
using ConstPos = Pos<LeafMap::const_iterator>;
using MutPos = Pos<LeafMap::iterator>;

// The leaf whose fence range holds `key`. REQUIRES: leaves not empty (the first fence is
// zero, so there is always one).
template <typename Map>
auto leaf_of(Map& leaves, const RingId& key) {
  assert(!leaves.empty());
  return std::prev(leaves.upper_bound(key));
}

// Index of the first item of `leaf`, at or after `from`, whose key is >= `key`.
std::size_t lower_index(const Leaf& leaf, std::size_t from, const RingId& key) {
  const auto it = std::lower_bound(
      leaf.begin() + static_cast<std::ptrdiff_t>(from), leaf.end(), key,
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
template <typename Map>
auto* find_slot(Map& leaves, const RingId& key) {
  using Slot = std::conditional_t<std::is_const_v<Map>, const KeySlot, KeySlot>;
  Slot* found = nullptr;
  if (leaves.empty()) return found;
  auto& items = leaf_of(leaves, key)->second;
  const std::size_t idx = lower_index(items, 0, key);
  if (idx < items.size() && same_key(items[idx].key, key)) found = &items[idx].slot;
  return found;
}

// Makes room for one more item in a leaf that is not full: capacity grows by doubling up
// to a full leaf, so small stores hold small leaves.
void make_room(Leaf& leaf) {
  assert(leaf.size() < kLeafItemsMax);
  if (leaf.size() < leaf.capacity()) return;
  leaf.reserve(std::min(kLeafItemsMax, std::max<std::size_t>(4, 2 * leaf.size())));
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

// Inserts the new key `key` at `c`, where a seek for it stopped (the first item above it in
// the leaf whose range holds it), and leaves `c` on it; returns its slot.
KeySlot& insert_at(LeafMap& leaves, MutPos& c, const RingId& key, KeySlot slot) {
  if (c.leaf->second.size() == kLeafItemsMax) {
    const std::size_t size = c.leaf->second.size();
    if (c.idx == size) {
      // Past the last item: start a fresh leaf at the key, which keys that follow in order
      // will fill.
      c.leaf = split_leaf(leaves, c.leaf, size, key);
      c.idx = 0;
    } else {
      const std::size_t half = size / 2;
      const auto upper = split_leaf(leaves, c.leaf, half, c.leaf->second[half].key);
      // At exactly `half` the key is below the new fence: it ends the lower leaf.
      if (c.idx > half) c = MutPos{upper, c.idx - half};
    }
  }
  Leaf& items = c.leaf->second;
  make_room(items);
  items.insert(items.begin() + static_cast<std::ptrdiff_t>(c.idx),
               SlotItem{key, std::move(slot)});
  return items[c.idx].slot;
}

// Moves `c` forward to `key`'s place: the first item >= key in the leaf whose fence range
// holds it (possibly just past that leaf's last item). Keys sought in increasing order
// cost a step each when dense and a map lookup each when sparse. REQUIRES: key is above
// every key before c. A cursor left behind by inserts elsewhere (idx past its leaf) is
// taken back to the leaf's end first.
void seek(LeafMap& leaves, MutPos& c, const RingId& key) {
  const auto next = std::next(c.leaf);
  if (next != leaves.end() && !key_less(key, next->first)) {
    const auto after = std::next(next);
    c.leaf = (after == leaves.end() || key_less(key, after->first)) ? next : leaf_of(leaves, key);
    c.idx = 0;
  }
  const Leaf& items = c.leaf->second;
  c.idx = std::min(c.idx, items.size());
  for (std::size_t s = 0; s < kSeekLinearSteps; ++s, ++c.idx) {
    if (c.idx == items.size() || !key_less(items[c.idx].key, key)) return;
  }
  c.idx = lower_index(items, c.idx, key);
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
    copy.reserve(items.size());
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

  // Adds per-bucket digests (delta[bucket + 1]) in one pass. The tree is linear in its
  // buckets, so tree(x + delta) = tree(x) + tree(delta), and tree(delta) is built in
  // place: each node, once complete, is pushed into its parent. Consumes delta.
  void add_all(std::vector<RangeDigest>& delta) {
    assert(delta.size() == kBuckets + 1);
    for (std::size_t i = 1; i <= kBuckets; ++i) {
      const std::size_t parent = i + (i & (~i + 1));
      if (parent <= kBuckets) combine(delta[parent], delta[i]);
      combine(tree[i], delta[i]);
    }
  }
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
  std::vector<RangeDigest> buckets(kBuckets + 1);
  for (const auto& [fence, items] : leaves_of(slots_.index)) {
    for (const SlotItem& item : items) {
      combine(buckets[bucket_of(item.key) + 1], slot_digest(item.slot));
    }
  }
  fenwick_ = std::make_unique<Fenwick>();
  fenwick_->add_all(buckets);
}

bool Store::insert(const Entry& e, const Hash256& hash) {
  const RingId key = e.key();
  LeafMap& leaves = index().leaves;
  if (leaves.empty()) leaves.emplace(RingId{}, Leaf{});
  MutPos c{leaf_of(leaves, key), 0};
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
  // Large merges into a large store collect per-bucket deltas and apply them in one pass.
  const bool batch = fenwick_ != nullptr && other.entries_ >= kBatchAccountMin;
  std::vector<RangeDigest> delta(batch ? kBuckets + 1 : 0);
  auto note = [&](const RingId& key, const RangeDigest& added) {
    if (added.count == 0) return;
    if (!batch) return account(key, added);
    entries_ += static_cast<std::size_t>(added.count);
    combine(total_, added);
    combine(delta[bucket_of(key) + 1], added);
  };
  LeafMap& leaves = slots_.index->leaves;
  const LeafMap& theirs = other.slots_.index->leaves;
  // `ours` is where the key being merged is or belongs; `ahead` runs kPrefetchKeys keys
  // ahead in theirs, and `ahead_ours` follows it in ours, asking for both slots' entries.
  MutPos ours{leaves.begin(), 0};
  MutPos ahead_ours = ours;
  ConstPos ahead = first_pos(theirs);
  auto prefetch_ahead = [&] {
    const SlotItem& t = item_at(ahead);
    prefetch_slot(t.slot);
    seek(leaves, ahead_ours, t.key);
    const Leaf& items = ahead_ours.leaf->second;
    if (ahead_ours.idx < items.size() && same_key(items[ahead_ours.idx].key, t.key)) {
      prefetch_slot(items[ahead_ours.idx].slot);
    }
    step(ahead);
  };
  for (std::size_t k = 0; k < kPrefetchKeys && ahead.leaf != theirs.end(); ++k) prefetch_ahead();
  for (const auto& [fence, items] : theirs) {
    for (const SlotItem& t : items) {
      if (ahead.leaf != theirs.end()) prefetch_ahead();
      seek(leaves, ours, t.key);
      Leaf& here = ours.leaf->second;
      if (ours.idx < here.size() && same_key(here[ours.idx].key, t.key)) {
        note(t.key, merge_slot(here[ours.idx].slot, t.slot));
      } else {
        insert_at(leaves, ours, t.key, t.slot);
        ++slots_.keys;
        note(t.key, slot_digest(t.slot));
      }
    }
  }
  if (batch) fenwick_->add_all(delta);
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
    if (!same_key(x.key, y.key) || !std::equal(x.slot.entries.begin(), x.slot.entries.end(),
                                      y.slot.entries.begin(), y.slot.entries.end(), same_stored)) {
      return false;
    }
  }
  return true;
}

}  // namespace kittengrad
