// calm_ops.h — what users saw of a run: the share of client ops that succeeded while no
// fault was under way.
//
// A run's checkers judge safety (nothing acknowledged is lost, nothing invented); these
// counts judge liveness. A coordinator that answered every write with quorum_failed would
// pass every safety check: the fraction of writes acknowledged outside fault windows is
// what catches it. Faults are windows [from, to) the test knows (a partition until it
// has healed and the ring has settled, say); ops invoked inside one are not counted.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "testnet.h"

namespace kittengrad::testnet {

struct CalmOps {
  std::size_t writes = 0, writes_ok = 0;    // writes invoked outside every window
  std::size_t lookups = 0, lookups_ok = 0;  // lookups invoked outside every window

  [[nodiscard]] double write_ok_fraction() const {
    return writes == 0 ? 1.0 : static_cast<double>(writes_ok) / static_cast<double>(writes);
  }
  [[nodiscard]] double lookup_ok_fraction() const {
    return lookups == 0 ? 1.0 : static_cast<double>(lookups_ok) / static_cast<double>(lookups);
  }
  void add(const CalmOps& o) {
    writes += o.writes;
    writes_ok += o.writes_ok;
    lookups += o.lookups;
    lookups_ok += o.lookups_ok;
  }
};

using Windows = std::vector<std::pair<Time, Time>>;

// After a fault the ring needs a while before every op can succeed again: a dead peer is
// noticed after a request timeout and its retries, successor lists are repaired over a
// few stabilize rounds, a client tries several replicas before it gives up. Ops invoked
// within this long after a fault are not held to calm_ok_min.
[[nodiscard]] inline Time settle_time(const PeerConfig& p) {
  return 4 * p.stabilize_interval + 4 * p.request_timeout + 10 * kMicrosPerSecond;
}

// The least share of writes acknowledged, and of lookups answered, outside fault windows:
// in any one run (calm_ok_min), and over the runs of a shard with the same loss rate
// (calm_shard_ok_min, once there are kCalmShardSeedsMin of them). Chosen from
// overlay_test's seeds 1-200; the figures are in calm_ops.cc.
[[nodiscard]] double calm_ok_min(double loss);
[[nodiscard]] double calm_shard_ok_min(double loss);
inline constexpr std::size_t kCalmShardSeedsMin = 4;

// Counts the ops of net.history() invoked outside every window, by outcome (ok or not),
// per namespace if `ns` is given.
[[nodiscard]] CalmOps calm_ops(const TestNetwork& net, const Windows& faults,
                               const std::string& ns = "");

}  // namespace kittengrad::testnet
