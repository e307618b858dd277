// client.cc — route, then ask a replica; follow redirects; retry elsewhere on timeouts.
#include "kittengrad/client.h"

#include <algorithm>

namespace kittengrad {

Client::Client(ClientConfig config, Address self, Clock* clock, Network* network)
    : config_(config),
      limits_(message_limits(std::clamp(config.max_datagram_bytes, kMaxDatagramBytesMin,
                                        kMaxDatagramBytesMax) -
                             kTransportOverheadBytes)),
      self_(self),
      clock_(clock),
      network_(network) {}

Client::Op& Client::new_op(OpKind kind, const std::string& ns, const RingId& key,
                          Address gateway) {
  const std::uint64_t id = next_id_++;
  Op& op = ops_[id];
  op.result.op = id;
  op.result.kind = kind;
  op.result.ns = ns;
  op.key = key;
  op.gateway = gateway;
  return op;
}

std::uint64_t Client::write(const std::string& ns, std::vector<Entry> entries, Address gateway) {
  Op& op = new_op(OpKind::kWrite, ns, entries.empty() ? RingId{} : entries.front().key(), gateway);
  op.entries = std::move(entries);
  const std::uint64_t id = op.result.op;
  start(op);  // may finish (and erase) the op at once
  return id;
}

std::uint64_t Client::lookup(const std::string& ns, const Cid& canonical, Address gateway) {
  Op& op = new_op(OpKind::kLookup, ns, canonical.ring_key(), gateway);
  op.canonical = canonical;
  const std::uint64_t id = op.result.op;
  start(op);  // may finish (and erase) the op at once
  return id;
}

std::uint64_t Client::route(const std::string& ns, const RingId& key, Address gateway) {
  Op& op = new_op(OpKind::kRoute, ns, key, gateway);
  const std::uint64_t id = op.result.op;
  start(op);  // may finish (and erase) the op at once
  return id;
}

void Client::start(Op& op) {
  op.result.issued = clock_->now();
  if (ops_.size() > config_.ops_max) {
    return finish(op.result.op, ErrorCode::kOverloaded,
                  "too many operations in flight at this client (ops_max)");
  }
  if (op.result.kind == OpKind::kWrite && op.entries.empty()) {
    return finish(op.result.op, ErrorCode::kBadRequest, "a write needs at least one entry");
  }
  if (op.result.kind != OpKind::kRoute && config_.route_first) {
    if (const Arc* arc = cached_route(op.result.ns, op.key)) {
      op.result.replicas = arc->replicas;
      op.targets = arc->replicas;
      op.target_index = 0;
      return send_op(op);
    }
  }
  if (op.result.kind == OpKind::kRoute || config_.route_first) {
    op.routing = true;
    op.req = next_id_++;
    req_to_op_[op.req] = op.result.op;
    network_->send(op.gateway, Message{op.result.ns, RouteRequest{op.req, op.key}});
    arm(op);
    return;
  }
  op.targets = {NodeRef{RingId{}, op.gateway}};
  send_op(op);
}

void Client::arm(Op& op) { op.deadline = clock_->now() + config_.request_timeout; }

void Client::send_op(Op& op) {
  if (op.page_attempts >= config_.attempts_max || op.target_index >= op.targets.size()) {
    op.result.indeterminate = op.maybe_applied && op.result.kind == OpKind::kWrite;
    return finish(op.result.op, ErrorCode::kTimeout, "no replica answered after every attempt");
  }
  ++op.page_attempts;
  ++op.result.attempts;
  req_to_op_.erase(op.req);  // a lookup's window may still have had pages on the way
  op.req = next_id_++;
  req_to_op_[op.req] = op.result.op;
  const Address to = op.targets[op.target_index].addr;
  if (op.result.kind == OpKind::kWrite) {
    op.maybe_applied = true;
    op.page_size = std::min(limits_.entries, op.entries.size() - op.acked);
    const auto first = op.entries.begin() + static_cast<std::ptrdiff_t>(op.acked);
    std::vector<Entry> page(first, first + static_cast<std::ptrdiff_t>(op.page_size));
    network_->send(to, Message{op.result.ns, WriteRequest{op.req, std::move(page)}});
  } else {
    op.window_next = 0;
    op.window_pages = 0;
    op.window_new = false;
    op.window_early.clear();
    network_->send(to, Message{op.result.ns, ReadRequest{op.req, op.canonical, op.after,
                                                         std::max(config_.read_window, 1u)}});
  }
  arm(op);
}

void Client::write_page_done(Op& op) {
  op.page_attempts = 0;
  op.acked += op.page_size;
  if (op.acked < op.entries.size()) return send_op(op);
  finish(op.result.op, ErrorCode::kOk, "");
}

void Client::lookup_page(Op& op, ClientReply reply) {
  // Pages of one window share the request id and may come in any order, or twice. Only
  // pages inside the window the replica announced are kept, so the buffer is bounded by
  // read_window.
  const std::uint32_t pages = reply.pages;
  if (pages == 0 || pages > std::max(config_.read_window, 1u) || reply.page >= pages ||
      reply.page < op.window_next || (op.window_pages != 0 && pages != op.window_pages)) {
    return;
  }
  op.window_pages = pages;
  op.window_early.emplace(reply.page, std::move(reply));
  for (auto it = op.window_early.find(op.window_next); it != op.window_early.end();
       it = op.window_early.find(op.window_next)) {
    const ClientReply page = std::move(it->second);
    op.window_early.erase(it);
    ++op.window_next;
    if (!take_lookup_page(op, page)) return;
    if (op.window_next < op.window_pages) {
      arm(op);  // progress: the rest of the window gets a fresh deadline
      continue;
    }
    if (op.window_new) {
      op.page_attempts = 0;
    } else if (++op.target_index >= op.targets.size()) {  // "more", yet nothing new: ask
      op.target_index = 0;                                 // another replica
    }
    return send_op(op);
  }
}

bool Client::take_lookup_page(Op& op, const ClientReply& page) {
  // Keep only entries after the cursor, in order (a page that goes backwards or repeats
  // is not believed).
  for (const Entry& e : page.entries) {
    if (op.after && !entry_order_less(*op.after, e)) continue;
    op.result.entries.push_back(e);
    op.after = e;
    op.window_new = true;
  }
  if (op.result.entries.size() > config_.lookup_entries_max) {
    finish(op.result.op, ErrorCode::kOverloaded,
           "the canonical's set exceeds this client's lookup_entries_max");
    return false;
  }
  if (!page.more) {
    finish(op.result.op, ErrorCode::kOk, "");
    return false;
  }
  return true;
}

void Client::on_datagram(Address from, const Message& m) {
  (void)from;
  const auto* reply = std::get_if<ClientReply>(&m.body);
  if (reply == nullptr) return;
  auto r = req_to_op_.find(reply->req);
  if (r == req_to_op_.end()) return;  // late or duplicated: the op moved on
  const std::uint64_t id = r->second;
  auto it = ops_.find(id);
  if (it == ops_.end() || it->second.req != reply->req) {
    req_to_op_.erase(r);
    return;
  }
  Op& op = it->second;
  // A busy gateway: ask it again when the request's deadline comes (on_wakeup). The
  // request stays open: the answer of another copy of it still counts.
  if (op.routing && reply->error == ErrorCode::kOverloaded) return;
  // A lookup window's pages share the request id: it stays open until send_op moves on.
  if (!op.routing && op.result.kind == OpKind::kLookup && reply->error == ErrorCode::kOk) {
    return lookup_page(op, *reply);
  }
  req_to_op_.erase(r);
  if (op.routing) {
    op.routing = false;
    op.result.hops = reply->hops;
    if (reply->error != ErrorCode::kOk || reply->redirect.empty()) {
      return finish(id, reply->error == ErrorCode::kOk ? ErrorCode::kTimeout : reply->error,
                    reply->detail);
    }
    op.result.replicas = reply->redirect;
    remember_route(op.result.ns, op.key, reply->redirect);
    if (op.result.kind == OpKind::kRoute) return finish(id, ErrorCode::kOk, "");
    op.targets = reply->redirect;
    op.target_index = 0;
    return send_op(op);
  }
  switch (reply->error) {
    case ErrorCode::kOk:
      return write_page_done(op);
    case ErrorCode::kWrongPeer:
      forget_route(op.result.ns, op.key);
      op.result.replicas = reply->redirect;
      if (!reply->redirect.empty()) {
        op.targets = reply->redirect;
        op.target_index = 0;
      } else {
        ++op.target_index;
      }
      return send_op(op);
    case ErrorCode::kQuorumFailed:
    case ErrorCode::kOverloaded:
    case ErrorCode::kLeaving:
    case ErrorCode::kTimeout:
      ++op.target_index;
      if (op.target_index >= op.targets.size()) op.target_index = 0;
      return send_op(op);
    default:  // bad_signature, bad_request, unknown_namespace: retrying cannot help
      op.result.index_hint = reply->index;
      return finish(id, reply->error, reply->detail);
  }
}

void Client::on_wakeup() {
  const Time t = clock_->now();
  std::vector<std::uint64_t> due;
  for (const auto& [id, op] : ops_)
    if (op.deadline <= t) due.push_back(id);
  for (std::uint64_t id : due) {
    auto it = ops_.find(id);
    if (it == ops_.end()) continue;
    Op& op = it->second;
    if (op.routing) {
      if (++op.route_attempts >= config_.route_attempts_max) {
        finish(id, ErrorCode::kTimeout, "the gateway did not answer route()");
        continue;
      }
      // Resent under the same request id. A route is a lookup of several hops at the
      // gateway and may well take longer than one request_timeout on a large ring with
      // slow links: a late answer to the first copy is as good as an answer to this one.
      // With a new id each resend would throw away the lookup already under way and wait
      // for a new one that takes as long again.
      network_->send(op.gateway, Message{op.result.ns, RouteRequest{op.req, op.key}});
      arm(op);
      continue;
    }
    req_to_op_.erase(op.req);
    forget_route(op.result.ns, op.key);  // a remembered replica that does not answer
    if (op.result.kind == OpKind::kLookup && op.window_new) {
      // Part of the window came (a page of it was lost): the replica is alive and the
      // cursor moved, so ask it again from there; this counts as progress, not a failure.
      op.page_attempts = 0;
    } else if (++op.target_index >= op.targets.size()) {
      op.target_index = 0;
    }
    send_op(op);
  }
}

std::optional<Time> Client::next_wakeup() const {
  std::optional<Time> t;
  for (const auto& [id, op] : ops_) t = t ? std::min(*t, op.deadline) : op.deadline;
  return t;
}

const Client::Arc* Client::cached_route(const std::string& ns, const RingId& key) const {
  if (config_.route_cache_max == 0) return nullptr;
  auto it = routes_.lower_bound({ns, key});  // the first arc ending at or after key
  if (it == routes_.end() || it->first.first != ns || key < it->second.from) return nullptr;
  return &it->second;
}

void Client::remember_route(const std::string& ns, const RingId& key,
                            const std::vector<NodeRef>& replicas) {
  if (config_.route_cache_max == 0 || replicas.empty()) return;
  const RingId& first = replicas.front().id;
  if (first < key) return;  // the arc wraps past zero: not worth the bookkeeping
  auto it = routes_.find({ns, first});
  if (it != routes_.end() && it->second.replicas == replicas) {
    if (key < it->second.from) it->second.from = key;  // the same arc, longer
    return;
  }
  if (it == routes_.end() && routes_.size() >= config_.route_cache_max) routes_.erase(routes_.begin());
  routes_[{ns, first}] = Arc{key, replicas};
}

void Client::forget_route(const std::string& ns, const RingId& key) {
  if (config_.route_cache_max == 0) return;
  auto it = routes_.lower_bound({ns, key});
  if (it != routes_.end() && it->first.first == ns && !(key < it->second.from)) routes_.erase(it);
}

void Client::finish(std::uint64_t id, ErrorCode code, std::string detail) {
  auto it = ops_.find(id);
  if (it == ops_.end()) return;
  OpResult result = std::move(it->second.result);
  req_to_op_.erase(it->second.req);
  ops_.erase(it);
  result.error = code;
  result.detail = std::move(detail);
  result.done = clock_->now();
  completed_.push_back(std::move(result));
}

std::vector<OpResult> Client::take_completed() {
  std::vector<OpResult> out;
  out.swap(completed_);
  return out;
}

}  // namespace kittengrad
