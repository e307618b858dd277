// kittengrad/ring.h — who follows a key on a ring seen whole: the one definition of the
// replica set.
//
// Chord's rule with CFS replication: a key belongs to its successor, the first peer at or
// after it clockwise, and to the r - 1 peers after that (all of them when the ring has
// fewer than r). Everything that knows the whole ring computes it here: the core's instant
// bootstrap, the simulator's oracle, the test network's checkers and the Python bindings.
// (A running peer knows only its neighbours; Overlay::local_replicas answers from those.)
//
//   std::vector<RingId> ids = ...;                        // sorted, distinct
//   for (auto it : ring_successors(ids, key, 3)) use(*it);
//   ring_successors(nodes, key, 1, &NodeRef::id);         // a vector of structs by member
//   ring_successors(by_id, key, 3);                       // std::map<RingId, T>, by key
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <ranges>
#include <vector>

#include "kittengrad/ids.h"

namespace kittengrad {

// Iterators to the min(count, size) elements of `ring` that follow `key` clockwise: the
// first whose id is >= key (wrapping to the smallest past the largest), then the next ones
// in ring order. A key equal to an id starts at that element. `ring` is sorted by id with
// distinct ids: a random-access range of ids, or of elements whose id `id_of` projects
// out, or a std::map keyed by RingId (searched by its own lower_bound, in O(log n)).
template <std::ranges::forward_range Ring, class Proj = std::identity>
[[nodiscard]] std::vector<std::ranges::iterator_t<const Ring>> ring_successors(
    const Ring& ring, const RingId& key, std::size_t count, Proj id_of = {}) {
  std::vector<std::ranges::iterator_t<const Ring>> out;
  const auto n = static_cast<std::size_t>(std::ranges::distance(ring));
  if (n == 0) return out;
  auto it = [&] {
    if constexpr (requires { ring.lower_bound(key); }) {
      return ring.lower_bound(key);
    } else {
      return std::ranges::lower_bound(ring, key, std::less<>{}, id_of);
    }
  }();
  const std::size_t want = std::min(count, n);
  out.reserve(want);
  for (std::size_t k = 0; k < want; ++k, ++it) {
    if (it == std::ranges::end(ring)) it = std::ranges::begin(ring);
    out.push_back(it);
  }
  return out;
}

}  // namespace kittengrad
