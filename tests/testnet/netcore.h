// netcore.h — the engine of the deterministic test network: virtual time, datagrams,
// disks and clocks for any sans-I/O node, with no knowledge of what the nodes are.
//
// Design. One thread, one event queue ordered by (time, sequence number): two events at
// the same microsecond run in the order they were scheduled, never by pointer value or
// container order, so a seed replays a run bit for bit. Every random choice (latency,
// loss, duplication, storage latency, clock skew, torn writes at a crash) comes from its
// own stream derived from the root seed, so changing the loss rate does not shift every
// latency drawn after it.
//
// A node is anything implementing Endpoint (a Peer or a Client behind a small adapter in
// testnet.cc, or a test's own endpoint). The core gives each node a Clock, a Network and a
// Storage (node_env()), delivers datagrams, storage completions and wakeups to it, and
// after each of them asks next_wakeup() again. TestNetwork (testnet.h) layers peers,
// clients, histories and workloads over this; keeping the engine apart lets its own tests
// run without any protocol code.
//
//   NetCore core(config);
//   Address a = core.add_peer_node();
//   core.attach(a, &my_endpoint);
//   core.node_env(a).network->send(b, msg);
//   core.run_until(10 * kMicrosPerSecond);
//
// Invariants: events never run out of (time, seq) order and time never goes back; a node's
// storage completions fire in the order of its persist() calls; an event scheduled for an
// incarnation of a node that has since crashed is dropped.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kittengrad/client.h"
#include "kittengrad/config.h"
#include "kittengrad/env.h"
#include "kittengrad/rng.h"

namespace kittengrad::testnet {

// Clients live above every peer slot: peers are 0.., clients kClientBase + 0.., so the two
// ranges never meet however many peers a run adds.
inline constexpr Address kClientBase = Address{1} << 32;
inline constexpr Time kNever = INT64_MAX;

enum class LatencyModel : std::uint8_t { kUniform, kLogNormal };

struct NetConfig {
  std::uint64_t seed = 1;  // the root of every random stream of a run

  LatencyModel latency_model = LatencyModel::kUniform;
  Time latency_min = 2 * kMicrosPerMs;  // uniform: [min, max]; lognormal: clamped to it
  Time latency_max = 40 * kMicrosPerMs;
  Time latency_median = 20 * kMicrosPerMs;  // lognormal only
  double latency_sigma = 0.5;               // lognormal only
  double loss = 0.0;                        // probability a datagram is dropped
  double duplicate = 0.0;                   // probability a datagram arrives twice

  Time storage_latency_min = 100;               // one persist() call becomes durable after this ...
  Time storage_latency_max = 3 * kMicrosPerMs;  // ... uniformly, completions in order
  // At a crash without disk loss, each write in flight (in order, stopping at the first
  // that is not) survives with this probability: "later ones may or may not be there".
  double crash_keeps_unsynced = 0.5;
  std::int64_t clock_skew_ms_max = 0;  // each node's wall clock off by [-x, x] ms

  PeerConfig peer;
  // The planted bugs of peer.bugs apply to the peers in these slots only (empty: to all):
  // "one replica drops an entry" needs the others honest.
  std::vector<std::size_t> planted_bug_slots;
  // Per-slot datagram sizes (slot -> max_datagram_bytes), for peers configured apart from
  // the rest; unlisted slots take peer.max_datagram_bytes.
  std::map<std::size_t, std::size_t> max_datagram_bytes_of_slot;
  ClientConfig client;
  std::vector<std::string> namespaces = {"default"};

  // The command that replays this run, printed with every violation; empty: a default.
  std::string repro;
};

// A sans-I/O node as the engine sees it.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  virtual void on_datagram(Address from, const Message& m) = 0;
  virtual void on_persisted(std::uint64_t token) = 0;
  virtual void on_wakeup() = 0;
  [[nodiscard]] virtual std::optional<Time> next_wakeup() const = 0;
};

// Traffic counters, by message kind (message_kind_index) and in total.
struct NetMetrics {
  std::array<std::uint64_t, kMessageKinds> sent_messages{};
  std::array<std::uint64_t, kMessageKinds> sent_bytes{};
  std::uint64_t messages_total = 0, bytes_total = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped_loss = 0, dropped_partition = 0, dropped_dead = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t persists = 0, records_persisted = 0;
  std::uint64_t events = 0;
  // A table of the non-zero kinds, one per line.
  [[nodiscard]] std::string describe() const;
};

// What happens after an event reached a node; the hook sees the node's address.
using NodeHook = std::function<void(Address)>;
// Sees every record as it becomes durable at a node (a completion, or a write a crash
// kept), before the node hears of it.
using DurableHook = std::function<void(Address, const StorageRecord&)>;
// A man in the middle: sees every datagram as it is sent and may change it (tests of
// refusals: forged entries, tampered blocks). It runs before the datagram is counted.
using Tamper = std::function<void(Address from, Address to, Message& m)>;

class NetCore {
 public:
  explicit NetCore(NetConfig config);
  ~NetCore();
  NetCore(const NetCore&) = delete;
  NetCore& operator=(const NetCore&) = delete;

  // Adds a node, down until attach(). Returns its address.
  Address add_peer_node();
  Address add_client_node();
  [[nodiscard]] std::size_t peer_nodes() const { return peers_.size(); }
  [[nodiscard]] std::size_t client_nodes() const { return clients_.size(); }

  // The environment of a node: valid for the engine's life, across crashes.
  [[nodiscard]] Env node_env(Address a);
  // Brings a node up (first start or recovery): a new incarnation receives events.
  void attach(Address a, Endpoint* endpoint);
  // Takes a node down: in-flight writes are torn (see crash_keeps_unsynced), pending
  // events for it are dropped; disk_lost also wipes its durable records.
  void crash(Address a, bool disk_lost);
  // Takes a node down for good after a graceful leave; its disk is kept for inspection.
  void retire(Address a);
  [[nodiscard]] bool is_up(Address a) const;
  [[nodiscard]] std::uint64_t incarnation(Address a) const;
  [[nodiscard]] const std::vector<StorageRecord>& durable(Address a) const;
  [[nodiscard]] std::int64_t clock_skew_ms(Address a) const;

  // After an input the engine did not deliver (a lifecycle call, a client op): ask the
  // node for its next wakeup again.
  void kick(Address a);

  // Peers in different groups cannot exchange datagrams; peers in no group form one more
  // group; clients reach everybody. Applies to datagrams sent from now on.
  void partition(const std::vector<std::vector<Address>>& groups);
  void heal();
  void set_loss(double p) { config_.loss = p; }
  void set_duplicate(double p) { config_.duplicate = p; }

  // Runs `action` at time `at` (>= now), after everything already scheduled for `at`.
  void at(Time at, std::function<void()> action);
  // Runs every event up to and including `until`; then now() == until.
  void run_until(Time until);
  void run_for(Time duration) { run_until(now_ + duration); }
  // Runs the next event, if any. Returns false when the queue is empty.
  bool step();
  [[nodiscard]] Time now() const { return now_; }
  [[nodiscard]] std::size_t queued() const;

  // Called after every event that reached a node, and after kick().
  void set_node_hook(NodeHook hook) { hook_ = std::move(hook); }
  void set_durable_hook(DurableHook hook) { durable_hook_ = std::move(hook); }
  // Every datagram sent from now on passes through `tamper` (empty: none).
  void set_tamper(Tamper tamper) { tamper_ = std::move(tamper); }

  [[nodiscard]] const NetMetrics& metrics() const { return metrics_; }
  // Hash over every event run so far: its time, kind, nodes, and message kind and size.
  // Two runs are identical iff (w.h.p.) their fingerprints are.
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint_; }
  // Problems the engine noticed in a node (a wakeup asked again and again at the same
  // instant): a driver-level invariant the checkers report.
  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }
  [[nodiscard]] const NetConfig& config() const { return config_; }

  // Samples, exposed for the engine's own tests.
  Time sample_latency();
  Time sample_storage_latency();

 private:
  struct Node;
  struct Event;
  class NodeClock;
  class NodeNetwork;
  class NodeStorage;

  Node& node(Address a);
  [[nodiscard]] const Node* find(Address a) const;
  void send(Address from, Address to, Message msg);
  void persist(Address from, std::vector<StorageRecord> records, std::uint64_t token);
  void schedule(Event e);
  void run_event(Event& e);
  void deliver(Event& e);
  void complete_persist(Event& e);
  void wake(Event& e);
  void after_input(Node& n);
  void record(const Event& e);
  [[nodiscard]] bool partitioned(const Node& from, const Node& to) const;

  NetConfig config_;
  Time now_ = 0;
  std::uint64_t next_seq_ = 0;
  std::vector<Event> queue_;  // a binary heap on (at, seq)
  std::vector<std::unique_ptr<Node>> peers_;
  std::vector<std::unique_ptr<Node>> clients_;
  Rng latency_rng_, loss_rng_, duplicate_rng_, storage_rng_, skew_rng_, crash_rng_;
  NodeHook hook_;
  DurableHook durable_hook_;
  Tamper tamper_;
  NetMetrics metrics_;
  std::uint64_t fingerprint_ = 0;
  std::vector<std::string> errors_;
};

}  // namespace kittengrad::testnet
