// overlay_leave.cc — graceful leave: every key held goes to the peers that become its
// replicas, then a LeaveNotice tells every peer whose lists name the leaver.
//
// Neighbours may leave at the same instant, and a leaver's lists may still name a peer
// that left a moment ago, so the hand-off is planned per key, and planned again whenever
// the set of peers known to be leaving (`leavers_`, self first) grows:
//   pre:  the key's r successors in the window as leave() found it (they hold the key);
//   post: the key's r successors in the current window, passing over the leavers.
// Entries go to the members of post that are not in pre; the members of both get an
// empty Replicate, a probe. A leaving peer answers every Replicate with kLeaving (after
// storing what it carried, which it hands on in its turn); a target that answers so, or
// never answers, joins the leavers, and the next round sends its keys one peer further.
// A key held without this peer among its replicas in pre (a hand-off that came from a
// neighbour whose lists were stale) goes to every member of post.
//
// Of neighbours leaving together, the last to begin finds the others leaving or gone (its
// probes are refused or time out, or their LeaveNotices came): its plan names the final
// replicas. The others' plans, made knowing fewer leavers, only add copies on peers of
// post or on leavers, so the union of the pushes leaves every key on its new replicas.
#include <algorithm>

#include "overlay.h"

namespace kittengrad {

namespace {

// Pages of one hand-off target answered `overloaded` and sent again, at most.
constexpr std::size_t kHandoffOverloadedMax = 1024;

bool holds(const std::vector<NodeRef>& list, const RingId& id) {
  return std::any_of(list.begin(), list.end(), [&](const NodeRef& n) { return n.id == id; });
}

// A window (clockwise: predecessors, self, successors) as a list of distinct peers. A
// window whose lists overlap covers the whole ring and is read as a cycle.
struct Circle {
  std::vector<NodeRef> peers;
  bool cycle = false;
};

Circle circle_of(const std::vector<NodeRef>& window) {
  Circle c;
  for (const NodeRef& n : window)
    if (!holds(c.peers, n.id)) c.peers.push_back(n);
  c.cycle = c.peers.size() < window.size();
  return c;
}

// The first r peers from key's successor on, passing over `skip`. Nullopt when the
// window does not reach key; fewer than r when it ends first.
std::optional<std::vector<NodeRef>> successors_in(const Circle& c, const RingId& key,
                                                  std::size_t r, const std::set<RingId>& skip) {
  const std::vector<NodeRef>& ring = c.peers;
  const std::size_t n = ring.size();
  for (std::size_t j = c.cycle ? 0 : 1; j < n; ++j) {
    if (n > 1 && !in_half_open(key, ring[(j + n - 1) % n].id, ring[j].id)) continue;
    std::vector<NodeRef> out;
    const std::size_t end = c.cycle ? j + n : n;
    for (std::size_t k = j; k < end && out.size() < r; ++k) {
      if (skip.count(ring[k % n].id) == 0) out.push_back(ring[k % n]);
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace

void Overlay::leave() {
  if (!joined_ || leaving_ || left_) {
    left_ = true;
    return;
  }
  leaving_ = true;
  leave_window_ = window();
  leavers_.insert(self().id);
  handoff_step();
}

void Overlay::handoff_step() {
  if (left_) return;
  handoff_round();
  if (handoffs_.empty()) finish_leave();
}

void Overlay::handoff_round() {
  const auto r = static_cast<std::size_t>(config().replication);
  const Circle before = circle_of(leave_window_);
  const Circle current = circle_of(window());
  const std::set<RingId> none;
  std::map<RingId, std::pair<NodeRef, std::vector<Entry>>> sends;
  std::map<RingId, NodeRef> probes;
  store_.for_each([&](const RingId& key, const KeySlot& slot) {
    const auto pre = successors_in(before, key, r, none);
    const auto post = successors_in(current, key, r, leavers_);
    if (!pre || !post) return;  // beyond the window: not ours to place (GC's job)
    const bool ours = holds(*pre, self().id);
    // Planted bug (tests only): the range this peer is the first replica of stays behind.
    if (ours && pre->front().id == self().id && config().bugs.handoff_drops_range) return;
    for (const NodeRef& t : *post) {
      if (ours && holds(*pre, t.id)) {
        if (probed_.count(t.id) == 0) probes.emplace(t.id, t);
        continue;
      }
      if (!handed_.insert({t.id, key}).second) continue;
      auto& [target, entries] = sends[t.id];
      target = t;
      for (const StoredEntry& e : slot.entries) entries.push_back(e.entry);
    }
  });
  // Entries sent are an answer to the probe as well.
  for (auto& [id, send] : sends) {
    probed_.insert(id);
    probes.erase(id);
    handoff_send(send.first, std::move(send.second));
  }
  for (const auto& [id, target] : probes) {
    probed_.insert(id);
    handoff_send(target, {});
  }
}

void Overlay::handoff_send(const NodeRef& target, std::vector<Entry> entries) {
  const std::uint64_t id = next_id_++;
  HandoffOp& op = handoffs_[id];
  op.id = id;
  op.target = target;
  op.entries = std::move(entries);
  handoff_pump(op);
}

// Pages go out a window at a time: a range of 100,000 keys sent at once would fill the
// target's storage queue (it answers `overloaded`) and, on a real link, its socket buffer.
void Overlay::handoff_pump(HandoffOp& op) {
  const std::size_t window = std::max<std::size_t>(config().transfer_window, 1);
  const std::size_t page = std::max<std::size_t>(
      1, std::min(config().message_entries_max, limits_.entries));
  while (op.waiting < window) {
    Replicate r;
    if (!op.again.empty()) {
      r.entries = std::move(op.again.back());
      op.again.pop_back();
    } else if (op.next < op.entries.size()) {
      const std::size_t end = std::min(op.entries.size(), op.next + page);
      r.entries.assign(op.entries.begin() + static_cast<std::ptrdiff_t>(op.next),
                       op.entries.begin() + static_cast<std::ptrdiff_t>(end));
      op.next = end;
    } else if (op.entries.empty() && !op.probe_sent) {
      op.probe_sent = true;  // the empty Replicate: a probe
    } else {
      break;
    }
    ++op.waiting;
    request(PendingKind::kHandoff, op.target, std::move(r), op.id, config().request_retries);
  }
}

void Overlay::on_handoff_reply(std::uint64_t id, ErrorCode code, const Pending& page) {
  auto it = handoffs_.find(id);
  if (it == handoffs_.end()) return;
  HandoffOp& op = it->second;
  count_down(op.waiting);
  if (code == ErrorCode::kLeaving || code == ErrorCode::kTimeout) {
    op.target_leaving = true;
  } else if (code == ErrorCode::kOverloaded && !op.target_leaving) {
    // Its storage queue is full: the page goes again once the window has room. A target
    // that stays full past the bound keeps the rest for anti-entropy, as any push does.
    const auto* r = std::get_if<Replicate>(&page.message.body);
    if (r != nullptr && !r->entries.empty() && ++op.overloaded <= kHandoffOverloadedMax)
      op.again.push_back(r->entries);
  }
  // Other refusals (a bad signature) are left to anti-entropy, as for any push.
  if (!op.target_leaving) handoff_pump(op);
  if (op.waiting > 0) return;
  const RingId target = op.target.id;
  const bool leaving = op.target_leaving;
  handoffs_.erase(it);
  if (leaving) return leaver_seen(target);
  if (handoffs_.empty()) finish_leave();
}

void Overlay::leaver_seen(const RingId& id) {
  if (!leaving_ || left_) return;
  leavers_.insert(id);
  handoff_step();
}

void Overlay::finish_leave() {
  if (left_) return;
  // The lists handed on name no peer known to be leaving.
  auto staying = [this](std::vector<NodeRef> list) {
    std::erase_if(list, [this](const NodeRef& n) { return leavers_.count(n.id) > 0; });
    return list;
  };
  const LeaveNotice notice{self(), staying(succs_), staying(preds_)};
  // Every peer whose lists may name us hears it, so none hands anything to us later.
  std::set<RingId> told;
  for (const NodeRef& n : window()) {
    if (n.id != self().id && told.insert(n.id).second) send(n.addr, notice);
  }
  left_ = true;
  joined_ = false;
  pending_.clear();
  deadlines_.clear();
}

}  // namespace kittengrad
