// ring_successors (kittengrad/ring.h), the one definition of a key's replica set: by hand
// on small rings (wrap-around, r > N, a key equal to an id, the empty ring), over the three
// kinds of ring its callers hold, and against the definition by clockwise distance on
// random rings.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "kittengrad/messages.h"
#include "kittengrad/ring.h"
#include "kittengrad/rng.h"

namespace kittengrad {
namespace {

RingId id(std::uint64_t top) { return RingId::from_u64(top); }

// The tops of the ids ring_successors picks from `ring` (sorted ids).
std::vector<std::uint64_t> picked(const std::vector<RingId>& ring, const RingId& key,
                                  std::size_t r) {
  std::vector<std::uint64_t> out;
  for (auto it : ring_successors(ring, key, r)) out.push_back(it->top64());
  return out;
}

const std::vector<RingId> kRing = {id(10), id(20), id(30), id(40), id(50)};

TEST(RingSuccessors, FirstAtOrAfterTheKeyThenClockwise) {
  EXPECT_EQ(picked(kRing, id(15), 3), (std::vector<std::uint64_t>{20, 30, 40}));
  EXPECT_EQ(picked(kRing, id(5), 2), (std::vector<std::uint64_t>{10, 20}));
  EXPECT_EQ(picked(kRing, id(15), 1), (std::vector<std::uint64_t>{20}));
}

TEST(RingSuccessors, AKeyEqualToAnIdStartsAtThatPeer) {
  EXPECT_EQ(picked(kRing, id(30), 3), (std::vector<std::uint64_t>{30, 40, 50}));
  EXPECT_EQ(picked(kRing, id(10), 1), (std::vector<std::uint64_t>{10}));
  EXPECT_EQ(picked(kRing, id(50), 2), (std::vector<std::uint64_t>{50, 10}));
}

TEST(RingSuccessors, WrapsPastTheLargestId) {
  EXPECT_EQ(picked(kRing, id(45), 3), (std::vector<std::uint64_t>{50, 10, 20}));
  // Past every id: the smallest is the successor.
  EXPECT_EQ(picked(kRing, id(51), 3), (std::vector<std::uint64_t>{10, 20, 30}));
  RingId top;
  top.bytes.fill(0xff);
  EXPECT_EQ(picked(kRing, top, 2), (std::vector<std::uint64_t>{10, 20}));
  EXPECT_EQ(picked(kRing, RingId{}, 2), (std::vector<std::uint64_t>{10, 20}));
}

TEST(RingSuccessors, MoreReplicasThanPeersGivesEveryPeerOnce) {
  EXPECT_EQ(picked(kRing, id(35), 8), (std::vector<std::uint64_t>{40, 50, 10, 20, 30}));
  EXPECT_EQ(picked({id(7)}, id(99), 3), (std::vector<std::uint64_t>{7}));
  EXPECT_EQ(picked({id(7), id(9)}, id(8), 3), (std::vector<std::uint64_t>{9, 7}));
}

TEST(RingSuccessors, NothingFromAnEmptyRingOrForZeroReplicas) {
  EXPECT_TRUE(picked({}, id(1), 3).empty());
  EXPECT_TRUE(picked(kRing, id(1), 0).empty());
}

TEST(RingSuccessors, StructsByProjectionAndMapsByKey) {
  std::vector<NodeRef> nodes;
  std::map<RingId, int> by_id;
  for (std::size_t i = 0; i < kRing.size(); ++i) {
    nodes.push_back(NodeRef{kRing[i], static_cast<Address>(100 + i)});
    by_id[kRing[i]] = static_cast<int>(i);
  }
  std::vector<std::uint64_t> addrs;
  for (auto it : ring_successors(nodes, id(41), 3, &NodeRef::id)) addrs.push_back(it->addr);
  EXPECT_EQ(addrs, (std::vector<std::uint64_t>{104, 100, 101}));
  std::vector<int> values;
  for (auto it : ring_successors(by_id, id(41), 3)) values.push_back(it->second);
  EXPECT_EQ(values, (std::vector<int>{4, 0, 1}));
}

// The definition without a search: the r ids nearest the key clockwise, an id equal to the
// key at distance 0. Ordering ids by (id < key, id) sorts them by that distance.
TEST(RingSuccessors, AgreesWithTheClockwiseDistanceOnRandomRings) {
  Rng rng(2024);
  for (int round = 0; round < 500; ++round) {
    std::vector<RingId> ring(rng.below(12));
    for (auto& x : ring) x = id(rng.below(64));  // small tops: keys often equal an id
    std::sort(ring.begin(), ring.end());
    ring.erase(std::unique(ring.begin(), ring.end()), ring.end());
    const RingId key = id(rng.below(64));
    const std::size_t r = rng.below(6);
    std::vector<RingId> by_distance = ring;
    std::sort(by_distance.begin(), by_distance.end(), [&key](const RingId& a, const RingId& b) {
      return std::pair(a < key, a) < std::pair(b < key, b);
    });
    by_distance.resize(std::min(r, by_distance.size()));
    std::vector<RingId> got;
    for (auto it : ring_successors(ring, key, r)) got.push_back(*it);
    ASSERT_EQ(got, by_distance) << "round " << round << ", key " << key.top64() << ", r " << r;
  }
}

}  // namespace
}  // namespace kittengrad
