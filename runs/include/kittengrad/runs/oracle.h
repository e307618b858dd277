// kittengrad/runs/oracle.h — global knowledge of a run: which peers are live, what each
// holds, which updates were acknowledged; the replication metrics of DESIGN.md from them.
// Both backends use it: the simulator with its Peer objects, the live runner with stores
// it reads from its peers. It knows a peer only by its ring id and a function that gives
// its Store of a namespace, so it needs no Peer.
//
// Definitions (DESIGN.md, "Run file"): a key is under-replicated when fewer than r of
// the live peers now responsible for it hold every acknowledged update of it; divergent
// when two of those hold different sets; an update is lost when it was acknowledged and
// no live peer holds it.
//
// Cost. A full scan of every store at every interval would dominate large runs, so the
// oracle keeps each key's verdict and recomputes only keys whose verdict may have
// changed since the last sample: a key changes only when (a) a peer stores an entry of it
// (the driver reports every persisted entry), (b) one of its updates is acknowledged, or
// (c) a peer responsible for it, or holding it, goes up or down. Sampling costs
// O(changed keys x r), not O(keys x peers).
//
//   Oracle o(3, {"default"});
//   o.peer_up(7, peer.self().id,          // after start / restore
//             [&peer](const std::string& ns) { return peer.store(ns); });
//   o.persisted(7, "default", key);       // for every entry a peer made durable
//   o.acknowledged(entries, now);         // a write's ack reached its client
//   OracleSample s = o.sample();          // every metrics interval
//   o.peer_down(7);                       // before its stores go away
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kittengrad/history.h"
#include "kittengrad/ids.h"
#include "kittengrad/store.h"
#include "kittengrad/runs/run_tables.h"

namespace kittengrad::runs {

using PeerIndex = std::uint32_t;  // the run's index of a peer identity (its Address)

// A live peer's Store of namespace `ns`, or nullptr when it does not serve `ns`.
using StoreLookup = std::function<const Store*(const std::string& ns)>;

struct OracleSample {
  std::int64_t peers_alive = 0;
  std::int64_t keys = 0;  // keys with at least one acknowledged update
  std::int64_t replicas_min = 0;
  double replicas_mean = 0;
  std::int64_t under_replicated_keys = 0;
  std::int64_t divergent_keys = 0;
  std::int64_t lost_updates = 0;
  bool operator==(const OracleSample&) const = default;
};

class Oracle {
 public:
  Oracle(int replication, std::vector<std::string> namespaces);

  // Membership: the peer `index` at ring position `id` is up, and `stores` gives its
  // stores. REQUIRES: peer_up for a live index is not repeated; `stores` and the Store
  // objects it returns stay valid until peer_down(index).
  void peer_up(PeerIndex index, const RingId& id, StoreLookup stores);
  void peer_down(PeerIndex index);
  [[nodiscard]] std::size_t live_peers() const { return live_list_.size(); }
  // The i-th live peer, in an order that only events change: O(1) uniform choices.
  [[nodiscard]] PeerIndex live_at(std::size_t i) const { return live_list_[i]; }
  [[nodiscard]] bool is_live(PeerIndex index) const { return live_.contains(index); }
  // Live peer indices in ring order of a namespace.
  [[nodiscard]] std::vector<PeerIndex> ring(const std::string& ns) const;

  // A peer made an entry of `key` durable.
  void persisted(PeerIndex index, const std::string& ns, const RingId& key);
  // A write's acknowledgement reached its client: its entries are acknowledged updates.
  void acknowledged(const std::vector<Entry>& entries, Time at);
  // True iff `got` holds every update of (ns, key) acknowledged strictly before `issued`.
  [[nodiscard]] bool lookup_correct(const std::string& ns, const RingId& key, Time issued,
                                    const std::vector<Entry>& got) const;

  [[nodiscard]] OracleSample sample();
  // The figures of one namespace as of the last sample() (peers_alive: all live peers).
  [[nodiscard]] OracleSample namespace_sample(const std::string& ns) const;
  // The same figures computed from scratch: every key, every live peer's store, no cached
  // verdicts and no holder lists. Slow; tests compare it with sample() to prove that the
  // incremental bookkeeping misses nothing (KG_ORACLE_AUDIT=1 in a run).
  [[nodiscard]] OracleSample audit() const;
  // The end-of-run tables: per-key replica counts, and the union of what the live peers
  // responsible for each key hold (the final reads of the history checker).
  void final_keys(FinalKeysTable& out);
  [[nodiscard]] FinalReads final_reads() const;
  [[nodiscard]] std::uint64_t recomputed_total() const { return recomputed_total_; }

 private:
  struct KeyTrack {
    std::vector<EntryId> acked;    // in order of acknowledgement
    std::set<EntryId> acked_ids;   // the same ids, to refuse a repeat in O(log n)
    std::vector<Time> acked_at;    // non-decreasing
    std::vector<PeerIndex> holders;  // peers that stored an entry of it, sorted
    std::int32_t replicas = 0;
    bool under = false;
    bool divergent = false;
    std::int64_t lost = 0;
    bool dirty = false;
    bool counted_acked = false;  // counted among the acknowledged keys at the last sample
  };
  // Running totals over the keys of one namespace, or of all of them.
  struct Totals {
    std::int64_t acked_keys = 0;
    std::int64_t under = 0, divergent = 0, lost = 0;
    std::int64_t replicas_sum = 0;
    std::vector<std::int64_t> replicas_histogram;  // [k] = acked keys with k full replicas
  };
  struct LivePeer {
    RingId id;
    StoreLookup stores;
  };
  struct Namespace {
    Totals totals;
    std::map<RingId, PeerIndex> ring;  // live peers by ring id
    std::map<RingId, KeyTrack> keys;
    std::vector<RingId> dirty;
  };

  void mark(Namespace& space, const RingId& key, KeyTrack& track);
  void mark_responsible_range(Namespace& space, const RingId& peer_id);
  void mark_held(Namespace& space, const LivePeer& peer, const std::string& ns);
  void recompute(const std::string& ns, Namespace& space, const RingId& key, KeyTrack& t);
  void count(Namespace& space, KeyTrack& t, int sign);
  [[nodiscard]] OracleSample sample_of(const Totals& totals) const;
  [[nodiscard]] std::vector<PeerIndex> responsible(const Namespace& space,
                                                   const RingId& key) const;
  [[nodiscard]] const Store* store_of(PeerIndex index, const std::string& ns) const;

  int r_;
  std::vector<std::string> namespace_names_;
  std::map<std::string, Namespace> spaces_;
  std::map<PeerIndex, LivePeer> live_;
  std::vector<PeerIndex> live_list_;           // the same peers, for random choice
  std::map<PeerIndex, std::size_t> live_pos_;  // index -> position in live_list_
  Totals all_;  // over every key of every namespace
  std::uint64_t recomputed_total_ = 0;
};

}  // namespace kittengrad::runs
