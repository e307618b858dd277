// coverage.cc — faults exercised, counted from runs (see coverage.h).
#include "coverage.h"

#include <cstdio>
#include <utility>

namespace kittengrad::testnet {

void FaultCoverage::add(const LifecycleCounts& l, const NetMetrics& m, bool joins_at_once) {
  ++runs;
  joins += l.joins_done > 0;
  concurrent_joins += l.joins_done > 1 && joins_at_once;
  leaves += l.leaves_done > 0;
  partitions += m.dropped_partition > 0;
  crashes += l.crashes > 0;
  disks_lost += l.crashes_disk_lost > 0;
  recoveries += l.recoveries_done > 0;
  lossy += m.dropped_loss > 0;
  duplicating += m.duplicated > 0;
}

std::string FaultCoverage::describe() const {
  char line[400];
  std::snprintf(line, sizeof line,
                "%zu runs: joins done in %zu (several at one instant %zu), leaves done %zu, "
                "partitions that cut datagrams %zu, crashes %zu (disks lost %zu), peers "
                "recovered and rejoined %zu, datagrams lost %zu, duplicated %zu",
                runs, joins, concurrent_joins, leaves, partitions, crashes, disks_lost,
                recoveries, lossy, duplicating);
  return line;
}

std::vector<std::string> FaultCoverage::below(double fraction) const {
  const std::pair<const char*, std::size_t> kinds[] = {
      {"joins", joins},           {"concurrent joins", concurrent_joins},
      {"leaves", leaves},         {"partitions", partitions},
      {"crashes", crashes},       {"disks lost", disks_lost},
      {"recoveries", recoveries}, {"loss", lossy},
      {"duplicates", duplicating}};
  std::vector<std::string> out;
  for (const auto& [name, n] : kinds) {
    if (static_cast<double>(n) < fraction * static_cast<double>(runs)) out.emplace_back(name);
  }
  return out;
}

}  // namespace kittengrad::testnet
