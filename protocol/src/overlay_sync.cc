// overlay_sync.cc — keeping replicas equal: anti-entropy, range paging, pushes,
// garbage collection of keys that left our range, and journal catch-up after downtime.
// (Hand-off on leave: overlay_leave.cc.)
//
// Anti-entropy. Every interval a peer opens one session per successor it shares a range
// with: for its j-th successor (j < r) the shared range is (pred_{r-j}, self]. The session
// sends that range's digest (count and XOR-sums of entry ids, 8 + 8 bytes and a varint).
// Equal digests end the round: one digest per shared range. Otherwise the responder
// streams rateless IBLT coded symbols; the initiator peels them against its own, asks for
// more (sized from an estimate of the difference) if they do not yet decode, then sends
// the entries the responder lacks and the ids it wants, and receives those entries. When
// one side is empty or the difference is too large for coded symbols to pay off, the
// range is paged both ways instead.
#include <algorithm>
#include <set>

#include "overlay.h"

namespace kittengrad {

namespace {
constexpr std::size_t kSymbolsPerMessageMax = 3000;  // keeps a datagram under ~52 KB
constexpr std::size_t kBlocksPerCatchUpReply = 16;
constexpr std::size_t kGcLookupsPerRound = 4;
}  // namespace

// ---- anti-entropy: initiator ----

void Overlay::anti_entropy() {
  if (!joined_ || leaving_) return;
  const auto r = static_cast<std::size_t>(config().replication);
  for (std::size_t j = 1; j < r && j <= succs_.size(); ++j) {
    KeyRange range{self().id, self().id};  // the whole ring when it has <= r peers
    if (!whole_ring()) {
      const std::size_t idx = r - 1 - j;
      if (idx >= preds_.size()) continue;
      range.from = preds_[idx].id;
    }
    const std::uint64_t id = next_id_++;
    AeSession& s = ae_sessions_[id];
    s.id = id;
    s.peer = succs_[j - 1];
    s.range = range;
    ++peer_.counters_.ae_rounds;
    request(PendingKind::kAe, s.peer,
            AeDigest{0, range, store_.digest(range.from, range.to), journal_.height()}, id, 0);
  }
}

void Overlay::on_reply(const Pending& p, const AeInSync& m) {
  auto it = ae_sessions_.find(p.owner);
  if (it == ae_sessions_.end()) return;
  ++peer_.counters_.ae_in_sync;
  mark_seen(it->second.peer, m.journal_height);
  ae_sessions_.erase(it);
}

void Overlay::on_reply(const Pending& p, const AeSymbols& m) {
  auto it = ae_sessions_.find(p.owner);
  if (it == ae_sessions_.end()) return;
  AeSession& s = it->second;
  const RangeDigest mine = store_.digest(s.range.from, s.range.to);
  if (m.count == 0 || mine.count == 0) return ae_page_both_ways(s);
  if (m.from != s.remote.size()) return;  // out of order: the timeout will end the session
  s.remote.insert(s.remote.end(), m.symbols.begin(), m.symbols.end());
  if (s.local_ids.empty()) {
    for (const auto& [id, key] : range_ids(s.range).ids) s.local_ids.push_back(id);
  }
  const std::vector<CodedSymbol> more = riblt_encode(s.local_ids, s.local.size(), s.remote.size());
  s.local.insert(s.local.end(), more.begin(), more.end());
  if (auto diff = riblt_decode(s.remote, s.local)) return ae_finish(s, *diff);
  const std::uint64_t estimate = riblt_estimate_difference(s.remote, s.local);
  const std::size_t have = s.remote.size();
  std::size_t want = std::max<std::size_t>(2 * have, 2 * estimate + 32);
  if (want > config().riblt_symbols_max) return ae_page_both_ways(s);
  want = std::min(want, have + kSymbolsPerMessageMax);
  ++s.rounds;
  request(PendingKind::kAe, s.peer, AeMore{0, s.range, have, want}, s.id, 0);
}

void Overlay::ae_finish(AeSession& s, const Difference& diff) {
  std::set<std::uint64_t> give;
  for (const EntryId& id : diff.only_local) give.insert(id.key);
  AeExchange ex;
  ex.range = s.range;
  if (!give.empty()) ex.entries = entries_with_ids(s.range, give, give.size());
  for (const EntryId& id : diff.only_remote) {
    if (ex.want.size() == config().message_entries_max) break;  // the rest: next round
    ex.want.push_back(id.key);
  }
  ++peer_.counters_.ae_reconciled;
  if (ex.entries.empty() && ex.want.empty()) {
    ae_sessions_.erase(s.id);
    return;
  }
  // Entries beyond one datagram's worth go as plain pushes; the exchange carries the rest.
  if (ex.entries.size() > config().message_entries_max) {
    std::vector<Entry> rest(ex.entries.begin() + static_cast<std::ptrdiff_t>(config().message_entries_max),
                            ex.entries.end());
    ex.entries.resize(config().message_entries_max);
    push({s.peer}, rest, nullptr);
  }
  request(PendingKind::kAe, s.peer, std::move(ex), s.id, 1);
}

void Overlay::on_reply(const Pending& p, const AeEntries& m) {
  auto it = ae_sessions_.find(p.owner);
  apply_verified(m.entries, &RefusedEntries::ae_initiator);
  if (it == ae_sessions_.end()) return;
  mark_seen(it->second.peer, it->second.peer_height);
  ae_sessions_.erase(it);
}

void Overlay::ae_page_both_ways(AeSession& s) {
  ++peer_.counters_.ae_paged;
  const NodeRef peer = s.peer;
  const KeyRange range = s.range;
  ae_sessions_.erase(s.id);
  start_pull(peer, range);
  const std::vector<Entry> mine = entries_in(range);
  if (!mine.empty()) push({peer}, mine, nullptr);
}

// ---- anti-entropy: responder ----

void Overlay::handle(Address from, const AeDigest& m) {
  const RangeDigest mine = store_.digest(m.range.from, m.range.to);
  if (mine == m.digest) return send(from, AeInSync{m.session, journal_.height()});
  AeSymbols reply;
  reply.session = m.session;
  reply.range = m.range;
  reply.count = mine.count;
  if (mine.count != 0 && m.digest.count != 0)
    reply.symbols = encode_range(m.range, 0, config().riblt_first_batch);
  send(from, std::move(reply));
}

void Overlay::handle(Address from, const AeMore& m) {
  if (m.to <= m.from || m.to > config().riblt_symbols_max) {
    ++peer_.counters_.malformed;
    return send(from, Refused{m.session, ErrorCode::kBadRequest});
  }
  const std::uint64_t to = std::min<std::uint64_t>(m.to, m.from + kSymbolsPerMessageMax);
  AeSymbols reply;
  reply.session = m.session;
  reply.range = m.range;
  reply.from = m.from;
  reply.count = store_.digest(m.range.from, m.range.to).count;
  reply.symbols = encode_range(m.range, m.from, to);
  send(from, std::move(reply));
}

void Overlay::handle(Address from, const AeExchange& m) {
  apply_verified(m.entries, &RefusedEntries::ae_responder);
  const std::set<std::uint64_t> want(m.want.begin(), m.want.end());
  AeEntries reply;
  reply.session = m.session;
  if (!want.empty()) {
    reply.entries = entries_with_ids(m.range, want, config().message_entries_max);
  }
  send(from, std::move(reply));
}

std::vector<CodedSymbol> Overlay::encode_range(const KeyRange& r, std::uint64_t from,
                                               std::uint64_t to) {
  RibltEncoder enc(from, to);
  for (const auto& [id, key] : range_ids(r).ids) enc.add(id);
  return enc.symbols();
}

const RangeIds& Overlay::range_ids(const KeyRange& r) {
  RangeIds& c = range_ids_cache_;
  if (c.range == r && c.store_version == store_version_ && store_version_ != 0) return c;
  c.range = r;
  c.store_version = store_version_;
  c.ids.clear();
  store_.for_each_in(r.from, r.to, [&c](const RingId& key, const KeySlot& slot) {
    for (const StoredEntry& e : slot.entries) c.ids.emplace_back(e.id, key);
  });
  return c;
}

std::vector<Entry> Overlay::entries_with_ids(const KeyRange& r, const std::set<std::uint64_t>& ids,
                                             std::size_t limit) {
  std::vector<Entry> out;
  std::set<RingId> keys;
  for (const auto& [id, key] : range_ids(r).ids)
    if (ids.count(id.key)) keys.insert(key);
  for (const RingId& key : keys) {
    const KeySlot* slot = store_.find(key);
    if (slot == nullptr) continue;
    for (const StoredEntry& e : slot->entries) {
      if (out.size() == limit) return out;
      if (ids.count(e.id.key)) out.push_back(e.entry);
    }
  }
  return out;
}

std::vector<Entry> Overlay::entries_in(const KeyRange& r) const {
  std::vector<Entry> out;
  store_.for_each_in(r.from, r.to, [&](const RingId&, const KeySlot& slot) {
    for (const StoredEntry& e : slot.entries) out.push_back(e.entry);
  });
  return out;
}

// ---- paging and pushes ----

void Overlay::start_pull(const NodeRef& from, const KeyRange& range) {
  const std::uint64_t id = next_id_++;
  pulls_[id] = PullOp{id, from, range};
  request(PendingKind::kRangePull, from, RangePull{0, range, std::nullopt}, id,
          config().request_retries);
}

void Overlay::handle(Address from, const RangePull& m) {
  RangeEntries reply;
  reply.req = m.req;
  const RingId start = m.after ? *m.after : m.range.from;
  if (m.after && !in_half_open(*m.after, m.range.from, m.range.to)) {
    ++peer_.counters_.malformed;
    return send(from, Refused{m.req, ErrorCode::kBadRequest});
  }
  store_.scan_in(start, m.range.to, [&](const RingId& key, const KeySlot& slot) {
    if (reply.entries.size() >= config().message_entries_max) {
      reply.next = reply.entries.empty() ? key : reply.entries.back().key();
      return false;
    }
    for (const StoredEntry& e : slot.entries) reply.entries.push_back(e.entry);
    return true;
  });
  send(from, std::move(reply));
}

void Overlay::on_reply(const Pending& p, const RangeEntries& m) {
  apply_verified(m.entries, &RefusedEntries::range_page);
  auto it = pulls_.find(p.owner);
  if (it == pulls_.end()) return;
  if (!m.next) {
    pulls_.erase(it);
    return;
  }
  request(PendingKind::kRangePull, it->second.from, RangePull{0, it->second.range, m.next},
          it->first, config().request_retries);
}

void Overlay::push(const std::vector<NodeRef>& targets, const std::vector<Entry>& entries,
                   std::function<void(bool)> on_done) {
  const std::uint64_t id = next_id_++;
  PushOp& op = pushes_[id];
  op.id = id;
  op.on_done = std::move(on_done);
  const std::size_t page = config().message_entries_max;
  for (const NodeRef& t : targets) {
    for (std::size_t i = 0; i < entries.size(); i += page) {
      const auto first = entries.begin() + static_cast<std::ptrdiff_t>(i);
      const auto last = entries.begin() + static_cast<std::ptrdiff_t>(std::min(entries.size(), i + page));
      ++op.waiting;
      request(PendingKind::kPush, t, Replicate{0, std::vector<Entry>(first, last)}, id,
              config().request_retries);
    }
  }
  if (op.waiting == 0) {
    auto done = std::move(op.on_done);
    pushes_.erase(id);
    if (done) done(true);
  }
}

// ---- garbage collection: keys that left our range go to their replicas, then away ----

void Overlay::collect_garbage() {
  const std::optional<RingId> start = range_start();
  if (!start || leaving_) return;  // our range is not known for sure: keep everything
  // Planted bug gc_erases_own_keys (tests only): only the primary range counts as ours.
  const RingId from = config().bugs.gc_erases_own_keys ? preds_.front().id : *start;
  std::vector<RingId> keys = store_.keys_outside(from, self().id, config().gc_keys_per_round);
  std::erase_if(keys, [&](const RingId& k) { return gc_in_flight_.count(k) > 0; });
  if (keys.empty()) return;
  // Keys come in ring order. Split them into a few chunks; each chunk's first key is
  // looked up, and the keys of the chunk that share its replica set are handed on. Keys
  // scattered over many ranges (a peer back from a partition) take several rounds.
  const std::size_t chunks = std::min(kGcLookupsPerRound, keys.size());
  const std::size_t per_chunk = (keys.size() + chunks - 1) / chunks;
  for (std::size_t c = 0; c * per_chunk < keys.size(); ++c) {
    const auto first = keys.begin() + static_cast<std::ptrdiff_t>(c * per_chunk);
    const auto last = keys.begin() + static_cast<std::ptrdiff_t>(
                                         std::min(keys.size(), (c + 1) * per_chunk));
    std::vector<RingId> chunk(first, last);
    for (const RingId& k : chunk) gc_in_flight_.insert(k);
    auto hand_on = [this, chunk](bool ok, std::vector<NodeRef> replicas, std::uint32_t) {
      std::vector<RingId> run;
      for (const RingId& k : chunk) {
        if (ok && !replicas.empty() &&
            (k == chunk.front() || in_half_open(k, chunk.front(), replicas.front().id))) {
          run.push_back(k);
        } else {
          gc_in_flight_.erase(k);  // another replica set: a later round takes it
        }
      }
      if (!run.empty()) gc_hand_on(run, replicas);
    };
    if (auto reps = local_replicas(chunk.front())) {
      hand_on(true, *reps, 0);
    } else {
      start_lookup(chunk.front(), hand_on);
    }
  }
}

void Overlay::gc_hand_on(const std::vector<RingId>& keys, const std::vector<NodeRef>& replicas) {
  const bool still_ours = std::any_of(replicas.begin(), replicas.end(),
                                      [&](const NodeRef& n) { return n.id == self().id; });
  const bool own_too = config().bugs.gc_erases_own_keys;  // planted bug (tests only)
  const bool too_few = replicas.size() < static_cast<std::size_t>(config().replication);
  if ((still_ours && !own_too) || too_few) {
    for (const RingId& k : keys) gc_in_flight_.erase(k);
    return;
  }
  std::vector<Entry> entries;
  for (const RingId& k : keys) {
    const std::vector<Entry> e = entries_of(k);
    entries.insert(entries.end(), e.begin(), e.end());
  }
  push(replicas, entries, [this, keys, own_too](bool all_acked) {
    for (const RingId& k : keys) {
      gc_in_flight_.erase(k);
      if (config().bugs.gc_keeps_keys) continue;  // planted bug (tests only): kept
      // Dropped only once every replica holds it durably, and if it is still not ours.
      if (all_acked && (own_too || !is_replica(k)) && store_.erase_key(k) > 0) ++store_version_;
    }
  });
}

// ---- catch-up from neighbours' journals after downtime ----

void Overlay::start_catch_up() {
  const std::optional<RingId> start = range_start();
  const RingId from = start ? *start : (preds_.empty() ? self().id : preds_.back().id);
  const KeyRange mine{from, self().id};
  std::vector<NodeRef> neighbours = succs_;
  neighbours.insert(neighbours.end(), preds_.begin(), preds_.end());
  for (const NodeRef& n : neighbours) {
    auto seen = seen_heights_.find(n.id);
    if (seen == seen_heights_.end()) continue;
    const std::uint64_t id = next_id_++;
    catch_ups_[id] = CatchUpOp{id, n, seen->second, std::nullopt, {mine}};
    request(PendingKind::kCatchUp, n, CatchUp{0, seen->second, {mine}}, id,
            config().request_retries);
  }
}

void Overlay::handle(Address from, const CatchUp& m) {
  CatchUpReply reply;
  reply.req = m.req;
  reply.head_height = journal_.height();
  for (std::uint64_t h = m.since_height + 1; h <= journal_.height(); ++h) {
    if (reply.blocks.size() == kBlocksPerCatchUpReply) {
      reply.more = true;
      break;
    }
    const JournalBlock& b = *journal_.block(h);
    std::vector<bool> keep(b.entries.size(), false);
    for (std::size_t i = 0; i < b.entries.size(); ++i) {
      const RingId k = b.entries[i].key();
      for (const KeyRange& r : m.ranges) keep[i] = keep[i] || in_half_open(k, r.from, r.to);
    }
    reply.blocks.push_back(filter_block(b, keep));
  }
  send(from, std::move(reply));
}

void Overlay::on_reply(const Pending& p, const CatchUpReply& m) {
  auto it = catch_ups_.find(p.owner);
  if (it == catch_ups_.end()) return;
  CatchUpOp& op = it->second;
  for (const FilteredBlock& b : m.blocks) {
    const bool linked = b.header.height == op.since + 1 && (!op.prev || b.header.prev == *op.prev);
    if (RingId::of_bytes(b.header.author) != op.from.id || !linked ||
        !verify_filtered_block(b).ok()) {
      ++peer_.counters_.bad_blocks;  // refuse the rest of this neighbour's answer
      catch_ups_.erase(it);
      return;
    }
    apply_verified(b.included, &RefusedEntries::catch_up);
    op.prev = block_hash(b.header, b.signature);
    op.since = b.header.height;
  }
  mark_seen(op.from, op.since);
  if (!m.more) {
    catch_ups_.erase(it);
    return;
  }
  request(PendingKind::kCatchUp, op.from, CatchUp{0, op.since, op.ranges}, op.id,
          config().request_retries);
}

void Overlay::mark_seen(const NodeRef& n, std::uint64_t height) {
  std::uint64_t& seen = seen_heights_[n.id];
  if (height <= seen) return;
  seen = height;
  persist({StorageRecord{ns_, NeighbourMark{n.id, height}}}, nullptr);
}

}  // namespace kittengrad
