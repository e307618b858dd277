// overlay_ops.cc — client operations at a coordinator, and replication to the replicas.
//
// Any replica of a key may coordinate. A write is verified entry by entry (a batch with a
// bad signature is refused whole and changes nothing), applied and journalled locally,
// pushed to the other replicas, and acknowledged once W replicas hold every entry
// durably. A peer that is not a replica refuses with wrong_peer and the replica set it
// knows, looking it up first when its neighbourhood does not determine it.
#include <algorithm>
#include <cstdint>
#include <string>

#include "overlay.h"

namespace kittengrad {

void Overlay::handle(Address from, const WriteRequest& m) {
  ClientReply reply;
  reply.req = m.req;
  if (leaving_) reply.error = ErrorCode::kLeaving;
  if (m.entries.empty() || m.entries.size() > kReceiveLimits.entries) {
    reply.error = ErrorCode::kBadRequest;
    reply.detail = "a write carries 1 to " + std::to_string(kReceiveLimits.entries) +
                   " entries (one datagram); page larger batches";
  }
  for (std::size_t i = 0; reply.error == ErrorCode::kOk && i < m.entries.size(); ++i) {
    if (m.entries[i].ns != ns_) {
      reply.error = ErrorCode::kBadRequest;
      reply.detail = "entry namespace differs from the request's";
      reply.index = static_cast<std::uint32_t>(i);
    }
  }
  if (reply.error != ErrorCode::kOk) {
    ++peer_.counters_.malformed;
    return reply_client(from, std::move(reply));
  }
  for (const Entry& e : m.entries) {
    if (!is_replica(e.key())) return refuse_wrong_peer(from, m.req, e.key());
  }
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    if (!verified(m.entries[i])) {
      count_refused(&RefusedEntries::client_write, 1);
      reply.error = ErrorCode::kBadSignature;
      reply.detail = "entry signature does not verify";
      reply.index = static_cast<std::uint32_t>(i);
      return reply_client(from, std::move(reply));
    }
  }
  if (writes_.size() >= config().pending_ops_max || !persist_room()) {
    ++peer_.counters_.overloaded;
    reply.error = ErrorCode::kOverloaded;
    reply.detail = "too many writes in progress at this peer; retry or ask another replica";
    return reply_client(from, std::move(reply));
  }
  const std::uint64_t id = next_id_++;
  WriteOp& op = writes_[id];
  op.id = id;
  op.client = from;
  op.client_req = m.req;
  op.entries = m.entries;
  op.acked.resize(m.entries.size());
  op.required.resize(m.entries.size());

  // Group entries by the other replicas that must receive them.
  std::map<RingId, std::pair<NodeRef, std::vector<std::size_t>>> targets;
  for (std::size_t i = 0; i < op.entries.size(); ++i) {
    std::vector<NodeRef> reps = local_replicas(op.entries[i].key()).value_or(std::vector<NodeRef>{});
    if (reps.empty()) {
      reps.push_back(self());
      for (const NodeRef& s : succs_) {
        if (reps.size() == static_cast<std::size_t>(config().replication)) break;
        reps.push_back(s);
      }
    }
    // W durable copies (DESIGN.md): a coordinator that knows fewer replicas than W (a
    // partition, a stale neighbourhood) fails the write rather than acknowledge it with
    // fewer copies, and the client retries elsewhere.
    // Only a ring smaller than W, seen whole, needs fewer: every peer of it.
    op.required[i] = std::min<std::size_t>(static_cast<std::size_t>(config().write_quorum),
                                           whole_ring() ? succs_.size() + 1 : SIZE_MAX);
    for (const NodeRef& n : reps) {
      if (n.id == self().id) continue;
      auto& t = targets[n.id];
      t.first = n;
      t.second.push_back(i);
    }
  }
  ++op.outstanding;
  apply(op.entries, [this, id] {
    auto it = writes_.find(id);
    if (it == writes_.end()) return;
    for (auto& a : it->second.acked) a.insert(self().id);
    count_down(it->second.outstanding);
    write_progress(it->second);
  });
  for (auto& [rid, t] : targets) {
    // A client may send a larger datagram than this peer's budget allows: page the push.
    for (std::size_t first = 0; first < t.second.size(); first += limits_.entries) {
      const std::size_t last = std::min(t.second.size(), first + limits_.entries);
      std::vector<std::size_t> indices(t.second.begin() + static_cast<std::ptrdiff_t>(first),
                                       t.second.begin() + static_cast<std::ptrdiff_t>(last));
      std::vector<Entry> subset;
      subset.reserve(indices.size());
      for (std::size_t i : indices) subset.push_back(op.entries[i]);
      const std::uint64_t req = request(PendingKind::kReplicate, t.first,
                                        Replicate{0, std::move(subset)}, id,
                                        config().request_retries);
      op.by_req[req] = std::move(indices);
      ++op.outstanding;
    }
  }
  write_progress(op);
}

void Overlay::on_reply(const Pending& p, const ReplicateAck& m, Address from) {
  (void)from;
  if (p.kind == PendingKind::kHandoff) return on_handoff_reply(p.owner, m.error, p);
  if (p.kind == PendingKind::kPush) return on_push_ack(p.owner, m.error == ErrorCode::kOk);
  auto it = writes_.find(p.owner);
  if (it == writes_.end()) return;
  WriteOp& op = it->second;
  if (m.error == ErrorCode::kOk) {
    for (std::size_t i : op.by_req[m.req]) op.acked[i].insert(p.to.id);
  }
  count_down(op.outstanding);
  write_progress(op);
}

void Overlay::write_progress(WriteOp& op) {
  if (!op.replied) {
    bool all = true;
    for (std::size_t i = 0; i < op.entries.size() && all; ++i)
      all = op.acked[i].size() >= op.required[i];
    if (all || op.outstanding == 0) {
      ClientReply r;
      r.req = op.client_req;
      if (!all) {
        r.error = ErrorCode::kQuorumFailed;
        r.detail = "fewer than W replicas acknowledged durably";
      }
      reply_client(op.client, std::move(r));
      op.replied = true;
    }
  }
  if (op.replied && op.outstanding == 0) writes_.erase(op.id);
}

void Overlay::handle(Address from, const Replicate& m) {
  if (m.entries.size() > kReceiveLimits.entries) {
    ++peer_.counters_.malformed;
    return send(from, ReplicateAck{m.req, ErrorCode::kBadRequest});
  }
  if (config().bugs.replica_skips_writes) {
    // Planted bug (tests only): acknowledge without storing anything.
    return send(from, ReplicateAck{m.req, ErrorCode::kOk});
  }
  if (!persist_room()) {
    ++peer_.counters_.overloaded;  // the sender retries, or counts this replica as failed
    return send(from, ReplicateAck{m.req, ErrorCode::kOverloaded});
  }
  std::size_t bad = 0;
  std::vector<Entry> good;
  // Planted bug (tests only): the first entry of the first Replicate is acknowledged but
  // never stored, once; without anti-entropy this replica stays one entry short.
  const bool drop_first = config().bugs.replica_drops_one_entry && !planted_dropped_;
  planted_dropped_ = planted_dropped_ || drop_first;
  for (const Entry& e : m.entries) {
    if (drop_first && &e == &m.entries.front()) continue;
    if (verified(e)) {
      good.push_back(e);
    } else {
      ++bad;
    }
  }
  count_refused(&RefusedEntries::replicate, bad);
  const std::uint64_t req = m.req;
  if (leaving_) {
    // Handing off: what came is handed on with the rest, and the answer says we are
    // leaving, so that a hand-off sender passes over us and a writer does not count us.
    std::set<RingId> fresh;
    for (const Entry& e : good)
      if (!store_.contains(e)) fresh.insert(e.key());
    apply(good, [this, from, req] { send(from, ReplicateAck{req, ErrorCode::kLeaving}); });
    if (fresh.empty()) return;
    std::erase_if(handed_, [&](const auto& sent) { return fresh.count(sent.second) > 0; });
    return handoff_step();
  }
  const ErrorCode code = bad ? ErrorCode::kBadSignature : ErrorCode::kOk;
  apply(good, [this, from, req, code] { send(from, ReplicateAck{req, code}); });
}

bool Overlay::verified(const Entry& e) {
  if (e.ns != ns_) return false;
  if (store_.contains(e)) return true;
  return peer_.verifier().verify(e);
}

void Overlay::count_refused(std::uint64_t RefusedEntries::*path, std::uint64_t n) {
  peer_.counters_.bad_signatures += n;
  peer_.counters_.bad_signatures_by_path.*path += n;
}

std::size_t Overlay::apply_verified(const std::vector<Entry>& entries,
                                    std::uint64_t RefusedEntries::*path) {
  if (!entries.empty() && !persist_room()) {
    // Storage is behind: these entries come again with the next repair round.
    ++peer_.counters_.overloaded;
    return 0;
  }
  std::vector<Entry> good;
  std::size_t refused = 0;
  for (const Entry& e : entries) {
    if (verified(e)) {
      good.push_back(e);
    } else {
      ++refused;
    }
  }
  count_refused(path, refused);
  if (config().bugs.replica_skips_writes) return 0;
  return apply(good, nullptr);
}

std::size_t Overlay::apply(const std::vector<Entry>& entries, std::function<void()> done) {
  std::vector<StorageRecord> records;
  std::vector<Entry> fresh;
  const std::int64_t wall = peer_.env_.clock->wall_ms();
  for (const Entry& e : entries) {
    if (!store_.insert(e)) continue;
    ++store_version_;
    // Planted bug journal_skips_entry (tests only): the entry is stored, not journalled.
    if (!config().bugs.journal_skips_entry || store_.entry_count() != 1) journal_.append(e, wall);
    records.push_back(StorageRecord{ns_, e});
    fresh.push_back(e);
  }
  peer_.counters_.entries_applied += fresh.size();
  if (!fresh.empty()) feed_subscribers_live(fresh);
  // An empty persist is a barrier: it completes once every earlier record is durable, so
  // entries that were already here are durable too when `done` runs.
  if (done || !records.empty()) persist(std::move(records), std::move(done));
  return fresh.size();
}

std::vector<Entry> Overlay::entries_of(const RingId& key) const {
  std::vector<Entry> out;
  if (const KeySlot* slot = store_.find(key)) {
    out.reserve(slot->entries.size());
    for (const StoredEntry& s : slot->entries) out.push_back(s.entry);
  }
  return out;
}

std::vector<Entry> Overlay::page_of(const RingId& key, const std::optional<Entry>& after,
                                    bool& more, std::size_t pages) const {
  std::vector<Entry> out;
  more = false;
  const KeySlot* slot = store_.find(key);
  if (slot == nullptr) return out;
  // A slot's entries are in lookup order: the page starts by binary search, so reading a
  // hot canonical page by page costs O(log n + page) per page, not O(n).
  auto it = slot->entries.begin();
  if (after) {
    it = std::upper_bound(slot->entries.begin(), slot->entries.end(), *after,
                          [](const Entry& a, const StoredEntry& s) {
                            return entry_order_less(a, s.entry);
                          });
  }
  const std::size_t max = limits_.entries * pages;
  for (; it != slot->entries.end() && out.size() < max; ++it) out.push_back(it->entry);
  more = it != slot->entries.end();
  // Planted bug read_serves_stale (tests only): the newest entry (the last in lookup
  // order) is left out of what this replica serves.
  if (config().bugs.read_serves_stale && !more && !out.empty()) out.pop_back();
  return out;
}

void Overlay::note_page_end(ReadOp& op, const std::vector<Entry>& page, bool more) {
  if (!more || page.empty()) return;
  if (!op.boundary || entry_order_less(page.back(), *op.boundary)) op.boundary = page.back();
}

void Overlay::handle(Address from, const ReadRequest& m) {
  const RingId key = m.canonical.ring_key();
  if (m.after && (m.after->ns != ns_ || m.after->key() != key)) {
    ++peer_.counters_.malformed;
    ClientReply r;
    r.req = m.req;
    r.error = ErrorCode::kBadRequest;
    r.detail = "the page cursor is not an entry of this canonical";
    return reply_client(from, std::move(r));
  }
  if (!is_replica(key)) return refuse_wrong_peer(from, m.req, key);
  if (reads_.size() >= config().reads_max) {
    ClientReply r;
    r.req = m.req;
    r.error = ErrorCode::kOverloaded;
    r.detail = "too many reads in progress at this peer; retry or ask another replica";
    ++peer_.counters_.overloaded;
    return reply_client(from, std::move(r));
  }
  const auto r = static_cast<std::size_t>(config().read_quorum);
  std::vector<NodeRef> others;
  if (r > 1) {
    for (const NodeRef& n : local_replicas(key).value_or(std::vector<NodeRef>{}))
      if (n.id != self().id && others.size() + 1 < r) others.push_back(n);
  }
  const std::uint64_t id = next_id_++;
  ReadOp& op = reads_[id];
  op.id = id;
  op.client = from;
  op.client_req = m.req;
  op.key = key;
  op.after = m.after;
  op.window = std::clamp<std::size_t>(m.pages, 1, std::max<std::size_t>(config().read_window_max, 1));
  bool more = false;
  // With R > 1 the others answer one page each and the merge ends where the first of them
  // does, so reading more than a page here would be thrown away.
  op.merged = page_of(key, m.after, more, others.empty() ? op.window : 1);
  note_page_end(op, op.merged, more);
  op.waiting = others.size();
  if (others.empty()) return finish_read(op);
  for (const NodeRef& n : others) {
    request(PendingKind::kReadReplica, n, ReadReplica{0, key, m.after}, id,
            config().request_retries);
  }
}

void Overlay::handle(Address from, const ReadReplica& m) {
  if (m.after && (m.after->ns != ns_ || m.after->key() != m.key)) {
    ++peer_.counters_.malformed;
    return send(from, Refused{m.req, ErrorCode::kBadRequest});
  }
  ReadReplicaReply reply;
  reply.req = m.req;
  reply.entries = page_of(m.key, m.after, reply.more);
  send(from, std::move(reply));
}

void Overlay::on_reply(const Pending& p, const ReadReplicaReply& m) {
  auto it = reads_.find(p.owner);
  if (it == reads_.end()) return;
  ReadOp& op = it->second;
  std::vector<Entry> page;
  for (const Entry& e : m.entries) {
    if (e.key() != op.key || (op.after && !entry_order_less(*op.after, e)) || !verified(e)) {
      count_refused(&RefusedEntries::read_reply, 1);  // never serve what does not verify
      continue;
    }
    page.push_back(e);
  }
  note_page_end(op, page, m.more);
  op.merged.insert(op.merged.end(), page.begin(), page.end());
  if (count_down(op.waiting) == 0) finish_read(op);
}

void Overlay::finish_read(ReadOp& op) {
  std::sort(op.merged.begin(), op.merged.end(), entry_order_less);
  op.merged.erase(std::unique(op.merged.begin(), op.merged.end()), op.merged.end());
  bool more = false;
  if (op.boundary) {
    // Past the boundary some source's entries are unseen: they come in the next page.
    const auto past = std::upper_bound(op.merged.begin(), op.merged.end(), *op.boundary,
                                       entry_order_less);
    more = true;
    op.merged.erase(past, op.merged.end());
  }
  const std::size_t per_page = std::max<std::size_t>(limits_.entries, 1);
  if (op.merged.size() > per_page * op.window) {
    op.merged.resize(per_page * op.window);
    more = true;
  }
  // The window's pages, each one datagram. A replica of R > 1 answers one page, so the
  // merge holds a window only when R = 1; the client asks again from where it ends.
  const std::size_t pages = std::max<std::size_t>((op.merged.size() + per_page - 1) / per_page, 1);
  for (std::size_t i = 0; i < pages; ++i) {
    ClientReply r;
    r.req = op.client_req;
    const std::size_t from = i * per_page;
    const std::size_t to = std::min(op.merged.size(), from + per_page);
    r.entries.assign(op.merged.begin() + static_cast<std::ptrdiff_t>(from),
                     op.merged.begin() + static_cast<std::ptrdiff_t>(to));
    r.more = i + 1 < pages || more;
    r.page = static_cast<std::uint32_t>(i);
    r.pages = static_cast<std::uint32_t>(pages);
    reply_client(op.client, std::move(r));
  }
  reads_.erase(op.id);
}

void Overlay::handle(Address from, const RouteRequest& m) {
  const std::uint64_t req = m.req;
  if (lookups_.size() >= config().lookups_max) {
    ++peer_.counters_.overloaded;
    ClientReply r;
    r.req = req;
    r.error = ErrorCode::kOverloaded;
    r.detail = "too many lookups in progress at this peer; retry or ask another peer";
    return reply_client(from, std::move(r));
  }
  start_lookup(m.key, [this, from, req](bool ok, std::vector<NodeRef> replicas,
                                        std::uint32_t hops) {
    ClientReply r;
    r.req = req;
    r.hops = hops;
    if (!ok) {
      r.error = ErrorCode::kTimeout;
      r.detail = "lookup failed: no live route to the key";
    }
    r.redirect = std::move(replicas);
    reply_client(from, std::move(r));
  });
}

void Overlay::refuse_wrong_peer(Address client, std::uint64_t req, const RingId& key) {
  ++peer_.counters_.wrong_peer;
  auto reply = [this, client, req](std::vector<NodeRef> redirect) {
    ClientReply r;
    r.req = req;
    r.error = ErrorCode::kWrongPeer;
    r.detail = "this peer is not a replica of the key; try the redirect";
    r.redirect = std::move(redirect);
    reply_client(client, std::move(r));
  };
  if (auto reps = local_replicas(key)) return reply(std::move(*reps));
  if (!joined_) return reply(succs_);
  if (lookups_.size() >= config().lookups_max) {
    ++peer_.counters_.overloaded;  // no lookup to spare: the best guess from the fingers
    return reply(closest_preceding(key, 3));
  }
  // Not determined by our neighbourhood: look it up so that the redirect is right.
  start_lookup(key, [this, reply, key](bool ok, std::vector<NodeRef> replicas, std::uint32_t) {
    reply(ok ? std::move(replicas) : closest_preceding(key, 3));
  });
}

}  // namespace kittengrad
