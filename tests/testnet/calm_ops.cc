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

}  // namespace kittengrad::testnet
