// world.cc — the seams (clock, network, storage), the peer actors and peer lifecycles of a
// simulated run. See world.h for the vocabulary.
#include "world.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <limits>

#include "inbox.h"
#include "kittengrad/scenario_peer_config.h"

namespace kittengrad::sim {

namespace {

// Journal and entry timestamps start here (2026-01-01T00:00:00Z) so runs look like dates.
constexpr std::int64_t kEpochMs = 1767225600000;

// The oracle's view of a peer's stores. The Peer outlives the lookup: the oracle hears
// peer_down before the Peer object goes.
runs::StoreLookup stores_of(const Peer* peer) {
  return [peer](const std::string& ns) { return peer->store(ns); };
}

}  // namespace

double wall_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::int64_t SimClock::wall_ms() const { return kEpochMs + now_us() / kMicrosPerMs + skew_ms_; }

void SimNetwork::send(Address to, Message msg) { world_.send(self_, to, std::move(msg)); }

void SimStorage::persist(std::vector<StorageRecord> records, std::uint64_t token) {
  // Completions keep the order of persist() calls, so they queue behind the last one.
  Time done = now_us() + kDiskLatency;
  if (!slot_.persists.empty()) done = std::max(done, slot_.persists.back().done);
  slot_.persists.push_back(PendingPersist{done, token, std::move(records)});
}

Time HostSlot::next_deadline() const {
  if (peer == nullptr) return kNever;
  Time t = kNever;
  if (!persists.empty()) t = persists.front().done;
  if (const auto w = peer->next_wakeup()) t = std::min(t, *w);
  return t;
}

World::World(const Scenario& scenario, const SimOptions& opts)
    : sc(scenario),
      options(opts),
      peer_config(peer_config_of(scenario.overlay)),
      namespaces(scenario.overlay.namespaces),
      oracle(static_cast<int>(scenario.overlay.replication), scenario.overlay.namespaces),
      net_rng(Rng::derive(scenario.run.seed, "net")),
      choice_rng(Rng::derive(scenario.run.seed, "choice")) {
  // A client's route request is answered only after its gateway's whole iterative lookup
  // (about log2(N)/2 round trips), so it waits for several peer request timeouts.
  client_config.request_timeout = 4 * peer_config.request_timeout;
  client_config.max_datagram_bytes = peer_config.max_datagram_bytes;
}

std::uint64_t World::peer_seed(PeerIndex identity) const {
  return Rng::derive(sc.run.seed, "peer", identity).next_u64();
}

// ------------------------------------------------------------------------ network --

void World::send(Address from, Address to, Message msg) {
  const std::size_t kind = message_kind_index(msg.body);
  // The datagram as the live transport sends it: the message, the session header and
  // authentication tag around it, and the UDP/IP headers.
  const std::size_t bytes = wire_size(msg) + kTransportOverheadBytes + kUdpIpHeaderBytes;
  ++interval_msgs[kind];
  interval_bytes[kind] += bytes;
  if (from < kClientBase && from < identities.size()) {
    ++identities[from].msgs_sent;
    identities[from].bytes_sent += bytes;
  }
  // Where does it go? A peer identity that is not running, or is cut off, loses it.
  simgrid::s4u::Mailbox* box = nullptr;
  Inbox<Datagram>* outbox = sender_inbox(from);
  int to_group = 0;
  if (to >= kClientBase) {
    const Address c = to - kClientBase;
    if (c >= clients.size()) return void(++dropped);
    box = clients[c]->mailbox;
  } else {
    if (to >= identities.size()) return void(++dropped);
    const HostSlot& dst = *hosts[identities[to].host];
    if (dst.identity != to || dst.peer == nullptr) return void(++dropped);
    box = dst.mailbox;
    to_group = dst.group;
  }
  if (partitioned) {
    const int from_group = from < kClientBase ? hosts[identities[from].host]->group : 0;
    if (from_group != to_group) return void(++dropped);
  }
  double loss = sc.network.loss;
  if (burst_loss > 0 && now_us() < burst_until) loss = 1.0 - (1.0 - loss) * (1.0 - burst_loss);
  if (loss > 0 && net_rng.chance(loss)) return void(++dropped);
  const bool twice = sc.network.duplicate > 0 && net_rng.chance(sc.network.duplicate);
  if (queue_net != nullptr) {
    const std::optional<std::size_t> src = host_of(from);
    const std::optional<std::size_t> dst = host_of(to);
    if (!src || !dst) return void(++dropped);
    if (twice) queue_net->send(*src, *dst, new Datagram{from, to, msg, false}, bytes, kind);
    queue_net->send(*src, *dst, new Datagram{from, to, std::move(msg), false}, bytes, kind);
    return;
  }
  auto put = [&](Datagram* d) {
    if (outbox != nullptr) {
      outbox->send(box, d, bytes);
    } else {
      send_datagram(box, d, bytes);
    }
  };
  if (twice) put(new Datagram{from, to, msg, false});
  put(new Datagram{from, to, std::move(msg), false});
}

std::optional<std::size_t> World::host_of(Address a) const {
  if (a >= kClientBase) {
    const Address c = a - kClientBase;
    if (c >= clients.size()) return std::nullopt;
    return hosts.size() + static_cast<std::size_t>(c);
  }
  if (a >= identities.size()) return std::nullopt;
  return identities[a].host;
}

Datagram* World::receive(std::size_t host, Inbox<Datagram>* inbox, double deadline_s) {
  if (queue_net != nullptr) return queue_net->wait_until(host, deadline_s);
  return inbox->wait_until(deadline_s);
}

// The Inbox of the actor running now if it is `from`'s own peer or client actor: its sends
// go through it (inbox.h). Control actors, which run a moment on a peer's host, send
// detached.
Inbox<Datagram>* World::sender_inbox(Address from) const {
  const aid_t self = simgrid::s4u::this_actor::get_pid();
  if (from >= kClientBase) {
    const Address c = from - kClientBase;
    if (c < clients.size() && clients[c]->actor == self) return clients[c]->inbox;
    return nullptr;
  }
  if (from >= identities.size()) return nullptr;
  const HostSlot& slot = *hosts[identities[from].host];
  return slot.actor == self ? slot.inbox : nullptr;
}

// -------------------------------------------------------------------------- peers --

void World::persisted_by(HostSlot& slot, PendingPersist& done) {
  for (StorageRecord& r : done.records) {
    if (const Entry* e = std::get_if<Entry>(&r.item)) {
      oracle.persisted(slot.identity, r.ns, e->canonical.ring_key());
    }
    slot.durable.push_back(std::move(r));
  }
}

void World::deliver(HostSlot& slot, const Datagram& d) {
  if (d.wake || slot.peer == nullptr || d.to != slot.identity) return;
  ++delivered;
  ++events_total;
  slot.peer->on_datagram(d.from, d.msg);
}

// Storage completions and timers that are due, in time order.
void World::after_peer_event(HostSlot& slot) {
  const Time now = now_us();
  while (slot.peer != nullptr) {
    if (!slot.persists.empty() && slot.persists.front().done <= now) {
      PendingPersist done = std::move(slot.persists.front());
      slot.persists.pop_front();
      persisted_by(slot, done);
      ++events_total;
      ++disk_completions;
      slot.peer->on_persisted(done.token);
      continue;
    }
    const auto w = slot.peer->next_wakeup();
    if (w && *w <= now) {
      ++events_total;
      ++wakeups;
      slot.peer->on_wakeup();
      const auto again = slot.peer->next_wakeup();
      if (again && *again <= now) break;  // the core asks for the same instant: next loop
      continue;
    }
    break;
  }
  if (slot.state == HostState::kLeaving && slot.peer != nullptr && slot.peer->has_left()) {
    oracle.peer_down(slot.identity);
    slot.peer.reset();
    slot.persists.clear();
    slot.state = HostState::kGone;
  }
}

void World::peer_actor(std::size_t host) {
  HostSlot& slot = *hosts[host];
  std::optional<Inbox<Datagram>> inbox;  // the flow model's receive loop
  if (queue_net == nullptr) {
    slot.mailbox->set_receiver(simgrid::s4u::Actor::self());
    inbox.emplace(slot.mailbox);
    slot.inbox = &*inbox;
  }
  slot.actor = simgrid::s4u::this_actor::get_pid();
  if (slot.on_start) {
    auto start = std::move(slot.on_start);
    slot.on_start = nullptr;
    start();
  }
  for (;;) {
    Time deadline = slot.next_deadline();
    const Time now = now_us();
    if (deadline != kNever && deadline <= now) deadline = now + 1;  // never spin at one instant
    const double until = deadline == kNever ? std::numeric_limits<double>::infinity()
                                            : to_s(deadline);
    std::unique_ptr<Datagram> d(receive(host, inbox ? &*inbox : nullptr, until));
    ++actor_turns;
    if (d) deliver(slot, *d);
    after_peer_event(slot);
  }
}

void World::on_host(std::size_t host, std::function<void()> action) {
  HostSlot* slot = hosts[host].get();
  simgrid::s4u::Actor::create("ctl", slot->host, [this, slot, action = std::move(action)] {
    action();
    if (queue_net != nullptr) {
      queue_net->nudge(slot->index, new Datagram{0, 0, Message{}, true});
    } else {
      send_datagram(slot->mailbox, new Datagram{0, 0, Message{}, true}, 0);
    }
  });
}

std::optional<Address> World::random_joined_peer(Rng& rng, Address except) {
  const std::size_t n = oracle.live_peers();
  if (n == 0) return std::nullopt;
  auto usable = [&](PeerIndex p) {
    const HostSlot& h = *hosts[identities[p].host];
    return p != except && h.peer != nullptr && h.state == HostState::kUp &&
           h.peer->joined(namespaces.front());
  };
  // A few random tries, then a scan from a random point: joined peers are the rule.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const PeerIndex p = oracle.live_at(rng.below(n));
    if (usable(p)) return Address{p};
  }
  const std::size_t start = rng.below(n);
  for (std::size_t k = 0; k < n; ++k) {
    const PeerIndex p = oracle.live_at((start + k) % n);
    if (usable(p)) return Address{p};
  }
  return std::nullopt;
}

void World::start_fresh(HostSlot& slot, Start how) {
  if (how != Start::kInstant) {
    // A new identity: fresh keys, empty disk.
    slot.identity = static_cast<PeerIndex>(identities.size());
    identities.push_back(Identity{slot.index, 0, 0});
    slot.keys = keypair_from_u64(Rng::derive(sc.run.seed, "peer-key", slot.identity).next_u64());
    slot.durable.clear();
  }
  slot.network->set_self(slot.identity);
  slot.peer = std::make_unique<Peer>(peer_config, slot.keys, slot.identity,
                                     Env{slot.clock.get(), slot.network.get(), slot.storage.get(), &signatures},
                                     peer_seed(slot.identity));
  for (const std::string& ns : namespaces) slot.peer->serve(ns);
  std::optional<Address> via;
  if (how == Start::kJoin) via = random_joined_peer(choice_rng, slot.identity);
  for (const std::string& ns : namespaces) {
    if (how == Start::kInstant) {
      slot.peer->start_instant(ns, instant_members);
    } else if (via) {
      slot.peer->join(ns, *via);
    } else {
      slot.peer->create_ring(ns);  // nobody to join: it starts the ring
    }
  }
  slot.state = HostState::kUp;
  oracle.peer_up(slot.identity, slot.peer->self().id, stores_of(slot.peer.get()));
  if (how == Start::kJoin) record_event("join", slot.identity);
}

void World::recover(HostSlot& slot) {
  slot.peer = std::make_unique<Peer>(peer_config, slot.keys, slot.identity,
                                     Env{slot.clock.get(), slot.network.get(), slot.storage.get(), &signatures},
                                     peer_seed(slot.identity) ^ mix64(now_us()));
  for (const std::string& ns : namespaces) slot.peer->serve(ns);
  const Result<bool> restored = slot.peer->restore(slot.durable);
  if (!restored && options.log != nullptr) {
    *options.log << "note: peer " << slot.identity
                 << " could not restore its disk: " << restored.error().detail << "\n";
  }
  const std::optional<Address> via = random_joined_peer(choice_rng, slot.identity);
  for (const std::string& ns : namespaces) {
    if (via) {
      slot.peer->join(ns, *via);
    } else {
      slot.peer->create_ring(ns);
    }
  }
  slot.state = HostState::kUp;
  oracle.peer_up(slot.identity, slot.peer->self().id, stores_of(slot.peer.get()));
  record_event("recover", slot.identity);
}

void World::crash(HostSlot& slot, bool disk_lost, const char* event) {
  if (slot.peer == nullptr) return;
  const std::int64_t lost_before = oracle.sample().lost_updates;
  oracle.peer_down(slot.identity);
  slot.peer.reset();
  slot.persists.clear();  // writes not yet durable are gone
  if (disk_lost) slot.durable.clear();
  slot.state = HostState::kDown;
  record_event(event, slot.identity);
  // What only this peer held (with the peers that crashed before it) is gone with it.
  tables.events.lost_updates.back() = oracle.sample().lost_updates - lost_before;
}

void World::begin_leave(HostSlot& slot) {
  if (slot.peer == nullptr || slot.state != HostState::kUp) return;
  slot.state = HostState::kLeaving;
  record_event("leave", slot.identity);
  slot.peer->leave();
}

void World::record_event(const char* kind, std::int64_t peer) {
  tables.events.t_s.push_back(simgrid::s4u::Engine::get_clock());
  tables.events.kind.emplace_back(kind);
  tables.events.peer.push_back(peer);
  tables.events.lost_updates.push_back(0);
}

}  // namespace kittengrad::sim
