// overlay.cc — dispatch, requests with deadlines and retries, persistence, periodic tasks.
#include "overlay.h"
#include "wire_util.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace kittengrad {

namespace {

using detail::Overloaded;

}  // namespace

Overlay::Overlay(Peer& peer, std::string ns, Rng rng)
    : peer_(peer),
      ns_(std::move(ns)),
      rng_(rng),
      limits_(message_limits(peer.config().message_budget())),
      journal_(peer.keys(), peer.config().journal_block_interval / kMicrosPerMs,
               std::min(peer.config().journal_block_entries_max, limits_.block_entries)) {}

Time Overlay::now() const { return peer_.env_.clock->now(); }
const PeerConfig& Overlay::config() const { return peer_.config_; }
const NodeRef& Overlay::self() const { return peer_.self_; }

Message Overlay::outgoing(Body body) {
  fit_to_limits(body, limits_);
  Message m{ns_, std::move(body)};
  // A message that does not fit one datagram is a bug of its sender here, not bad input:
  // asserted, and counted for builds without assertions (the checkers require zero).
  if (wire_size(m) > limits_.budget) {
    ++peer_.counters_.oversized_sent;
    assert(false && "a message larger than the datagram budget");
  }
  return m;
}

void Overlay::send(Address to, Body body) { peer_.env_.network->send(to, outgoing(std::move(body))); }

std::uint64_t Overlay::request(PendingKind kind, const NodeRef& to, Body body,
                               std::uint64_t owner, int retries) {
  const std::uint64_t req = next_id_++;
  std::visit([req](auto& m) {
    if constexpr (requires { m.req; }) {
      m.req = req;
    } else if constexpr (requires { m.session; }) {
      m.session = req;  // anti-entropy messages name their request by session
    }
  }, body);
  Pending p{kind, to, outgoing(std::move(body)), now() + config().request_timeout, retries, owner};
  peer_.env_.network->send(to.addr, p.message);
  deadlines_.insert({p.deadline, req});
  pending_.emplace(req, std::move(p));
  return req;
}

std::optional<Pending> Overlay::take_pending(std::uint64_t req, Address from) {
  auto it = pending_.find(req);
  // A reply from another address than asked is ignored: it cannot be matched safely.
  if (it == pending_.end() || it->second.to.addr != from) return std::nullopt;
  Pending p = std::move(it->second);
  deadlines_.erase({p.deadline, req});
  pending_.erase(it);
  suspects_.erase(p.to.id);  // it answered: alive
  return p;
}

std::uint64_t Overlay::persist(std::vector<StorageRecord> records, std::function<void()> done) {
  const std::uint64_t token = peer_.next_token_++;
  peer_.token_owner_[token] = this;
  persists_.emplace(token, std::move(done));
  peer_.env_.storage->persist(std::move(records), token);
  return token;
}

void Overlay::on_persisted(std::uint64_t token) {
  auto it = persists_.find(token);
  if (it == persists_.end()) return;
  auto done = std::move(it->second);
  persists_.erase(it);
  if (done) done();
}

void Overlay::on_message(Address from, const Body& body) {
  if (left_) return;
  std::visit(
      Overloaded{
          [&](const FindSuccessorReply& m) {
            if (auto p = take_pending(m.req, from)) on_reply(*p, m, from);
          },
          [&](const GetNeighboursReply& m) {
            if (auto p = take_pending(m.req, from)) on_reply(*p, m);
          },
          [&](const Pong& m) {
            if (auto p = take_pending(m.req, from)) on_reply(*p, m);
          },
          [&](const ReplicateAck& m) {
            if (auto p = take_pending(m.req, from)) on_reply(*p, m, from);
          },
          [&](const ReadReplicaReply& m) {
            if (auto p = take_pending(m.req, from)) on_reply(*p, m);
          },
          [&](const AeInSync& m) {
            if (auto p = take_pending(m.session, from)) on_reply(*p, m);
          },
          [&](const AeSymbols& m) {
            if (auto p = take_pending(m.session, from)) on_reply(*p, m);
          },
          [&](const AeEntries& m) {
            if (auto p = take_pending(m.session, from)) on_reply(*p, m);
          },
          [&](const RangeEntries& m) {
            if (auto p = take_pending(m.req, from)) on_reply(*p, m);
          },
          [&](const CatchUpReply& m) {
            if (auto p = take_pending(m.req, from)) on_reply(*p, m);
          },
          [&](const Refused& m) {
            // The other side cannot serve the request: treat it as a failed attempt now.
            if (auto p = take_pending(m.req, from)) {
              p->retries_left = 0;
              on_timeout(m.req, std::move(*p));
            }
          },
          [&](const ClientReply&) { /* peers never send client requests to peers */ },
          [&](const JournalBlocks&) {},
          [&](const JournalLive&) {},
          [&](const auto& m) { handle(from, m); },
      },
      body);
}

void Overlay::on_wakeup() {
  if (left_) return;
  const Time t = now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= t) {
    const std::uint64_t req = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = pending_.find(req);
    if (it == pending_.end()) continue;
    Pending p = std::move(it->second);
    pending_.erase(it);
    if (p.retries_left > 0) {
      // Resend under the same request id: a late reply to either copy completes it.
      --p.retries_left;
      p.deadline = t + config().request_timeout;
      peer_.env_.network->send(p.to.addr, p.message);
      deadlines_.insert({p.deadline, req});
      pending_.emplace(req, std::move(p));
      continue;
    }
    ++peer_.counters_.timeouts;
    on_timeout(req, std::move(p));
  }
  run_periodic();
  if (joined_ && !left_) sync_step();  // one slice of the anti-entropy index's upkeep
}

// Periodic tasks. A task runs when it is due, or when it would be due within an eighth
// of its interval and the peer is awake anyway: tasks then drift into shared wakeups, so a
// peer wakes about once per stabilize interval instead of once per task (in a simulation
// every wakeup is a context switch; on a laptop it is a CPU wakeup).
void Overlay::run_periodic() {
  const Time t = now();
  if (!joined_ || left_) return;
  auto due = [t](Time next, Time interval) { return t >= next - interval / 8; };
  if (due(next_stabilize_, config().stabilize_interval)) {
    next_stabilize_ = t + config().stabilize_interval;
    stabilize();
  }
  if (due(next_check_pred_, config().check_predecessor_interval)) {
    next_check_pred_ = t + config().check_predecessor_interval;
    check_predecessor();
  }
  if (due(next_fix_fingers_, config().fix_fingers_interval)) {
    next_fix_fingers_ = t + config().fix_fingers_interval;
    fix_finger();
  }
  if (config().anti_entropy_interval > 0 &&
      due(next_anti_entropy_, config().anti_entropy_interval)) {
    next_anti_entropy_ = t + config().anti_entropy_interval;
    anti_entropy();
    collect_garbage();
  }
  if (t >= next_block_check_) {
    next_block_check_ = t + std::max<Time>(config().journal_block_interval / 4, kMicrosPerMs);
    cut_block_if_due();
  }
  // Subscriptions whose lease ran out are dropped: a client must renew to keep them.
  std::erase_if(subscribers_, [t](const Subscriber& s) { return s.lease_until < t; });
}

std::optional<Time> Overlay::next_wakeup() const {
  if (left_) return std::nullopt;
  Time t = std::numeric_limits<Time>::max();
  if (!deadlines_.empty()) t = deadlines_.begin()->first;
  if (joined_) {
    t = std::min({t, next_stabilize_, next_check_pred_, next_fix_fingers_});
    if (config().anti_entropy_interval > 0) t = std::min(t, next_anti_entropy_);
    // The journal needs a look only while entries wait to be cut or someone subscribes.
    if (!journal_.pending().empty() || !subscribers_.empty()) t = std::min(t, next_block_check_);
    // The anti-entropy index works in slices, one per wakeup, until it is current.
    if (sync_work()) t = std::min(t, now());
  }
  if (t == std::numeric_limits<Time>::max()) return std::nullopt;
  return t;
}

void Overlay::on_timeout(std::uint64_t req, Pending p) {
  (void)req;
  switch (p.kind) {
    case PendingKind::kLookupStep: {
      forget(p.to.id);
      auto it = lookups_.find(p.owner);
      if (it != lookups_.end()) lookup_step(p.owner);
      break;
    }
    case PendingKind::kStabilize:
    case PendingKind::kCheckPred:
      forget(p.to.id);
      break;
    case PendingKind::kReplicate: {
      auto it = writes_.find(p.owner);
      if (it != writes_.end()) {
        count_down(it->second.outstanding);
        write_progress(it->second);
      }
      break;
    }
    case PendingKind::kPush:
      on_push_ack(p.owner, false);
      break;
    case PendingKind::kHandoff:
      on_handoff_reply(p.owner, ErrorCode::kTimeout, p);
      break;
    case PendingKind::kReadReplica: {
      auto it = reads_.find(p.owner);
      if (it != reads_.end() && count_down(it->second.waiting) == 0) finish_read(it->second);
      break;
    }
    case PendingKind::kAe:
      ae_end(p.owner);
      break;
    case PendingKind::kRangePull:
      pulls_.erase(p.owner);
      break;
    case PendingKind::kCatchUp:
      catch_ups_.erase(p.owner);
      break;
  }
}

TableSizes Overlay::table_sizes() const {
  TableSizes t;
  t.writes = writes_.size();
  t.reads = reads_.size();
  t.lookups = lookups_.size();
  t.persists = persists_.size();
  t.subscribers = subscribers_.size();
  t.ae_sessions = ae_sessions_.size();
  t.pulls = pulls_.size();
  t.catch_ups = catch_ups_.size();
  t.pushes = pushes_.size() + handoffs_.size();
  t.pending = pending_.size();
  t.cached_arcs = sync_.cached_arcs();
  t.built_arcs = sync_.built_arcs();
  return t;
}

void Overlay::reply_client(Address client, ClientReply reply) {
  send(client, std::move(reply));
}

}  // namespace kittengrad
