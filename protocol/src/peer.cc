// peer.cc — a Peer is a set of per-namespace overlays behind one identity and address.
#include "kittengrad/peer.h"

#include <algorithm>
#include <limits>

#include "overlay.h"
#include "wire_util.h"

namespace kittengrad {

namespace {

using detail::Overloaded;

// The request id of a message a client or peer sent, for its refusal.
std::uint64_t request_id(const Body& body) {
  return std::visit(
      [](const auto& m) -> std::uint64_t {
        if constexpr (requires { m.req; }) return m.req;
        else if constexpr (requires { m.session; }) return m.session;
        else if constexpr (requires { m.sub; }) return m.sub;
        else return 0;
      },
      body);
}

bool is_client_request(const Body& body) {
  return std::holds_alternative<WriteRequest>(body) || std::holds_alternative<ReadRequest>(body) ||
         std::holds_alternative<RouteRequest>(body);
}

bool is_request(const Body& body) {
  return std::visit(Overloaded{[](const FindSuccessor&) { return true; },
                               [](const GetNeighbours&) { return true; },
                               [](const Ping&) { return true; },
                               [](const Replicate&) { return true; },
                               [](const ReadReplica&) { return true; },
                               [](const AeDigest&) { return true; },
                               [](const AeMore&) { return true; },
                               [](const AeExchange&) { return true; },
                               [](const RangePull&) { return true; },
                               [](const CatchUp&) { return true; },
                               [](const Subscribe&) { return true; },
                               [](const auto&) { return false; }},
                    body);
}

}  // namespace

Peer::Peer(PeerConfig config, KeyPair keys, Address self, Env env, std::uint64_t seed)
    : config_(config), keys_(keys), self_{keys.ring_id(), self}, env_(env), seed_(seed) {
  config_.successors = std::max(config_.successors, config_.replication);
  config_.write_quorum = std::clamp(config_.write_quorum, 1, config_.replication);
  config_.read_quorum = std::clamp(config_.read_quorum, 1, config_.replication);
}

Peer::~Peer() = default;

void Peer::serve(const std::string& ns) {
  if (overlays_.count(ns)) return;
  const std::uint64_t seed = seed_ ^ std::hash<std::string>{}(ns) * 0x9e3779b97f4a7c15ULL;
  overlays_[ns] = std::make_unique<Overlay>(*this, ns, seed);
}

Overlay* Peer::overlay(const std::string& ns) {
  auto it = overlays_.find(ns);
  return it == overlays_.end() ? nullptr : it->second.get();
}

bool Peer::serves(const std::string& ns) const { return overlays_.count(ns) > 0; }

Result<bool> Peer::restore(const std::vector<StorageRecord>& records) {
  std::map<std::string, std::vector<const StorageRecord*>> by_ns;
  for (const StorageRecord& r : records) {
    if (serves(r.ns)) by_ns[r.ns].push_back(&r);
  }
  for (auto& [ns, list] : by_ns) {
    Result<bool> ok = overlays_.at(ns)->restore(list);
    if (!ok) return Error{ok.error().code, "namespace " + ns + ": " + ok.error().detail};
  }
  return true;
}

void Peer::create_ring(const std::string& ns) {
  if (Overlay* o = overlay(ns)) o->create_ring();
}
void Peer::join(const std::string& ns, Address bootstrap) {
  if (Overlay* o = overlay(ns)) o->join(bootstrap);
}
void Peer::start_instant(const std::string& ns, const std::vector<NodeRef>& members) {
  if (Overlay* o = overlay(ns)) o->start_instant(members);
}

void Peer::leave() {
  for (auto& [ns, o] : overlays_) o->leave();
  left_ = std::all_of(overlays_.begin(), overlays_.end(),
                      [](const auto& kv) { return kv.second->left(); });
}

void Peer::anti_entropy_now() {
  for (auto& [ns, o] : overlays_) o->anti_entropy_now();
}

void Peer::refuse(Address to, const std::string& ns, std::uint64_t req, ErrorCode code) {
  env_.network->send(to, Message{ns, Refused{req, code}});
}

void Peer::on_datagram(Address from, const Message& m) {
  if (left_) return;
  Overlay* o = overlay(m.ns);
  if (o == nullptr) {
    ++counters_.unknown_namespace;
    if (is_client_request(m.body)) {
      ClientReply r;
      r.req = request_id(m.body);
      r.error = ErrorCode::kUnknownNamespace;
      r.detail = "this peer does not serve namespace '" + m.ns.substr(0, kNamespaceBytesMax) + "'";
      env_.network->send(from, Message{m.ns, std::move(r)});
    } else if (is_request(m.body)) {
      refuse(from, m.ns, request_id(m.body), ErrorCode::kUnknownNamespace);
    }
    return;
  }
  o->on_message(from, m.body);
  if (!left_ && !overlays_.empty()) {
    left_ = std::all_of(overlays_.begin(), overlays_.end(),
                        [](const auto& kv) { return kv.second->left(); });
  }
}

void Peer::on_persisted(std::uint64_t token) {
  auto it = token_owner_.find(token);
  if (it == token_owner_.end()) return;
  Overlay* o = it->second;
  token_owner_.erase(it);
  o->on_persisted(token);
  left_ = left_ || std::all_of(overlays_.begin(), overlays_.end(),
                               [](const auto& kv) { return kv.second->left(); });
}

void Peer::on_wakeup() {
  if (left_) return;
  for (auto& [ns, o] : overlays_) o->on_wakeup();
}

std::optional<Time> Peer::next_wakeup() const {
  if (left_) return std::nullopt;
  std::optional<Time> t;
  for (const auto& [ns, o] : overlays_) {
    if (auto w = o->next_wakeup()) t = t ? std::min(*t, *w) : *w;
  }
  return t;
}

const Store* Peer::store(const std::string& ns) const {
  auto it = overlays_.find(ns);
  return it == overlays_.end() ? nullptr : &it->second->store();
}

SyncStateSizes Peer::sync_state(const std::string& ns) const {
  auto it = overlays_.find(ns);
  return it == overlays_.end() ? SyncStateSizes{} : it->second->sync_state();
}

const Journal* Peer::journal(const std::string& ns) const {
  auto it = overlays_.find(ns);
  return it == overlays_.end() ? nullptr : &it->second->journal();
}

RingState Peer::ring(const std::string& ns) const {
  auto it = overlays_.find(ns);
  if (it == overlays_.end()) return RingState{self_, {}, {}, {}, {}, false};
  return it->second->ring();
}

bool Peer::joined(const std::string& ns) const {
  auto it = overlays_.find(ns);
  return it != overlays_.end() && it->second->is_joined();
}

bool Peer::is_replica(const std::string& ns, const RingId& key) const {
  auto it = overlays_.find(ns);
  return it != overlays_.end() && it->second->is_replica(key);
}

}  // namespace kittengrad
