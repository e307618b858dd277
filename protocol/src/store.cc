// The CRDT store: one slot of entries per canonical key, in a sorted map, and range
// digests for anti-entropy.
//
// A digest of (a, b] is the count and the XOR-sums of the EntryIds of every entry whose key
// lies in the range. Both operations are group operations (integer addition and XOR), so
// the digest of a range is the difference of two prefix digests, and prefix digests come
// from a Fenwick tree over 65,536 buckets cut by the top 16 bits of the key: the tree
// answers "all buckets before bucket(b)" in 16 steps, and the keys of bucket(b) itself that
// are <= b are added by a short walk of the map (a bucket holds 1/65,536 of the keys).
// Wrapping ranges (b < a) are the total minus the prefix up to a, plus the prefix up to b.
//
// Merge is set union, slot by slot: the two maps are walked side by side, a key we lack
// copies the whole slot, a key we share merges two sorted vectors. Entries are never
// re-verified or re-hashed here: the EntryId travels with the entry.
#include "kittengrad/store.h"

#include <algorithm>
#include <cassert>
#include <iterator>
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

using SlotMap = std::map<RingId, KeySlot>;

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
         a.entry.signature == b.entry.signature && a.entry.update == b.entry.update &&
         a.entry.author == b.entry.author && a.entry.canonical == b.entry.canonical &&
         a.entry.ns == b.entry.ns;
}

// Calls f(pair) for each key in (a, b] clockwise from a, until f returns false.
// (a, a] is the whole ring, starting just after a.
template <typename F>
void visit_clockwise(const SlotMap& slots, const RingId& a, const RingId& b, F&& f) {
  const auto start = slots.upper_bound(a);
  if (a < b) {
    const auto stop = slots.upper_bound(b);
    for (auto it = start; it != stop; ++it) {
      if (!f(*it)) return;
    }
    return;
  }
  for (auto it = start; it != slots.end(); ++it) {
    if (!f(*it)) return;
  }
  const auto stop = (a == b) ? start : slots.upper_bound(b);
  for (auto it = slots.begin(); it != stop; ++it) {
    if (!f(*it)) return;
  }
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

// A merge is bound by memory latency: slots are scattered heap blocks, and the walk
// touches each once. Asking for the next keys' entries ahead of use overlaps those misses
// with the work on the current key.
constexpr std::size_t kPrefetchKeys = 4;

void prefetch_slot(const KeySlot& slot) {
  if (slot.entries.empty()) return;
  const char* p = reinterpret_cast<const char*>(slot.entries.data());
  // A StoredEntry spans four cache lines; the comparisons read all of them.
  for (std::size_t line = 0; line < sizeof(StoredEntry); line += 64) __builtin_prefetch(p + line);
}

// Three-way comparison of ring ids as four big-endian words: one pass instead of the two
// byte-wise comparisons (< then !=) that the merge walk would otherwise make per key.
int compare_ids(const RingId& a, const RingId& b) {
  for (std::size_t w = 0; w < 4; ++w) {
    std::uint64_t x = 0, y = 0;
    for (std::size_t k = 0; k < 8; ++k) {
      x = (x << 8) | a.bytes[8 * w + k];
      y = (y << 8) | b.bytes[8 * w + k];
    }
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace

EntryId EntryId::of(const Hash256& h) {
  // Little-endian, byte by byte, so the id is the same on every machine.
  std::uint64_t key = 0;
  for (int i = 7; i >= 0; --i) key = (key << 8) | h[static_cast<std::size_t>(i)];
  return of_key(key);
}

EntryId EntryId::of_key(std::uint64_t key) { return EntryId{key, mix64(key ^ kCheckSalt)}; }

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
    : slots_(std::move(other.slots_)),
      entries_(std::exchange(other.entries_, 0)),
      erased_total_(std::exchange(other.erased_total_, 0)),
      total_(std::exchange(other.total_, RangeDigest{})),
      fenwick_(std::move(other.fenwick_)) {
  other.slots_.clear();
}

Store& Store::operator=(Store&& other) noexcept {
  if (this == &other) return *this;
  slots_ = std::move(other.slots_);
  other.slots_.clear();
  entries_ = std::exchange(other.entries_, 0);
  erased_total_ = std::exchange(other.erased_total_, 0);
  total_ = std::exchange(other.total_, RangeDigest{});
  fenwick_ = std::move(other.fenwick_);
  return *this;
}

void Store::account(const RingId& key, const RangeDigest& delta) {
  entries_ = static_cast<std::size_t>(static_cast<std::int64_t>(entries_) + delta.count);
  combine(total_, delta);
  if (fenwick_) fenwick_->add(bucket_of(key), delta);
}

void Store::build_fenwick_if_large() {
  if (fenwick_ || entries_ < kFenwickEntriesMin) return;
  std::vector<RangeDigest> buckets(kBuckets + 1);
  for (const auto& [key, slot] : slots_) combine(buckets[bucket_of(key) + 1], slot_digest(slot));
  fenwick_ = std::make_unique<Fenwick>();
  fenwick_->add_all(buckets);
}

bool Store::insert(const Entry& e, const Hash256& hash) {
  const RingId key = e.key();
  std::vector<StoredEntry>& entries = slots_[key].entries;
  const StoredEntry stored{e, EntryId::of(hash)};
  const auto pos = std::lower_bound(entries.begin(), entries.end(), stored, stored_less);
  if (pos != entries.end() && pos->entry == e) return false;
  entries.insert(pos, stored);
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
  const auto it = slots_.find(key);
  return it == slots_.end() ? nullptr : &it->second;
}

std::size_t Store::merge_from(const Store& other) {
  if (&other == this) return 0;
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
  // Walk both maps side by side when other is not much smaller than us; otherwise a
  // lookup per key is cheaper than walking all of ours.
  const bool walk = other.slots_.size() * 8 >= slots_.size();
  auto it = slots_.begin();
  auto ahead = other.slots_.begin();  // kPrefetchKeys keys ahead of the one merged
  for (std::size_t k = 0; k < kPrefetchKeys && ahead != other.slots_.end(); ++k) ++ahead;
  for (const auto& [key, theirs] : other.slots_) {
    if (ahead != other.slots_.end()) prefetch_slot((ahead++)->second);
    int order = 1;  // of it->first against key; 1 also stands for "past the end"
    if (!walk) it = slots_.lower_bound(key);
    while (it != slots_.end() && (order = compare_ids(it->first, key)) < 0) ++it;
    if (it == slots_.end()) order = 1;
    if (order != 0) {
      it = slots_.emplace_hint(it, key, theirs);
      note(key, slot_digest(theirs));
    } else {
      note(key, merge_slot(it->second, theirs));
    }
    if (walk && it != slots_.end()) {
      const auto next = std::next(it);
      if (next != slots_.end()) prefetch_slot(next->second);
    }
  }
  if (batch) fenwick_->add_all(delta);
  build_fenwick_if_large();
  return entries_ - entries_before;
}

std::size_t Store::erase_key(const RingId& key) {
  const auto it = slots_.find(key);
  if (it == slots_.end()) return 0;
  const RangeDigest held = slot_digest(it->second);
  account(key, negated(held));
  erased_total_ += static_cast<std::size_t>(held.count);
  slots_.erase(it);
  return static_cast<std::size_t>(held.count);
}

void Store::clear() {
  erased_total_ += entries_;
  slots_.clear();
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
  for (auto it = slots_.lower_bound(bucket_start(bucket)); it != slots_.end() && it->first <= b;
       ++it) {
    combine(d, slot_digest(it->second));
  }
  return d;
}

RangeDigest Store::digest_scan(const RingId& a, const RingId& b) const {
  RangeDigest d;
  visit_clockwise(slots_, a, b, [&d](const SlotMap::value_type& kv) {
    combine(d, slot_digest(kv.second));
    return true;
  });
  return d;
}

void Store::for_each_in(const RingId& a, const RingId& b,
                        const std::function<void(const RingId&, const KeySlot&)>& f) const {
  visit_clockwise(slots_, a, b, [&f](const SlotMap::value_type& kv) {
    f(kv.first, kv.second);
    return true;
  });
}

void Store::scan_in(const RingId& a, const RingId& b,
                    const std::function<bool(const RingId&, const KeySlot&)>& f) const {
  visit_clockwise(slots_, a, b, [&f](const SlotMap::value_type& kv) { return f(kv.first, kv.second); });
}

void Store::for_each(const std::function<void(const RingId&, const KeySlot&)>& f) const {
  for (const auto& [key, slot] : slots_) f(key, slot);
}

std::vector<RingId> Store::keys_outside(const RingId& a, const RingId& b, std::size_t limit) const {
  std::vector<RingId> out;
  if (a == b || limit == 0) return out;  // (a, a] is the whole ring: nothing is outside
  // The complement of (a, b] is (b, a], and visiting it starts just after b.
  visit_clockwise(slots_, b, a, [&out, limit](const SlotMap::value_type& kv) {
    out.push_back(kv.first);
    return out.size() < limit;
  });
  return out;
}

bool Store::same_contents(const Store& other) const {
  if (entries_ != other.entries_ || slots_.size() != other.slots_.size()) return false;
  auto same_slot = [](const SlotMap::value_type& x, const SlotMap::value_type& y) {
    return x.first == y.first &&
           std::equal(x.second.entries.begin(), x.second.entries.end(), y.second.entries.begin(),
                      y.second.entries.end(), same_stored);
  };
  return std::equal(slots_.begin(), slots_.end(), other.slots_.begin(), same_slot);
}

}  // namespace kittengrad
