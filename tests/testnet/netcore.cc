// netcore.cc — the discrete-event engine of the test network (see netcore.h).
#include "netcore.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <deque>
#include <iomanip>
#include <sstream>

namespace kittengrad::testnet {

namespace {

enum class EventKind : std::uint8_t { kDeliver, kPersisted, kWakeup, kAction };

// A node asking to be woken at the instant it was just woken, this many times in a row,
// is stuck in a loop; the engine pushes it forward and reports it instead of hanging.
constexpr int kSpinsMax = 10000;
constexpr Time kSpinPush = kMicrosPerMs;

}  // namespace

struct NetCore::Event {
  Time at = 0;
  std::uint64_t seq = 0;
  EventKind kind = EventKind::kAction;
  Address to = 0;
  Address from = 0;
  std::uint64_t incarnation = 0;
  std::uint64_t token = 0;
  std::shared_ptr<const Message> msg;  // shared by the copies of a duplicated datagram
  std::size_t msg_kind = 0;
  std::size_t msg_bytes = 0;
  std::function<void()> action;
};

namespace {

// Heap order: the earliest (at, seq) on top.
bool later(const auto& a, const auto& b) { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }

}  // namespace

class NetCore::NodeClock final : public Clock {
 public:
  NodeClock(NetCore& core, std::int64_t skew_ms) : core_(core), skew_ms_(skew_ms) {}
  Time now() const override { return core_.now_; }
  std::int64_t wall_ms() const override { return core_.now_ / kMicrosPerMs + skew_ms_; }

 private:
  NetCore& core_;
  std::int64_t skew_ms_;
};

class NetCore::NodeNetwork final : public Network {
 public:
  NodeNetwork(NetCore& core, Address self) : core_(core), self_(self) {}
  void send(Address to, Message msg) override { core_.send(self_, to, std::move(msg)); }

 private:
  NetCore& core_;
  Address self_;
};

class NetCore::NodeStorage final : public Storage {
 public:
  NodeStorage(NetCore& core, Address self) : core_(core), self_(self) {}
  void persist(std::vector<StorageRecord> records, std::uint64_t token) override {
    core_.persist(self_, std::move(records), token);
  }

 private:
  NetCore& core_;
  Address self_;
};

struct NetCore::Node {
  struct Write {
    std::vector<StorageRecord> records;
    std::uint64_t token = 0;
  };

  Address addr = 0;
  bool is_client = false;
  Endpoint* endpoint = nullptr;  // null while down
  std::uint64_t incarnation = 0;
  int group = 0;
  std::int64_t skew_ms = 0;
  Time wakeup_at = kNever;  // the wakeup event that counts; others are stale
  Time spin_at = -1;
  int spins = 0;
  std::vector<StorageRecord> durable;
  std::deque<Write> writing;  // persist() calls not yet durable, in call order
  Time disk_busy_until = 0;   // the last scheduled completion: completions stay in order
  std::unique_ptr<NodeClock> clock;
  std::unique_ptr<NodeNetwork> network;
  std::unique_ptr<NodeStorage> storage;
};

NetCore::NetCore(NetConfig config)
    : config_(std::move(config)),
      latency_rng_(Rng::derive(config_.seed, "latency")),
      loss_rng_(Rng::derive(config_.seed, "loss")),
      duplicate_rng_(Rng::derive(config_.seed, "duplicate")),
      storage_rng_(Rng::derive(config_.seed, "storage")),
      skew_rng_(Rng::derive(config_.seed, "clock-skew")),
      crash_rng_(Rng::derive(config_.seed, "crash")) {}

NetCore::~NetCore() = default;

Address NetCore::add_peer_node() {
  auto n = std::make_unique<Node>();
  n->addr = peers_.size();
  if (config_.clock_skew_ms_max > 0) {
    n->skew_ms = skew_rng_.range(-config_.clock_skew_ms_max, config_.clock_skew_ms_max);
  }
  n->clock = std::make_unique<NodeClock>(*this, n->skew_ms);
  n->network = std::make_unique<NodeNetwork>(*this, n->addr);
  n->storage = std::make_unique<NodeStorage>(*this, n->addr);
  peers_.push_back(std::move(n));
  return peers_.back()->addr;
}

Address NetCore::add_client_node() {
  auto n = std::make_unique<Node>();
  n->addr = kClientBase + clients_.size();
  n->is_client = true;
  n->clock = std::make_unique<NodeClock>(*this, 0);
  n->network = std::make_unique<NodeNetwork>(*this, n->addr);
  n->storage = std::make_unique<NodeStorage>(*this, n->addr);
  clients_.push_back(std::move(n));
  return clients_.back()->addr;
}

const NetCore::Node* NetCore::find(Address a) const {
  if (a >= kClientBase) {
    const Address i = a - kClientBase;
    return i < clients_.size() ? clients_[i].get() : nullptr;
  }
  return a < peers_.size() ? peers_[a].get() : nullptr;
}

NetCore::Node& NetCore::node(Address a) {
  const Node* n = find(a);
  assert(n != nullptr && "no node at this address");
  return *const_cast<Node*>(n);
}

Env NetCore::node_env(Address a) {
  Node& n = node(a);
  return Env{n.clock.get(), n.network.get(), n.is_client ? nullptr : n.storage.get()};
}

void NetCore::attach(Address a, Endpoint* endpoint) {
  Node& n = node(a);
  n.endpoint = endpoint;
  ++n.incarnation;  // whatever was scheduled for an earlier life is void
  n.wakeup_at = kNever;
  n.spins = 0;
}

void NetCore::crash(Address a, bool disk_lost) {
  Node& n = node(a);
  n.endpoint = nullptr;
  n.wakeup_at = kNever;
  // Writes in flight may or may not have reached the disk; a prefix of them survives.
  for (Node::Write& w : n.writing) {
    if (disk_lost || !crash_rng_.chance(config_.crash_keeps_unsynced)) break;
    for (StorageRecord& r : w.records) {
      if (durable_hook_) durable_hook_(a, r);
      n.durable.push_back(std::move(r));
    }
  }
  n.writing.clear();
  n.disk_busy_until = now_;
  if (disk_lost) n.durable.clear();
}

void NetCore::retire(Address a) {
  Node& n = node(a);
  n.endpoint = nullptr;
  n.wakeup_at = kNever;
}

bool NetCore::is_up(Address a) const {
  const Node* n = find(a);
  return n != nullptr && n->endpoint != nullptr;
}

std::uint64_t NetCore::incarnation(Address a) const {
  const Node* n = find(a);
  return n == nullptr ? 0 : n->incarnation;
}

const std::vector<StorageRecord>& NetCore::durable(Address a) const {
  static const std::vector<StorageRecord> kNone;
  const Node* n = find(a);
  return n == nullptr ? kNone : n->durable;
}

std::int64_t NetCore::clock_skew_ms(Address a) const {
  const Node* n = find(a);
  return n == nullptr ? 0 : n->skew_ms;
}

void NetCore::kick(Address a) {
  Node& n = node(a);
  after_input(n);
  if (hook_) hook_(a);
}

void NetCore::partition(const std::vector<std::vector<Address>>& groups) {
  for (auto& n : peers_) n->group = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (Address a : groups[g]) {
      if (a < peers_.size()) peers_[a]->group = static_cast<int>(g) + 1;
    }
  }
}

void NetCore::heal() {
  for (auto& n : peers_) n->group = 0;
}

bool NetCore::partitioned(const Node& from, const Node& to) const {
  return !from.is_client && !to.is_client && from.group != to.group;
}

Time NetCore::sample_latency() {
  if (config_.latency_model == LatencyModel::kUniform) {
    return latency_rng_.range(config_.latency_min, config_.latency_max);
  }
  // Lognormal around the median; clamped so that one unlucky draw cannot stall a run.
  const double x = static_cast<double>(config_.latency_median) *
                   std::exp(config_.latency_sigma * latency_rng_.normal());
  const double lo = static_cast<double>(std::max<Time>(config_.latency_min, 1));
  const double hi = static_cast<double>(std::max(config_.latency_max, config_.latency_min));
  return static_cast<Time>(std::clamp(x, lo, hi));
}

Time NetCore::sample_storage_latency() {
  return storage_rng_.range(config_.storage_latency_min, config_.storage_latency_max);
}

void NetCore::send(Address from, Address to, Message msg) {
  if (tamper_) tamper_(from, to, msg);
  Event e;
  e.kind = EventKind::kDeliver;
  e.from = from;
  e.to = to;
  e.msg_kind = message_kind_index(msg.body);
  e.msg_bytes = wire_size(msg);
  metrics_.sent_messages[e.msg_kind] += 1;
  metrics_.sent_bytes[e.msg_kind] += e.msg_bytes;
  metrics_.messages_total += 1;
  metrics_.bytes_total += e.msg_bytes;

  const Node* dst = find(to);
  if (dst == nullptr) {
    ++metrics_.dropped_dead;
    return;
  }
  if (partitioned(node(from), *dst)) {
    ++metrics_.dropped_partition;
    return;
  }
  if (loss_rng_.chance(config_.loss)) {
    ++metrics_.dropped_loss;
    return;
  }
  e.msg = std::make_shared<const Message>(std::move(msg));
  const bool twice = duplicate_rng_.chance(config_.duplicate);
  // Each copy draws its own latency: independent delays are what reorders datagrams.
  if (twice) {
    ++metrics_.duplicated;
    Event copy = e;
    copy.at = now_ + sample_latency();
    schedule(std::move(copy));
  }
  e.at = now_ + sample_latency();
  schedule(std::move(e));
}

void NetCore::persist(Address from, std::vector<StorageRecord> records, std::uint64_t token) {
  Node& n = node(from);
  ++metrics_.persists;
  metrics_.records_persisted += records.size();
  n.disk_busy_until = std::max(now_ + sample_storage_latency(), n.disk_busy_until);
  n.writing.push_back(Node::Write{std::move(records), token});
  Event e;
  e.kind = EventKind::kPersisted;
  e.at = n.disk_busy_until;
  e.to = from;
  e.from = from;
  e.incarnation = n.incarnation;
  e.token = token;
  schedule(std::move(e));
}

void NetCore::at(Time at, std::function<void()> action) {
  Event e;
  e.kind = EventKind::kAction;
  e.at = std::max(at, now_);
  e.action = std::move(action);
  schedule(std::move(e));
}

void NetCore::schedule(Event e) {
  e.seq = next_seq_++;
  queue_.push_back(std::move(e));
  std::push_heap(queue_.begin(), queue_.end(),
                 [](const Event& a, const Event& b) { return later(a, b); });
}

bool NetCore::step() {
  if (queue_.empty()) return false;
  std::pop_heap(queue_.begin(), queue_.end(),
                [](const Event& a, const Event& b) { return later(a, b); });
  Event e = std::move(queue_.back());
  queue_.pop_back();
  assert(e.at >= now_ && "time went back");
  now_ = e.at;
  run_event(e);
  return true;
}

std::size_t NetCore::queued() const { return queue_.size(); }

void NetCore::run_until(Time until) {
  while (!queue_.empty() && queue_.front().at <= until) step();
  now_ = std::max(now_, until);
}

void NetCore::run_event(Event& e) {
  ++metrics_.events;
  switch (e.kind) {
    case EventKind::kDeliver:
      deliver(e);
      break;
    case EventKind::kPersisted:
      complete_persist(e);
      break;
    case EventKind::kWakeup:
      wake(e);
      break;
    case EventKind::kAction:
      record(e);
      e.action();
      break;
  }
}

void NetCore::deliver(Event& e) {
  Node& n = node(e.to);
  if (n.endpoint == nullptr) {
    ++metrics_.dropped_dead;
    return;
  }
  ++metrics_.delivered;
  record(e);
  n.endpoint->on_datagram(e.from, *e.msg);
  after_input(n);
  if (hook_) hook_(n.addr);
}

void NetCore::complete_persist(Event& e) {
  Node& n = node(e.to);
  if (e.incarnation != n.incarnation || n.writing.empty()) return;  // torn by a crash
  assert(n.writing.front().token == e.token && "storage completions out of order");
  for (StorageRecord& r : n.writing.front().records) {
    if (durable_hook_) durable_hook_(n.addr, r);
    n.durable.push_back(std::move(r));
  }
  n.writing.pop_front();
  record(e);
  if (n.endpoint == nullptr) return;  // retired: the disk finishes, nobody listens
  n.endpoint->on_persisted(e.token);
  after_input(n);
  if (hook_) hook_(n.addr);
}

void NetCore::wake(Event& e) {
  Node& n = node(e.to);
  if (n.endpoint == nullptr || e.incarnation != n.incarnation || e.at != n.wakeup_at) return;
  n.wakeup_at = kNever;
  // An early wakeup (the node's timers moved later since) is not passed on: the contract
  // is on_wakeup() at or after next_wakeup().
  const std::optional<Time> due = n.endpoint->next_wakeup();
  if (due && *due <= now_) {
    record(e);
    n.endpoint->on_wakeup();
  }
  after_input(n);
  if (hook_) hook_(n.addr);
}

void NetCore::after_input(Node& n) {
  if (n.endpoint == nullptr) return;
  const std::optional<Time> due = n.endpoint->next_wakeup();
  if (!due) return;
  Time t = std::max(*due, now_);
  if (t == now_) {
    n.spins = (n.spin_at == now_) ? n.spins + 1 : 1;
    n.spin_at = now_;
    if (n.spins > kSpinsMax) {
      if (n.spins == kSpinsMax + 1) {
        errors_.push_back("node " + std::to_string(n.addr) + " asked for a wakeup " +
                          std::to_string(kSpinsMax) + " times at t=" + std::to_string(now_) +
                          " us: its timers never advance");
      }
      t = now_ + kSpinPush;
    }
  }
  if (t >= n.wakeup_at) return;  // an earlier or equal wakeup is already scheduled
  n.wakeup_at = t;
  Event e;
  e.kind = EventKind::kWakeup;
  e.at = t;
  e.to = n.addr;
  e.from = n.addr;
  e.incarnation = n.incarnation;
  schedule(std::move(e));
}

void NetCore::record(const Event& e) {
  std::uint64_t h = fingerprint_;
  h = mix64(h ^ static_cast<std::uint64_t>(e.at));
  h = mix64(h ^ (static_cast<std::uint64_t>(e.kind) << 56) ^
            (static_cast<std::uint64_t>(e.msg_kind) << 40) ^ e.msg_bytes);
  h = mix64(h ^ e.to);
  h = mix64(h ^ e.from ^ (e.token << 1));
  fingerprint_ = h;
}

std::string NetMetrics::describe() const {
  std::ostringstream s;
  s << std::left << std::setw(22) << "kind" << std::right << std::setw(12) << "messages"
    << std::setw(14) << "bytes"
    << "\n";
  for (std::size_t k = 0; k < kMessageKinds; ++k) {
    if (sent_messages[k] == 0) continue;
    s << std::left << std::setw(22) << message_kind_name(k) << std::right << std::setw(12)
      << sent_messages[k] << std::setw(14) << sent_bytes[k] << "\n";
  }
  s << std::left << std::setw(22) << "total" << std::right << std::setw(12) << messages_total
    << std::setw(14) << bytes_total << "\n";
  s << "delivered " << delivered << ", dropped: " << dropped_loss << " lost, " << dropped_partition
    << " partitioned, " << dropped_dead << " to down nodes; " << duplicated << " duplicated; "
    << persists << " persists (" << records_persisted << " records); " << events << " events";
  return s.str();
}

}  // namespace kittengrad::testnet
