// oracle_test.cc — runs/oracle.h without a Peer: stores handed over by a StoreLookup, as
// the live runner does. Five peers just after one key (r = 3); the metrics follow the
// definitions of DESIGN.md as holders go down and come back, and audit() (the full
// recount) agrees with the incremental sample() at every step.
#include "kittengrad/runs/oracle.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/entry.h"

namespace kittengrad::runs {
namespace {

constexpr std::uint64_t kStep = std::uint64_t{1} << 40;

class OracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto_init());
    const KeyPair author = keypair_from_u64(7);
    const Cid canonical = Cid::of_record("canonical");
    acked_ = make_entry(author, "default", canonical, Cid::of_record("update 1"), 1000);
    other_ = make_entry(author, "default", canonical, Cid::of_record("update 2"), 2000);
    key_ = canonical.ring_key();
    // Peers 0..3 follow the key clockwise (0, 1, 2 are its replicas); peer 4 precedes it.
    const std::uint64_t top = key_.top64();
    for (std::uint64_t k = 1; k <= 4; ++k) ids_.push_back(RingId::from_u64(top + k * kStep));
    ids_.push_back(RingId::from_u64(top - kStep));
  }

  void up(PeerIndex p) {
    oracle_.peer_up(p, ids_[p], [this, p](const std::string& ns) -> const Store* {
      return ns == "default" ? &stores_[p] : nullptr;  // it does not serve "other"
    });
  }
  void store(PeerIndex p, const Entry& e) {
    stores_[p].insert(e);
    oracle_.persisted(p, "default", key_);
  }
  // sample(), checked against the full recount.
  OracleSample sample() {
    const OracleSample s = oracle_.sample();
    EXPECT_EQ(oracle_.audit(), s);
    return s;
  }

  Oracle oracle_{3, {"default", "other"}};
  std::vector<RingId> ids_;
  std::map<PeerIndex, Store> stores_;
  Entry acked_, other_;
  RingId key_;
};

TEST_F(OracleTest, ReplicasUnderReplicationDivergenceAndLossFollowTheStores) {
  for (PeerIndex p = 0; p < 5; ++p) up(p);
  for (PeerIndex p : {0U, 1U, 2U}) store(p, acked_);
  oracle_.acknowledged({acked_}, 10);
  OracleSample s = sample();
  EXPECT_EQ(s.peers_alive, 5);
  EXPECT_EQ(s.keys, 1);
  EXPECT_EQ(s.replicas_min, 3);
  EXPECT_EQ(s.under_replicated_keys, 0);
  EXPECT_EQ(s.divergent_keys, 0);
  EXPECT_EQ(s.lost_updates, 0);
  EXPECT_EQ(oracle_.ring("default").size(), 5U);

  // Peer 3 holds an unacknowledged update only; once peer 1 is down it is a replica.
  store(3, other_);
  EXPECT_EQ(sample().divergent_keys, 0);
  oracle_.peer_down(1);
  s = sample();
  EXPECT_EQ(s.peers_alive, 4);
  EXPECT_EQ(s.replicas_min, 2);
  EXPECT_EQ(s.under_replicated_keys, 1);
  EXPECT_EQ(s.divergent_keys, 1);
  EXPECT_EQ(s.lost_updates, 0);

  // No live peer holds the acknowledged update: lost, until peer 1 comes back with it.
  oracle_.peer_down(0);
  oracle_.peer_down(2);
  EXPECT_EQ(sample().lost_updates, 1);
  up(1);
  s = sample();
  EXPECT_EQ(s.lost_updates, 0);
  EXPECT_EQ(s.replicas_min, 1);
  EXPECT_EQ(oracle_.namespace_sample("other").keys, 0);
}

TEST_F(OracleTest, LookupIsCorrectWhenItHoldsEveryEarlierAcknowledgement) {
  for (PeerIndex p = 0; p < 5; ++p) up(p);
  oracle_.acknowledged({acked_}, 10);
  EXPECT_TRUE(oracle_.lookup_correct("default", key_, 10, {}));  // acked at, not before
  EXPECT_FALSE(oracle_.lookup_correct("default", key_, 11, {other_}));
  EXPECT_TRUE(oracle_.lookup_correct("default", key_, 11, {other_, acked_}));
}

}  // namespace
}  // namespace kittengrad::runs
