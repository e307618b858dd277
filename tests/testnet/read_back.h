// read_back.h — the final reads of a run: what a user gets back, asked through a client.
//
// Jepsen's set-full check judges a history against final reads. Reading them out of the
// replicas' stores would judge what replicas hold, not what users read: a read path that
// returned nothing would pass. So at quiescence a fresh Client looks up every canonical
// ever written, through a random joined gateway and the real route + read path (with the
// peers' read quorum R), and those answers are the final reads (check_quiescent feeds
// them to check_history).
//
//   net.run_until(end);                      // quiet: no churn, no loss
//   ReadBack reads = read_back(net);         // runs the network on until all answered
//   CheckReport r = check_quiescent(net, QuiescenceOptions{}, reads);
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kittengrad/history.h"
#include "testnet.h"

namespace kittengrad::testnet {

struct ReadBack {
  FinalReads reads;                   // (namespace, key) -> hashes of the entries returned
  std::vector<std::string> failures;  // lookups that failed or never completed
  std::size_t lookups = 0;
  Time took = 0;  // virtual time from the first lookup to the last answer
};

// Looks up every canonical of net.written_canonicals(), one every kReadBackGap, through a
// client of its own (outside net.ops() and net.history()), and runs the network until
// every lookup has completed or `budget` has passed.
inline constexpr Time kReadBackGap = kMicrosPerMs;
[[nodiscard]] ReadBack read_back(TestNetwork& net, Time budget = 120 * kMicrosPerSecond);

}  // namespace kittengrad::testnet
