// faults.h — fault schedules shared by the randomized suites (overlay_test, namespaces_test).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include "testnet.h"

namespace kittengrad::testnet {

// At `at`, `count` ring neighbours (a run starting at a random live peer, never the whole
// ring) crash, with or without their disks; at `recover_at`, if given, they come back.
void schedule_adjacent_crash(TestNetwork& net, Time at, std::size_t count, bool disk_lost,
                             std::optional<Time> recover_at, std::shared_ptr<Rng> rng);

}  // namespace kittengrad::testnet
