// sync_index.h — private: what anti-entropy needs of a large store, kept current as entries
// arrive, so that no round walks the store.
//
// The ranges neighbours reconcile are unions of *arcs*: the stretches of the ring between
// consecutive members this peer knows, (pred_0, self], (pred_1, pred_0], ... For each arc
// holding at least kArcEntriesMin entries the index keeps the arc's first `depth` rateless
// IBLT coded symbols (riblt.h) and a table from entry id to the top 64 bits of the entry's
// key. Coded symbols are linear (counts add, sums XOR), so a range's symbols are the sum
// of its arcs': a copy of a few thousand numbers instead of a walk and an encoding of every
// entry (2 to 2.7 s for a million). The entries that carry given ids come from the table.
// Arcs below the threshold, and ranges that are not unions of arcs, are walked when asked,
// if they hold at most kWalkEntriesMax entries (a millisecond or two); larger ones are
// "not ready", and the caller refuses or gives up for this round.
//
// Keeping current. Every entry the overlay stores is appended to its journal in the same
// step, so the index reads the journal from where it stopped (absorb) rather than hooking
// the store: a new entry whose key lies in a cached arc counts there. Dropping a key
// (garbage collection) goes through before_erase. A new cached arc is built in slices
// (step), each a walk of at most kStepEntries entries from the arc's cursor; entries that
// arrive meanwhile count at once when their key lies at or before the cursor, and are met
// by the walk otherwise. The overlay asks for a wakeup while has_work().
//
// Invariant, checked in debug builds whenever an arc is used: a built arc's symbol 0 equals
// the store's digest of the arc (symbol 0 is the digest).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "kittengrad/journal.h"
#include "kittengrad/messages.h"
#include "kittengrad/riblt.h"
#include "kittengrad/store.h"

namespace kittengrad {

// Entry id -> top 64 bits of its key, in 256 open-addressing tables picked by the id's low
// byte: growing one rehashes 1/256 of the ids, so no insert costs a pass over all of them.
// 16 bytes a slot. Shard i grows at a load of 1/2 + i/1024 (1/2 to 3/4): shards fill
// evenly, and with one threshold they would all grow within a few events. Ids are hash bytes, uniform already. An id met twice
// (a 64-bit collision, see store.h) keeps its first key.
class IdTable {
 public:
  void insert(std::uint64_t id, std::uint64_t key_top);
  void erase(std::uint64_t id);
  [[nodiscard]] std::optional<std::uint64_t> find(std::uint64_t id) const;
  [[nodiscard]] std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint64_t id = 0;  // 0: empty (id 0 itself lives in Shard::zero)
    std::uint64_t key_top = 0;
  };
  struct Shard {
    std::vector<Slot> slots;  // a power of two, or empty
    std::size_t used = 0;
    std::optional<std::uint64_t> zero;
  };
  static std::size_t home(const Shard& s, std::uint64_t id) {
    return static_cast<std::size_t>(id >> 8) & (s.slots.size() - 1);
  }
  static void grow(Shard& s);
  std::array<Shard, 256> shards_;
  std::size_t size_ = 0;
};

class SyncIndex {
 public:
  // An arc this size or larger is cached; a range walked on demand holds at most the other.
  static constexpr std::size_t kArcEntriesMin = 2048;
  static constexpr std::size_t kWalkEntriesMax = 3 * kArcEntriesMin;
  // Entries one step() walks into a cached arc: under a millisecond at full depth.
  static constexpr std::size_t kStepEntries = 1024;
  // Journal entries one step() absorbs: each updates its arc's first symbols (about 20 of
  // 32,768), 2-3 ms a step on a busy machine (4,096 took 8-14 ms during a 1M catch-up).
  static constexpr std::size_t kAbsorbEntries = 1024;

  SyncIndex(const Store& store, const Journal& journal) : store_(store), journal_(journal) {}

  // Symbols are kept to at most this depth (riblt_symbols_max).
  void set_depth_max(std::size_t depth_max) { depth_max_ = depth_max; }
  // The arcs, in any order, pairwise disjoint. Arcs whose range is unchanged keep their
  // state; new ones start unbuilt.
  void set_arcs(const std::vector<KeyRange>& arcs);
  // True iff the arcs are exactly these (in this order).
  [[nodiscard]] bool has_arcs(const std::vector<KeyRange>& arcs) const;
  // Reads the journal entries appended since the last call.
  void absorb() { absorb_up_to(SIZE_MAX); }
  // Call before the store drops `key`.
  void before_erase(const RingId& key);
  // Work is waiting: journal entries to absorb into cached arcs, or arcs to build.
  [[nodiscard]] bool has_work() const;
  // One bounded slice of that work.
  void step();

  // Coded symbols [from, to) of range r, or nothing if r's arcs are not ready (built, or
  // small enough to walk). A request past an arc's depth deepens it for a later call.
  [[nodiscard]] std::optional<std::vector<CodedSymbol>> symbols(const KeyRange& r,
                                                                std::uint64_t from,
                                                                std::uint64_t to);
  // How many symbols of r symbols() can give now: the depth of its cached arcs, or for a
  // range it would walk, enough for any difference with a side of `other_count` entries.
  // 0: not ready.
  [[nodiscard]] std::size_t depth_available(const KeyRange& r, std::int64_t other_count);
  // Entries of range r whose id is in `ids`, at most `limit`; ids not found (no longer
  // held, or in a part of r that is neither built nor small) are left out.
  [[nodiscard]] std::vector<Entry> entries_with_ids(const KeyRange& r,
                                                    const std::vector<std::uint64_t>& ids,
                                                    std::size_t limit);

  // Introspection (tests, benchmarks).
  [[nodiscard]] std::size_t cached_arcs() const;
  [[nodiscard]] std::size_t built_arcs() const;

 private:
  struct Arc {
    KeyRange range;
    bool met = false;              // its size was looked at when it appeared
    bool cached = false;           // symbols and ids kept
    bool built = false;            // every entry of the arc is counted
    std::optional<RingId> cursor;  // building: the keys in (range.from, *cursor] are counted
    std::size_t depth = 0;
    std::vector<CodedSymbol> symbols;
    IdTable ids;
  };
  // One part of a range: a whole arc, or a stretch to walk.
  struct Part {
    KeyRange range;
    Arc* arc = nullptr;  // null: walk
  };

  void absorb_up_to(std::size_t limit);
  void start_cache(Arc& a, std::size_t depth);
  void build_slice(Arc& a);
  void count(Arc& a, const RingId& key, const EntryId& id, std::int64_t sign);
  [[nodiscard]] bool counted(const Arc& a, const RingId& key) const;
  [[nodiscard]] Arc* arc_of(const RingId& key);
  // r as whole arcs, or nothing when r is not a union of them.
  [[nodiscard]] std::optional<std::vector<Part>> parts(const KeyRange& r);
  [[nodiscard]] bool walkable(const KeyRange& r) const;
  void check(const Arc& a) const;

  const Store& store_;
  const Journal& journal_;
  std::size_t depth_max_ = 1 << 15;
  std::vector<Arc> arcs_;
  // Journal position read so far: entry `index` of block `height` (height() + 1: pending).
  std::uint64_t read_height_ = 1;
  std::size_t read_index_ = 0;
  std::uint64_t read_total_ = 0;  // entries read, to compare with entries_total()
};

}  // namespace kittengrad
