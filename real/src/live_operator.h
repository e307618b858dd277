// live_operator.h — `kittengrad stats` and `kittengrad health`: an operator's view of one
// peer, over admin datagrams (live_admin.h).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "kittengrad/real/live_admin.h"

namespace kittengrad::live {

struct OperatorOptions {
  std::string peer;  // HOST:PORT
  bool json = false;
  std::chrono::milliseconds timeout{3000};
};

// Prints every item the peer reports (a table, or with json a JSON object whose paths
// are the item names). 0 answered, 1 unreachable, 2 bad usage.
[[nodiscard]] int run_stats(const OperatorOptions& o);
// Checks the overlay around the peer: joined; its successor names it as predecessor and
// its predecessor names it as successor (both asked); r replicas reachable. 0 healthy,
// 1 not (the output says why) or unreachable, 2 bad usage.
[[nodiscard]] int run_health(const OperatorOptions& o);

// Items as a JSON object: "a/b" becomes {"a": {"b": ...}}; an object whose keys are
// 0..n-1 becomes an array.
[[nodiscard]] std::string items_json(const std::vector<admin::Item>& items);

}  // namespace kittengrad::live
