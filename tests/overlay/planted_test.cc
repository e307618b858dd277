// planted_test.cc — each checker trusted only once a planted bug made it fail.
//
// Every test runs a small quiet scenario twice: as is (the control: every invariant holds)
// and with one bug of PeerConfig::bugs planted; the report must name the bug's symptom,
// the seed and the KG_SEED command that replays it. The bugs are chosen to break what
// users read or what the stores and journals promise, each seen by a different checker:
//
//   replica_skips_writes     durable at W before the ack     "fewer than W"
//   read_serves_stale        final reads through a client   "missing from the final reads"
//   replica_drops_one_entry  replicas of a key are equal     "another replica"
//   gc_keeps_keys            only the r successors hold it    "not among its"
//   gc_erases_own_keys       erases only outside its ranges   "although it is a replica"
//   notify_keeps_predecessor the ring's predecessors         "predecessor is"
//   journal_skips_entry      the journal holds the store      "not in its journal"
//
//   KG_SEED=S   run the tests on seed S instead of their own
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "checkers.h"
#include "testnet.h"

namespace kittengrad::testnet {
namespace {

constexpr Time kSecond = kMicrosPerSecond;

std::uint64_t seed_or(std::uint64_t fallback) {
  const char* v = std::getenv("KG_SEED");
  return v == nullptr || *v == '\0' ? fallback : std::strtoull(v, nullptr, 10);
}

struct Plan {
  NetConfig net;
  std::size_t peers = 64;
  WorkloadConfig workload;
  std::size_t joins = 0;  // at join_at, through random joined peers
  Time join_at = 0;
  Time quiet = 30 * kSecond;
};

// A 64-peer ring under writes for 30 s, then quiet; no anti-entropy unless a test turns it
// on, so nothing repairs what the bug breaks.
Plan plan(const std::string& test, std::uint64_t fallback_seed) {
  Plan p;
  p.net.seed = seed_or(fallback_seed);
  p.net.repro = "KG_SEED=" + std::to_string(p.net.seed) +
                " ./build/tests/planted_test --gtest_filter='Planted." + test + "'";
  p.net.peer.anti_entropy_interval = 0;
  p.workload.end = 30 * kSecond;
  p.workload.inserts_per_s = 5;
  return p;
}

// Joins that take ranges over from peers holding keys: the old holders must hand them on.
void with_joins_and_repair(Plan& p) {
  p.net.peer.anti_entropy_interval = 5 * kSecond;
  p.joins = 8;
  p.join_at = 35 * kSecond;
  p.quiet = 90 * kSecond;
}

struct Run {
  CheckReport report;
  std::size_t busiest = 0;  // the slot that stores the most entries at the end
};

Run run(const Plan& p) {
  TestNetwork net(p.net);
  EventChecker events(net);
  net.add_instant_ring(p.peers);
  auto rng = std::make_shared<Rng>(net.rng("joins"));
  for (std::size_t i = 0; i < p.joins; ++i) {
    net.at(p.join_at, [&net, rng] {
      const std::vector<std::size_t> live = net.joined_slots();
      net.add_joining_peer(live[rng->below(live.size())]);
    });
  }
  net.start_workload(p.workload);
  net.run_until(p.workload.end + p.quiet);
  Run out;
  out.report = check_quiescent(net);
  out.report.merge(events.report());
  std::size_t most = 0;
  for (std::size_t slot : net.up_slots()) {
    const std::size_t n = net.peer(slot)->store("default")->entry_count();
    if (n > most) std::tie(most, out.busiest) = std::make_pair(n, slot);
  }
  return out;
}

Run expect_control_passes(const Plan& p) {
  Run control = run(p);
  EXPECT_TRUE(control.report.ok()) << "the control run (no bug) fails:\n"
                                   << control.report.describe();
  return control;
}

void expect_caught(const Plan& p, const std::string& what) {
  const CheckReport out = run(p).report;
  const std::string seed = std::to_string(p.net.seed);
  EXPECT_FALSE(out.ok()) << "the planted bug went unnoticed (seed " << seed << ")";
  const std::string text = out.describe();
  EXPECT_NE(text.find("seed " + seed), std::string::npos) << text;
  EXPECT_NE(text.find("KG_SEED=" + seed), std::string::npos) << text;
  EXPECT_NE(text.find(what), std::string::npos) << text;
  for (const std::string& v : out.violations) {
    if (v.find(what) == std::string::npos) continue;
    std::printf("planted bug caught (%zu violations), e.g.:\n  %s\n",
                out.violations.size() + out.suppressed, v.c_str());
    break;
  }
}

// (overlay_test's PlantedReplicaSkipsWrites shows the replica check firing on this bug.)
TEST(Planted, ReplicaAcksWithoutStoring) {
  ASSERT_TRUE(crypto_init());
  Plan p = plan("ReplicaAcksWithoutStoring", 208);
  expect_control_passes(p);
  p.net.peer.bugs.replica_skips_writes = true;
  expect_caught(p, "fewer than W");
}

TEST(Planted, ReadServesStale) {
  ASSERT_TRUE(crypto_init());
  Plan p = plan("ReadServesStale", 201);
  expect_control_passes(p);
  p.net.peer.bugs.read_serves_stale = true;
  expect_caught(p, "missing from the final reads");
}

// R = r: a stale replica among honest ones is outvoted, so every replica serves stale.
TEST(Planted, ReadServesStaleEvenWithFullReadQuorum) {
  ASSERT_TRUE(crypto_init());
  Plan p = plan("ReadServesStaleEvenWithFullReadQuorum", 202);
  p.net.peer.read_quorum = p.net.peer.replication;
  expect_control_passes(p);
  p.net.peer.bugs.read_serves_stale = true;
  expect_caught(p, "missing from the final reads");
}

TEST(Planted, ReplicaDropsOneEntry) {
  ASSERT_TRUE(crypto_init());
  Plan p = plan("ReplicaDropsOneEntry", 203);
  // One replica, one that surely receives writes to replicate; the others are honest.
  p.net.planted_bug_slots = {expect_control_passes(p).busiest};
  p.net.peer.bugs.replica_drops_one_entry = true;
  expect_caught(p, "another replica");
}

TEST(Planted, GcKeepsKeysHandedOn) {
  ASSERT_TRUE(crypto_init());
  Plan p = plan("GcKeepsKeysHandedOn", 204);
  with_joins_and_repair(p);
  expect_control_passes(p);
  p.net.peer.bugs.gc_keeps_keys = true;
  expect_caught(p, "which is not among its");
}

TEST(Planted, GcErasesOwnKeys) {
  ASSERT_TRUE(crypto_init());
  Plan p = plan("GcErasesOwnKeys", 205);
  p.net.peer.anti_entropy_interval = 5 * kSecond;  // garbage collection runs with it
  expect_control_passes(p);
  p.net.peer.bugs.gc_erases_own_keys = true;
  expect_caught(p, "although it is a replica of it");
}

TEST(Planted, NotifyKeepsOldPredecessor) {
  ASSERT_TRUE(crypto_init());
  Plan p = plan("NotifyKeepsOldPredecessor", 206);
  with_joins_and_repair(p);
  expect_control_passes(p);
  p.net.peer.bugs.notify_keeps_predecessor = true;
  expect_caught(p, "predecessor is");
}

TEST(Planted, JournalSkipsEntry) {
  ASSERT_TRUE(crypto_init());
  Plan p = plan("JournalSkipsEntry", 207);
  expect_control_passes(p);
  p.net.peer.bugs.journal_skips_entry = true;
  expect_caught(p, "not in its journal");
}

}  // namespace
}  // namespace kittengrad::testnet
