// overlay.h — private: one namespace's overlay inside a Peer (ring, store, journal, ops).
//
// Split by job over overlay_*.cc: routing (ring + lookups), ops (client writes/reads and
// replication), sync (anti-entropy, range paging, garbage collection, catch-up), leave
// (hand-off), journal (block cuts, subscriptions, restore), and overlay.cc (dispatch,
// timers, pending requests). Every outstanding request to another node is a Pending with a deadline; the
// single timer queue `deadlines_` drives timeouts, and the periodic tasks have one
// due-time each, so next_wakeup() is a min over a handful of values.
#pragma once

#include <cassert>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kittengrad/peer.h"
#include "kittengrad/rng.h"
#include "sync_index.h"

namespace kittengrad {

// In-flight counts (replies awaited, persists outstanding) only go down for something that
// went up; one going below zero is a bug, and stops the program rather than corrupt state.
inline std::size_t count_down(std::size_t& n) {
  assert(n > 0 && "an in-flight count went below zero");
  return --n;
}

// Increments a counter that must never wrap.
inline void bump(std::uint64_t& counter, std::uint64_t by = 1) {
  assert(counter <= UINT64_MAX - by && "a counter would wrap");
  counter += by;
}

// What an outstanding request was for; decides what its reply or timeout does.
enum class PendingKind : std::uint8_t {
  kLookupStep,     // FindSuccessor sent for a lookup
  kStabilize,      // GetNeighbours to the successor
  kCheckPred,      // Ping to the predecessor
  kReplicate,      // Replicate for a client write
  kPush,           // Replicate for GC / large reconciliation
  kHandoff,        // Replicate (or an empty probe) for a graceful leave's hand-off
  kReadReplica,    // ReadReplica for a read quorum
  kAe,             // an anti-entropy session step
  kRangePull,      // RangePull page
  kCatchUp,        // CatchUp page
};

struct Pending {
  PendingKind kind;
  NodeRef to;
  Message message;       // resent as is on timeout while retries remain
  Time deadline = 0;
  int retries_left = 0;
  std::uint64_t owner = 0;  // lookup, write, read, push, AE session or pull id
};

// The answer of a lookup: ok, the replica set of the key (its successors), the hops taken.
using LookupDone = std::function<void(bool ok, std::vector<NodeRef> replicas, std::uint32_t hops)>;

struct Lookup {
  std::uint64_t id = 0;
  RingId key;
  LookupDone done;
  std::vector<NodeRef> candidates;  // next nodes to ask, best first
  std::set<RingId> asked;
  std::uint32_t hops = 0;
  int steps = 0;
};

struct WriteOp {
  std::uint64_t id = 0;
  Address client = 0;
  std::uint64_t client_req = 0;
  std::vector<Entry> entries;
  std::vector<std::set<RingId>> acked;  // per entry: replicas that hold it durably
  std::vector<std::size_t> required;    // per entry: acks needed (W, or fewer peers exist)
  std::map<std::uint64_t, std::vector<std::size_t>> by_req;  // replicate req -> entries
  std::size_t outstanding = 0;          // replicate requests and local persists in flight
  bool replied = false;
};

// One page of a lookup: this replica's page merged with the pages of R-1 others. A page
// is complete up to the earliest last entry among the sources that had more (`boundary`):
// beyond it some source's entries are still unseen, so those go in the next page.
struct ReadOp {
  std::uint64_t id = 0;
  Address client = 0;
  std::uint64_t client_req = 0;
  RingId key;
  std::optional<Entry> after;
  std::size_t window = 1;  // pages the client may be answered with
  std::vector<Entry> merged;
  std::optional<Entry> boundary;
  std::size_t waiting = 0;
};

// Where a page of a range resumes: after key `after` (none: at the range's start), or, when
// skip > 0, at key `after` past its first `skip` entries (a key too large for one page).
struct RangeCursor {
  std::optional<RingId> after;
  std::uint32_t skip = 0;
};

// One target's share of a hand-off round: its entries, sent a page at a time with at
// most transfer_window pages in flight, or one empty Replicate (a probe).
struct HandoffOp {
  std::uint64_t id = 0;
  NodeRef target;
  std::vector<Entry> entries;
  std::size_t next = 0;     // the first entry not yet sent
  bool probe_sent = false;  // for an op without entries
  std::vector<std::vector<Entry>> again;  // pages the target refused as overloaded
  std::size_t overloaded = 0;             // such refusals so far (bounded)
  std::size_t waiting = 0;
  bool target_leaving = false;  // it answered kLeaving, or never answered
};

// A push of entries, page by page (each page one datagram) with at most transfer_window
// pages in flight, that must become durable at every target before `on_done` runs. The
// source is a list of entries, sent to each target in turn, or a range of the store, read
// a page at a time as acknowledgements come back (a hand-off of a large range holds one
// page per request in flight, never the range).
struct PushOp {
  std::uint64_t id = 0;
  std::size_t waiting = 0;  // pages in flight
  bool all_acked = true;
  std::function<void(bool all_acked)> on_done;
  std::vector<NodeRef> targets;
  std::vector<Entry> entries;     // list source
  std::optional<KeyRange> range;  // range source (one target)
  std::size_t target = 0;         // the target being served
  std::size_t next = 0;           // list source: the next entry to send
  RangeCursor cursor;             // range source: where the next page starts
  bool range_done = false;
};

// One anti-entropy session this peer opened with a neighbour over a shared range. Coded
// symbols come in pages: `asks` are the pages [from, to) not yet requested; `remote`
// holds the neighbour's symbols [0, remote.size()) as they arrive (`got` marks which).
// Once they decode, the exchange sends `give` (ids the neighbour lacks, looked up page by
// page) and asks for `want`, a page at a time. At most transfer_window requests are in
// flight; the session ends when one fails, when a reply is out of order, or when the
// next round finds it still open.
struct AeSession {
  std::uint64_t id = 0;
  NodeRef peer;
  KeyRange range;
  Time opened = 0;
  std::uint64_t peer_height = 0;
  std::int64_t remote_count = 0;
  std::vector<CodedSymbol> remote;
  std::vector<bool> got;
  std::size_t got_count = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> asks;
  // Our own symbols of the range, taken once when the first reply comes (a snapshot: the
  // store may change while the session runs), and the decoder fed the prefix of `remote`
  // that has arrived, [0, fed), page by page.
  std::vector<CodedSymbol> local;
  RibltDecoder decoder;
  std::size_t fed = 0;
  int rounds = 0;
  bool exchanging = false;
  std::vector<std::uint64_t> give;
  std::vector<std::uint64_t> want;
  std::size_t give_next = 0, want_next = 0;
  std::size_t in_flight = 0;
};

struct PullOp {  // one stream paging part of a range from one node (join, large gaps)
  std::uint64_t id = 0;
  NodeRef from;
  KeyRange range;
};

// A journal block arriving in pieces: its entry hashes so far (the entries themselves
// verify on their own signatures and are applied as they come). At most
// reassembly_bytes_max of hashes.
struct Reassembly {
  std::uint64_t height = 0;
  BlockHeader header;
  Signature signature{};
  std::vector<Hash256> hashes;  // header.entry_count of them
  std::vector<bool> have;
  std::uint32_t have_count = 0;
  std::uint32_t piece_entries = 1;  // entries a piece holds (from the first): the size of asks
  std::vector<std::pair<std::uint32_t, std::uint32_t>> asks;  // [from, to) not yet asked
};

struct CatchUpOp {
  std::uint64_t id = 0;
  NodeRef from;
  std::uint64_t since = 0;
  std::optional<Hash256> prev;  // hash of the last block verified, to check the next link
  std::vector<KeyRange> ranges;
  std::optional<Reassembly> partial;
  std::size_t in_flight = 0;
};

struct Subscriber {
  Address addr = 0;
  std::uint64_t sub = 0;
  std::uint64_t next_height = 1;  // next block to send
  Time lease_until = 0;
};

class Overlay {
 public:
  Overlay(Peer& peer, std::string ns, Rng rng);

  // Lifecycle.
  void create_ring();
  void join(Address bootstrap);
  void start_instant(const std::vector<NodeRef>& members);
  void leave();
  [[nodiscard]] bool left() const { return left_; }
  [[nodiscard]] Result<bool> restore(const std::vector<const StorageRecord*>& records);
  void anti_entropy_now() { anti_entropy(); }

  // Events.
  void on_message(Address from, const Body& body);
  void on_persisted(std::uint64_t token);
  void on_wakeup();
  [[nodiscard]] std::optional<Time> next_wakeup() const;

  // Introspection.
  [[nodiscard]] const Store& store() const { return store_; }
  [[nodiscard]] const Journal& journal() const { return journal_; }
  [[nodiscard]] RingState ring() const;
  [[nodiscard]] bool is_joined() const { return joined_; }
  [[nodiscard]] bool is_replica(const RingId& key) const;
  [[nodiscard]] TableSizes table_sizes() const;

 private:
  // ---- overlay.cc: plumbing ----
  [[nodiscard]] Time now() const;
  [[nodiscard]] const PeerConfig& config() const;
  [[nodiscard]] const NodeRef& self() const;
  // Every message leaves through here: node lists cut to the limits, and the size checked.
  [[nodiscard]] Message outgoing(Body body);
  void send(Address to, Body body);
  std::uint64_t request(PendingKind kind, const NodeRef& to, Body body, std::uint64_t owner,
                        int retries);
  void on_timeout(std::uint64_t req, Pending p);
  std::optional<Pending> take_pending(std::uint64_t req, Address from);
  std::uint64_t persist(std::vector<StorageRecord> records, std::function<void()> done);
  // Room for the storage writes of another request from outside. An eighth of
  // persists_max stays for the peer's own work (block cuts, solicited repair), which is
  // never refused, so the table stays within persists_max.
  [[nodiscard]] bool persist_room() const {
    return persists_.size() + config().persists_max / 8 < config().persists_max;
  }
  void run_periodic();

  // ---- overlay_ring.cc: Chord ----
  void set_successors(std::vector<NodeRef> list);
  void set_predecessors(std::vector<NodeRef> list);
  void forget(const RingId& dead);
  void remember_lost(const RingId& dead);
  [[nodiscard]] bool suspected(const RingId& id) const;
  [[nodiscard]] std::optional<NodeRef> successor() const;
  [[nodiscard]] std::vector<NodeRef> closest_preceding(const RingId& key, std::size_t n) const;
  // The replica set of key if this peer's neighbourhood determines it.
  [[nodiscard]] std::optional<std::vector<NodeRef>> local_replicas(const RingId& key) const;
  [[nodiscard]] std::vector<NodeRef> window() const;
  [[nodiscard]] bool whole_ring() const;
  [[nodiscard]] std::optional<RingId> range_start() const;
  void stabilize();
  void refill_successors();
  void probe_lost();
  void check_predecessor();
  void fix_finger();
  void handle(Address from, const FindSuccessor& m);
  void handle(Address from, const GetNeighbours& m);
  void handle(Address from, const Notify& m);
  void handle(Address from, const Ping& m);
  void handle(Address from, const LeaveNotice& m);
  void on_reply(const Pending& p, const FindSuccessorReply& m, Address from);
  void on_reply(const Pending& p, const GetNeighboursReply& m);
  void on_reply(const Pending& p, const Pong& m);
  // Iterative lookup of key's successors. `first` (optional) is whom to ask first, for a
  // node that knows no ring yet (join).
  void start_lookup(const RingId& key, LookupDone done,
                    std::optional<NodeRef> first = std::nullopt);
  void lookup_step(std::uint64_t id);
  void lookup_finish(std::uint64_t id, bool ok, std::vector<NodeRef> replicas);
  [[nodiscard]] std::optional<std::vector<NodeRef>> answer_locally(const RingId& key) const;
  void joined(std::vector<NodeRef> successors);
  // One attempt at joining: look up our own id through bootstrap_.front().
  void join_lookup();
  // A node that answered a lookup of ours before we joined: another way into the ring.
  void learn_way_in(const NodeRef& n);
  void start_timers();

  // ---- overlay_ops.cc: client operations and replication ----
  void handle(Address from, const WriteRequest& m);
  void handle(Address from, const ReadRequest& m);
  void handle(Address from, const RouteRequest& m);
  void handle(Address from, const Replicate& m);
  void handle(Address from, const ReadReplica& m);
  void on_reply(const Pending& p, const ReplicateAck& m, Address from);
  void on_reply(const Pending& p, const ReadReplicaReply& m);
  void refuse_wrong_peer(Address client, std::uint64_t req, const RingId& key);
  void reply_client(Address client, ClientReply reply);
  void write_progress(WriteOp& op);
  void finish_read(ReadOp& op);
  // True iff e is of this namespace and its signature verifies. Each entry is checked
  // once: one we hold was checked before it was stored, and the verifier remembers the
  // others it has checked.
  [[nodiscard]] bool verified(const Entry& e);
  // Verifies and applies entries that came on `path`; returns how many were new; bad ones
  // are counted, in total and on the path.
  std::size_t apply_verified(const std::vector<Entry>& entries,
                             std::uint64_t RefusedEntries::*path);
  void count_refused(std::uint64_t RefusedEntries::*path, std::uint64_t n);
  // Applies entries already verified; journals and persists the new ones. `done` runs
  // once every entry given is durable here.
  std::size_t apply(const std::vector<Entry>& entries, std::function<void()> done);
  [[nodiscard]] std::vector<Entry> entries_of(const RingId& key) const;
  // The entries of key's set after `after`, as many as `pages` messages carry; `more`
  // says whether the set goes on.
  [[nodiscard]] std::vector<Entry> page_of(const RingId& key, const std::optional<Entry>& after,
                                           bool& more, std::size_t pages = 1) const;
  // Narrows a read page to what is complete: see ReadOp.
  static void note_page_end(ReadOp& op, const std::vector<Entry>& page, bool more);

  // ---- overlay_sync.cc: anti-entropy, paging, hand-off, GC, catch-up ----
  // Every message these send is packed to fit config().message_budget().
  void anti_entropy();
  void handle(Address from, const AeDigest& m);
  void handle(Address from, const AeMore& m);
  void handle(Address from, const AeExchange& m);
  void handle(Address from, const RangePull& m);
  void on_reply(const Pending& p, const AeInSync& m);
  void on_reply(const Pending& p, const AeSymbols& m);
  void on_reply(const Pending& p, const AeEntries& m);
  void on_reply(const Pending& p, const RangeEntries& m);
  void ae_ask_symbols(AeSession& s);
  void ae_ask_more(AeSession& s);
  // What a session does once its decoder has peeled what it could (or a slice of it).
  void ae_after_peel(AeSession& s);
  void ae_finish(AeSession& s, const Difference& diff);
  void ae_exchange_pages(AeSession& s);
  // Ends a session; its requests still in flight find nothing when they come back.
  void ae_end(std::uint64_t id);
  void ae_page_both_ways(AeSession& s);
  // Coded symbols [from, to) of reply.range, as many as fit the reply; false while the
  // sync index is still being built (the asker is refused with refuse_busy).
  [[nodiscard]] bool fill_symbols(AeSymbols& reply, std::uint64_t from, std::uint64_t to);
  void refuse_busy(Address to, std::uint64_t session);
  // Coded symbols per AeSymbols page when the larger side holds `count` entries.
  [[nodiscard]] std::size_t symbols_per_page(const KeyRange& r, std::int64_t count) const;
  void start_pull(const NodeRef& from, const KeyRange& range);
  void push(const std::vector<NodeRef>& targets, const std::vector<Entry>& entries,
            std::function<void(bool)> on_done);
  void push_range(const NodeRef& target, const KeyRange& range, std::function<void(bool)> on_done);
  void push_pump(std::uint64_t id);
  void on_push_ack(std::uint64_t id, bool ok);  // a page acknowledged (ok) or failed
  void collect_garbage();
  void gc_hand_on(const std::vector<RingId>& keys, const std::vector<NodeRef>& replicas);
  void start_catch_up();
  void handle(Address from, const CatchUp& m);
  void on_reply(const Pending& p, const CatchUpReply& m);
  void catch_up_piece(CatchUpOp& op, const CatchUp& asked, const BlockPiece& piece,
                      std::size_t reply_bytes);
  void catch_up_pump(CatchUpOp& op);
  void catch_up_next(CatchUpOp& op);  // asks for what follows the last verified block
  void mark_seen(const NodeRef& n, std::uint64_t height);
  // The arcs between the members this peer knows, for the anti-entropy index.
  [[nodiscard]] std::vector<KeyRange> arcs() const;
  void sync_arcs() { sync_.set_arcs(arcs()); }
  // The index has slices of work waiting, or arcs to follow (next_wakeup), and one slice
  // of it (on_wakeup).
  [[nodiscard]] bool sync_work() const {
    return sync_.has_work() || !ae_peeling_.empty() || !sync_.has_arcs(arcs());
  }
  void sync_step();
  [[nodiscard]] bool fits_budget(const Body& body) const;
  // config().message_budget() as CatchUp::max_bytes carries it.
  [[nodiscard]] std::uint32_t budget_bytes() const {
    return static_cast<std::uint32_t>(config().message_budget());
  }

  // ---- overlay_leave.cc: graceful leave ----
  // One hand-off round, then the LeaveNotice once nothing is in flight.
  void handoff_step();
  void handoff_round();
  void handoff_send(const NodeRef& target, std::vector<Entry> entries);
  void handoff_pump(HandoffOp& op);
  // A page's answer (kTimeout once its retries are spent); `page` is what it carried.
  void on_handoff_reply(std::uint64_t op, ErrorCode code, const Pending& page);
  // While leaving: a peer found leaving or gone is passed over from now on.
  void leaver_seen(const RingId& id);
  void finish_leave();

  // ---- overlay_journal.cc: blocks and subscriptions ----
  void cut_block_if_due();
  void handle(Address from, const Subscribe& m);
  void handle(Address from, const Unsubscribe& m);
  void feed_subscribers_live(const std::vector<Entry>& entries);
  void feed_subscriber_blocks(Subscriber& s);

  Peer& peer_;
  std::string ns_;
  Rng rng_;
  MessageLimits limits_;  // from config().message_budget()

  // Ring.
  bool joined_ = false;
  bool leaving_ = false;
  bool left_ = false;
  std::optional<NodeRef> predecessor_;
  Time predecessor_heard_ = 0;
  std::vector<NodeRef> preds_;  // predecessor list, nearest first, never self
  bool preds_complete_ = false; // preds_ reached round to self: the ring is that small
  std::vector<NodeRef> succs_;  // successor list, nearest first, never self
  std::map<int, NodeRef> fingers_;  // bit -> successor(self + 2^bit), bits above the succ
  int next_finger_ = 255;
  std::map<RingId, Time> suspects_;  // nodes that timed out, avoided until the time given
  std::vector<NodeRef> bootstrap_;   // join: whom to ask, first; then peers that answered
  // Nodes dropped after timeouts, with when they were lost. A partition splits a Chord
  // ring into rings that never meet again unless someone looks across: each stabilize
  // round asks one lost node for our successor, and adopts a closer one it names.
  std::vector<std::pair<NodeRef, Time>> lost_;

  // Data.
  Store store_;
  std::uint64_t store_version_ = 0;  // bumped by every change of store_
  Journal journal_;
  SyncIndex sync_{store_, journal_};
  std::map<RingId, std::uint64_t> seen_heights_;  // neighbour -> journal height synced

  // Requests and operations in flight.
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Pending> pending_;
  std::set<std::pair<Time, std::uint64_t>> deadlines_;
  std::map<std::uint64_t, Lookup> lookups_;
  std::map<std::uint64_t, WriteOp> writes_;
  std::map<std::uint64_t, ReadOp> reads_;
  std::map<std::uint64_t, PushOp> pushes_;
  std::map<std::uint64_t, AeSession> ae_sessions_;
  std::set<std::uint64_t> ae_peeling_;  // sessions whose decoder peels in slices
  std::map<std::uint64_t, PullOp> pulls_;
  std::map<std::uint64_t, CatchUpOp> catch_ups_;
  std::map<std::uint64_t, std::function<void()>> persists_;  // token -> completion
  std::set<RingId> gc_in_flight_;
  std::vector<Subscriber> subscribers_;
  // Graceful leave: the window as leave() found it (who held what), the peers known to
  // be leaving or gone (self first), what was sent to whom, and the sends in flight.
  std::vector<NodeRef> leave_window_;
  std::set<RingId> leavers_;
  std::set<std::pair<RingId, RingId>> handed_;  // (target, key)
  std::set<RingId> probed_;
  std::map<std::uint64_t, HandoffOp> handoffs_;

  // Periodic tasks: the next time each is due.
  Time next_stabilize_ = 0;
  Time next_fix_fingers_ = 0;
  Time next_check_pred_ = 0;
  Time next_anti_entropy_ = 0;
  Time next_block_check_ = 0;
  bool restored_ = false;   // came back from durable state: catch up after joining
  bool planted_dropped_ = false;  // planted bug replica_drops_one_entry has fired
  bool need_pull_ = false;  // joined: pull our share once the predecessors are known
};

}  // namespace kittengrad
