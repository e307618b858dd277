// world.h — the state of one simulated run, shared by its actors (SimGrid runs actors one
// at a time, so plain members need no locks).
//
// Vocabulary. A *host* is a simulated machine with its own access link and mailbox; it
// runs one peer actor for the whole run. An *identity* is a peer key pair with its run
// index, which is also its Address: churn may replace the identity on a host (permanent
// departure: disk lost, a fresh peer joins in its place), so datagrams name identities and
// a datagram for an identity that is no longer running is dropped. Clients run on hosts of
// their own, at addresses kClientBase and above.
//
// Everything that touches the network runs inside an actor of the host it concerns:
// lifecycle actions (join, recover, leave) are carried out by a short control actor
// created on that host, which then wakes the peer actor with an empty datagram over the
// host's loopback, so the peer recomputes its next deadline.
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include <simgrid/s4u.hpp>

#include "inbox.h"
#include "kittengrad/client.h"
#include "kittengrad/history.h"
#include "kittengrad/peer.h"
#include "kittengrad/rng.h"
#include "kittengrad/runs/distributions.h"
#include "kittengrad/runs/oracle.h"
#include "kittengrad/runs/run_tables.h"
#include "kittengrad/scenario.h"
#include "kittengrad/sim/simulation.h"
#include "kittengrad/verifier.h"
#include "queue_net.h"

namespace kittengrad::sim {

// What the simulator shares with the live runner (runs/), by its short names here.
using runs::FinalPeersTable;
using runs::Lifetime;
using runs::LifetimeModel;
using runs::LookupsTable;
using runs::OpsTable;
using runs::Oracle;
using runs::OracleSample;
using runs::OverlaySnapshot;
using runs::PeerIndex;
using runs::RunTables;
using runs::sample_zipf;
using runs::TimeseriesTable;

inline constexpr Address kClientBase = Address{1} << 32;
inline constexpr Time kNever = INT64_MAX;
inline constexpr std::size_t kUdpIpHeaderBytes = 28;
// Storage completes this long after persist(). Zero: an fsync (~0.1-1 ms on an SSD) is
// small next to wide-area round trips of 10-600 ms, and a completion in the same actor
// turn as the event that wrote saves a context switch per write. Completions still come
// after persist() returns and in order, as the core's Storage contract says.
inline constexpr Time kDiskLatency = 0;

struct Datagram {
  Address from = 0;
  Address to = 0;
  Message msg;
  bool wake = false;  // an empty nudge: recompute the next deadline
};

[[nodiscard]] inline Time now_us() {
  return static_cast<Time>(std::llround(simgrid::s4u::Engine::get_clock() * 1e6));
}
[[nodiscard]] inline double to_s(Time t) { return static_cast<double>(t) / 1e6; }
[[nodiscard]] inline Time from_s(double s) { return static_cast<Time>(std::llround(s * 1e6)); }

class World;

// The core's seams, implemented on the simulated world for one host or client.
class SimClock final : public Clock {
 public:
  explicit SimClock(std::int64_t skew_ms) : skew_ms_(skew_ms) {}
  [[nodiscard]] Time now() const override { return now_us(); }
  [[nodiscard]] std::int64_t wall_ms() const override;

 private:
  std::int64_t skew_ms_;
};

class SimNetwork final : public Network {
 public:
  // Sends leave from the host of the calling actor: always the owner's host (see world.h).
  SimNetwork(World& world, Address self) : world_(world), self_(self) {}
  void send(Address to, Message msg) override;
  void set_self(Address a) { self_ = a; }

 private:
  World& world_;
  Address self_;
};

struct PendingPersist {
  Time done = 0;
  std::uint64_t token = 0;
  std::vector<StorageRecord> records;
};

enum class HostState : std::uint8_t { kIdle, kUp, kLeaving, kDown, kGone };

struct HostSlot;

class SimStorage final : public Storage {
 public:
  explicit SimStorage(HostSlot& slot) : slot_(slot) {}
  void persist(std::vector<StorageRecord> records, std::uint64_t token) override;

 private:
  HostSlot& slot_;
};

struct HostSlot {
  std::size_t index = 0;
  simgrid::s4u::Host* host = nullptr;
  simgrid::s4u::Mailbox* mailbox = nullptr;
  HostState state = HostState::kIdle;
  PeerIndex identity = 0;  // valid unless kIdle
  KeyPair keys;
  std::unique_ptr<Peer> peer;
  std::vector<StorageRecord> durable;  // the identity's disk
  std::deque<PendingPersist> persists;
  std::unique_ptr<SimClock> clock;
  std::unique_ptr<SimNetwork> network;
  std::unique_ptr<SimStorage> storage;
  Inbox<Datagram>* inbox = nullptr;   // the peer actor's, while it runs
  aid_t actor = -1;                   // the peer actor's pid
  std::function<void()> on_start;   // run by the peer actor when it starts
  std::uint64_t churn_generation = 0;  // bumped to cancel scheduled churn
  bool held_by_failure = false;        // crashed by a [[failure]]: churn leaves it alone
  int group = 0;                       // partition group

  [[nodiscard]] Time next_deadline() const;
};

struct ClientSlot {
  std::size_t index = 0;
  Address address = 0;
  simgrid::s4u::Host* host = nullptr;
  simgrid::s4u::Mailbox* mailbox = nullptr;
  std::unique_ptr<SimClock> clock;
  std::unique_ptr<SimNetwork> network;
  std::unique_ptr<Client> client;
  Inbox<Datagram>* inbox = nullptr;  // the client actor's
  aid_t actor = -1;
  Rng rng;
  Time next_arrival = kNever;
};

// One client op as the run records it (a row of /ops or /lookups once done).
struct OpRow {
  std::uint64_t id = 0;   // History id
  OpKind kind = OpKind::kWrite;
  bool insert = false;
  std::string ns;
  RingId key;
  std::vector<Entry> entries;  // write
  Time issued = 0;
};

struct Identity {
  std::size_t host = 0;
  std::uint64_t msgs_sent = 0;
  std::uint64_t bytes_sent = 0;
};

class World {
 public:
  World(const Scenario& scenario, const SimOptions& options);

  // ---- Network and storage, called from the seams ----
  void send(Address from, Address to, Message msg);
  // Blocks the actor of host number `host` (peers, then clients) until a datagram comes
  // (returned, owned by the caller) or the deadline passes (nullptr): through its Inbox
  // under the flow model, through queue_net under the queue model.
  [[nodiscard]] Datagram* receive(std::size_t host, Inbox<Datagram>* inbox, double deadline_s);
  [[nodiscard]] Inbox<Datagram>* sender_inbox(Address from) const;
  void persisted_by(HostSlot& slot, PendingPersist& done);

  // ---- Actors ----
  void peer_actor(std::size_t host);
  void client_actor(std::size_t client);
  void director_actor();
  // Runs `action` in a fresh actor on the host, then wakes the host's peer actor.
  void on_host(std::size_t host, std::function<void()> action);

  // ---- Lifecycle (inside an actor of the host, see on_host) ----
  enum class Start : std::uint8_t { kInstant, kCreate, kJoin };
  void start_fresh(HostSlot& slot, Start how);
  void recover(HostSlot& slot);
  void crash(HostSlot& slot, bool disk_lost, const char* event);
  void begin_leave(HostSlot& slot);

  // ---- Workload (client actors) ----
  void issue_op(ClientSlot& c);
  void harvest(ClientSlot& c);

  // ---- Director ----
  void schedule(Time at, std::function<void()> action);
  void schedule_churn_start();
  void churn_depart(std::size_t host, std::uint64_t generation);
  void churn_return(std::size_t host, std::uint64_t generation, bool fresh);
  void schedule_session_end(std::size_t host);
  void apply_failure(const FailureEvent& f);
  void take_sample(Time now);
  void take_snapshot();
  void print_progress(bool last);
  void record_event(const char* kind, std::int64_t peer);

  // ---- Results ----
  void finish(SimResult& result);

  const Scenario& sc;
  SimOptions options;
  PeerConfig peer_config;
  ClientConfig client_config;
  std::vector<std::string> namespaces;

  std::vector<std::unique_ptr<HostSlot>> hosts;
  std::size_t initial_peers = 0;
  std::size_t next_spare_host = 0;  // hosts beyond the initial peers, for scripted joins
  std::vector<Identity> identities;
  std::vector<std::unique_ptr<ClientSlot>> clients;
  simgrid::s4u::Host* director_host = nullptr;
  std::vector<NodeRef> instant_members;

  Oracle oracle;
  // Every peer of the run checks signatures through this one memory: a signature's
  // validity depends on the entry's bytes alone, so sharing it changes no simulated
  // result, and a run pays for each signature once instead of once per peer and path.
  static constexpr std::size_t kSignatureCacheEntries = std::size_t{1} << 20;
  SignatureCache signatures{kSignatureCacheEntries};
  History history;
  RunTables tables;
  std::map<std::uint64_t, OpRow> ops_in_flight;                        // by History id
  std::map<std::pair<std::size_t, std::uint64_t>, std::uint64_t> client_ops;  // -> History id
  std::uint64_t next_op = 1;
  std::vector<std::pair<std::size_t, Cid>> canonicals;  // (namespace, canonical), by creation
  std::vector<KeyPair> authors;

  // Traffic this interval and in total, by message kind.
  std::array<std::uint64_t, kMessageKinds> interval_msgs{}, interval_bytes{};
  std::uint64_t delivered = 0, dropped = 0;
  // Under the queue model (network.model = "queue"); null under "flow", where datagrams
  // are SimGrid communications. Host numbers: peers 0..hosts.size()-1, then clients.
  std::unique_ptr<QueueNet<Datagram>> queue_net;
  std::array<std::uint64_t, kMessageKinds> queue_drops_before{};  // at the last sample
  std::uint64_t events_total = 0;  // datagrams and wakeups handled by actors
  std::uint64_t wakeups = 0, disk_completions = 0, actor_turns = 0;
  std::uint64_t result_audit_mismatches = 0;

  // Faults in force.
  bool partitioned = false;
  double burst_loss = 0;
  Time burst_until = 0;

  // Director state.
  struct Scheduled {
    Time at;
    std::uint64_t seq;
    std::function<void()> action;
  };
  struct Later {
    bool operator()(const Scheduled& a, const Scheduled& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };
  std::priority_queue<Scheduled, std::vector<Scheduled>, Later> agenda;
  std::uint64_t agenda_seq = 0;
  std::vector<std::size_t> failure_crashed;  // hosts crashed by [[failure]], in crash order
  bool finished = false;

  Rng net_rng;      // loss and duplication draws
  Rng choice_rng;   // choices of the director: victims, bootstrap peers
  std::optional<Lifetime> session_law, downtime_law;
  double wall_start = 0, wall_last_progress = 0;
  std::uint64_t delivered_at_last_progress = 0;
  double sim_at_last_progress = 0;

 private:
  // The host number of an address (peer identity or client), if it has one.
  [[nodiscard]] std::optional<std::size_t> host_of(Address a) const;
  [[nodiscard]] std::optional<Address> random_joined_peer(Rng& rng, Address except = ~Address{0});
  [[nodiscard]] std::vector<std::size_t> choose_live_hosts(const PeerSelector& sel);
  void deliver(HostSlot& slot, const Datagram& d);
  void after_peer_event(HostSlot& slot);
  [[nodiscard]] std::uint64_t peer_seed(PeerIndex identity) const;
};

[[nodiscard]] double wall_seconds();

}  // namespace kittengrad::sim
