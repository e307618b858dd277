// calm_ops.cc — client ops outside fault windows (see calm_ops.h).
#include "calm_ops.h"

#include <algorithm>

namespace kittengrad::testnet {

CalmOps calm_ops(const TestNetwork& net, const Windows& faults, const std::string& ns) {
  CalmOps c;
  for (const auto& [id, op] : net.history().ops()) {
    if (!ns.empty() && op.ns != ns) continue;
    const bool in_fault = std::any_of(faults.begin(), faults.end(), [&op](const auto& w) {
      return op.invoked >= w.first && op.invoked < w.second;
    });
    if (in_fault) continue;
    const bool ok = op.status == OpStatus::kOk;
    if (op.is_write) {
      ++c.writes;
      c.writes_ok += ok ? 1 : 0;
    } else {
      ++c.lookups;
      c.lookups_ok += ok ? 1 : 0;
    }
  }
  return c;
}

// Measured over overlay_test's seeds 1-200 (calm ops are those invoked outside the fault
// windows: 33k writes, 22k lookups):
//   no loss (51 seeds):  worst seed 0.987 of writes, 0.995 of lookups; median 1.0;
//                        over a shard's loss-free seeds at least 0.997 and 0.999.
//   5% loss (149 seeds): worst seed 0.795 of writes, 0.778 of lookups; median 0.943 and
//                        0.944; over a shard's lossy seeds at least 0.930 and 0.936.
// Nearly every calm failure under loss is a route that failed at the gateway ("lookup
// failed: no live route to the key": a lookup step is not retried and the client does
// not retry a failed route), which is the protocol's availability under loss today,
// not a tolerance of the test. The thresholds leave a margin below the worst seen; a
// coordinator that failed one op in ten more would break the shard figures, and one that
// always answered quorum_failed breaks every seed.
double calm_ok_min(double loss) { return loss > 0 ? 0.70 : 0.97; }
double calm_shard_ok_min(double loss) { return loss > 0 ? 0.90 : 0.99; }

}  // namespace kittengrad::testnet
