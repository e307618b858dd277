// kittengrad/client.h — the client side of operations: route, then ask a replica.
//
// A Client is a sans-I/O state machine like Peer. For a write or lookup it first asks its
// gateway peer for route(key) (the replica set), then sends the op to a replica; it follows
// `wrong_peer` redirects, moves to the next replica on timeout, and gives up after a
// bounded number of attempts. Completed ops are collected with take_completed().
//
//   Client c(config, my_address, env);
//   auto id = c.write("default", {entry}, gateway);
//   ... deliver datagrams and wakeups ...
//   for (auto& done : c.take_completed()) { ... }
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kittengrad/env.h"
#include "kittengrad/messages.h"

namespace kittengrad {

struct ClientConfig {
  Time request_timeout = 1000 * kMicrosPerMs;
  int attempts_max = 6;  // sends of each page of the op (redirects and timeouts count)
  int route_attempts_max = 3;
  bool route_first = true;  // false: send straight to the gateway (tests of wrong_peer)
  // A write batch travels in pages of what one datagram of this size carries, one page
  // after another; a lookup reads the set page by page. Same range as PeerConfig's.
  std::size_t max_datagram_bytes = 1200;
  std::size_t ops_max = 65536;                 // ops in flight; more complete as overloaded
  std::size_t lookup_entries_max = 1u << 20;   // a larger set fails the lookup, named so
  // Pages a lookup asks for in one request (the replica may cap it): a set of n pages
  // takes about n / read_window round trips.
  std::uint32_t read_window = 16;
  // Replica sets remembered from route answers (0: none; every op routes first). A route
  // for key k answered with replicas n1, n2, ... shows that every key in [k, n1] has the
  // same replicas; ops on keys in a remembered arc skip the route. A wrong_peer or a
  // timeout at a remembered replica forgets the arc. The simulator's workload keeps 0.
  std::size_t route_cache_max = 0;
};

enum class OpKind : std::uint8_t { kWrite, kLookup, kRoute };

// A write of many entries is acknowledged page by page; its result is the first failure,
// or ok once every page was acknowledged by W replicas.
struct OpResult {
  std::uint64_t op = 0;
  OpKind kind = OpKind::kWrite;
  std::string ns;
  ErrorCode error = ErrorCode::kOk;
  std::string detail;
  std::vector<Entry> entries;     // lookup: the set
  std::vector<NodeRef> replicas;  // route: the replica set; wrong_peer: the redirect
  std::uint32_t hops = 0;         // hops of the route lookup
  std::uint32_t attempts = 0;
  Time issued = 0;
  Time done = 0;
  // True when the outcome is unknown (timed out after the op may have been applied).
  bool indeterminate = false;
  std::uint32_t index_hint = 0;   // bad_signature: index of the first bad entry
};

class Client {
 public:
  Client(ClientConfig config, Address self, Clock* clock, Network* network);

  std::uint64_t write(const std::string& ns, std::vector<Entry> entries, Address gateway);
  std::uint64_t lookup(const std::string& ns, const Cid& canonical, Address gateway);
  std::uint64_t route(const std::string& ns, const RingId& key, Address gateway);

  void on_datagram(Address from, const Message& m);
  void on_wakeup();
  [[nodiscard]] std::optional<Time> next_wakeup() const;
  [[nodiscard]] std::vector<OpResult> take_completed();
  [[nodiscard]] std::size_t in_flight() const { return ops_.size(); }
  [[nodiscard]] Address address() const { return self_; }

 private:
  struct Op {
    OpResult result;
    std::vector<Entry> entries;  // write
    std::size_t acked = 0;       // write: entries [0, acked) acknowledged; the page in
                                 // flight starts there
    std::size_t page_size = 0;   // write: entries in the page in flight
    std::optional<Entry> after;  // lookup: the window in flight starts after this entry
    std::uint32_t window_next = 0;   // lookup: the window's next page to take
    std::uint32_t window_pages = 0;  // lookup: pages in the window (0: none seen yet)
    bool window_new = false;         // lookup: the window brought new entries
    std::map<std::uint32_t, ClientReply> window_early;  // pages ahead of window_next
    int page_attempts = 0;       // sends of the page (lookup: window) in flight
    Cid canonical;               // lookup
    RingId key;
    Address gateway = 0;
    std::vector<NodeRef> targets;  // replicas to try, in order
    std::size_t target_index = 0;
    bool routing = false;          // waiting for the route reply
    std::uint64_t req = 0;         // id of the datagram in flight
    Time deadline = 0;
    bool maybe_applied = false;    // an op request went out unanswered
    int route_attempts = 0;
  };
  // An arc [from, to] of one namespace's ring whose keys all have `replicas` (to is the
  // first one's id), learnt from a route answer.
  struct Arc {
    RingId from;
    std::vector<NodeRef> replicas;
  };
  [[nodiscard]] const Arc* cached_route(const std::string& ns, const RingId& key) const;
  void remember_route(const std::string& ns, const RingId& key, const std::vector<NodeRef>& replicas);
  void forget_route(const std::string& ns, const RingId& key);

  Op& new_op(OpKind kind, const std::string& ns, const RingId& key, Address gateway);
  void start(Op& op);
  void send_op(Op& op);
  void finish(std::uint64_t id, ErrorCode code, std::string detail);
  void arm(Op& op);
  // A write's page was acknowledged: the next page, or the end of the op.
  void write_page_done(Op& op);
  // A page of a lookup's window arrived: take the pages in order; at the window's end ask
  // for the next one, or end the op.
  void lookup_page(Op& op, ClientReply reply);
  // Takes one page of the set, in order. False once the op finished.
  bool take_lookup_page(Op& op, const ClientReply& page);

  ClientConfig config_;
  MessageLimits limits_;
  Address self_;
  Clock* clock_;
  Network* network_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Op> ops_;
  std::map<std::uint64_t, std::uint64_t> req_to_op_;
  std::vector<OpResult> completed_;
  std::map<std::pair<std::string, RingId>, Arc> routes_;  // (ns, first replica's id) -> arc
};

}  // namespace kittengrad
