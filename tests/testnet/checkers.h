// checkers.h — invariant checkers for runs on the test network.
//
// Two kinds, after TigerBeetle's VOPR and Jepsen:
//   - EventChecker runs after every event that reached a peer, and checks what is cheap
//     and must hold at every instant: the successor list is in clockwise order from self;
//     the journal's new blocks link to the ones before; the store only grows, and loses
//     only whole keys the peer is (by its own view) no longer a replica of.
//   - check_quiescent() runs once the network has quieted (no churn, no loss, a few
//     stabilize and anti-entropy rounds passed) and checks convergence: the ring is
//     correct; every key is held by exactly its r successors among the live peers; all
//     replicas of a key are equal; no acknowledged write is lost and nothing was invented
//     (check_history on final reads taken through a client: read_back.h); every write
//     was durable at W peers when its acknowledgement reached the client
//     (TestNetwork::early_acks); no client op is still in flight; every journal chain
//     verifies and holds every entry its peer stores; no peer has dropped a key of its
//     own range (a key its journal has, its store has not).
// Neither aborts: each returns a CheckReport, so a test can assert that a planted bug is
// seen. Every violation names the seed and the command that replays the run.
//
//   TestNetwork net(cfg);
//   EventChecker events(net);          // hooks itself into net
//   ... run ...
//   CheckReport report = check_quiescent(net);
//   report.merge(events.report());
//   EXPECT_TRUE(report.ok()) << report.describe();
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kittengrad/history.h"
#include "read_back.h"
#include "testnet.h"

namespace kittengrad::testnet {

struct CheckReport {
  std::uint64_t seed = 0;
  std::string repro;
  std::vector<std::string> violations;  // each a full line: seed, what, how to replay
  std::size_t suppressed = 0;           // violations beyond kViolationsMax, counted only
  HistoryReport history;                // filled by check_quiescent

  // A run that breaks everything must still produce a report one can read.
  static constexpr std::size_t kViolationsMax = 200;

  [[nodiscard]] bool ok() const { return violations.empty() && suppressed == 0; }
  // Records a violation, prefixed with the seed and followed by the replay command.
  void add(const std::string& what);
  // Appends the other report's violations (same run).
  void merge(const CheckReport& other);
  [[nodiscard]] std::string describe() const;
};

// Per-event invariants. Installs itself as the network's peer hook for its lifetime.
class EventChecker {
 public:
  explicit EventChecker(TestNetwork& net);
  ~EventChecker();
  EventChecker(const EventChecker&) = delete;
  EventChecker& operator=(const EventChecker&) = delete;

  // Checks the peer in `slot` now (the hook calls it after each of its events).
  void check(std::size_t slot);
  [[nodiscard]] const CheckReport& report() const { return report_; }
  [[nodiscard]] std::uint64_t checks() const { return checks_; }

 private:
  // What was already checked of one namespace of one peer object.
  struct Seen {
    std::uint64_t blocks = 0;  // journal blocks checked
    Hash256 head{};            // hash of the last block checked
    std::uint64_t store_total = 0;
    // The store's keys when last looked at, refreshed whenever its key count or erase
    // count changes: a key gone since is a key the peer erased.
    std::size_t key_count = 0, erased_total = 0;
    std::set<RingId> keys;
    bool erase_reported = false;
    bool link_reported = false;  // one report per broken journal, not one per block
    std::string ring_problem;    // the last one reported, not repeated while it lasts
  };
  struct SlotSeen {
    std::uint64_t incarnation = 0;  // a new Peer object starts over
    std::map<std::string, Seen> by_ns;
    bool oversized_reported = false;
  };

  void check_successors(std::size_t slot, const std::string& ns, const RingState& ring, Seen& seen);
  void check_journal(std::size_t slot, const std::string& ns, const Journal& journal, Seen& seen);
  void check_store(std::size_t slot, const std::string& ns, const Peer& peer, const Store& store,
                   Seen& seen);

  TestNetwork& net_;
  CheckReport report_;
  std::vector<SlotSeen> seen_;
  std::uint64_t checks_ = 0;
};

struct QuiescenceOptions {
  bool ring = true;
  bool replicas = true;
  bool history = true;   // needs final reads through a client (read_back)
  bool journals = true;
  bool in_flight = true;  // no client op left unfinished
};

// Convergence invariants over every namespace of the run; see the file comment. Reads
// every canonical back through a client first (read_back: the network runs on a while).
[[nodiscard]] CheckReport check_quiescent(TestNetwork& net, const QuiescenceOptions& options = {});
// The same on final reads taken already.
[[nodiscard]] CheckReport check_quiescent(const TestNetwork& net, const QuiescenceOptions& options,
                                          const ReadBack& reads);
// Without final reads: only for options.history off (a violation otherwise), so that no
// caller judges the history on what stores hold instead of what users read.
[[nodiscard]] CheckReport check_quiescent(const TestNetwork& net, const QuiescenceOptions& options);

// Successor-list order alone, for tests of the checker: empty when `successors` is in
// strictly clockwise order from `self`, never names self, and has no duplicates.
[[nodiscard]] std::string successor_order_problem(const NodeRef& self,
                                                  const std::vector<NodeRef>& successors);

}  // namespace kittengrad::testnet
