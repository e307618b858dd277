// coverage.h — which faults a set of runs exercised, counted from what happened in each
// run (the engine's NetMetrics and the network's LifecycleCounts), not from what the
// scenarios planned: a partition that cut no datagram, or a join that never completed,
// tested nothing.
//
//   FaultCoverage cov;
//   for (each seed) { ... run ...; cov.add(net.lifecycle(), net.metrics(), joins_at_once); }
//   cov.expect_every_fault(0.1);   // each kind in at least a tenth of the runs
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "netcore.h"
#include "testnet.h"

namespace kittengrad::testnet {

struct FaultCoverage {
  std::size_t runs = 0;
  std::size_t joins = 0, concurrent_joins = 0, leaves = 0, partitions = 0, crashes = 0;
  std::size_t disks_lost = 0, recoveries = 0, lossy = 0, duplicating = 0;

  // `joins_at_once`: the run's joins were issued at one instant (they count as concurrent
  // if more than one of them completed).
  void add(const LifecycleCounts& l, const NetMetrics& m, bool joins_at_once);
  [[nodiscard]] std::string describe() const;
  // The kinds seen in fewer than `fraction` of the runs, by name; empty when covered.
  [[nodiscard]] std::vector<std::string> below(double fraction) const;
};

}  // namespace kittengrad::testnet
