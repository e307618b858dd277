// runs/src/oracle.cc — see kittengrad/runs/oracle.h.
#include "kittengrad/runs/oracle.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <set>

#include "kittengrad/ring.h"

namespace kittengrad::runs {

Oracle::Oracle(int replication, std::vector<std::string> namespaces)
    : r_(replication), namespace_names_(std::move(namespaces)) {
  assert(r_ >= 1);
  all_.replicas_histogram.assign(static_cast<std::size_t>(r_) + 1, 0);
  for (const std::string& ns : namespace_names_) spaces_[ns].totals = all_;
}

std::vector<PeerIndex> Oracle::ring(const std::string& ns) const {
  std::vector<PeerIndex> out;
  for (const auto& [id, index] : spaces_.at(ns).ring) out.push_back(index);
  return out;
}

const Store* Oracle::store_of(PeerIndex index, const std::string& ns) const {
  auto it = live_.find(index);
  return it == live_.end() ? nullptr : it->second.stores(ns);
}

void Oracle::mark(Namespace& space, const RingId& key, KeyTrack& track) {
  if (track.dirty) return;
  track.dirty = true;
  space.dirty.push_back(key);
}

// Keys whose r responsible peers include the peer at `peer_id`: (pred^r(p), p]. Called with
// p in the ring (after an up, before a down), so the range is right on both sides.
void Oracle::mark_responsible_range(Namespace& space, const RingId& peer_id) {
  if (space.keys.empty() || space.ring.empty()) return;
  const std::size_t n = space.ring.size();
  if (n <= static_cast<std::size_t>(r_)) {  // every live peer holds every key
    for (auto& [key, track] : space.keys) mark(space, key, track);
    return;
  }
  auto back = space.ring.find(peer_id);
  assert(back != space.ring.end());
  for (int k = 0; k < r_; ++k) {
    if (back == space.ring.begin()) back = space.ring.end();
    --back;
  }
  const RingId from = back->first;
  // Keys in the half-open interval (from, peer_id], wrapping around zero.
  auto mark_span = [&](auto first, auto last) {
    for (auto it = first; it != last; ++it) mark(space, it->first, it->second);
  };
  if (from < peer_id) {
    mark_span(space.keys.upper_bound(from), space.keys.upper_bound(peer_id));
  } else {
    mark_span(space.keys.upper_bound(from), space.keys.end());
    mark_span(space.keys.begin(), space.keys.upper_bound(peer_id));
  }
}

void Oracle::mark_held(Namespace& space, const LivePeer& peer, const std::string& ns) {
  const Store* store = peer.stores(ns);
  if (store == nullptr) return;
  store->for_each([&](const RingId& key, const KeySlot&) {
    auto it = space.keys.find(key);
    if (it != space.keys.end()) mark(space, key, it->second);
  });
}

void Oracle::peer_up(PeerIndex index, const RingId& id, StoreLookup stores) {
  assert(!live_.contains(index));
  const LivePeer& peer = live_.emplace(index, LivePeer{id, std::move(stores)}).first->second;
  live_pos_.emplace(index, live_list_.size());
  live_list_.push_back(index);
  for (auto& [ns, space] : spaces_) {
    space.ring.emplace(peer.id, index);
    mark_responsible_range(space, peer.id);
    mark_held(space, peer, ns);
    // What it brings back from its disk counts as held.
    const Store* store = peer.stores(ns);
    if (store == nullptr) continue;
    store->for_each([&](const RingId& key, const KeySlot&) { persisted(index, ns, key); });
  }
}

void Oracle::peer_down(PeerIndex index) {
  auto it = live_.find(index);
  if (it == live_.end()) return;
  const LivePeer& peer = it->second;
  for (auto& [ns, space] : spaces_) {
    mark_responsible_range(space, peer.id);
    mark_held(space, peer, ns);
    space.ring.erase(peer.id);
  }
  live_.erase(it);
  // Swap-remove from the list of live peers.
  const std::size_t pos = live_pos_.at(index);
  live_pos_.erase(index);
  if (pos + 1 != live_list_.size()) {
    live_list_[pos] = live_list_.back();
    live_pos_[live_list_[pos]] = pos;
  }
  live_list_.pop_back();
}

void Oracle::persisted(PeerIndex index, const std::string& ns, const RingId& key) {
  auto sp = spaces_.find(ns);
  if (sp == spaces_.end()) return;
  KeyTrack& t = sp->second.keys[key];
  auto pos = std::lower_bound(t.holders.begin(), t.holders.end(), index);
  if (pos == t.holders.end() || *pos != index) t.holders.insert(pos, index);
  mark(sp->second, key, t);
}

void Oracle::acknowledged(const std::vector<Entry>& entries, Time at) {
  for (const Entry& e : entries) {
    auto sp = spaces_.find(e.ns);
    if (sp == spaces_.end()) continue;
    const RingId key = e.canonical.ring_key();
    KeyTrack& t = sp->second.keys[key];
    const EntryId id = EntryId::of(entry_hash(e));
    if (!t.acked_ids.insert(id).second) continue;
    t.acked.push_back(id);
    t.acked_at.push_back(at);
    mark(sp->second, key, t);
  }
}

bool Oracle::lookup_correct(const std::string& ns, const RingId& key, Time issued,
                            const std::vector<Entry>& got) const {
  auto sp = spaces_.find(ns);
  if (sp == spaces_.end()) return false;
  auto kt = sp->second.keys.find(key);
  if (kt == sp->second.keys.end()) return true;  // nothing acknowledged yet
  const KeyTrack& t = kt->second;
  const auto upto = std::lower_bound(t.acked_at.begin(), t.acked_at.end(), issued);
  const std::size_t needed = static_cast<std::size_t>(upto - t.acked_at.begin());
  if (needed == 0) return true;
  std::vector<EntryId> seen;
  seen.reserve(got.size());
  for (const Entry& e : got) seen.push_back(EntryId::of(entry_hash(e)));
  std::sort(seen.begin(), seen.end());
  for (std::size_t i = 0; i < needed; ++i) {
    if (!std::binary_search(seen.begin(), seen.end(), t.acked[i])) return false;
  }
  return true;
}

std::vector<PeerIndex> Oracle::responsible(const Namespace& space, const RingId& key) const {
  std::vector<PeerIndex> out;
  for (auto it : ring_successors(space.ring, key, static_cast<std::size_t>(r_))) {
    out.push_back(it->second);
  }
  return out;
}

// Adds (+1) or removes (-1) a key's verdict from the running totals. Removal undoes exactly
// what the last addition counted, even if acknowledgements arrived in between.
void Oracle::count(Namespace& space, KeyTrack& t, int sign) {
  if (sign > 0) t.counted_acked = !t.acked.empty();
  for (Totals* totals : {&all_, &space.totals}) {
    if (t.divergent) totals->divergent += sign;
    totals->lost += sign * t.lost;
    if (!t.counted_acked) continue;
    totals->acked_keys += sign;
    if (t.under) totals->under += sign;
    totals->replicas_sum += sign * t.replicas;
    totals->replicas_histogram[static_cast<std::size_t>(t.replicas)] += sign;
  }
}

namespace {

// The ids of the entries a store holds for a key, sorted: asking for each acknowledged
// id is then a binary search, not a scan of the key's set (thousands of entries for a
// Zipf-popular key).
std::vector<EntryId> sorted_ids(const Store* store, const RingId& key) {
  std::vector<EntryId> ids;
  const KeySlot* slot = store == nullptr ? nullptr : store->find(key);
  if (slot == nullptr) return ids;
  ids.reserve(slot->entries.size());
  for (const StoredEntry& e : slot->entries) ids.push_back(e.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool holds(const std::vector<EntryId>& sorted, const EntryId& id) {
  return std::binary_search(sorted.begin(), sorted.end(), id);
}

RangeDigest digest_of(const std::vector<EntryId>& ids) {
  RangeDigest d;
  for (const EntryId& id : ids) d.add(id);
  return d;
}

}  // namespace

void Oracle::recompute(const std::string& ns, Namespace& space, const RingId& key,
                       KeyTrack& t) {
  ++recomputed_total_;
  count(space, t, -1);
  const std::vector<PeerIndex> resp = responsible(space, key);
  t.replicas = 0;
  t.divergent = false;
  bool have_first = false;
  RangeDigest first;
  for (PeerIndex p : resp) {
    const Store* store = store_of(p, ns);
    const std::vector<EntryId> ids = sorted_ids(store, key);
    const RangeDigest d = digest_of(ids);
    if (!have_first) {
      first = d;
      have_first = true;
    } else if (!(d == first)) {
      t.divergent = true;
    }
    const bool all = store != nullptr && std::all_of(t.acked.begin(), t.acked.end(),
                                                     [&](const EntryId& id) { return holds(ids, id); });
    if (all) ++t.replicas;
  }
  t.under = !t.acked.empty() && t.replicas < r_;
  // Lost: acknowledged ids that no live holder has. Each holder's ids are sorted once.
  std::vector<bool> held(t.acked.size(), false);
  std::size_t missing = t.acked.size();
  for (PeerIndex p : t.holders) {
    if (missing == 0) break;
    const Store* store = store_of(p, ns);
    if (store == nullptr) continue;
    const std::vector<EntryId> ids = sorted_ids(store, key);
    for (std::size_t i = 0; i < t.acked.size(); ++i) {
      if (!held[i] && holds(ids, t.acked[i])) {
        held[i] = true;
        --missing;
      }
    }
  }
  t.lost = static_cast<std::int64_t>(missing);
  count(space, t, +1);
}

OracleSample Oracle::sample() {
  for (auto& [ns, space] : spaces_) {
    std::vector<RingId> dirty;
    dirty.swap(space.dirty);
    for (const RingId& key : dirty) {
      KeyTrack& t = space.keys.at(key);
      t.dirty = false;
      recompute(ns, space, key, t);
    }
  }
  return sample_of(all_);
}

OracleSample Oracle::namespace_sample(const std::string& ns) const {
  return sample_of(spaces_.at(ns).totals);
}

OracleSample Oracle::sample_of(const Totals& totals) const {
  OracleSample s;
  s.peers_alive = static_cast<std::int64_t>(live_.size());
  s.keys = totals.acked_keys;
  s.under_replicated_keys = totals.under;
  s.divergent_keys = totals.divergent;
  s.lost_updates = totals.lost;
  s.replicas_mean = totals.acked_keys == 0 ? 0.0
                                           : static_cast<double>(totals.replicas_sum) /
                                                 static_cast<double>(totals.acked_keys);
  for (std::size_t k = 0; k < totals.replicas_histogram.size(); ++k) {
    if (totals.replicas_histogram[k] > 0) {
      s.replicas_min = static_cast<std::int64_t>(k);
      break;
    }
  }
  return s;
}

OracleSample Oracle::audit() const {
  OracleSample s;
  s.peers_alive = static_cast<std::int64_t>(live_.size());
  std::int64_t replicas_sum = 0;
  s.replicas_min = std::numeric_limits<std::int64_t>::max();
  for (const auto& [ns, space] : spaces_) {
    for (const auto& [key, t] : space.keys) {
      std::vector<RangeDigest> digests;
      std::int64_t full = 0;
      for (PeerIndex p : responsible(space, key)) {
        const std::vector<EntryId> ids = sorted_ids(store_of(p, ns), key);
        digests.push_back(digest_of(ids));
        const bool all = std::all_of(t.acked.begin(), t.acked.end(),
                                     [&](const EntryId& id) { return holds(ids, id); });
        if (all) ++full;
      }
      for (const RangeDigest& d : digests) {
        if (!(d == digests.front())) {
          ++s.divergent_keys;
          break;
        }
      }
      // Lost: acknowledged and held by no live peer at all (not only the known holders).
      std::vector<bool> held(t.acked.size(), false);
      for (const auto& [index, peer] : live_) {
        const std::vector<EntryId> ids = sorted_ids(peer.stores(ns), key);
        if (ids.empty()) continue;
        for (std::size_t i = 0; i < t.acked.size(); ++i) held[i] = held[i] || holds(ids, t.acked[i]);
      }
      s.lost_updates += std::count(held.begin(), held.end(), false);
      if (t.acked.empty()) continue;
      ++s.keys;
      replicas_sum += full;
      s.replicas_min = std::min(s.replicas_min, full);
      if (full < r_) ++s.under_replicated_keys;
    }
  }
  if (s.keys == 0) s.replicas_min = 0;
  s.replicas_mean = s.keys == 0 ? 0.0 : static_cast<double>(replicas_sum) / static_cast<double>(s.keys);
  return s;
}

void Oracle::final_keys(FinalKeysTable& out) {
  (void)sample();
  for (auto& [ns, space] : spaces_) {
    for (const auto& [key, t] : space.keys) {
      std::int64_t holders = 0;
      for (PeerIndex p : t.holders) {
        const Store* store = store_of(p, ns);
        if (store != nullptr && store->find(key) != nullptr) ++holders;
      }
      out.key.push_back(namespace_names_.size() > 1 ? ns + "/" + key.hex() : key.hex());
      out.acked_updates.push_back(static_cast<std::int64_t>(t.acked.size()));
      out.replicas.push_back(t.replicas);
      out.holders.push_back(holders);
      out.lost_updates.push_back(t.lost);
    }
  }
}

FinalReads Oracle::final_reads() const {
  FinalReads reads;
  for (const auto& [ns, space] : spaces_) {
    for (const auto& [key, t] : space.keys) {
      std::set<Hash256>& held = reads[{ns, key}];
      for (PeerIndex p : responsible(space, key)) {
        const Store* store = store_of(p, ns);
        const KeySlot* slot = store == nullptr ? nullptr : store->find(key);
        if (slot == nullptr) continue;
        for (const StoredEntry& e : slot->entries) held.insert(entry_hash(e.entry));
      }
    }
  }
  return reads;
}

}  // namespace kittengrad::runs
