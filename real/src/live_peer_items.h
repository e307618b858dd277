// live_peer_items.h — what a daemon tells an operator about itself, as admin items
// (live_admin.h): every PeerCounters field, TableSizes and the ring per namespace, the
// store's size, and the transport's counters. Names are the paths `stats --json` prints.
#pragma once

#include <string>
#include <vector>

#include "kittengrad/peer.h"
#include "kittengrad/real/live_admin.h"
#include "kittengrad/real/live_loop.h"

namespace kittengrad::live {

struct PeerStatus {
  const Peer* peer = nullptr;
  const LiveLoop* loop = nullptr;
  std::vector<std::string> namespaces;
  double uptime_s = 0;
  bool leaving = false;
  std::uint64_t storage_records = 0;
};

// The ring of every namespace: enough for `health`.
[[nodiscard]] std::vector<admin::Item> ring_items(const PeerStatus& s);
// Everything: the ring, the counters, the tables, the store and the transport.
[[nodiscard]] std::vector<admin::Item> stats_items(const PeerStatus& s);

}  // namespace kittengrad::live
