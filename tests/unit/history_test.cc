// history_test.cc — the history checker judges hand-made histories.
#include "kittengrad/history.h"

#include <gtest/gtest.h>

namespace kittengrad {
namespace {

using Key = std::pair<std::string, RingId>;

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto_init()); }

  // A signed entry for canonical number `c`, update number `u`.
  Entry entry(int c, int u) {
    const Cid canonical = Cid::of_record("canonical-" + std::to_string(c));
    const Cid update = u == 0 ? canonical : Cid::of_record("update-" + std::to_string(u));
    return make_entry(author_, "default", canonical, update, 1000 + u);
  }
  static Key key_of(const Entry& e) { return {e.ns, e.key()}; }
  static void hold(FinalReads& finals, const Entry& e) { finals[key_of(e)].insert(entry_hash(e)); }

  KeyPair author_ = keypair_from_u64(42);
};

TEST_F(HistoryTest, AcknowledgedAndPresentIsValid) {
  History h;
  const Entry a = entry(1, 0), b = entry(1, 1);
  h.invoke_write(1, "default", {a, b}, 10);
  h.complete(1, OpStatus::kOk, 20);
  FinalReads finals;
  hold(finals, a);
  hold(finals, b);
  const HistoryReport r = check_history(h, finals);
  EXPECT_TRUE(r.valid()) << r.describe();
  EXPECT_EQ(r.writes_ok, 1u);
  EXPECT_EQ(r.writes_failed + r.writes_unknown, 0u);
}

TEST_F(HistoryTest, AcknowledgedEntryMissingIsLost) {
  History h;
  const Entry a = entry(1, 0), b = entry(1, 1);
  h.invoke_write(1, "default", {a, b}, 10);  // a batch: both entries acknowledged at once
  h.complete(1, OpStatus::kOk, 20);
  FinalReads finals;
  hold(finals, a);  // b is gone
  const HistoryReport r = check_history(h, finals);
  EXPECT_FALSE(r.valid());
  ASSERT_EQ(r.lost.size(), 1u);
  EXPECT_TRUE(r.phantoms.empty());
  EXPECT_NE(r.lost[0].find(a.key().short_hex()), std::string::npos) << r.lost[0];
  EXPECT_NE(r.describe().find("1 lost"), std::string::npos) << r.describe();
}

TEST_F(HistoryTest, WholeKeyMissingIsLost) {
  History h;
  h.invoke_write(1, "default", {entry(1, 0)}, 10);
  h.complete(1, OpStatus::kOk, 20);
  const HistoryReport r = check_history(h, FinalReads{});
  EXPECT_EQ(r.lost.size(), 1u);
}

TEST_F(HistoryTest, NeverWrittenEntryIsPhantom) {
  History h;
  const Entry a = entry(1, 0);
  h.invoke_write(1, "default", {a}, 10);
  h.complete(1, OpStatus::kOk, 20);
  FinalReads finals;
  hold(finals, a);
  hold(finals, entry(1, 7));  // nobody wrote this one
  const HistoryReport r = check_history(h, finals);
  EXPECT_TRUE(r.lost.empty());
  ASSERT_EQ(r.phantoms.size(), 1u);
  EXPECT_NE(r.phantoms[0].find("never written"), std::string::npos) << r.phantoms[0];
}

TEST_F(HistoryTest, EntryUnderAnotherKeyIsPhantom) {
  History h;
  const Entry a = entry(1, 0);
  h.invoke_write(1, "default", {a}, 10);
  h.complete(1, OpStatus::kOk, 20);
  FinalReads finals;
  hold(finals, a);
  finals[key_of(entry(2, 0))].insert(entry_hash(a));  // a, but filed under canonical 2
  const HistoryReport r = check_history(h, finals);
  ASSERT_EQ(r.phantoms.size(), 1u);
  EXPECT_NE(r.phantoms[0].find("another key"), std::string::npos) << r.phantoms[0];
}

TEST_F(HistoryTest, PhantomInALookupIsReported) {
  History h;
  const Entry a = entry(1, 0);
  h.invoke_write(1, "default", {a}, 10);
  h.complete(1, OpStatus::kOk, 20);
  h.invoke_lookup(2, "default", a.key(), 30);
  h.complete(2, OpStatus::kOk, 40, {a, entry(1, 9)});
  FinalReads finals;
  hold(finals, a);
  const HistoryReport r = check_history(h, finals);
  ASSERT_EQ(r.phantoms.size(), 1u);
  EXPECT_NE(r.phantoms[0].find("lookup #2"), std::string::npos) << r.phantoms[0];
}

TEST_F(HistoryTest, FailedAndUnknownWritesMayOrMayNotAppear) {
  History h;
  const Entry failed_present = entry(1, 1), failed_absent = entry(1, 2);
  const Entry unknown_present = entry(1, 3), unknown_absent = entry(1, 4);
  const Entry never_completed = entry(1, 5);
  h.invoke_write(1, "default", {failed_present}, 10);
  h.complete(1, OpStatus::kFailed, 20);
  h.invoke_write(2, "default", {failed_absent}, 10);
  h.complete(2, OpStatus::kFailed, 20);
  h.invoke_write(3, "default", {unknown_present}, 10);
  h.complete(3, OpStatus::kUnknown, 20);
  h.invoke_write(4, "default", {unknown_absent}, 10);
  h.complete(4, OpStatus::kUnknown, 20);
  h.invoke_write(5, "default", {never_completed}, 10);
  FinalReads finals;
  hold(finals, failed_present);
  hold(finals, unknown_present);
  hold(finals, never_completed);
  const HistoryReport r = check_history(h, finals);
  EXPECT_TRUE(r.valid()) << r.describe();
  EXPECT_EQ(r.writes_ok, 0u);
  EXPECT_EQ(r.writes_failed, 2u);
  EXPECT_EQ(r.writes_unknown, 3u);  // an op never completed is indeterminate too
}

TEST_F(HistoryTest, EntryAcknowledgedByAnyWriteMustStay) {
  // The same entry written twice: one attempt failed, a retry was acknowledged.
  History h;
  const Entry a = entry(1, 0);
  h.invoke_write(1, "default", {a}, 10);
  h.complete(1, OpStatus::kFailed, 20);
  h.invoke_write(2, "default", {a}, 30);
  h.complete(2, OpStatus::kOk, 40);
  EXPECT_EQ(check_history(h, FinalReads{}).lost.size(), 1u);
}

TEST_F(HistoryTest, LookupsCompleteCountsOnlyEarlierAcknowledgements) {
  History h;
  const Entry a = entry(1, 0), b = entry(1, 1);
  h.invoke_write(1, "default", {a}, 10);
  h.complete(1, OpStatus::kOk, 20);
  h.invoke_write(2, "default", {b}, 10);
  h.complete(2, OpStatus::kOk, 50);
  // Lookup 3 starts after a's ack but before b's: {a} is complete.
  h.invoke_lookup(3, "default", a.key(), 30);
  h.complete(3, OpStatus::kOk, 60, {a});
  // Lookup 4 starts after both acks and misses b: not complete.
  h.invoke_lookup(4, "default", a.key(), 70);
  h.complete(4, OpStatus::kOk, 80, {a});
  // Lookup 5 sees both: complete.
  h.invoke_lookup(5, "default", a.key(), 70);
  h.complete(5, OpStatus::kOk, 80, {b, a});
  // Lookup 6 failed: not counted at all.
  h.invoke_lookup(6, "default", a.key(), 70);
  h.complete(6, OpStatus::kFailed, 80);
  // Lookup 7 of another key with nothing acknowledged: trivially complete.
  h.invoke_lookup(7, "default", entry(2, 0).key(), 70);
  h.complete(7, OpStatus::kOk, 80, {});
  FinalReads finals;
  hold(finals, a);
  hold(finals, b);
  const HistoryReport r = check_history(h, finals);
  EXPECT_TRUE(r.valid()) << r.describe();
  EXPECT_EQ(r.lookups_ok, 4u);
  EXPECT_EQ(r.lookups_complete, 3u);
}

TEST_F(HistoryTest, NamespacesAreSeparate) {
  History h;
  Entry a = entry(1, 0);
  h.invoke_write(1, "default", {a}, 10);
  h.complete(1, OpStatus::kOk, 20);
  FinalReads finals;
  finals[{"other", a.key()}].insert(entry_hash(a));  // held, but in the wrong namespace
  const HistoryReport r = check_history(h, finals);
  EXPECT_EQ(r.lost.size(), 1u);
  EXPECT_EQ(r.phantoms.size(), 1u);
}

TEST_F(HistoryTest, CompletionIsRecordedOnce) {
  History h;
  h.invoke_write(1, "default", {entry(1, 0)}, 10);
  h.complete(1, OpStatus::kOk, 20);
  h.complete(1, OpStatus::kFailed, 30);  // a late duplicate completion changes nothing
  h.complete(9, OpStatus::kOk, 30);      // an op never invoked is ignored
  ASSERT_EQ(h.ops().size(), 1u);
  EXPECT_EQ(h.ops().at(1).status, OpStatus::kOk);
  EXPECT_EQ(h.ops().at(1).completed, 20);
  EXPECT_EQ(h.ops().at(1).keys.size(), 1u);
}

}  // namespace
}  // namespace kittengrad
