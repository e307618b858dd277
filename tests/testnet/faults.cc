// faults.cc — fault schedules shared by the randomized suites.
#include "faults.h"

#include <vector>

namespace kittengrad::testnet {

void schedule_adjacent_crash(TestNetwork& net, Time at, std::size_t count, bool disk_lost,
                             std::optional<Time> recover_at, std::shared_ptr<Rng> rng) {
  auto crashed = std::make_shared<std::vector<std::size_t>>();
  net.at(at, [&net, rng, crashed, count, disk_lost] {
    const std::vector<std::size_t> ring = net.ring_order();
    const std::size_t start = rng->below(ring.size());
    for (std::size_t k = 0; k < count && k < ring.size() - 1; ++k) {
      crashed->push_back(ring[(start + k) % ring.size()]);
    }
    for (std::size_t slot : *crashed) net.crash(slot, disk_lost);
  });
  if (recover_at) {
    net.at(*recover_at, [&net, crashed] {
      for (std::size_t slot : *crashed) net.recover(slot);
    });
  }
}

}  // namespace kittengrad::testnet
