// workload_draws.cc — see the header.
#include "kittengrad/runs/workload_draws.h"

#include <vector>

namespace kittengrad::runs {

Cid fresh_record(Rng& rng, const WorkloadSection& w) {
  std::int64_t bytes = w.record_bytes;
  if (w.record_bytes_max) {
    bytes += static_cast<std::int64_t>(
        rng.below(static_cast<std::uint64_t>(*w.record_bytes_max - w.record_bytes) + 1));
  }
  std::vector<std::uint8_t> record(static_cast<std::size_t>(bytes));
  for (std::size_t i = 0; i < record.size(); i += 8) {
    const std::uint64_t v = rng.next_u64();
    for (std::size_t b = 0; b < 8 && i + b < record.size(); ++b) {
      record[i + b] = static_cast<std::uint8_t>(v >> (8 * b));
    }
  }
  return Cid::of_record(record);
}

double total_rate(const WorkloadSection& w) {
  return w.inserts_per_s + w.updates_per_s + w.lookups_per_s;
}

OpStatus op_status(const OpResult& r) {
  if (r.error == ErrorCode::kOk) return OpStatus::kOk;
  return r.indeterminate ? OpStatus::kUnknown : OpStatus::kFailed;
}

}  // namespace kittengrad::runs
