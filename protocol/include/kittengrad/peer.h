// kittengrad/peer.h — one peer: Chord routing, successor replication, the CRDT store and
// the journal, for each namespace it serves. A sans-I/O state machine.
//
// Inputs: on_datagram(), on_persisted(), on_wakeup() (at or after next_wakeup()), and the
// lifecycle calls. Outputs: Network::send() and Storage::persist() through the Env.
//
//   Peer p(config, keys, my_address, env, seed);
//   p.serve("default");
//   p.join("default", bootstrap_address);      // or create_ring / start_instant
//   ... driver loop: deliver datagrams, storage completions, wakeups ...
//
// Invariants (checked by the test network after every event): the successor list is in
// clockwise order from self; every stored entry verified; the journal chain links.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kittengrad/config.h"
#include "kittengrad/crypto.h"
#include "kittengrad/env.h"
#include "kittengrad/journal.h"
#include "kittengrad/messages.h"
#include "kittengrad/rng.h"
#include "kittengrad/store.h"
#include "kittengrad/verifier.h"

namespace kittengrad {

// Entries refused (a bad signature, or another namespace's entry), by the path they came
// on. Their sum is PeerCounters::bad_signatures.
struct RefusedEntries {
  std::uint64_t client_write = 0;  // WriteRequest from a client (the batch is refused whole)
  std::uint64_t replicate = 0;     // Replicate: a coordinator's push, hand-off, GC, AE rest
  std::uint64_t ae_responder = 0;  // AeExchange: entries an initiator sent us
  std::uint64_t ae_initiator = 0;  // AeEntries: entries a responder returned to us
  std::uint64_t range_page = 0;    // RangeEntries: a page of a range we pulled
  std::uint64_t read_reply = 0;    // ReadReplicaReply: a replica's set for our read
  std::uint64_t catch_up = 0;      // CatchUpReply: entries of a neighbour's signed block
  bool operator==(const RefusedEntries&) const = default;
};

// Counters a driver reads for metrics. All monotonic.
struct PeerCounters {
  std::uint64_t bad_signatures = 0;     // entries refused for a bad signature
  RefusedEntries bad_signatures_by_path;
  std::uint64_t bad_blocks = 0;         // journal blocks refused
  std::uint64_t wrong_peer = 0;         // client ops refused with a redirect
  std::uint64_t unknown_namespace = 0;  // messages for a namespace not served
  std::uint64_t malformed = 0;          // requests out of limits
  std::uint64_t overloaded = 0;         // requests refused because a table was full
  std::uint64_t feed_blocks_skipped = 0;  // journal blocks too large for a subscription feed
  std::uint64_t oversized_sent = 0;     // messages sent larger than the datagram budget (a bug)
  std::uint64_t entries_applied = 0;    // new entries stored (any path)
  std::uint64_t ae_rounds = 0;          // anti-entropy digests sent
  std::uint64_t ae_in_sync = 0;         // ... answered "in sync"
  std::uint64_t ae_reconciled = 0;      // ... reconciled by coded symbols
  std::uint64_t ae_paged = 0;           // ... reconciled by paging the range
  std::uint64_t lookups_failed = 0;
  std::uint64_t timeouts = 0;
  // Bounded repair state (config.h): what was dropped or refused when a bound was reached.
  std::uint64_t ae_evicted = 0;         // own AE sessions dropped: stale, over the bound, or
                                        // answered out of order
  std::uint64_t ae_busy = 0;            // AE steps refused or given up: the range's coded
                                        // symbols were still being built
  std::uint64_t pulls_evicted = 0;      // range pull streams dropped over the bound
  std::uint64_t catch_ups_evicted = 0;  // catch-up sessions dropped over the bound
  std::uint64_t reassembly_refused = 0; // blocks too large to reassemble from pieces
};

// How full one namespace's tables are: each has a bound in PeerConfig, and operators and
// tests read these to see a peer hold under load (`kittengrad stats`, the flood tests).
struct TableSizes {
  std::size_t writes = 0;       // client writes in flight (pending_ops_max)
  std::size_t reads = 0;        // client lookups in flight (reads_max)
  std::size_t lookups = 0;      // iterative lookups in flight (lookups_max)
  std::size_t persists = 0;     // storage writes awaiting completion (persists_max)
  std::size_t subscribers = 0;  // journal subscriptions (subscribers_max)
  std::size_t ae_sessions = 0;  // anti-entropy sessions this peer started
  std::size_t pulls = 0;        // range pulls in flight
  std::size_t catch_ups = 0;    // catch-up sessions in flight
  std::size_t pushes = 0;       // hand-off and repair pushes in flight
  std::size_t pending = 0;      // requests to other peers awaiting a reply
  std::size_t cached_arcs = 0;  // ranges whose anti-entropy coded symbols are kept current
  std::size_t built_arcs = 0;   // of those, the ones whose symbols are built
};

// The routing state of one namespace, for checkers and the oracle.
struct RingState {
  NodeRef self;
  std::optional<NodeRef> predecessor;
  std::vector<NodeRef> successors;
  std::vector<NodeRef> predecessors;
  std::vector<NodeRef> fingers;  // distinct finger targets, in finger order
  bool joined = false;
};

// The random stream of namespace `ns` in a peer seeded `peer_seed` (timer jitter, random
// choices): Rng::derive, not std::hash, whose values differ between standard libraries, so
// that a run replays bit for bit on any of them.
[[nodiscard]] Rng namespace_rng(std::uint64_t peer_seed, std::string_view ns);

class Overlay;  // per-namespace state (src/overlay.h, src/overlay_*.cc)

class Peer {
 public:
  Peer(PeerConfig config, KeyPair keys, Address self, Env env, std::uint64_t seed);
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // Serve a namespace (before any lifecycle call for it).
  void serve(const std::string& ns);
  // Rebuild store and journal from durable records (after a crash, before joining).
  // Records of namespaces not served are ignored; a broken chain is an error.
  [[nodiscard]] Result<bool> restore(const std::vector<StorageRecord>& records);

  // The first peer of a ring.
  void create_ring(const std::string& ns);
  // Join through any live peer of the ring.
  void join(const std::string& ns, Address bootstrap);
  // Start inside an already stabilized ring: `members` sorted by id, self among them.
  void start_instant(const std::string& ns, const std::vector<NodeRef>& members);
  // Graceful leave of every namespace: hand off, tell neighbours, then stop.
  void leave();
  [[nodiscard]] bool has_left() const { return left_; }

  // Runs an anti-entropy round in every namespace now, besides the periodic ones (tests,
  // benchmarks, and operators who want a repair pass after an incident).
  void anti_entropy_now();

  void on_datagram(Address from, const Message& m);
  void on_persisted(std::uint64_t token);
  void on_wakeup();
  [[nodiscard]] std::optional<Time> next_wakeup() const;

  // Introspection for drivers, checkers and the oracle.
  [[nodiscard]] const NodeRef& self() const { return self_; }
  [[nodiscard]] const KeyPair& keys() const { return keys_; }
  [[nodiscard]] const PeerConfig& config() const { return config_; }
  [[nodiscard]] bool serves(const std::string& ns) const;
  [[nodiscard]] const Store* store(const std::string& ns) const;
  [[nodiscard]] const Journal* journal(const std::string& ns) const;
  [[nodiscard]] RingState ring(const std::string& ns) const;
  // True iff this peer has joined the ring of ns: ring(ns).joined without copying the lists.
  [[nodiscard]] bool joined(const std::string& ns) const;
  // True iff, by this peer's view, it is one of the r replicas of key.
  [[nodiscard]] bool is_replica(const std::string& ns, const RingId& key) const;
  [[nodiscard]] const PeerCounters& counters() const { return counters_; }
  // Zeros for a namespace not served.
  [[nodiscard]] TableSizes table_sizes(const std::string& ns) const;

 private:
  friend class Overlay;
  Overlay* overlay(const std::string& ns);
  void refuse(Address to, const std::string& ns, std::uint64_t req, ErrorCode code);
  // The Env's shared verifier, or this peer's own (made at first use).
  SignatureVerifier& verifier();

  PeerConfig config_;
  KeyPair keys_;
  NodeRef self_;
  Env env_;
  std::uint64_t seed_;
  std::map<std::string, std::unique_ptr<Overlay>> overlays_;
  std::uint64_t next_token_ = 1;                  // storage completion tokens
  std::map<std::uint64_t, Overlay*> token_owner_;  // token -> overlay that persisted
  PeerCounters counters_;
  std::unique_ptr<SignatureCache> own_verifier_;
  bool left_ = false;
};

}  // namespace kittengrad
