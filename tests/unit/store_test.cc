// Store: the CRDT laws of merge on random stores, digests and range walks against brute
// force (wrap-around and the whole ring included, in both the small-store scan path and the
// bucket-tree path), erase_key, keys_outside and the lookup order.
//
// The layout (sorted leaves of keys, split and folded as keys come and go) is checked on
// stores large enough to hold hundreds of leaves: long mixes of inserts in random and in key
// order, erasures and merges of every shape, each step against a brute-force model.
//
// Randomised tests run many seeded cases; a failing case prints its seed and the command
// that replays just that case (KG_SEED=<seed>).
#include "kittengrad/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/entry.h"
#include "kittengrad/ids.h"
#include "kittengrad/rng.h"

namespace kittengrad {

// Readable failures: gtest prints these instead of raw bytes.
void PrintTo(const RangeDigest& d, std::ostream* os) {
  *os << "{count " << d.count << ", keysum " << d.keysum << ", checksum " << d.checksum << "}";
}
void PrintTo(const RingId& id, std::ostream* os) { *os << id.hex(); }

namespace {

constexpr int kLawCases = 250;
constexpr int kRangeCases = 300;

struct PoolEntry {
  Entry entry;
  Hash256 hash;
  RingId key;
};

PoolEntry pooled(Entry e) {
  const Hash256 h = entry_hash(e);
  const RingId key = e.key();
  return PoolEntry{std::move(e), h, key};
}

// Signed entries over few canonicals, authors and timestamps, so that slots hold several
// entries and the lookup order has to break timestamp ties.
std::vector<PoolEntry> make_pool(std::size_t entries, std::size_t canonicals, std::uint64_t seed) {
  EXPECT_TRUE(crypto_init());
  std::vector<KeyPair> authors;
  for (std::uint64_t a = 1; a <= 5; ++a) authors.push_back(keypair_from_u64(a));
  Rng rng(seed);
  std::vector<PoolEntry> pool;
  for (std::size_t i = 0; i < entries; ++i) {
    const Cid canonical = Cid::of_record("canonical-" + std::to_string(rng.below(canonicals)));
    const Cid update = Cid::of_record("update-" + std::to_string(i));
    const auto ts = static_cast<std::int64_t>(1000 + rng.below(8));
    pool.push_back(pooled(make_entry(authors[rng.below(authors.size())], "default", canonical, update, ts)));
  }
  return pool;
}

const std::vector<PoolEntry>& small_pool() {
  static const std::vector<PoolEntry> pool = make_pool(240, 30, 7);
  return pool;
}

// Enough entries that a store holding most of them builds its bucket tree.
const std::vector<PoolEntry>& large_pool() {
  static const std::vector<PoolEntry> pool = make_pool(7000, 5000, 11);
  return pool;
}

// Seeds for a randomised test: `cases` of them, or only KG_SEED when it is set.
std::vector<std::uint64_t> case_seeds(int cases) {
  if (const char* s = std::getenv("KG_SEED")) return {std::strtoull(s, nullptr, 10)};
  std::vector<std::uint64_t> seeds;
  for (int i = 0; i < cases; ++i) seeds.push_back(0x5eed0000ULL + static_cast<std::uint64_t>(i));
  return seeds;
}

std::string replay_hint(std::uint64_t seed) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "seed " + std::to_string(seed) + "; replay: KG_SEED=" + std::to_string(seed) +
         " ./store_test --gtest_filter=" + info->test_suite_name() + "." + info->name();
}

void shuffle(std::vector<std::size_t>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// A random subset of the pool's indices, in random order.
std::vector<std::size_t> random_subset(Rng& rng, std::size_t pool_size, double keep) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < pool_size; ++i) {
    if (rng.chance(keep)) out.push_back(i);
  }
  shuffle(out, rng);
  return out;
}

void fill(Store& s, const std::vector<PoolEntry>& pool, const std::vector<std::size_t>& idx) {
  for (const std::size_t i : idx) s.insert(pool[i].entry, pool[i].hash);
}

// A store holding exactly the union of the given index sets (the reference model).
void fill_union(Store& s, const std::vector<PoolEntry>& pool,
                std::initializer_list<const std::vector<std::size_t>*> sets) {
  std::set<std::size_t> all;
  for (const auto* set : sets) all.insert(set->begin(), set->end());
  fill(s, pool, std::vector<std::size_t>(all.begin(), all.end()));
}

// Digest of (a, b] from the entries the store lists, one by one.
RangeDigest brute_digest(const Store& s, const RingId& a, const RingId& b) {
  RangeDigest d;
  s.for_each([&](const RingId& key, const KeySlot& slot) {
    if (!in_half_open(key, a, b)) return;
    for (const StoredEntry& e : slot.entries) d.add(e.id);
  });
  return d;
}

std::vector<RingId> all_keys(const Store& s) {
  std::vector<RingId> keys;
  s.for_each([&keys](const RingId& k, const KeySlot&) { keys.push_back(k); });
  return keys;
}

// Keys in (a, b] clockwise from a, by brute force over the sorted keys.
std::vector<RingId> brute_keys_in(const std::vector<RingId>& sorted, const RingId& a,
                                  const RingId& b) {
  std::vector<RingId> out;
  const auto start = std::upper_bound(sorted.begin(), sorted.end(), a) - sorted.begin();
  for (std::size_t k = 0; k < sorted.size(); ++k) {
    const RingId& key = sorted[(static_cast<std::size_t>(start) + k) % sorted.size()];
    if (in_half_open(key, a, b)) out.push_back(key);
  }
  return out;
}

RingId random_id(Rng& rng) {
  RingId id;
  for (auto& byte : id.bytes) byte = static_cast<std::uint8_t>(rng.below(256));
  return id;
}

// Range endpoints that hit the hard cases: keys themselves, their neighbours, other points
// of the same bucket, the ends of the ring, and random points.
RingId interesting_point(Rng& rng, const std::vector<RingId>& keys) {
  const std::uint64_t kind = rng.below(6);
  if (keys.empty() || kind == 0) return random_id(rng);
  RingId p = keys[rng.below(keys.size())];
  switch (kind) {
    case 1:
      return p;
    case 2:  // the key minus one in the last byte (or a neighbour bit pattern)
      p.bytes[31] = static_cast<std::uint8_t>(p.bytes[31] - 1);
      return p;
    case 3:  // same bucket (top 16 bits), anywhere inside it
      for (std::size_t i = 2; i < p.bytes.size(); ++i) {
        p.bytes[i] = static_cast<std::uint8_t>(rng.below(256));
      }
      return p;
    case 4:
      return rng.chance(0.5) ? RingId{} : RingId::from_u64(UINT64_MAX);
    default:
      return random_id(rng);
  }
}

void expect_ranges_match(const Store& s, Rng& rng, int ranges) {
  const std::vector<RingId> keys = all_keys(s);
  for (int r = 0; r < ranges; ++r) {
    const RingId a = interesting_point(rng, keys);
    const RingId b = rng.chance(0.1) ? a : interesting_point(rng, keys);
    SCOPED_TRACE("range (" + a.short_hex() + ", " + b.short_hex() + "]");
    ASSERT_EQ(s.digest(a, b), brute_digest(s, a, b));
    std::vector<RingId> walked;
    s.for_each_in(a, b, [&walked](const RingId& k, const KeySlot&) { walked.push_back(k); });
    ASSERT_EQ(walked, brute_keys_in(keys, a, b));
  }
}

TEST(EntryId, KeyIsLittleEndianAndCheckIsDerived) {
  Hash256 h{};
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(i);
  const EntryId id = EntryId::of(h);
  EXPECT_EQ(id.key, 0x0706050403020100ULL);
  EXPECT_EQ(id, EntryId::of_key(id.key));
  EXPECT_NE(EntryId::of_key(0).check, 0U);
  EXPECT_NE(EntryId::of_key(1).check, EntryId::of_key(2).check);
}

TEST(Store, InsertIsIdempotentAndCounts) {
  const auto& pool = small_pool();
  Store s;
  EXPECT_TRUE(s.insert(pool[0].entry, pool[0].hash));
  EXPECT_FALSE(s.insert(pool[0].entry, pool[0].hash));
  EXPECT_FALSE(s.insert(pool[0].entry));  // hashing itself gives the same answer
  EXPECT_EQ(s.entry_count(), 1U);
  EXPECT_EQ(s.key_count(), 1U);
  EXPECT_TRUE(s.contains(pool[0].key, EntryId::of(pool[0].hash)));
  EXPECT_FALSE(s.contains(pool[0].key, EntryId::of(pool[1].hash)));
  EXPECT_FALSE(s.contains(RingId{}, EntryId::of(pool[0].hash)));
  EXPECT_EQ(s.find(RingId{}), nullptr);
}

TEST(Store, LookupOrderDoesNotDependOnArrival) {
  const auto& pool = small_pool();
  for (const std::uint64_t seed : case_seeds(50)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    std::vector<std::size_t> idx = random_subset(rng, pool.size(), 0.6);
    Store a;
    fill(a, pool, idx);
    shuffle(idx, rng);
    Store b;
    fill(b, pool, idx);
    ASSERT_TRUE(a.same_contents(b));
    a.for_each([](const RingId& key, const KeySlot& slot) {
      for (std::size_t i = 0; i < slot.entries.size(); ++i) {
        EXPECT_EQ(slot.entries[i].entry.key(), key);
        EXPECT_EQ(slot.entries[i].id, EntryId::of(entry_hash(slot.entries[i].entry)));
        if (i == 0) continue;
        EXPECT_TRUE(entry_order_less(slot.entries[i - 1].entry, slot.entries[i].entry));
      }
    });
  }
}

TEST(Store, MergeIsSetUnionAndCommutes) {
  const auto& pool = small_pool();
  for (const std::uint64_t seed : case_seeds(kLawCases)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    const auto x = random_subset(rng, pool.size(), rng.uniform01());
    const auto y = random_subset(rng, pool.size(), rng.uniform01());
    Store xy, yx, model;
    fill(xy, pool, x);
    fill(yx, pool, y);
    Store x_copy, y_copy;
    fill(x_copy, pool, x);
    fill(y_copy, pool, y);
    const std::size_t added_to_x = xy.merge_from(y_copy);
    const std::size_t added_to_y = yx.merge_from(x_copy);
    fill_union(model, pool, {&x, &y});
    ASSERT_TRUE(xy.same_contents(yx));
    ASSERT_TRUE(xy.same_contents(model));
    ASSERT_EQ(added_to_x, model.entry_count() - x_copy.entry_count());
    ASSERT_EQ(added_to_y, model.entry_count() - y_copy.entry_count());
    ASSERT_EQ(xy.digest(RingId{}, RingId{}), model.digest(RingId{}, RingId{}));
  }
}

TEST(Store, MergeIsAssociative) {
  const auto& pool = small_pool();
  for (const std::uint64_t seed : case_seeds(kLawCases)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    const auto x = random_subset(rng, pool.size(), rng.uniform01());
    const auto y = random_subset(rng, pool.size(), rng.uniform01());
    const auto z = random_subset(rng, pool.size(), rng.uniform01());
    Store sx, sy, sz;
    fill(sx, pool, x);
    fill(sy, pool, y);
    fill(sz, pool, z);
    Store left;  // (x u y) u z
    left.merge_from(sx);
    left.merge_from(sy);
    left.merge_from(sz);
    Store yz;  // x u (y u z)
    yz.merge_from(sy);
    yz.merge_from(sz);
    Store right;
    fill(right, pool, x);
    right.merge_from(yz);
    ASSERT_TRUE(left.same_contents(right));
    Store model;
    fill_union(model, pool, {&x, &y, &z});
    ASSERT_TRUE(left.same_contents(model));
  }
}

TEST(Store, MergeIsIdempotent) {
  const auto& pool = small_pool();
  for (const std::uint64_t seed : case_seeds(kLawCases)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    const auto x = random_subset(rng, pool.size(), rng.uniform01());
    Store s, same, sub;
    fill(s, pool, x);
    fill(same, pool, x);
    fill(sub, pool, std::vector<std::size_t>(x.begin(), x.begin() + x.size() / 2));
    ASSERT_EQ(s.merge_from(same), 0U);
    ASSERT_EQ(s.merge_from(sub), 0U);  // absorbs: x u (part of x) = x
    ASSERT_EQ(s.merge_from(s), 0U);
    ASSERT_TRUE(s.same_contents(same));
  }
}

TEST(Store, DigestMatchesBruteForceInSmallStores) {
  const auto& pool = small_pool();
  for (const std::uint64_t seed : case_seeds(kRangeCases)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    Store s;
    fill(s, pool, random_subset(rng, pool.size(), rng.uniform01()));
    expect_ranges_match(s, rng, 20);
    if (HasFatalFailure()) return;
  }
}

// The tree path: the store crosses kFenwickEntriesMin by inserts, then takes large merges
// (batched tree updates) and erasures; every step is checked against brute force.
TEST(Store, DigestMatchesBruteForceWithBucketTree) {
  const auto& pool = large_pool();
  ASSERT_GT(pool.size(), Store::kFenwickEntriesMin + 2000);
  for (const std::uint64_t seed : case_seeds(4)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    std::vector<std::size_t> idx(pool.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    shuffle(idx, rng);
    const std::size_t first = Store::kFenwickEntriesMin + 500;
    Store s;
    fill(s, pool, std::vector<std::size_t>(idx.begin(), idx.begin() + first));
    expect_ranges_match(s, rng, kRangeCases);
    Store other;  // overlaps s, and is large enough for a batched merge
    fill(other, pool, std::vector<std::size_t>(idx.begin() + first - 1000, idx.end()));
    EXPECT_EQ(s.merge_from(other), pool.size() - first);
    expect_ranges_match(s, rng, kRangeCases);
    const std::vector<RingId> keys = all_keys(s);
    for (int k = 0; k < 300; ++k) s.erase_key(keys[rng.below(keys.size())]);
    expect_ranges_match(s, rng, kRangeCases);
    if (HasFatalFailure()) return;
  }
}

TEST(Store, EraseKeyDropsTheWholeSlot) {
  const auto& pool = small_pool();
  for (const std::uint64_t seed : case_seeds(50)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    Store s;
    fill(s, pool, random_subset(rng, pool.size(), 0.7));
    const std::vector<RingId> keys = all_keys(s);
    if (keys.empty()) continue;
    const RingId victim = keys[rng.below(keys.size())];
    const std::size_t held = s.find(victim)->entries.size();
    const std::size_t before = s.entry_count();
    ASSERT_EQ(s.erase_key(victim), held);
    EXPECT_EQ(s.erase_key(victim), 0U);
    EXPECT_EQ(s.find(victim), nullptr);
    EXPECT_EQ(s.entry_count(), before - held);
    EXPECT_EQ(s.key_count(), keys.size() - 1);
    EXPECT_EQ(s.erased_total(), held);
    expect_ranges_match(s, rng, 10);
    const std::size_t remaining = s.entry_count();
    s.clear();
    EXPECT_EQ(s.entry_count(), 0U);
    EXPECT_EQ(s.erased_total(), held + remaining);
    EXPECT_EQ(s.digest(victim, victim), RangeDigest{});
  }
}

TEST(Store, KeysOutsideWalksTheComplementFromB) {
  const auto& pool = small_pool();
  for (const std::uint64_t seed : case_seeds(kRangeCases)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    Store s;
    fill(s, pool, random_subset(rng, pool.size(), rng.uniform01()));
    const std::vector<RingId> keys = all_keys(s);
    const RingId a = interesting_point(rng, keys);
    const RingId b = interesting_point(rng, keys);
    const std::size_t limit = rng.below(keys.size() + 2);
    std::vector<RingId> expected = a == b ? std::vector<RingId>{} : brute_keys_in(keys, b, a);
    if (expected.size() > limit) expected.resize(limit);
    ASSERT_EQ(s.keys_outside(a, b, limit), expected);
    for (const RingId& k : s.keys_outside(a, b, keys.size())) ASSERT_FALSE(in_half_open(k, a, b));
  }
}

TEST(Store, MoveKeepsContentsAndEmptiesTheSource) {
  const auto& pool = large_pool();
  Store s;
  for (std::size_t i = 0; i < Store::kFenwickEntriesMin + 10; ++i) {
    s.insert(pool[i].entry, pool[i].hash);
  }
  const RangeDigest whole = s.digest(RingId{}, RingId{});
  const RingId a = pool[0].key, b = pool[1].key;
  const RangeDigest part = s.digest(a, b);
  Store t(std::move(s));
  EXPECT_EQ(t.digest(RingId{}, RingId{}), whole);
  EXPECT_EQ(t.digest(a, b), part);
  EXPECT_EQ(s.entry_count(), 0U);  // NOLINT(bugprone-use-after-move): defined as empty
  Store u;
  u = std::move(t);
  EXPECT_EQ(u.digest(a, b), part);
  EXPECT_EQ(u.entry_count(), Store::kFenwickEntriesMin + 10);
}

// ---- Large stores: the leaves against a brute-force model ----

// Entries with random bytes for signatures, as the benchmarks use: the store never
// verifies, and signing tens of thousands of entries would only slow the tests. Few
// timestamps, so that the lookup order has to break ties.
std::vector<PoolEntry> make_unsigned_pool(std::size_t entries, std::size_t canonicals,
                                          std::uint64_t seed) {
  Rng rng(seed);
  std::vector<PoolEntry> pool;
  pool.reserve(entries);
  for (std::size_t i = 0; i < entries; ++i) {
    Entry e;
    e.ns = "default";
    e.canonical = Cid::of_record("canonical-" + std::to_string(rng.below(canonicals)));
    e.update = Cid::of_record("update-" + std::to_string(i));
    e.timestamp_ms = static_cast<std::int64_t>(1000 + rng.below(4));
    for (auto& b : e.author) b = static_cast<std::uint8_t>(rng.below(256));
    for (auto& b : e.signature) b = static_cast<std::uint8_t>(rng.below(256));
    pool.push_back(pooled(std::move(e)));
  }
  return pool;
}

// 30k entries over 12k canonicals: hundreds of leaves, slots of one to several entries.
const std::vector<PoolEntry>& big_pool() {
  static const std::vector<PoolEntry> pool = make_unsigned_pool(30000, 12000, 23);
  return pool;
}

// What a store should hold: pool indices by key.
using Model = std::map<RingId, std::set<std::size_t>>;

void model_add(Model& m, const std::vector<PoolEntry>& pool, const std::vector<std::size_t>& idx) {
  for (const std::size_t i : idx) m[pool[i].key].insert(i);
}

std::size_t model_entries(const Model& m) {
  std::size_t n = 0;
  for (const auto& [key, set] : m) n += set.size();
  return n;
}

// The store holds exactly the model: same keys in order, each slot the model's entries in
// lookup order with their ids, find() agreeing with the walk, digests and range walks
// agreeing with brute force.
void expect_matches_model(const Store& s, const Model& m, const std::vector<PoolEntry>& pool,
                          Rng& rng) {
  ASSERT_EQ(s.key_count(), m.size());
  ASSERT_EQ(s.entry_count(), model_entries(m));
  auto want = m.begin();
  bool same = true;
  s.for_each([&](const RingId& key, const KeySlot& slot) {
    if (!same) return;
    if (want == m.end() || key != want->first) {
      same = false;
      ADD_FAILURE() << "unexpected key " << key.hex();
      return;
    }
    std::vector<const PoolEntry*> expected;
    for (const std::size_t i : want->second) expected.push_back(&pool[i]);
    std::sort(expected.begin(), expected.end(), [](const PoolEntry* a, const PoolEntry* b) {
      return entry_order_less(a->entry, b->entry);
    });
    if (slot.entries.size() != expected.size()) {
      same = false;
      ADD_FAILURE() << "slot of " << key.hex() << " holds " << slot.entries.size();
      return;
    }
    for (std::size_t k = 0; k < expected.size(); ++k) {
      if (!(slot.entries[k].entry == expected[k]->entry) ||
          slot.entries[k].id != EntryId::of(expected[k]->hash)) {
        same = false;
        ADD_FAILURE() << "slot of " << key.hex() << " differs at " << k;
        return;
      }
    }
    if (s.find(key) != &slot) {
      same = false;
      ADD_FAILURE() << "find(" << key.hex() << ") is not the slot the walk shows";
      return;
    }
    ++want;
  });
  ASSERT_TRUE(same);
  ASSERT_TRUE(want == m.end());
  for (int k = 0; k < 50; ++k) {
    const RingId absent = random_id(rng);
    if (m.count(absent) == 0) {
      ASSERT_EQ(s.find(absent), nullptr);
    }
  }
  RangeDigest whole;
  for (const auto& [key, set] : m) {
    for (const std::size_t i : set) whole.add(EntryId::of(pool[i].hash));
  }
  ASSERT_EQ(s.digest(RingId{}, RingId{}), whole);
  expect_ranges_match(s, rng, 40);
}

// Pool indices whose keys lie in [lo, hi) (top 64 bits), in random order.
std::vector<std::size_t> indices_in_band(const std::vector<PoolEntry>& pool, std::uint64_t lo,
                                         std::uint64_t hi, double keep, Rng& rng) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    const std::uint64_t k = pool[i].key.top64();
    if (k >= lo && k < hi && rng.chance(keep)) out.push_back(i);
  }
  shuffle(out, rng);
  return out;
}

// Indices sorted by key (ascending or descending): inserts that arrive in ring order.
std::vector<std::size_t> sorted_by_key(const std::vector<PoolEntry>& pool,
                                       std::vector<std::size_t> idx, bool descending) {
  std::stable_sort(idx.begin(), idx.end(), [&pool, descending](std::size_t a, std::size_t b) {
    return descending ? pool[b].key < pool[a].key : pool[a].key < pool[b].key;
  });
  return idx;
}

TEST(StoreLayout, InsertsInAnyOrderMatchTheModel) {
  const auto& pool = big_pool();
  for (const std::uint64_t seed : case_seeds(3)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    const std::vector<std::size_t> idx = random_subset(rng, pool.size(), 0.8);
    Model model;
    model_add(model, pool, idx);
    for (const int order : {0, 1, 2}) {  // random, ascending keys, descending keys
      SCOPED_TRACE("order " + std::to_string(order));
      Store s;
      fill(s, pool, order == 0 ? idx : sorted_by_key(pool, idx, order == 2));
      for (std::size_t k = 0; k < idx.size(); k += 97) {  // repeats are refused
        ASSERT_FALSE(s.insert(pool[idx[k]].entry, pool[idx[k]].hash));
      }
      expect_matches_model(s, model, pool, rng);
      if (HasFatalFailure()) return;
    }
  }
}

// Merges of every shape into stores of every size: empty, disjoint key bands on either
// side, bands inside the other, sparse into dense, dense into sparse, overlapping halves.
TEST(StoreLayout, MergesOfEveryShapeMatchTheModel) {
  const auto& pool = big_pool();
  constexpr std::uint64_t kQuarter = std::uint64_t{1} << 62;
  for (const std::uint64_t seed : case_seeds(2)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    struct Shape {
      const char* name;
      std::uint64_t ours_lo, ours_hi;
      double ours_keep;
      std::uint64_t theirs_lo, theirs_hi;
      double theirs_keep;
    };
    const Shape shapes[] = {
        {"into empty", 0, 0, 0.0, 0, UINT64_MAX, 0.7},
        {"from a band below", 2 * kQuarter, UINT64_MAX, 0.9, 0, 2 * kQuarter, 0.9},
        {"from a band above", 0, 2 * kQuarter, 0.9, 2 * kQuarter, UINT64_MAX, 0.9},
        {"from a band inside", 0, UINT64_MAX, 0.5, kQuarter, 2 * kQuarter, 0.9},
        {"around a band", kQuarter, 2 * kQuarter, 0.9, 0, UINT64_MAX, 0.5},
        {"sparse into dense", 0, UINT64_MAX, 0.9, 0, UINT64_MAX, 0.02},
        {"dense into sparse", 0, UINT64_MAX, 0.02, 0, UINT64_MAX, 0.9},
        {"overlapping", 0, UINT64_MAX, 0.6, 0, UINT64_MAX, 0.6},
    };
    for (const Shape& shape : shapes) {
      SCOPED_TRACE(shape.name);
      const auto x = indices_in_band(pool, shape.ours_lo, shape.ours_hi, shape.ours_keep, rng);
      const auto y =
          indices_in_band(pool, shape.theirs_lo, shape.theirs_hi, shape.theirs_keep, rng);
      Store ours, theirs;
      fill(ours, pool, x);
      fill(theirs, pool, y);
      Model model;
      model_add(model, pool, x);
      model_add(model, pool, y);
      const std::size_t before = ours.entry_count();
      ASSERT_EQ(ours.merge_from(theirs), model_entries(model) - before);
      expect_matches_model(ours, model, pool, rng);
      // Merging again changes nothing, and the other way round gives the same store.
      ASSERT_EQ(ours.merge_from(theirs), 0U);
      Store back;
      fill(back, pool, y);
      back.merge_from(ours);
      ASSERT_TRUE(back.same_contents(ours));
      if (HasFatalFailure()) return;
    }
  }
}

// A long life: rounds of inserts, merges and erasures (which fold leaves that run low),
// down to nothing and up again, against the model after every round.
TEST(StoreLayout, LongMixOfInsertsMergesAndErasesMatchesTheModel) {
  const auto& pool = big_pool();
  for (const std::uint64_t seed : case_seeds(2)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    Store s;
    Model model;
    std::size_t erased = 0;
    for (int round = 0; round < 16; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      switch (rng.below(4)) {
        case 0: {  // inserts, in random order
          const auto idx = random_subset(rng, pool.size(), 0.15);
          fill(s, pool, idx);
          model_add(model, pool, idx);
          break;
        }
        case 1: {  // a merge of a random store, dense or sparse
          const auto idx = random_subset(rng, pool.size(), rng.chance(0.5) ? 0.3 : 0.01);
          Store other;
          fill(other, pool, idx);
          const std::size_t before = model_entries(model);
          model_add(model, pool, idx);
          ASSERT_EQ(s.merge_from(other), model_entries(model) - before);
          break;
        }
        case 2: {  // a merge of one band of keys, in key order
          const std::uint64_t lo = rng.next_u64() / 2;
          auto idx = indices_in_band(pool, lo, lo + (std::uint64_t{1} << 61), 0.8, rng);
          Store other;
          fill(other, pool, sorted_by_key(pool, idx, false));
          const std::size_t before = model_entries(model);
          model_add(model, pool, idx);
          ASSERT_EQ(s.merge_from(other), model_entries(model) - before);
          break;
        }
        default: {  // erase most keys of a band, or nearly everything
          const bool wide = rng.chance(0.3);
          const std::uint64_t lo = wide ? 0 : rng.next_u64() / 2;
          const std::uint64_t hi = wide ? UINT64_MAX : lo + (std::uint64_t{1} << 62);
          std::vector<RingId> victims;
          for (const auto& [key, set] : model) {
            if (key.top64() >= lo && key.top64() < hi && !rng.chance(0.05)) {
              victims.push_back(key);
            }
          }
          for (std::size_t i = victims.size(); i > 1; --i) {
            std::swap(victims[i - 1], victims[rng.below(i)]);
          }
          for (const RingId& key : victims) {
            const std::size_t held = model[key].size();
            ASSERT_EQ(s.erase_key(key), held);
            ASSERT_EQ(s.erase_key(key), 0U);
            erased += held;
            model.erase(key);
          }
          break;
        }
      }
      expect_matches_model(s, model, pool, rng);
      ASSERT_EQ(s.erased_total(), erased);
      if (HasFatalFailure()) return;
    }
    // Down to nothing by erasures, then up again.
    for (const auto& [key, set] : model) ASSERT_EQ(s.erase_key(key), set.size());
    model.clear();
    expect_matches_model(s, model, pool, rng);
    const auto idx = random_subset(rng, pool.size(), 0.2);
    fill(s, pool, idx);
    model_add(model, pool, idx);
    expect_matches_model(s, model, pool, rng);
  }
}

// Slots of dozens of entries (a few canonicals): merges that plan long slots, with ties in
// the lookup order broken past the timestamp.
TEST(StoreLayout, MergesOfCrowdedSlotsMatchTheModel) {
  static const std::vector<PoolEntry> pool = make_unsigned_pool(3000, 40, 31);
  for (const std::uint64_t seed : case_seeds(20)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    const auto x = random_subset(rng, pool.size(), rng.uniform01());
    const auto y = random_subset(rng, pool.size(), rng.uniform01());
    Store ours, theirs;
    fill(ours, pool, x);
    fill(theirs, pool, y);
    Model model;
    model_add(model, pool, x);
    model_add(model, pool, y);
    const std::size_t before = ours.entry_count();
    ASSERT_EQ(ours.merge_from(theirs), model_entries(model) - before);
    expect_matches_model(ours, model, pool, rng);
    if (HasFatalFailure()) return;
  }
}

TEST(StoreLayout, ClearThenReuse) {
  const auto& pool = big_pool();
  Rng rng(5);
  Store s;
  fill(s, pool, random_subset(rng, pool.size(), 0.5));
  const std::size_t held = s.entry_count();
  s.clear();
  EXPECT_EQ(s.erased_total(), held);
  Model model;
  expect_matches_model(s, model, pool, rng);
  Store other;
  const auto idx = random_subset(rng, pool.size(), 0.3);
  fill(other, pool, idx);
  model_add(model, pool, idx);
  EXPECT_EQ(s.merge_from(other), other.entry_count());  // into an emptied store
  expect_matches_model(s, model, pool, rng);
}

// find() returns a pointer into the store, valid until the next mutation (the contract in
// store.h): between mutations it keeps pointing at the same, unchanged slot.
TEST(StoreLayout, FindIsStableBetweenMutations) {
  const auto& pool = big_pool();
  Rng rng(9);
  Store s;
  fill(s, pool, random_subset(rng, pool.size(), 0.5));
  std::vector<std::pair<const KeySlot*, std::size_t>> seen;
  s.for_each([&](const RingId& key, const KeySlot& slot) {
    if (rng.chance(0.01)) seen.emplace_back(s.find(key), slot.entries.size());
  });
  ASSERT_FALSE(seen.empty());
  // Reads of every kind, which must not move anything.
  (void)s.digest(RingId{}, RingId::from_u64(1ULL << 63));
  (void)s.keys_outside(RingId{}, RingId::from_u64(1ULL << 62), 100);
  s.scan_in(RingId{}, RingId{}, [](const RingId&, const KeySlot&) { return true; });
  for (const auto& [slot, size] : seen) {
    ASSERT_NE(slot, nullptr);
    EXPECT_EQ(slot->entries.size(), size);
    EXPECT_EQ(s.find(slot->entries.front().entry.key()), slot);
  }
}

// 100k simulated peers each hold a store: an empty one must stay a handful of words.
TEST(StoreLayout, EmptyStoreIsSmall) {
  static_assert(sizeof(Store) <= 128, "an empty Store should stay a few words");
  Store s;
  EXPECT_EQ(s.key_count(), 0U);
  EXPECT_EQ(s.find(RingId{}), nullptr);
  EXPECT_EQ(s.digest(RingId{}, RingId::from_u64(5)), RangeDigest{});
  EXPECT_TRUE(s.keys_outside(RingId{}, RingId::from_u64(5), 10).empty());
  EXPECT_EQ(s.erase_key(RingId{}), 0U);
  Store t;
  EXPECT_EQ(s.merge_from(t), 0U);
  EXPECT_TRUE(s.same_contents(t));
}

}  // namespace
}  // namespace kittengrad
