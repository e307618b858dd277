// overlay_ring.cc — Chord: successor and predecessor lists, fingers, stabilization and
// iterative lookups with timeouts and retries around dead nodes.
//
// Lookups are iterative: the originator asks a node for the successor of the key; the
// node either answers (the key falls between it and its successor, or between its
// predecessor and itself) or names closer nodes. The originator keeps the alternatives,
// so a dead hop costs one timeout and the lookup goes on through the next best node.
#include <algorithm>

#include "kittengrad/ring.h"
#include "overlay.h"

namespace kittengrad {

namespace {

// a is closer to key than b, both in (self, key): b lies between self and a.
bool closer_to_key(const RingId& self, const NodeRef& a, const NodeRef& b) {
  return in_open(b.id, self, a.id);
}

void push_unique(std::vector<NodeRef>& list, const NodeRef& n) {
  for (const NodeRef& m : list)
    if (m.id == n.id) return;
  list.push_back(n);
}

}  // namespace

// ---- lifecycle ----

void Overlay::start_timers() {
  const Time t = now();
  auto jitter = [this](Time interval) {
    return interval <= 0 ? 0 : static_cast<Time>(rng_.below(static_cast<std::uint64_t>(interval)));
  };
  next_stabilize_ = t + jitter(config().stabilize_interval);
  next_check_pred_ = t + jitter(config().check_predecessor_interval);
  next_fix_fingers_ = t + jitter(config().fix_fingers_interval);
  next_anti_entropy_ = t + jitter(config().anti_entropy_interval);
  next_block_check_ = t + jitter(config().journal_block_interval);
}

void Overlay::create_ring() {
  joined_ = true;
  preds_complete_ = true;  // alone: the predecessor list is complete (and empty)
  start_timers();
}

void Overlay::start_instant(const std::vector<NodeRef>& members) {
  const std::size_t n = members.size();
  const std::size_t list_max = static_cast<std::size_t>(config().successors);
  // Our successors are those of our own id, less ourselves (the first of them); the
  // predecessors mirror them.
  const auto after = ring_successors(members, self().id, list_max + 1, &NodeRef::id);
  const std::size_t me =
      after.empty() ? 0 : static_cast<std::size_t>(after.front() - members.begin());
  succs_.clear();
  preds_.clear();
  for (std::size_t k = 1; k < after.size(); ++k) {
    succs_.push_back(*after[k]);
    preds_.push_back(members[(me + n - k) % n]);
  }
  preds_complete_ = n - 1 <= list_max;
  predecessor_ = preds_.empty() ? std::nullopt : std::optional<NodeRef>(preds_.front());
  fingers_.clear();
  if (!succs_.empty()) {
    for (int bit = log2_distance(self().id, succs_.front().id) + 1; bit < 256; ++bit) {
      const RingId target = self().id.plus_pow2(bit);
      const NodeRef node = *ring_successors(members, target, 1, &NodeRef::id).front();
      if (node.id != self().id) fingers_[bit] = node;
    }
  }
  joined_ = true;
  start_timers();
}

void Overlay::join(Address bootstrap) {
  bootstrap_ = {NodeRef{RingId{}, bootstrap}};
  join_lookup();
}

void Overlay::join_lookup() {
  start_lookup(self().id,
               [this](bool ok, std::vector<NodeRef> replicas, std::uint32_t) {
                 // A peer back under its old id before the ring noticed it had gone is, to
                 // its predecessor, still the successor of its own id: the answer starts
                 // with us, and the nodes after us are our successors.
                 if (ok && !replicas.empty() && replicas.front().id == self().id) {
                   replicas.erase(replicas.begin());
                 }
                 if (ok && !replicas.empty()) {
                   joined(std::move(replicas));
                 } else if (!joined_ && !left_) {
                   // No answer, or none but us: again, through the next peer we know.
                   // The bootstrap may have left or failed since; retrying through it
                   // alone would never end.
                   std::rotate(bootstrap_.begin(), bootstrap_.begin() + 1, bootstrap_.end());
                   join_lookup();
                 }
               },
               bootstrap_.front());
}

void Overlay::learn_way_in(const NodeRef& n) {
  // Bounded: a few live peers are enough to find one still there. The bootstrap itself,
  // known by address only (its id is none), stays in the list and is tried again in turn.
  constexpr std::size_t kWaysInMax = 8;
  if (bootstrap_.size() < kWaysInMax) push_unique(bootstrap_, n);
}

void Overlay::joined(std::vector<NodeRef> successors) {
  set_successors(std::move(successors));
  if (succs_.empty() && !joined_) {
    // Every node named is one we just timed out on. Joined without a successor we would
    // take our predecessor for one at its first Notify, and stabilization would walk back
    // from there through the whole ring, one round trip per peer: ask again instead.
    join_lookup();
    return;
  }
  joined_ = true;
  need_pull_ = true;
  start_timers();
  next_stabilize_ = now();  // learn the predecessors and notify the successor at once
}

// ---- neighbour lists ----

void Overlay::set_successors(std::vector<NodeRef> list) {
  std::vector<NodeRef> out;
  for (const NodeRef& n : list) {
    if (n.id == self().id) break;  // the list came round the ring
    if (suspected(n.id)) continue;
    // Keep the list clockwise from self: a stale neighbour's list may name nodes that
    // lie behind ones already taken, or past self.
    if (!out.empty() && !in_open(n.id, out.back().id, self().id)) continue;
    push_unique(out, n);
    if (out.size() == static_cast<std::size_t>(config().successors)) break;
  }
  if (!out.empty() || list.empty()) succs_ = std::move(out);
}

void Overlay::set_predecessors(std::vector<NodeRef> list) {
  std::vector<NodeRef> out;
  bool complete = false;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const NodeRef& n = list[i];
    if (n.id == self().id) {
      if (i == 0) continue;  // a neighbour's list that starts with us
      complete = true;
      break;
    }
    if (suspected(n.id)) continue;
    if (!out.empty() && !in_open(n.id, self().id, out.back().id)) continue;  // anticlockwise
    push_unique(out, n);
    if (out.size() == static_cast<std::size_t>(config().successors)) break;
  }
  preds_ = std::move(out);
  preds_complete_ = complete;
  predecessor_ = preds_.empty() ? std::nullopt : std::optional<NodeRef>(preds_.front());
}

bool Overlay::suspected(const RingId& id) const {
  auto it = suspects_.find(id);
  return it != suspects_.end() && it->second > now();
}

void Overlay::remember_lost(const RingId& dead) {
  constexpr std::size_t kLostMax = 16;
  auto known = [&](const std::vector<NodeRef>& list) -> std::optional<NodeRef> {
    for (const NodeRef& n : list)
      if (n.id == dead) return n;
    return std::nullopt;
  };
  std::optional<NodeRef> node = known(succs_);
  if (!node) node = known(preds_);
  if (!node) return;  // only ring neighbours matter for merging rings back
  std::erase_if(lost_, [&](const auto& l) { return l.first.id == dead; });
  if (lost_.size() == kLostMax) lost_.erase(lost_.begin());
  lost_.emplace_back(*node, now());
}

void Overlay::probe_lost() {
  // A lost node is probed until it answers or an hour passes: partitions can last long,
  // and one datagram per stabilize round is cheap next to a ring that stays split.
  const Time horizon = std::max<Time>(120 * config().stabilize_interval, 3600 * kMicrosPerSecond);
  std::erase_if(lost_, [&](const auto& l) { return now() - l.second > horizon; });
  if (lost_.empty() || !joined_) return;
  // Round-robin: the probed node goes to the back.
  const NodeRef probe = lost_.front().first;
  std::rotate(lost_.begin(), lost_.begin() + 1, lost_.end());
  suspects_.erase(probe.id);  // we mean to ask it
  start_lookup(
      self().id,
      [this, probe](bool ok, std::vector<NodeRef> replicas, std::uint32_t) {
        if (!ok || replicas.empty()) return;
        const NodeRef s = replicas.front().id == self().id && replicas.size() > 1
                              ? replicas[1]
                              : replicas.front();
        if (s.id == self().id) return;
        std::erase_if(lost_, [&](const auto& l) { return l.first.id == probe.id; });
        // Two candidates: the node the lookup names, and the probed node itself, which
        // answered and so is alive. The lookup may be answered by our own side (fingers
        // lead back into our ring, which names the successor we have); the probed node
        // is then the only news from the other ring. Any live node before our successor
        // is a closer one, and stabilize walks back from it to the true successor.
        const auto succ = successor();
        std::optional<NodeRef> best;
        for (const NodeRef& c : {s, probe}) {
          if (c.id == self().id || (succ && !in_open(c.id, self().id, succ->id))) continue;
          if (!best || in_open(c.id, self().id, best->id)) best = c;
        }
        if (best) {
          std::vector<NodeRef> list{*best};
          list.insert(list.end(), succs_.begin(), succs_.end());
          suspects_.erase(best->id);
          set_successors(std::move(list));
        }
      },
      probe);
}

void Overlay::forget(const RingId& dead) {
  if (dead == RingId{}) return;  // a bootstrap address whose id we never learnt
  // Bounded: expired suspicions are dropped before a new one is added.
  std::erase_if(suspects_, [t = now()](const auto& kv) { return kv.second <= t; });
  suspects_[dead] = now() + config().stabilize_interval;
  remember_lost(dead);
  std::erase_if(succs_, [&](const NodeRef& n) { return n.id == dead; });
  std::erase_if(preds_, [&](const NodeRef& n) { return n.id == dead; });
  std::erase_if(fingers_, [&](const auto& kv) { return kv.second.id == dead; });
  if (predecessor_ && predecessor_->id == dead) {
    predecessor_ = preds_.empty() ? std::nullopt : std::optional<NodeRef>(preds_.front());
  }
}

std::optional<NodeRef> Overlay::successor() const {
  if (succs_.empty()) return std::nullopt;
  return succs_.front();
}

bool Overlay::whole_ring() const {
  return preds_complete_ && preds_.size() + 1 <= static_cast<std::size_t>(config().replication);
}

std::optional<RingId> Overlay::range_start() const {
  const auto r = static_cast<std::size_t>(config().replication);
  if (whole_ring() || preds_.size() < r) return std::nullopt;
  return preds_[r - 1].id;
}

bool Overlay::is_replica(const RingId& key) const {
  if (!joined_ || leaving_) return false;
  if (whole_ring()) return true;
  if (auto start = range_start()) return in_half_open(key, *start, self().id);
  if (preds_.empty()) return false;
  return in_half_open(key, preds_.back().id, self().id);  // what we know for sure
}

std::vector<NodeRef> Overlay::window() const {
  std::vector<NodeRef> w(preds_.rbegin(), preds_.rend());
  w.push_back(self());
  w.insert(w.end(), succs_.begin(), succs_.end());
  return w;
}

std::optional<std::vector<NodeRef>> Overlay::local_replicas(const RingId& key) const {
  const auto r = static_cast<std::size_t>(config().replication);
  if (whole_ring()) {
    std::vector<NodeRef> all{self()};
    for (const NodeRef& n : preds_) push_unique(all, n);
    return all;
  }
  const std::vector<NodeRef> w = window();
  for (std::size_t j = 1; j < w.size(); ++j) {
    if (!in_half_open(key, w[j - 1].id, w[j].id)) continue;
    std::vector<NodeRef> out;
    for (std::size_t k = j; k < w.size() && out.size() < r; ++k) push_unique(out, w[k]);
    if (out.size() == r) return out;
    return std::nullopt;
  }
  return std::nullopt;
}

std::vector<NodeRef> Overlay::closest_preceding(const RingId& key, std::size_t n) const {
  std::vector<NodeRef> c;
  auto consider = [&](const NodeRef& x) {
    if (in_open(x.id, self().id, key) && !suspected(x.id)) push_unique(c, x);
  };
  for (const auto& [bit, f] : fingers_) consider(f);
  for (const NodeRef& s : succs_) consider(s);
  for (const NodeRef& p : preds_) consider(p);
  std::sort(c.begin(), c.end(),
            [&](const NodeRef& a, const NodeRef& b) { return closer_to_key(self().id, a, b); });
  if (c.size() > n) c.resize(n);
  return c;
}

std::optional<std::vector<NodeRef>> Overlay::answer_locally(const RingId& key) const {
  if (!joined_) return std::nullopt;
  const auto r = static_cast<std::size_t>(config().replication);
  if (succs_.empty()) {
    if (preds_complete_) return std::vector<NodeRef>{self()};  // alone on the ring
    return std::nullopt;
  }
  if (predecessor_ && in_half_open(key, predecessor_->id, self().id)) {
    std::vector<NodeRef> out{self()};
    for (std::size_t i = 0; i < succs_.size() && out.size() < r; ++i) out.push_back(succs_[i]);
    return out;
  }
  if (in_half_open(key, self().id, succs_.front().id)) {
    std::vector<NodeRef> out;
    for (std::size_t i = 0; i < succs_.size() && out.size() < r; ++i) out.push_back(succs_[i]);
    if (out.size() < r && preds_complete_) out.push_back(self());  // small ring wraps
    return out;
  }
  return std::nullopt;
}

// ---- periodic maintenance ----

void Overlay::refill_successors() {
  // Every successor timed out. The nearest node clockwise among the fingers is a correct,
  // if distant, successor: stabilize walks back from it through predecessors. Only a peer
  // that knows nobody else falls back on its predecessor (the second peer of a ring).
  std::optional<NodeRef> best;
  auto consider = [&](const NodeRef& n) {
    if (n.id == self().id || suspected(n.id)) return;
    if (!best || in_open(n.id, self().id, best->id)) best = n;
  };
  for (const auto& [bit, f] : fingers_) consider(f);
  if (!best) {
    for (const NodeRef& p : preds_) consider(p);
  }
  if (best) succs_ = {*best};
}

void Overlay::stabilize() {
  if (succs_.empty()) refill_successors();
  if (auto s = successor()) request(PendingKind::kStabilize, *s, GetNeighbours{}, 0, 2);
  probe_lost();
}

void Overlay::on_reply(const Pending& p, const GetNeighboursReply& m) {
  const NodeRef s = p.to;
  // A reply from a node that is no longer our successor, and farther than the one we have
  // now, is stale: a lost-node probe has since found a closer successor (after a partition,
  // the way back into the other ring). Taken as is, the old successor's list would replace
  // the closer one and the rings would stay apart. The next round asks the new successor.
  const auto current = successor();
  if (current && current->id != s.id && !in_open(s.id, self().id, current->id)) return;
  std::vector<NodeRef> list;
  const bool better = m.predecessor && m.predecessor->id != self().id &&
                      in_open(m.predecessor->id, self().id, s.id) &&
                      !suspected(m.predecessor->id);
  if (better) list.push_back(*m.predecessor);
  list.push_back(s);
  list.insert(list.end(), m.successors.begin(), m.successors.end());
  set_successors(std::move(list));
  if (need_pull_ && !better) {
    // Joining: the successor's predecessors are ours, and it holds our whole share.
    need_pull_ = false;
    set_predecessors(m.predecessors);
    const std::optional<RingId> start = range_start();
    const RingId from = start ? *start : (preds_.empty() ? s.id : preds_.back().id);
    start_pull(s, KeyRange{whole_ring() ? self().id : from, self().id});
    if (restored_) start_catch_up();
  }
  if (better) next_stabilize_ = now();  // ask the new successor straight away
  if (auto succ = successor()) send(succ->addr, Notify{peer_.keys().public_key, preds_});
}

void Overlay::handle(Address from, const GetNeighbours& m) {
  if (!joined_) return send(from, Refused{m.req, ErrorCode::kBadRequest});
  GetNeighboursReply r;
  r.req = m.req;
  r.predecessor = predecessor_;
  r.successors = succs_;
  r.predecessors = preds_;
  r.journal_height = journal_.height();
  send(from, std::move(r));
}

void Overlay::handle(Address from, const Notify& m) {
  const NodeRef n{RingId::of_bytes(m.public_key), from};
  if (n.id == self().id || !joined_) return;
  suspects_.erase(n.id);
  // Planted bug notify_keeps_predecessor (tests only): a closer node is never adopted.
  const bool adopt = !predecessor_ || (!config().bugs.notify_keeps_predecessor &&
                                       in_open(n.id, predecessor_->id, self().id));
  if (adopt || predecessor_->id == n.id) {
    std::vector<NodeRef> list{n};
    list.insert(list.end(), m.predecessors.begin(), m.predecessors.end());
    set_predecessors(std::move(list));
    predecessor_heard_ = now();
  }
  if (succs_.empty()) succs_ = {n};  // the first peer learns its successor
}

void Overlay::check_predecessor() {
  if (!predecessor_) return;
  // A predecessor that notified us recently is alive: no ping needed.
  if (now() - predecessor_heard_ < config().check_predecessor_interval) return;
  request(PendingKind::kCheckPred, *predecessor_, Ping{}, 0, 2);
}

void Overlay::handle(Address from, const Ping& m) { send(from, Pong{m.req, preds_}); }

void Overlay::on_reply(const Pending& p, const Pong& m) {
  if (!predecessor_ || predecessor_->id != p.to.id) return;
  predecessor_heard_ = now();
  std::vector<NodeRef> list{p.to};
  list.insert(list.end(), m.predecessors.begin(), m.predecessors.end());
  set_predecessors(std::move(list));
}

void Overlay::fix_finger() {
  const auto s = successor();
  if (!s) return;
  const int low = log2_distance(self().id, s->id) + 1;  // bits below point to the successor
  std::erase_if(fingers_, [low](const auto& kv) { return kv.first < low; });
  if (next_finger_ < low || next_finger_ > 255) next_finger_ = 255;
  const int bit = next_finger_--;
  start_lookup(self().id.plus_pow2(bit),
               [this, bit](bool ok, std::vector<NodeRef> replicas, std::uint32_t) {
                 if (!ok || replicas.empty()) return;
                 if (replicas.front().id == self().id) {
                   fingers_.erase(bit);
                 } else {
                   fingers_[bit] = replicas.front();
                 }
               });
}

void Overlay::handle(Address from, const LeaveNotice& m) {
  const RingId gone = m.leaving.id;
  const bool was_pred = predecessor_ && predecessor_->id == gone;
  const auto pos = std::find_if(succs_.begin(), succs_.end(),
                                [&](const NodeRef& n) { return n.id == gone; });
  if (pos != succs_.end()) {
    std::vector<NodeRef> list(succs_.begin(), pos);
    list.insert(list.end(), m.successors.begin(), m.successors.end());
    succs_.clear();
    set_successors(std::move(list));
  }
  forget(gone);
  // It left on purpose: nothing to suspect, nor to look for later.
  suspects_.erase(gone);
  std::erase_if(lost_, [&](const auto& l) { return l.first.id == gone; });
  if (was_pred) set_predecessors(m.predecessors);
  leaver_seen(gone);  // if we are leaving too: its keys go past it
  (void)from;
}

// ---- lookups ----

void Overlay::start_lookup(const RingId& key, LookupDone done, std::optional<NodeRef> first) {
  const std::uint64_t id = next_id_++;
  Lookup& l = lookups_[id];
  l.id = id;
  l.key = key;
  l.done = std::move(done);
  if (first) {
    l.candidates.push_back(*first);
  } else if (auto answer = answer_locally(key)) {
    // Hops count overlay hops to the key's successor: none if we are it, one otherwise.
    l.hops = answer->front().id == self().id ? 0 : 1;
    lookup_finish(id, true, std::move(*answer));
    return;
  } else {
    l.candidates = closest_preceding(key, 3);
    if (l.candidates.empty()) {
      if (auto s = successor()) l.candidates.push_back(*s);
    }
  }
  lookup_step(id);
}

void Overlay::lookup_step(std::uint64_t id) {
  Lookup& l = lookups_.at(id);
  if (++l.steps > config().lookup_hops_max) return lookup_finish(id, false, {});
  while (!l.candidates.empty()) {
    const NodeRef next = l.candidates.front();
    l.candidates.erase(l.candidates.begin());
    if (next.id != RingId{} && (l.asked.count(next.id) || suspected(next.id))) continue;
    if (next.id == self().id) continue;
    l.asked.insert(next.id);
    request(PendingKind::kLookupStep, next, FindSuccessor{0, l.key}, id, 0);
    return;
  }
  lookup_finish(id, false, {});
}

void Overlay::on_reply(const Pending& p, const FindSuccessorReply& m, Address from) {
  (void)from;
  auto it = lookups_.find(p.owner);
  if (it == lookups_.end()) return;
  Lookup& l = it->second;
  if (!joined_) learn_way_in(p.to);
  ++l.hops;
  if (m.found && !m.nodes.empty()) {
    // The answering node is the key's predecessor (or the successor itself); the path
    // ends at the successor, one more hop when it is not the node that answered.
    if (m.nodes.front().addr != p.to.addr) ++l.hops;
    return lookup_finish(l.id, true, m.nodes);
  }
  std::vector<NodeRef> next = m.nodes;
  for (const NodeRef& c : l.candidates) push_unique(next, c);
  l.candidates = std::move(next);
  lookup_step(l.id);
}

void Overlay::lookup_finish(std::uint64_t id, bool ok, std::vector<NodeRef> replicas) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  Lookup l = std::move(it->second);
  lookups_.erase(it);
  if (!ok) ++peer_.counters_.lookups_failed;
  const auto r = static_cast<std::size_t>(config().replication);
  if (replicas.size() > r) replicas.resize(r);
  if (l.done) l.done(ok, std::move(replicas), l.hops);
}

void Overlay::handle(Address from, const FindSuccessor& m) {
  FindSuccessorReply r;
  r.req = m.req;
  if (auto answer = answer_locally(m.key)) {
    r.found = true;
    r.nodes = std::move(*answer);
  } else if (joined_) {
    r.nodes = closest_preceding(m.key, 3);
    if (r.nodes.empty()) {
      if (auto s = successor()) r.nodes.push_back(*s);
    }
  }
  send(from, std::move(r));
}

RingState Overlay::ring() const {
  RingState s;
  s.self = self();
  s.predecessor = predecessor_;
  s.successors = succs_;
  s.predecessors = preds_;
  for (const auto& [bit, f] : fingers_) push_unique(s.fingers, f);
  s.joined = joined_ && !left_;
  return s;
}

}  // namespace kittengrad
