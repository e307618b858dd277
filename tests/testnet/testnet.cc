// testnet.cc — peers, clients, history and workload on the NetCore engine (see testnet.h).
#include "testnet.h"

#include <algorithm>
#include <cassert>

namespace kittengrad::testnet {

namespace {

class PeerEndpoint final : public Endpoint {
 public:
  explicit PeerEndpoint(Peer& peer) : peer_(peer) {}
  void on_datagram(Address from, const Message& m) override { peer_.on_datagram(from, m); }
  void on_persisted(std::uint64_t token) override { peer_.on_persisted(token); }
  void on_wakeup() override { peer_.on_wakeup(); }
  std::optional<Time> next_wakeup() const override { return peer_.next_wakeup(); }

 private:
  Peer& peer_;
};

class ClientEndpoint final : public Endpoint {
 public:
  explicit ClientEndpoint(Client& client) : client_(client) {}
  void on_datagram(Address from, const Message& m) override { client_.on_datagram(from, m); }
  void on_persisted(std::uint64_t) override {}  // clients keep nothing durable
  void on_wakeup() override { client_.on_wakeup(); }
  std::optional<Time> next_wakeup() const override { return client_.next_wakeup(); }

 private:
  Client& client_;
};

OpStatus status_of(const OpResult& r) {
  if (r.error == ErrorCode::kOk) return OpStatus::kOk;
  // A timeout after the op went out may have been applied: neither ok nor failed.
  return r.indeterminate ? OpStatus::kUnknown : OpStatus::kFailed;
}

KeyPair slot_keys(std::uint64_t seed, std::size_t slot) {
  return keypair_from_u64(Rng::derive(seed, "peer-key", slot).next_u64());
}

}  // namespace

struct TestNetwork::PeerSlot {
  Address addr = 0;
  KeyPair keys;
  SlotState state = SlotState::kCrashed;
  std::uint64_t incarnation = 0;  // Peer objects created in this slot so far
  bool disk_lost = false;
  // A join or recovery under way: counted done once every namespace says joined.
  enum class Awaiting : std::uint8_t { kNothing, kJoin, kRecovery } awaiting = Awaiting::kNothing;
  std::unique_ptr<Peer> peer;
  std::unique_ptr<PeerEndpoint> endpoint;
};

// The first workload draws from workload_rng_ (shared with make_update), so a run with one
// workload is the same run it always was; each further workload has a stream of its own.
struct TestNetwork::Workload {
  WorkloadConfig config;
  Rng own_rng;
  std::vector<Cid> canonicals;
};

struct TestNetwork::ClientSlot {
  Address addr = 0;
  std::unique_ptr<Client> client;
  std::unique_ptr<ClientEndpoint> endpoint;
};

TestNetwork::TestNetwork(NetConfig config)
    : core_(std::move(config)),
      choice_rng_(Rng::derive(core_.config().seed, "choice")),
      workload_rng_(Rng::derive(core_.config().seed, "workload")) {
  assert(!core_.config().namespaces.empty());
  core_.set_node_hook([this](Address a) { on_node_event(a); });
  core_.set_durable_hook([this](Address a, const StorageRecord& r) { on_durable(a, r); });
}

void TestNetwork::on_durable(Address a, const StorageRecord& record) {
  if (a >= slots_.size()) return;  // a raw node of a test's own
  const auto* e = std::get_if<Entry>(&record.item);
  if (e == nullptr) return;
  std::vector<Address>& at = durable_at_[entry_hash(*e)];
  if (std::find(at.begin(), at.end(), a) == at.end()) at.push_back(a);
}

TestNetwork::~TestNetwork() = default;

// ---------------------------------------------------------------------------- peers --

std::size_t TestNetwork::new_slot() {
  auto s = std::make_unique<PeerSlot>();
  s->addr = core_.add_peer_node();
  s->keys = slot_keys(config().seed, slots_.size());
  assert(s->addr == slots_.size());
  slots_.push_back(std::move(s));
  return slots_.size() - 1;
}

// Creates the slot's next Peer, wires it to the engine and serves every namespace.
void TestNetwork::start_peer(std::size_t slot) {
  PeerSlot& s = *slots_[slot];
  const std::uint64_t seed =
      Rng::derive(config().seed, "peer", slot | (s.incarnation << 32)).next_u64();
  ++s.incarnation;
  s.peer = std::make_unique<Peer>(slot_config(slot), s.keys, s.addr, core_.node_env(s.addr), seed);
  s.endpoint = std::make_unique<PeerEndpoint>(*s.peer);
  s.state = SlotState::kUp;
  core_.attach(s.addr, s.endpoint.get());
  for (const std::string& ns : config().namespaces) s.peer->serve(ns);
}

PeerConfig TestNetwork::slot_config(std::size_t slot) const {
  PeerConfig c = config().peer;
  const std::vector<std::size_t>& buggy = config().planted_bug_slots;
  if (!buggy.empty() && std::find(buggy.begin(), buggy.end(), slot) == buggy.end()) {
    c.bugs = PlantedBugs{};
  }
  if (auto it = config().max_datagram_bytes_of_slot.find(slot);
      it != config().max_datagram_bytes_of_slot.end()) {
    c.max_datagram_bytes = it->second;
  }
  return c;
}

std::vector<std::size_t> TestNetwork::add_instant_ring(std::size_t n) {
  std::vector<std::size_t> added;
  std::vector<NodeRef> members;
  for (std::size_t i = 0; i < n; ++i) {
    added.push_back(new_slot());
    members.push_back(NodeRef{slots_[added.back()]->keys.ring_id(), added.back()});
  }
  std::sort(members.begin(), members.end(),
            [](const NodeRef& a, const NodeRef& b) { return a.id < b.id; });
  for (std::size_t slot : added) {
    start_peer(slot);
    for (const std::string& ns : config().namespaces) {
      slots_[slot]->peer->start_instant(ns, members);
    }
    core_.kick(slot);
  }
  return added;
}

std::size_t TestNetwork::add_first_peer() {
  const std::size_t slot = new_slot();
  start_peer(slot);
  for (const std::string& ns : config().namespaces) slots_[slot]->peer->create_ring(ns);
  core_.kick(slot);
  return slot;
}

std::size_t TestNetwork::add_joining_peer(std::size_t bootstrap) {
  assert(bootstrap < slots_.size());
  const std::size_t slot = new_slot();
  start_peer(slot);
  ++lifecycle_.joins;
  slots_[slot]->awaiting = PeerSlot::Awaiting::kJoin;
  for (const std::string& ns : config().namespaces) {
    slots_[slot]->peer->join(ns, slots_[bootstrap]->addr);
  }
  core_.kick(slot);
  return slot;
}

void TestNetwork::crash(std::size_t slot, bool disk_lost) {
  PeerSlot& s = *slots_.at(slot);
  assert(s.state == SlotState::kUp || s.state == SlotState::kLeaving);
  core_.crash(s.addr, disk_lost);
  ++lifecycle_.crashes;
  lifecycle_.crashes_disk_lost += disk_lost ? 1 : 0;
  s.awaiting = PeerSlot::Awaiting::kNothing;
  s.state = SlotState::kCrashed;
  s.disk_lost = s.disk_lost || disk_lost;
  s.endpoint.reset();
  s.peer.reset();
}

void TestNetwork::recover(std::size_t slot) {
  PeerSlot& s = *slots_.at(slot);
  assert(s.state == SlotState::kCrashed);
  std::vector<std::size_t> via;
  for (std::size_t j : joined_slots()) {
    if (j != slot) via.push_back(j);
  }
  start_peer(slot);
  ++lifecycle_.recoveries;
  s.awaiting = PeerSlot::Awaiting::kRecovery;
  const Result<bool> restored = s.peer->restore(core_.durable(s.addr));
  if (!restored) {
    errors_.push_back("slot " + std::to_string(slot) +
                      " could not restore its durable records: " + restored.error().detail);
  }
  for (const std::string& ns : config().namespaces) {
    if (via.empty()) {
      s.peer->create_ring(ns);  // nobody else is up: it starts the ring again
    } else {
      s.peer->join(ns, slots_[via[choice_rng_.below(via.size())]]->addr);
    }
  }
  core_.kick(s.addr);
}

void TestNetwork::leave(std::size_t slot) {
  PeerSlot& s = *slots_.at(slot);
  assert(s.state == SlotState::kUp);
  s.state = SlotState::kLeaving;
  ++lifecycle_.leaves;
  s.peer->leave();
  core_.kick(s.addr);
}

void TestNetwork::partition(const std::vector<std::vector<std::size_t>>& groups) {
  std::vector<std::vector<Address>> by_address;
  for (const auto& g : groups) {
    by_address.emplace_back();
    for (std::size_t slot : g) by_address.back().push_back(slots_.at(slot)->addr);
  }
  core_.partition(by_address);
  partitioned_ = true;
}

void TestNetwork::on_node_event(Address a) {
  if (a >= kClientBase) {
    auto it = client_by_address_.find(a);
    if (it != client_by_address_.end()) harvest(it->second);
    return;
  }
  if (a >= slots_.size()) return;  // a raw peer node a test added to the engine itself
  PeerSlot& s = *slots_.at(a);
  if (s.state == SlotState::kLeaving && s.peer->has_left()) {
    s.state = SlotState::kLeft;
    ++lifecycle_.leaves_done;
    core_.retire(s.addr);
  }
  if (s.awaiting != PeerSlot::Awaiting::kNothing && s.state == SlotState::kUp) {
    const auto& names = config().namespaces;
    if (std::all_of(names.begin(), names.end(),
                    [&s](const std::string& ns) { return s.peer->joined(ns); })) {
      ++(s.awaiting == PeerSlot::Awaiting::kJoin ? lifecycle_.joins_done
                                                 : lifecycle_.recoveries_done);
      s.awaiting = PeerSlot::Awaiting::kNothing;
    }
  }
  if (peer_hook_) peer_hook_(a);
}

// ---------------------------------------------------------------------- introspection --

SlotState TestNetwork::state(std::size_t slot) const { return slots_.at(slot)->state; }

const Peer* TestNetwork::peer(std::size_t slot) const { return slots_.at(slot)->peer.get(); }

const KeyPair& TestNetwork::keys(std::size_t slot) const { return slots_.at(slot)->keys; }

std::uint64_t TestNetwork::incarnation(std::size_t slot) const {
  return slots_.at(slot)->incarnation;
}

bool TestNetwork::disk_lost(std::size_t slot) const { return slots_.at(slot)->disk_lost; }

std::vector<std::size_t> TestNetwork::up_slots() const {
  std::vector<std::size_t> up;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->state == SlotState::kUp) up.push_back(i);
  }
  return up;
}

std::vector<std::size_t> TestNetwork::joined_slots(const std::string& ns) const {
  const std::string& name = ns_or_default(ns);
  std::vector<std::size_t> joined;
  for (std::size_t i : up_slots()) {
    if (slots_[i]->peer->ring(name).joined) joined.push_back(i);
  }
  return joined;
}

std::vector<std::size_t> TestNetwork::ring_order() const {
  std::vector<std::size_t> order = up_slots();
  std::sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
    return slots_[a]->keys.ring_id() < slots_[b]->keys.ring_id();
  });
  return order;
}

std::uint64_t TestNetwork::state_fingerprint() const {
  std::uint64_t h = mix64(slots_.size());
  auto add = [&h](std::uint64_t v) { h = mix64(h ^ v); };
  for (const auto& s : slots_) {
    add(static_cast<std::uint64_t>(s->state));
    if (s->peer == nullptr) continue;
    for (const std::string& ns : config().namespaces) {
      const Store* store = s->peer->store(ns);
      const Journal* journal = s->peer->journal(ns);
      if (store != nullptr) {
        store->for_each([&add](const RingId& key, const KeySlot& slot) {
          add(key.top64());
          for (const StoredEntry& e : slot.entries) add(e.id.key);
        });
      }
      if (journal != nullptr) {
        add(journal->height());
        const Hash256 head = journal->head_hash();
        for (std::uint8_t b : head) add(b);
      }
    }
  }
  return h;
}

std::vector<std::string> TestNetwork::errors() const {
  std::vector<std::string> all = errors_;
  all.insert(all.end(), core_.errors().begin(), core_.errors().end());
  return all;
}

std::string TestNetwork::repro() const {
  if (!config().repro.empty()) return config().repro;
  return "KG_SEED=" + std::to_string(config().seed) + " ./build/tests/overlay_test";
}

const std::string& TestNetwork::ns_or_default(const std::string& ns) const {
  return ns.empty() ? config().namespaces.front() : ns;
}

// --------------------------------------------------------------------------- clients --

std::size_t TestNetwork::add_client() {
  auto c = std::make_unique<ClientSlot>();
  c->addr = core_.add_client_node();
  const Env env = core_.node_env(c->addr);
  ClientConfig client_config = config().client;
  client_config.max_datagram_bytes = config().peer.max_datagram_bytes;
  c->client = std::make_unique<Client>(client_config, c->addr, env.clock, env.network);
  c->endpoint = std::make_unique<ClientEndpoint>(*c->client);
  core_.attach(c->addr, c->endpoint.get());
  client_by_address_.emplace(c->addr, clients_.size());
  clients_.push_back(std::move(c));
  return clients_.size() - 1;
}

std::size_t TestNetwork::clients() const { return clients_.size(); }

std::uint64_t TestNetwork::submit(std::size_t client, OpKind kind, const std::string& ns,
                                  std::size_t gateway, std::uint64_t client_op,
                                  std::size_t entries) {
  const std::uint64_t id = next_op_++;
  OpRecord rec;
  rec.id = id;
  rec.client = client;
  rec.gateway = gateway;
  rec.kind = kind;
  rec.ns = ns;
  rec.entries = entries;
  ops_.emplace(id, std::move(rec));
  client_ops_.emplace(std::make_pair(client, client_op), id);
  return id;
}

std::uint64_t TestNetwork::write(std::size_t client, std::vector<Entry> entries,
                                 std::size_t gateway) {
  assert(!entries.empty());
  ClientSlot& c = *clients_.at(client);
  const std::string ns = entries.front().ns;
  const std::uint64_t id = next_op_;
  // Invoked before the client sees it: the history's invoke precedes any completion.
  history_.invoke_write(id, ns, entries, now());
  for (const Entry& e : entries) {
    written_canonicals_.emplace(std::make_pair(e.ns, e.key()), e.canonical);
  }
  const std::size_t count = entries.size();
  const std::uint64_t op = c.client->write(ns, std::move(entries), slots_.at(gateway)->addr);
  submit(client, OpKind::kWrite, ns, gateway, op, count);
  core_.kick(c.addr);
  return id;
}

std::uint64_t TestNetwork::lookup(std::size_t client, const Cid& canonical, std::size_t gateway,
                                  const std::string& ns) {
  ClientSlot& c = *clients_.at(client);
  const std::string& name = ns_or_default(ns);
  const std::uint64_t id = next_op_;
  history_.invoke_lookup(id, name, canonical.ring_key(), now());
  const std::uint64_t op = c.client->lookup(name, canonical, slots_.at(gateway)->addr);
  submit(client, OpKind::kLookup, name, gateway, op, 0);
  core_.kick(c.addr);
  return id;
}

std::uint64_t TestNetwork::route(std::size_t client, const RingId& key, std::size_t gateway,
                                 const std::string& ns) {
  ClientSlot& c = *clients_.at(client);
  const std::string& name = ns_or_default(ns);
  const std::uint64_t op = c.client->route(name, key, slots_.at(gateway)->addr);
  const std::uint64_t id = submit(client, OpKind::kRoute, name, gateway, op, 0);
  core_.kick(c.addr);
  return id;
}

// Moves the client's completed ops into the records and the history.
void TestNetwork::harvest(std::size_t client) {
  for (OpResult& r : clients_.at(client)->client->take_completed()) {
    auto link = client_ops_.find({client, r.op});
    if (link == client_ops_.end()) continue;  // not submitted through this network
    OpRecord& rec = ops_.at(link->second);
    client_ops_.erase(link);
    if (rec.kind != OpKind::kRoute) {
      history_.complete(rec.id, status_of(r), r.done, r.entries);
    }
    if (rec.kind == OpKind::kWrite && r.error == ErrorCode::kOk) {
      check_acknowledged(rec, history_.ops().at(rec.id).entries);
    }
    rec.done = true;
    rec.result = std::move(r);
  }
}

// A write is acknowledged once W replicas hold every entry durably (fewer only when the
// ring has fewer peers): by now each entry must have become durable at that many peers.
void TestNetwork::check_acknowledged(const OpRecord& rec, const std::vector<Hash256>& entries) {
  const std::size_t joined = joined_slots(rec.ns).size();
  const std::size_t w = std::min(static_cast<std::size_t>(std::max(1, config().peer.write_quorum)),
                                 std::max<std::size_t>(joined, 1));
  for (const Hash256& h : entries) {
    const auto it = durable_at_.find(h);
    const std::size_t copies = it == durable_at_.end() ? 0 : it->second.size();
    if (copies >= w) continue;
    if (partitioned_ || (healed_at_ >= 0 && now() < healed_at_ + kAfterHeal)) {
      ++early_acks_partitioned_;
      return;
    }
    early_acks_.push_back("write #" + std::to_string(rec.id) + " acknowledged at t=" +
                          std::to_string(now()) + " us while an entry of it was durable at " +
                          std::to_string(copies) + " peers, fewer than W = " + std::to_string(w));
    return;
  }
}

std::size_t TestNetwork::ops_in_flight() const { return client_ops_.size(); }

std::size_t TestNetwork::client_ops_in_flight() const {
  std::size_t n = 0;
  for (const auto& c : clients_) n += c->client->in_flight();
  return n;
}

// -------------------------------------------------------------------------- workload --

Rng& TestNetwork::workload_rng(std::size_t w) {
  return w == 0 ? workload_rng_ : workloads_.at(w)->own_rng;
}

void TestNetwork::start_workload(const WorkloadConfig& config) {
  const std::size_t w = workloads_.size();
  workloads_.push_back(std::make_unique<Workload>(
      Workload{config, Rng::derive(this->config().seed, "workload", w), {}}));
  while (clients_.size() < config.clients) add_client();
  for (std::size_t i = authors_.size(); i < config.authors; ++i) {
    authors_.push_back(keypair_from_u64(Rng::derive(this->config().seed, "author", i).next_u64()));
  }
  core_.at(config.start, [this, w] { workload_tick(w); });
}

Cid TestNetwork::random_cid(Rng& rng) const {
  std::array<std::uint8_t, 32> record{};
  for (std::size_t i = 0; i < record.size(); i += 8) {
    const std::uint64_t v = rng.next_u64();
    for (std::size_t b = 0; b < 8; ++b) record[i + b] = static_cast<std::uint8_t>(v >> (8 * b));
  }
  return Cid::of_record(record);
}

Entry TestNetwork::make_update(const Cid& canonical, const std::string& ns) {
  if (authors_.empty()) {
    authors_.push_back(keypair_from_u64(Rng::derive(config().seed, "author", 0).next_u64()));
  }
  const KeyPair& author = authors_[workload_rng_.below(authors_.size())];
  return make_entry(author, ns_or_default(ns), canonical, random_cid(workload_rng_),
                    now() / kMicrosPerMs);
}

// One arrival of workload w's merged Poisson process, then the next one.
void TestNetwork::workload_tick(std::size_t w) {
  const WorkloadConfig& c = workloads_.at(w)->config;
  Rng& rng = workload_rng(w);
  const double rate = c.inserts_per_s + c.updates_per_s + c.lookups_per_s;
  if (rate <= 0 || now() >= c.end) return;
  const std::vector<std::size_t> gateways = joined_slots(c.ns);
  if (!gateways.empty() && !clients_.empty()) {
    const std::size_t client = rng.below(clients_.size());
    const std::size_t gateway = gateways[rng.below(gateways.size())];
    if (rng.uniform01() * rate < c.lookups_per_s) {
      workload_lookup(w, client, gateway);
    } else {
      workload_write(w, client, gateway);
    }
  } else {
    ++workload_stats_.skipped;
  }
  const Time gap = std::max<Time>(1, static_cast<Time>(rng.exponential(1e6 / rate)));
  core_.at(now() + gap, [this, w] { workload_tick(w); });
}

void TestNetwork::workload_write(std::size_t w, std::size_t client, std::size_t gateway) {
  Workload& wl = *workloads_.at(w);
  const WorkloadConfig& c = wl.config;
  Rng& rng = workload_rng(w);
  for (const auto& [from, to] : c.write_pauses) {
    if (now() >= from && now() < to) {
      ++workload_stats_.skipped;
      return;
    }
  }
  const double writes = c.inserts_per_s + c.updates_per_s;
  const bool insert = wl.canonicals.empty() || rng.uniform01() * writes < c.inserts_per_s;
  const std::int64_t ts = core_.node_env(clients_[client]->addr).clock->wall_ms();
  std::vector<Entry> entries;
  if (insert) {
    const Cid cid = random_cid(rng);
    wl.canonicals.push_back(cid);
    canonicals_.push_back(cid);
    const KeyPair& author = authors_[rng.below(authors_.size())];
    entries.push_back(make_entry(author, c.ns, cid, cid, ts));
    ++workload_stats_.inserts;
  } else {
    const Cid cid = wl.canonicals[rng.below(wl.canonicals.size())];
    std::size_t count = 1;
    if (c.batch_entries_max > 1 && rng.chance(c.batch_probability)) {
      count = static_cast<std::size_t>(
          rng.range(2, static_cast<std::int64_t>(c.batch_entries_max)));
      ++workload_stats_.batches;
    }
    for (std::size_t i = 0; i < count; ++i) {
      const KeyPair& author = authors_[rng.below(authors_.size())];
      entries.push_back(make_entry(author, c.ns, cid, random_cid(rng), ts));
    }
    workload_stats_.updates += count;
  }
  write(client, std::move(entries), gateway);
}

void TestNetwork::workload_lookup(std::size_t w, std::size_t client, std::size_t gateway) {
  const Workload& wl = *workloads_.at(w);
  if (wl.canonicals.empty()) {
    ++workload_stats_.skipped;
    return;
  }
  const Cid cid = wl.canonicals[workload_rng(w).below(wl.canonicals.size())];
  lookup(client, cid, gateway, wl.config.ns);
  ++workload_stats_.lookups;
}

}  // namespace kittengrad::testnet
