// The anti-entropy index: per-arc coded symbols and id tables, built in slices and kept
// current from the journal. See sync_index.h.
#include "sync_index.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <set>

namespace kittengrad {

namespace {

// The top 64 bits of a key as a RingId, and the largest key that shares them.
RingId key_floor(std::uint64_t top) { return RingId::from_u64(top); }
RingId key_ceiling(std::uint64_t top) {
  RingId id = RingId::from_u64(top);
  std::fill(id.bytes.begin() + 8, id.bytes.end(), std::uint8_t{0xff});
  return id;
}

void add_symbols(std::vector<CodedSymbol>& acc, const std::vector<CodedSymbol>& more,
                 std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t i = from; i < to; ++i) {
    CodedSymbol& a = acc[static_cast<std::size_t>(i - from)];
    a.combine(more[static_cast<std::size_t>(i)]);
  }
}

}  // namespace

// ---- IdTable ----

void IdTable::grow(Shard& s) {
  std::vector<Slot> old = std::move(s.slots);
  s.slots.assign(old.empty() ? 16 : 2 * old.size(), Slot{});
  for (const Slot& o : old) {
    if (o.id == 0) continue;
    std::size_t i = home(s, o.id);
    while (s.slots[i].id != 0) i = (i + 1) & (s.slots.size() - 1);
    s.slots[i] = o;
  }
}

void IdTable::insert(std::uint64_t id, std::uint64_t key_top) {
  Shard& s = shards_[id & 0xff];
  if (id == 0) {
    if (!s.zero) ++size_;
    if (!s.zero) s.zero = key_top;
    return;
  }
  if (1024 * (s.used + 1) > (512 + (id & 0xff)) * s.slots.size()) grow(s);
  std::size_t i = home(s, id);
  while (s.slots[i].id != 0) {
    if (s.slots[i].id == id) return;  // a collision of ids: the first key stays
    i = (i + 1) & (s.slots.size() - 1);
  }
  s.slots[i] = Slot{id, key_top};
  ++s.used;
  ++size_;
}

void IdTable::erase(std::uint64_t id) {
  Shard& s = shards_[id & 0xff];
  if (id == 0) {
    if (s.zero) --size_;
    s.zero.reset();
    return;
  }
  if (s.slots.empty()) return;
  const std::size_t mask = s.slots.size() - 1;
  std::size_t i = home(s, id);
  while (s.slots[i].id != id) {
    if (s.slots[i].id == 0) return;
    i = (i + 1) & mask;
  }
  // Backward-shift deletion: move later members of the probe run into the hole, so that
  // lookups never need tombstones.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask; s.slots[j].id != 0; j = (j + 1) & mask) {
    const std::size_t h = home(s, s.slots[j].id);
    // j's entry may fill the hole iff its home is not in (hole, j] cyclically.
    const bool stays = hole < j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (stays) continue;
    s.slots[hole] = s.slots[j];
    hole = j;
  }
  s.slots[hole] = Slot{};
  assert(s.used > 0 && size_ > 0);
  --s.used;
  --size_;
}

std::optional<std::uint64_t> IdTable::find(std::uint64_t id) const {
  const Shard& s = shards_[id & 0xff];
  if (id == 0) return s.zero;
  if (s.slots.empty()) return std::nullopt;
  for (std::size_t i = home(s, id);; i = (i + 1) & (s.slots.size() - 1)) {
    if (s.slots[i].id == id) return s.slots[i].key_top;
    if (s.slots[i].id == 0) return std::nullopt;
  }
}

// ---- SyncIndex ----

bool SyncIndex::has_arcs(const std::vector<KeyRange>& arcs) const {
  if (arcs.size() != arcs_.size()) return false;
  for (std::size_t i = 0; i < arcs.size(); ++i)
    if (!(arcs_[i].range == arcs[i])) return false;
  return true;
}

void SyncIndex::set_arcs(const std::vector<KeyRange>& arcs) {
  if (has_arcs(arcs)) return;
  absorb();  // entries read so far count under the old arcs, which the kept ones share
  std::vector<Arc> next;
  next.reserve(arcs.size());
  for (const KeyRange& r : arcs) {
    auto same = std::find_if(arcs_.begin(), arcs_.end(),
                             [&](const Arc& a) { return a.range == r; });
    if (same != arcs_.end()) {
      next.push_back(std::move(*same));
      continue;
    }
    Arc a;
    a.range = r;
    next.push_back(std::move(a));
  }
  arcs_ = std::move(next);
  // A new arc is cached if it is large now; a small one is looked at again by symbols().
  for (Arc& a : arcs_) {
    if (a.cached || a.met) continue;
    a.met = true;
    const auto n = static_cast<std::size_t>(store_.digest(a.range.from, a.range.to).count);
    if (n >= kArcEntriesMin) start_cache(a, n);
  }
}

void SyncIndex::start_cache(Arc& a, std::size_t entries) {
  a.cached = true;
  a.built = false;
  a.cursor.reset();
  // Four symbols an entry cover any difference the arc can have with a replica of similar
  // size; rounds that want more page the range or deepen the arc (symbols()).
  a.depth = std::clamp<std::size_t>(std::bit_ceil(4 * std::max<std::size_t>(entries, 1)),
                                    std::size_t{1024}, std::max<std::size_t>(depth_max_, 1));
  a.symbols.clear();  // allocated by the first slice: touching it is a slice's work
  a.ids = IdTable{};
}

bool SyncIndex::counted(const Arc& a, const RingId& key) const {
  if (!a.cached) return false;
  if (a.built) return true;
  return a.cursor && in_half_open(key, a.range.from, *a.cursor);
}

SyncIndex::Arc* SyncIndex::arc_of(const RingId& key) {
  for (Arc& a : arcs_)
    if (in_half_open(key, a.range.from, a.range.to)) return &a;
  return nullptr;
}

void SyncIndex::count(Arc& a, const RingId& key, const EntryId& id, std::int64_t sign) {
  for (RibltIndexStream s(id); s.current() < a.depth; s.advance())
    a.symbols[static_cast<std::size_t>(s.current())].add(id, sign);
  if (sign > 0) {
    a.ids.insert(id.key, key.top64());
  } else {
    a.ids.erase(id.key);
  }
}

void SyncIndex::absorb_up_to(std::size_t limit) {
  const bool any_cached = std::any_of(arcs_.begin(), arcs_.end(), [](const Arc& a) { return a.cached; });
  const std::uint64_t total = journal_.entries_total();
  assert(read_total_ <= total);
  if (!any_cached) {
    // Nothing to keep current: skip to the end. A cache built later walks the store.
    read_height_ = journal_.height() + 1;
    read_index_ = journal_.pending().size();
    read_total_ = total;
    return;
  }
  for (std::size_t done = 0; read_total_ < total && done < limit; ++done) {
    // Blocks only grow at the end and take pending entries from the front, so a position
    // past the end of its block has moved on to the next one.
    while (read_height_ <= journal_.height() &&
           read_index_ >= journal_.block(read_height_)->entries.size()) {
      read_index_ -= journal_.block(read_height_)->entries.size();
      ++read_height_;
    }
    const Entry& e = read_height_ <= journal_.height()
                         ? journal_.block(read_height_)->entries[read_index_]
                         : journal_.pending()[read_index_];
    ++read_index_;
    ++read_total_;
    const RingId key = e.key();
    Arc* a = arc_of(key);
    if (a != nullptr && counted(*a, key)) count(*a, key, EntryId::of(entry_hash(e)), 1);
  }
}

void SyncIndex::before_erase(const RingId& key) {
  absorb();
  Arc* a = arc_of(key);
  if (a == nullptr || !counted(*a, key)) return;
  if (const KeySlot* slot = store_.find(key)) {
    for (const StoredEntry& e : slot->entries) count(*a, key, e.id, -1);
  }
}

bool SyncIndex::has_work() const {
  bool any_cached = false;
  for (const Arc& a : arcs_) {
    if (a.cached && !a.built) return true;
    any_cached = any_cached || a.cached;
  }
  return any_cached && read_total_ < journal_.entries_total();
}

void SyncIndex::step() {
  absorb_up_to(kAbsorbEntries);
  if (read_total_ < journal_.entries_total()) return;  // the journal first: a cursor relies on it
  for (Arc& a : arcs_) {
    if (a.cached && !a.built) return build_slice(a);
  }
}

void SyncIndex::build_slice(Arc& a) {
  if (a.symbols.empty()) {
    a.symbols.assign(a.depth, CodedSymbol{});
    return;
  }
  const RingId start = a.cursor ? *a.cursor : a.range.from;
  // (start, to]: all of the arc when the cursor is unset, even when it is the whole ring.
  std::size_t seen = 0;
  std::optional<RingId> last;
  bool stopped = false;
  auto visit = [&](const RingId& key, const KeySlot& slot) {
    if (seen >= kStepEntries) {
      stopped = true;
      return false;
    }
    for (const StoredEntry& e : slot.entries) {
      for (RibltIndexStream s(e.id); s.current() < a.depth; s.advance())
        a.symbols[static_cast<std::size_t>(s.current())].add(e.id);
      a.ids.insert(e.id.key, key.top64());
    }
    seen += slot.entries.size();
    last = key;
    return true;
  };
  if (a.cursor && *a.cursor == a.range.to) {
    stopped = false;  // a previous slice ended exactly at the arc's end
  } else {
    store_.scan_in(start, a.range.to, visit);
  }
  if (last) a.cursor = last;
  if (!stopped) {
    a.built = true;
    a.cursor.reset();
    check(a);
  }
}

void SyncIndex::check(const Arc& a) const {
#ifndef NDEBUG
  if (a.built) {
    assert(a.symbols[0] == store_.digest(a.range.from, a.range.to) &&
           "an arc's coded symbols no longer match the store");
  }
#else
  (void)a;
#endif
}

std::optional<std::vector<SyncIndex::Part>> SyncIndex::parts(const KeyRange& r) {
  std::vector<Part> out;
  RingId at = r.from;
  // Arc after arc from r.from, each ending within what is left of r, until r.to; at most
  // one lap. (a, a] is the whole ring: while nothing is taken every arc fits in it.
  for (std::size_t n = 0; n < arcs_.size(); ++n) {
    auto it = std::find_if(arcs_.begin(), arcs_.end(),
                           [&](const Arc& a) { return a.range.from == at; });
    if (it == arcs_.end()) return std::nullopt;
    if (it->range.from == it->range.to) {  // an arc that is the whole ring
      if (r.from == r.to && out.empty()) return std::vector<Part>{Part{it->range, &*it}};
      return std::nullopt;
    }
    if (!in_half_open(it->range.to, at, r.to)) return std::nullopt;
    out.push_back(Part{it->range, &*it});
    at = it->range.to;
    if (at == r.to) return out;
  }
  return std::nullopt;
}

bool SyncIndex::walkable(const KeyRange& r) const {
  return static_cast<std::size_t>(store_.digest(r.from, r.to).count) <= kWalkEntriesMax;
}

std::optional<std::vector<CodedSymbol>> SyncIndex::symbols(const KeyRange& r, std::uint64_t from,
                                                           std::uint64_t to) {
  absorb();
  if (to < from) return std::nullopt;
  std::vector<Part> ps;
  if (auto p = parts(r)) {
    ps = std::move(*p);
  } else {
    ps.push_back(Part{r, nullptr});
  }
  // Cache arcs that have grown large since they were met; they are ready after a few steps.
  std::size_t walked = 0;
  for (Part& p : ps) {
    if (p.arc != nullptr && !p.arc->cached) {
      const auto n = static_cast<std::size_t>(store_.digest(p.range.from, p.range.to).count);
      if (n >= kArcEntriesMin) {
        start_cache(*p.arc, n);
      } else {
        walked += n;
        p.arc = nullptr;
      }
    } else if (p.arc == nullptr) {
      walked += static_cast<std::size_t>(store_.digest(p.range.from, p.range.to).count);
    }
  }
  if (walked > kWalkEntriesMax) return std::nullopt;
  for (Part& p : ps) {
    if (p.arc == nullptr) continue;
    if (!p.arc->built) return std::nullopt;
    if (to > p.arc->depth) {
      if (p.arc->depth < depth_max_ && to <= depth_max_) {
        // Deeper than kept: rebuild deeper; this round goes without.
        start_cache(*p.arc, static_cast<std::size_t>(to));
      }
      return std::nullopt;
    }
  }
  std::vector<CodedSymbol> out(static_cast<std::size_t>(to - from));
  for (const Part& p : ps) {
    if (p.arc != nullptr) {
      check(*p.arc);
      add_symbols(out, p.arc->symbols, from, to);
      continue;
    }
    RibltEncoder enc(from, to);
    store_.for_each_in(p.range.from, p.range.to, [&](const RingId&, const KeySlot& slot) {
      for (const StoredEntry& e : slot.entries) enc.add(e.id);
    });
    const std::vector<CodedSymbol>& s = enc.symbols();
    for (std::size_t i = 0; i < out.size(); ++i) out[i].combine(s[i]);
  }
  return out;
}

std::size_t SyncIndex::depth_available(const KeyRange& r, std::int64_t other_count) {
  absorb();
  std::size_t depth = 0;
  bool any_cached = false;
  if (auto ps = parts(r)) {
    for (const Part& p : *ps) {
      if (!p.arc->cached) continue;
      if (!p.arc->built) return 0;
      depth = any_cached ? std::min(depth, p.arc->depth) : p.arc->depth;
      any_cached = true;
    }
  }
  if (any_cached) return depth;
  const std::int64_t mine = store_.digest(r.from, r.to).count;
  const auto both = static_cast<std::size_t>(std::max<std::int64_t>(mine + other_count, 1));
  return std::clamp<std::size_t>(std::bit_ceil(4 * both), std::size_t{1024},
                                 std::max<std::size_t>(depth_max_, 1));
}

std::vector<Entry> SyncIndex::entries_with_ids(const KeyRange& r,
                                               const std::vector<std::uint64_t>& ids,
                                               std::size_t limit) {
  absorb();
  std::vector<Entry> out;
  std::set<std::uint64_t> rest;
  // Built arcs answer from their tables: the id gives the key's top bits, and the few keys
  // under them (almost always one) are looked at.
  for (const std::uint64_t id : ids) {
    std::optional<std::uint64_t> top;
    for (const Arc& a : arcs_) {
      if (!a.built) continue;
      if ((top = a.ids.find(id))) break;
    }
    if (!top) {
      rest.insert(id);
      continue;
    }
    bool found = false;
    store_.scan_in(key_floor(*top), key_ceiling(*top), [&](const RingId& key, const KeySlot& slot) {
      if (!in_half_open(key, r.from, r.to)) return true;
      for (const StoredEntry& e : slot.entries) {
        if (e.id.key == id && out.size() < limit) {
          out.push_back(e.entry);
          found = true;
        }
      }
      return !found;
    });
    // The key may be exactly key_floor(top), which (floor, ceiling] leaves out.
    if (!found) {
      const RingId k = key_floor(*top);
      const KeySlot* slot = store_.find(k);
      if (slot != nullptr && in_half_open(k, r.from, r.to)) {
        for (const StoredEntry& e : slot->entries)
          if (e.id.key == id && out.size() < limit) out.push_back(e.entry);
      }
    }
    if (out.size() == limit) return out;
  }
  if (rest.empty()) return out;
  // The others may lie in parts of r no table covers: walk those if they are small.
  std::vector<Part> ps;
  if (auto p = parts(r)) {
    for (const Part& part : *p)
      if (!part.arc->built) ps.push_back(Part{part.range, nullptr});
  } else {
    ps.push_back(Part{r, nullptr});
  }
  for (const Part& p : ps) {
    if (!walkable(p.range)) continue;
    store_.for_each_in(p.range.from, p.range.to, [&](const RingId&, const KeySlot& slot) {
      for (const StoredEntry& e : slot.entries)
        if (out.size() < limit && rest.count(e.id.key)) out.push_back(e.entry);
    });
  }
  return out;
}

std::size_t SyncIndex::cached_arcs() const {
  return static_cast<std::size_t>(
      std::count_if(arcs_.begin(), arcs_.end(), [](const Arc& a) { return a.cached; }));
}

std::size_t SyncIndex::built_arcs() const {
  return static_cast<std::size_t>(
      std::count_if(arcs_.begin(), arcs_.end(), [](const Arc& a) { return a.built; }));
}

}  // namespace kittengrad
