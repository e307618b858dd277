// overlay_ops.cc — client operations at a coordinator, and replication to the replicas.
//
// Any replica of a key may coordinate. A write is verified entry by entry (a batch with a
// bad signature is refused whole and changes nothing), applied and journalled locally,
// pushed to the other replicas, and acknowledged once W replicas hold every entry
// durably. A peer that is not a replica refuses with wrong_peer and the replica set it
// knows, looking it up first when its neighbourhood does not determine it.
#include <algorithm>

#include "overlay.h"

namespace kittengrad {

namespace {
constexpr std::size_t kWriteEntriesMax = 4096;  // a larger batch is a bad request
}

void Overlay::handle(Address from, const WriteRequest& m) {
  ClientReply reply;
  reply.req = m.req;
  if (leaving_) reply.error = ErrorCode::kLeaving;
  if (m.entries.empty() || m.entries.size() > kWriteEntriesMax) {
    reply.error = ErrorCode::kBadRequest;
    reply.detail = "a write carries 1 to 4096 entries";
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
    if (!verify_entry(m.entries[i])) {
      ++peer_.counters_.bad_signatures;
      reply.error = ErrorCode::kBadSignature;
      reply.detail = "entry signature does not verify";
      reply.index = static_cast<std::uint32_t>(i);
      return reply_client(from, std::move(reply));
    }
  }
  if (writes_.size() >= config().pending_ops_max) {
    reply.error = ErrorCode::kOverloaded;
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
    op.required[i] = std::min<std::size_t>(static_cast<std::size_t>(config().write_quorum),
                                           reps.size());
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
    --it->second.outstanding;
    write_progress(it->second);
  });
  for (auto& [rid, t] : targets) {
    std::vector<Entry> subset;
    for (std::size_t i : t.second) subset.push_back(op.entries[i]);
    const std::uint64_t req = request(PendingKind::kReplicate, t.first,
                                      Replicate{0, std::move(subset)}, id, config().request_retries);
    op.by_req[req] = t.second;
    ++op.outstanding;
  }
  write_progress(op);
}

void Overlay::on_reply(const Pending& p, const ReplicateAck& m, Address from) {
  (void)from;
  if (p.kind == PendingKind::kPush) return on_push_ack(p.owner, m.error == ErrorCode::kOk);
  auto it = writes_.find(p.owner);
  if (it == writes_.end()) return;
  WriteOp& op = it->second;
  if (m.error == ErrorCode::kOk) {
    for (std::size_t i : op.by_req[m.req]) op.acked[i].insert(p.to.id);
  }
  --op.outstanding;
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
  if (m.entries.size() > kWriteEntriesMax) {
    ++peer_.counters_.malformed;
    return send(from, ReplicateAck{m.req, ErrorCode::kBadRequest});
  }
  if (config().bugs.replica_skips_writes) {
    // Planted bug (tests only): acknowledge without storing anything.
    return send(from, ReplicateAck{m.req, ErrorCode::kOk});
  }
  std::size_t bad = 0;
  std::vector<Entry> good;
  for (const Entry& e : m.entries) {
    if (e.ns == ns_ && verify_entry(e)) {
      good.push_back(e);
    } else {
      ++bad;
    }
  }
  peer_.counters_.bad_signatures += bad;
  const ErrorCode code = bad ? ErrorCode::kBadSignature : ErrorCode::kOk;
  const std::uint64_t req = m.req;
  apply(good, [this, from, req, code] { send(from, ReplicateAck{req, code}); });
}

std::size_t Overlay::apply_verified(const std::vector<Entry>& entries, std::size_t* bad) {
  std::vector<Entry> good;
  std::size_t refused = 0;
  for (const Entry& e : entries) {
    if (e.ns == ns_ && verify_entry(e)) {
      good.push_back(e);
    } else {
      ++refused;
    }
  }
  peer_.counters_.bad_signatures += refused;
  if (bad) *bad = refused;
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
    journal_.append(e, wall);
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

void Overlay::handle(Address from, const ReadRequest& m) {
  const RingId key = m.canonical.ring_key();
  if (!is_replica(key)) return refuse_wrong_peer(from, m.req, key);
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
  op.merged = entries_of(key);
  op.waiting = others.size();
  if (others.empty()) return finish_read(op);
  for (const NodeRef& n : others)
    request(PendingKind::kReadReplica, n, ReadReplica{0, key}, id, config().request_retries);
}

void Overlay::handle(Address from, const ReadReplica& m) {
  send(from, ReadReplicaReply{m.req, entries_of(m.key)});
}

void Overlay::on_reply(const Pending& p, const ReadReplicaReply& m) {
  auto it = reads_.find(p.owner);
  if (it == reads_.end()) return;
  ReadOp& op = it->second;
  for (const Entry& e : m.entries) {
    if (e.ns != ns_ || e.key() != op.key || !verify_entry(e)) {
      ++peer_.counters_.bad_signatures;  // never serve what does not verify
      continue;
    }
    op.merged.push_back(e);
  }
  if (--op.waiting == 0) finish_read(op);
}

void Overlay::finish_read(ReadOp& op) {
  std::sort(op.merged.begin(), op.merged.end(), entry_order_less);
  op.merged.erase(std::unique(op.merged.begin(), op.merged.end()), op.merged.end());
  ClientReply r;
  r.req = op.client_req;
  r.entries = std::move(op.merged);
  reply_client(op.client, std::move(r));
  reads_.erase(op.id);
}

void Overlay::handle(Address from, const RouteRequest& m) {
  const std::uint64_t req = m.req;
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
  // Not determined by our neighbourhood: look it up so that the redirect is right.
  start_lookup(key, [this, reply, key](bool ok, std::vector<NodeRef> replicas, std::uint32_t) {
    reply(ok ? std::move(replicas) : closest_preceding(key, 3));
  });
}

}  // namespace kittengrad
