// kittengrad/runs/workload_draws.h — the pieces of a run's workload that both backends
// draw alike: the record of an insert or update, the total arrival rate, and how a
// client's op result enters the history.
//
//   const double u = rng.uniform01() * total_rate(sc.workload);
//   const Cid canonical = fresh_record(rng, sc.workload);
//   history.complete(id, op_status(result), result.done, result.entries);
#pragma once

#include "kittengrad/client.h"
#include "kittengrad/history.h"
#include "kittengrad/ids.h"
#include "kittengrad/rng.h"
#include "kittengrad/scenario.h"

namespace kittengrad::runs {

// A run's workload comes from this many clients, each with its own host (after the peers'
// hosts), its own random stream Rng::derive(seed, "client", c) and an equal share of the
// rates: a handful spreads 10^2 ops/s over several access links. Entries are signed by
// kWorkloadAuthors authors, Rng::derive(seed, "author", a).
inline constexpr std::size_t kWorkloadClients = 8;
inline constexpr std::size_t kWorkloadAuthors = 16;

// The content-store record of an insert or update: record_bytes of seeded bytes, or a size
// drawn uniformly from [record_bytes, record_bytes_max] when the workload gives a range.
// Only its CID travels in entries, so its size costs hashing, not network.
[[nodiscard]] Cid fresh_record(Rng& rng, const WorkloadSection& w);

// Inserts, updates and lookups per second together.
[[nodiscard]] double total_rate(const WorkloadSection& w);

// A timeout after the op went out may have been applied: neither ok nor failed.
[[nodiscard]] OpStatus op_status(const OpResult& r);

}  // namespace kittengrad::runs
