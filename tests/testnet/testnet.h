// testnet.h — the deterministic test network: core peers and clients on a NetCore, with
// a recorded history of client ops, a seeded workload and the lifecycle of a run.
//
// Everything about a run follows from NetConfig::seed: peer keys, peer random streams,
// latencies, losses, the workload. Same seed, same run, bit for bit (fingerprint()).
//
//   NetConfig cfg;  cfg.seed = 7;  cfg.loss = 0.05;
//   TestNetwork net(cfg);
//   net.add_instant_ring(128);
//   net.add_client();
//   net.start_workload(WorkloadConfig{});
//   net.at(30 * kMicrosPerSecond, [&] { net.crash(5, /*disk_lost=*/false); });
//   net.run_until(120 * kMicrosPerSecond);
//   CheckReport report = check_quiescent(net);   // checkers.h
//
// Peer slots are numbered from 0 in the order peers are added; a slot's Address is its
// number. A crashed slot keeps its keys and disk and can recover(); a slot whose peer has
// left gracefully is retired for good. Clients live at kClientBase and above. A test may
// add raw client nodes of its own to core() (probes); raw peer nodes would break the
// slot == Address rule, so peers are added only through this class.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kittengrad/client.h"
#include "kittengrad/history.h"
#include "kittengrad/peer.h"
#include "netcore.h"

namespace kittengrad::testnet {

enum class SlotState : std::uint8_t {
  kUp,       // running (joining, joined)
  kCrashed,  // down; its durable records wait for recover()
  kLeaving,  // leave() called, hand-off under way
  kLeft,     // has_left(): retired for good
};

// One client op as the test network saw it: a row of the /ops or /lookups tables.
struct OpRecord {
  std::uint64_t id = 0;  // global across clients; also the History id
  std::size_t client = 0;
  std::size_t gateway = 0;
  OpKind kind = OpKind::kWrite;
  std::string ns;
  std::size_t entries = 0;  // write: entries sent
  bool done = false;
  OpResult result;  // valid once done
};

// A seeded stream of client ops: Poisson arrivals at the sum of the rates, each arrival a
// fresh canonical (insert), an update of an existing one (sometimes a batch of updates of
// one canonical, acknowledged once), or a lookup of an existing one.
struct WorkloadConfig {
  std::string ns = "default";
  Time start = 0;
  Time end = 60 * kMicrosPerSecond;
  double inserts_per_s = 2;
  double updates_per_s = 4;
  double lookups_per_s = 4;
  double batch_probability = 0.1;  // an update arrival is a batch
  std::size_t batch_entries_max = 16;
  std::size_t authors = 4;  // client key pairs that sign entries
  std::size_t clients = 4;  // added if the network has fewer
  // Windows [from, to) in which no write is issued (lookups go on): a test quiets writes
  // before it takes down r-1 replicas with their disks, so that every acknowledged write
  // has had time to reach all r replicas (W < r acknowledges before that).
  std::vector<std::pair<Time, Time>> write_pauses;
};

struct WorkloadStats {
  std::uint64_t inserts = 0, updates = 0, batches = 0, lookups = 0, skipped = 0;
};

// What the lifecycle calls did in a run (fault coverage is counted from these and the
// engine's NetMetrics, not from what a scenario planned).
struct LifecycleCounts {
  std::uint64_t joins = 0, joins_done = 0;            // add_joining_peer; ... that joined
  std::uint64_t leaves = 0, leaves_done = 0;          // leave(); ... that has_left()
  std::uint64_t crashes = 0, crashes_disk_lost = 0;   // crash()
  std::uint64_t recoveries = 0, recoveries_done = 0;  // recover(); ... that joined again
};

class TestNetwork {
 public:
  explicit TestNetwork(NetConfig config);
  ~TestNetwork();
  TestNetwork(const TestNetwork&) = delete;
  TestNetwork& operator=(const TestNetwork&) = delete;

  // ---- Peers (every peer serves every namespace of the config) ----
  // n peers started inside a stabilized ring. Returns their slots.
  std::vector<std::size_t> add_instant_ring(std::size_t n);
  // The first peer of a ring (create_ring).
  std::size_t add_first_peer();
  // A fresh peer joining through the peer in slot `bootstrap`.
  std::size_t add_joining_peer(std::size_t bootstrap);
  // REQUIRES: state(slot) is kUp or kLeaving.
  void crash(std::size_t slot, bool disk_lost);
  // A new Peer with the same keys restores the slot's durable records and joins through
  // a live joined peer. REQUIRES: state(slot) == kCrashed.
  void recover(std::size_t slot);
  // Graceful leave. REQUIRES: state(slot) == kUp.
  void leave(std::size_t slot);
  void partition(const std::vector<std::vector<std::size_t>>& groups);
  void heal() {
    core_.heal();
    partitioned_ = false;
    healed_at_ = core_.now();
  }
  void set_loss(double p) { core_.set_loss(p); }
  void set_duplicate(double p) { core_.set_duplicate(p); }

  // ---- Clients and their ops, recorded in history() ----
  std::size_t add_client();
  [[nodiscard]] std::size_t clients() const;
  // Namespace of a write: its first entry's. REQUIRES: entries non-empty.
  std::uint64_t write(std::size_t client, std::vector<Entry> entries, std::size_t gateway);
  std::uint64_t lookup(std::size_t client, const Cid& canonical, std::size_t gateway,
                       const std::string& ns = "");
  std::uint64_t route(std::size_t client, const RingId& key, std::size_t gateway,
                      const std::string& ns = "");
  [[nodiscard]] const History& history() const { return history_; }
  [[nodiscard]] const std::map<std::uint64_t, OpRecord>& ops() const { return ops_; }
  [[nodiscard]] std::size_t ops_in_flight() const;
  // Ops the Client objects themselves still hold (should match ops_in_flight()).
  [[nodiscard]] std::size_t client_ops_in_flight() const;
  // Acknowledged writes of which some entry was durable at fewer than min(W, joined peers)
  // peers when the client heard the acknowledgement: one line each (checkers report them).
  // While the network is partitioned, and until the ring has settled after the heal
  // (kAfterHeal), a coordinator that knows fewer than W replicas acknowledges with what it
  // reaches (overlay_ops.cc caps W at the replica set it knows, against DESIGN.md's "once
  // W replicas have applied it durably"); such acks are counted apart, not reported.
  [[nodiscard]] const std::vector<std::string>& early_acks() const { return early_acks_; }
  [[nodiscard]] std::size_t early_acks_partitioned() const { return early_acks_partitioned_; }
  // Every canonical written through write(), by (namespace, ring key).
  [[nodiscard]] const std::map<std::pair<std::string, RingId>, Cid>& written_canonicals() const {
    return written_canonicals_;
  }

  // ---- Workload ----
  // Starts a seeded workload. Called again (say, once per namespace), it adds another
  // workload with a random stream of its own; the first keeps the stream it always had.
  void start_workload(const WorkloadConfig& config);
  [[nodiscard]] const WorkloadStats& workload_stats() const { return workload_stats_; }
  // Canonicals the workloads created, in creation order.
  [[nodiscard]] const std::vector<Cid>& canonicals() const { return canonicals_; }
  // A signed entry by one of the workload's authors (tests that write by hand).
  [[nodiscard]] Entry make_update(const Cid& canonical, const std::string& ns = "");

  // ---- Time ----
  void run_until(Time t) { core_.run_until(t); }
  void run_for(Time d) { core_.run_for(d); }
  void at(Time t, std::function<void()> action) { core_.at(t, std::move(action)); }
  [[nodiscard]] Time now() const { return core_.now(); }

  // ---- Introspection ----
  [[nodiscard]] std::size_t peer_slots() const { return slots_.size(); }
  [[nodiscard]] SlotState state(std::size_t slot) const;
  // The running peer of a slot; nullptr when crashed. A left peer stays readable.
  [[nodiscard]] const Peer* peer(std::size_t slot) const;
  [[nodiscard]] const KeyPair& keys(std::size_t slot) const;
  [[nodiscard]] std::uint64_t incarnation(std::size_t slot) const;
  [[nodiscard]] bool disk_lost(std::size_t slot) const;
  // Slots in state kUp, in slot order.
  [[nodiscard]] std::vector<std::size_t> up_slots() const;
  // Slots in state kUp whose ring of `ns` says joined, in slot order.
  [[nodiscard]] std::vector<std::size_t> joined_slots(const std::string& ns = "") const;
  // Up slots sorted by ring id (the ring as an oracle sees it).
  [[nodiscard]] std::vector<std::size_t> ring_order() const;

  [[nodiscard]] NetCore& core() { return core_; }
  [[nodiscard]] const NetCore& core() const { return core_; }
  [[nodiscard]] const NetConfig& config() const { return core_.config(); }
  // The PeerConfig a peer in `slot` runs with (planted bugs and per-slot sizes applied).
  [[nodiscard]] PeerConfig slot_config(std::size_t slot) const;
  [[nodiscard]] const NetMetrics& metrics() const { return core_.metrics(); }
  [[nodiscard]] const LifecycleCounts& lifecycle() const { return lifecycle_; }
  [[nodiscard]] std::uint64_t fingerprint() const { return core_.fingerprint(); }
  // Hash over every slot's state, store contents and journal heads: equal final states.
  [[nodiscard]] std::uint64_t state_fingerprint() const;
  // Problems of the harness itself (a restore that failed, a node that spins).
  [[nodiscard]] std::vector<std::string> errors() const;
  // The one-line command that replays this run.
  [[nodiscard]] std::string repro() const;
  // A generator derived from the run's seed, for a test's own choices.
  [[nodiscard]] Rng rng(std::string_view name, std::uint64_t index = 0) const {
    return Rng::derive(config().seed, name, index);
  }

  // Called after every event that reached a peer (and after lifecycle calls).
  void set_peer_hook(std::function<void(std::size_t slot)> hook) { peer_hook_ = std::move(hook); }

 private:
  struct PeerSlot;
  struct ClientSlot;
  struct Workload;

  std::size_t new_slot();
  void start_peer(std::size_t slot);
  void on_node_event(Address a);
  void harvest(std::size_t client);
  void on_durable(Address a, const StorageRecord& record);
  void check_acknowledged(const OpRecord& rec, const std::vector<Hash256>& entries);
  std::uint64_t submit(std::size_t client, OpKind kind, const std::string& ns, std::size_t gateway,
                       std::uint64_t client_op, std::size_t entries);
  [[nodiscard]] const std::string& ns_or_default(const std::string& ns) const;
  void workload_tick(std::size_t w);
  void workload_write(std::size_t w, std::size_t client, std::size_t gateway);
  void workload_lookup(std::size_t w, std::size_t client, std::size_t gateway);
  Rng& workload_rng(std::size_t w);
  [[nodiscard]] Cid random_cid(Rng& rng) const;

  NetCore core_;
  std::vector<std::unique_ptr<PeerSlot>> slots_;
  std::vector<std::unique_ptr<ClientSlot>> clients_;
  // Client nodes of the engine that are ours (a test may add raw nodes of its own).
  std::map<Address, std::size_t> client_by_address_;
  History history_;
  std::map<std::uint64_t, OpRecord> ops_;
  std::map<std::pair<std::size_t, std::uint64_t>, std::uint64_t> client_ops_;  // -> global id
  std::uint64_t next_op_ = 1;
  std::function<void(std::size_t)> peer_hook_;
  std::vector<std::string> errors_;
  Rng choice_rng_;  // bootstrap choices of recover()
  LifecycleCounts lifecycle_;
  std::map<std::pair<std::string, RingId>, Cid> written_canonicals_;
  // Peers at which each entry ever became durable (disk loss later does not undo that an
  // acknowledgement came after it): what an acknowledgement is judged against.
  std::map<Hash256, std::vector<Address>> durable_at_;
  std::vector<std::string> early_acks_;
  std::size_t early_acks_partitioned_ = 0;
  bool partitioned_ = false;
  Time healed_at_ = -1;
  static constexpr Time kAfterHeal = 30 * kMicrosPerSecond;

  std::vector<std::unique_ptr<Workload>> workloads_;
  Rng workload_rng_;
  std::vector<KeyPair> authors_;
  std::vector<Cid> canonicals_;
  WorkloadStats workload_stats_;
};

}  // namespace kittengrad::testnet
