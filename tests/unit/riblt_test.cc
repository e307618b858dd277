// Rateless IBLT: the index distribution, encoder slicing, decoding cost and correctness for
// differences of every size in both directions, a large common set, the difference
// estimator, and refusal (never a wrong answer) when the symbols are too few.
//
// Randomised tests print the seed of a failing case and how to replay it (KG_SEED=<seed>).
#include "kittengrad/riblt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "kittengrad/rng.h"
#include "kittengrad/store.h"

namespace kittengrad {

void PrintTo(const EntryId& id, std::ostream* os) { *os << "{key " << id.key << "}"; }

namespace {

std::vector<std::uint64_t> case_seeds(int cases) {
  if (const char* s = std::getenv("KG_SEED")) return {std::strtoull(s, nullptr, 10)};
  std::vector<std::uint64_t> seeds;
  for (int i = 0; i < cases; ++i) seeds.push_back(0xb17e0000ULL + static_cast<std::uint64_t>(i));
  return seeds;
}

std::string replay_hint(std::uint64_t seed) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "seed " + std::to_string(seed) + "; replay: KG_SEED=" + std::to_string(seed) +
         " ./riblt_test --gtest_filter=" + info->test_suite_name() + "." + info->name();
}

std::vector<EntryId> random_ids(Rng& rng, std::size_t n) {
  std::vector<EntryId> ids(n);
  for (auto& id : ids) id = EntryId::of_key(rng.next_u64());
  return ids;
}

// Two sets sharing `common` items; `d` more items are split at random between them.
struct SetPair {
  std::vector<EntryId> remote, local;
  Difference truth;  // sorted, as riblt_decode returns it
};

SetPair make_pair(Rng& rng, std::size_t common, std::size_t d) {
  SetPair p;
  p.remote = random_ids(rng, common);
  p.local = p.remote;
  for (const EntryId& id : random_ids(rng, d)) {
    const bool remote_side = rng.chance(0.5);
    (remote_side ? p.remote : p.local).push_back(id);
    (remote_side ? p.truth.only_remote : p.truth.only_local).push_back(id);
  }
  std::sort(p.truth.only_remote.begin(), p.truth.only_remote.end());
  std::sort(p.truth.only_local.begin(), p.truth.only_local.end());
  return p;
}

std::vector<CodedSymbol> prefix(const std::vector<CodedSymbol>& s, std::size_t m) {
  return std::vector<CodedSymbol>(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(m));
}

bool same_difference(const Difference& a, const Difference& b) {
  return a.only_remote == b.only_remote && a.only_local == b.only_local;
}

std::size_t decode_budget(std::size_t d) { return (5 * d) / 2 + 16; }

TEST(RibltIndexStream, StartsAtZeroAndStrictlyIncreases) {
  Rng rng(1);
  for (const EntryId& id : random_ids(rng, 1000)) {
    RibltIndexStream s(id);
    ASSERT_EQ(s.current(), 0U);
    std::uint64_t last = 0;
    for (int k = 0; k < 40; ++k) {
      s.advance();
      ASSERT_GT(s.current(), last);
      last = s.current();
    }
  }
}

TEST(RibltIndexStream, HitsCellJWithProbabilityRho) {
  constexpr std::size_t kItems = 200000;
  constexpr std::uint64_t kCells = 1024;
  std::vector<std::size_t> hits(kCells, 0);
  Rng rng(2);
  for (const EntryId& id : random_ids(rng, kItems)) {
    for (RibltIndexStream s(id); s.current() < kCells; s.advance()) ++hits[s.current()];
  }
  EXPECT_EQ(hits[0], kItems);
  for (const std::uint64_t j : {1, 2, 3, 5, 10, 30, 100, 300, 1000}) {
    const double rho = 2.0 / (static_cast<double>(j) + 2.0);
    const double mean = rho * kItems;
    const double sigma = std::sqrt(mean * (1 - rho));
    EXPECT_NEAR(static_cast<double>(hits[j]), mean, 5 * sigma) << "cell " << j;
  }
}

// The streams are part of the wire protocol: both sides must draw the same indices on any
// machine. These were also recomputed independently (Python floats are IEEE doubles).
TEST(RibltIndexStream, IsPinned) {
  std::vector<std::uint64_t> got;
  for (RibltIndexStream s(EntryId::of_key(42)); s.current() < 1000; s.advance()) {
    got.push_back(s.current());
  }
  const std::vector<std::uint64_t> pinned = {0,  1,  2,   3,   4,   10,  11, 48,
                                             75, 98, 185, 234, 646, 663, 950};
  EXPECT_EQ(got, pinned);
}

TEST(RibltEncoder, SlicesAgreeAndSymbolZeroIsTheDigest) {
  Rng rng(3);
  const std::vector<EntryId> ids = random_ids(rng, 500);
  const std::vector<CodedSymbol> whole = riblt_encode(ids, 0, 100);
  const std::vector<CodedSymbol> middle = riblt_encode(ids, 30, 60);
  ASSERT_EQ(middle.size(), 30U);
  for (std::size_t i = 0; i < middle.size(); ++i) EXPECT_EQ(middle[i], whole[30 + i]);
  RangeDigest digest;
  for (const EntryId& id : ids) digest.add(id);
  EXPECT_EQ(whole[0], digest);
  RibltEncoder enc(0, 100);  // adding and removing an item leaves nothing behind
  enc.add(ids[0]);
  enc.add(ids[0], -1);
  for (const CodedSymbol& s : enc.symbols()) EXPECT_EQ(s, CodedSymbol{});
}

// For each d: every seed decodes within 2.5 d + 16 symbols, to exactly the true difference,
// and the mean of the smallest sufficient symbol count is reported.
TEST(RibltDecode, SucceedsWithinBudgetForEveryDifferenceSize) {
  for (const std::size_t d : {0, 1, 10, 100, 1000}) {
    double overhead_sum = 0;
    std::size_t m_max = 0;
    const auto seeds = case_seeds(50);
    for (const std::uint64_t seed : seeds) {
      SCOPED_TRACE(replay_hint(seed) + " d " + std::to_string(d));
      Rng rng(seed ^ (d << 32));
      const SetPair p = make_pair(rng, 300, d);
      const std::size_t budget = decode_budget(d);
      const auto remote = riblt_encode(p.remote, 0, budget);
      const auto local = riblt_encode(p.local, 0, budget);
      // The smallest prefix that decodes, searched in steps of about 1% of d.
      const std::size_t step = std::max<std::size_t>(1, d / 100);
      std::size_t m = std::max<std::size_t>(1, d) - 1;
      std::optional<Difference> got;
      while (!got && m < budget) {
        m = std::min(budget, m + step);
        got = riblt_decode(prefix(remote, m), prefix(local, m));
      }
      ASSERT_TRUE(got.has_value()) << "no decode within " << budget << " symbols";
      ASSERT_TRUE(same_difference(*got, p.truth));
      overhead_sum += d == 0 ? 0.0 : static_cast<double>(m) / static_cast<double>(d);
      m_max = std::max(m_max, m);
    }
    std::printf("[ riblt    ] d=%zu: mean symbols/d %.3f, worst %zu symbols over %zu seeds\n", d,
                overhead_sum / static_cast<double>(seeds.size()), m_max, seeds.size());
  }
}

TEST(RibltDecode, FindsBothDirections) {
  Rng rng(4);
  const std::vector<EntryId> common = random_ids(rng, 200);
  const std::vector<EntryId> extra = random_ids(rng, 30);
  std::vector<EntryId> more = common;
  more.insert(more.end(), extra.begin(), extra.end());
  std::vector<EntryId> sorted_extra = extra;
  std::sort(sorted_extra.begin(), sorted_extra.end());
  const std::size_t m = decode_budget(extra.size());
  const auto got_more = riblt_decode(riblt_encode(more, 0, m), riblt_encode(common, 0, m));
  ASSERT_TRUE(got_more.has_value());
  EXPECT_EQ(got_more->only_remote, sorted_extra);
  EXPECT_TRUE(got_more->only_local.empty());
  const auto got_less = riblt_decode(riblt_encode(common, 0, m), riblt_encode(more, 0, m));
  ASSERT_TRUE(got_less.has_value());
  EXPECT_TRUE(got_less->only_remote.empty());
  EXPECT_EQ(got_less->only_local, sorted_extra);
}

TEST(RibltDecode, SmallDifferenceInALargeCommonSet) {
  for (const std::uint64_t seed : case_seeds(3)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    const SetPair p = make_pair(rng, 100000, 20);
    const std::size_t m = decode_budget(20);
    const auto got = riblt_decode(riblt_encode(p.remote, 0, m), riblt_encode(p.local, 0, m));
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(same_difference(*got, p.truth));
  }
}

// Too few symbols must give nullopt, never a wrong difference: below d symbols decoding
// is impossible (each peel empties a cell), and near the threshold any answer is exact.
TEST(RibltDecode, NeverReturnsAWrongDifference) {
  std::size_t refused = 0, decoded = 0;
  for (const std::uint64_t seed : case_seeds(200)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    const std::size_t d = 5 + rng.below(200);
    const SetPair p = make_pair(rng, 100, d);
    const std::size_t m = 1 + rng.below(2 * d);
    const auto got = riblt_decode(riblt_encode(p.remote, 0, m), riblt_encode(p.local, 0, m));
    if (m < d) {
      ASSERT_FALSE(got.has_value()) << "m " << m << " d " << d;
    }
    if (got) {
      ASSERT_TRUE(same_difference(*got, p.truth));
    }
    ++(got ? decoded : refused);
  }
  std::printf("[ riblt    ] too-few/threshold symbols: %zu refused, %zu decoded exactly\n", refused,
              decoded);
  EXPECT_GT(refused, 0U);
}

TEST(RibltDecode, RefusesUnrelatedGarbage) {
  for (const std::uint64_t seed : case_seeds(100)) {
    SCOPED_TRACE(replay_hint(seed));
    Rng rng(seed);
    std::vector<CodedSymbol> noise(64);
    for (auto& s : noise) {
      s.count = static_cast<std::int64_t>(rng.below(3)) - 1;
      s.keysum = rng.next_u64();
      s.checksum = rng.next_u64();
    }
    ASSERT_FALSE(riblt_decode(noise, std::vector<CodedSymbol>(64)).has_value());
  }
}

TEST(RibltDecode, UsesTheCommonPrefixOfUnequalLists) {
  Rng rng(5);
  const SetPair p = make_pair(rng, 100, 4);
  const auto got = riblt_decode(riblt_encode(p.remote, 0, 40), riblt_encode(p.local, 0, 30));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(same_difference(*got, p.truth));
  EXPECT_FALSE(riblt_decode({}, {}).has_value());  // no symbol is no evidence of equality
}

// Fed in pages of any size, the incremental decoder finishes at exactly the prefix at
// which riblt_decode first succeeds, with the same difference; peeling in slices of one
// item changes nothing but the number of calls.
TEST(RibltDecoder, AgreesWithTheOneShotDecodeAtEveryPrefix) {
  for (const std::size_t d : {1, 10, 100, 400}) {
    for (const std::uint64_t seed : case_seeds(10)) {
      SCOPED_TRACE(replay_hint(seed) + " d " + std::to_string(d));
      Rng rng(seed ^ (d << 40));
      const SetPair p = make_pair(rng, 500, d);
      const std::size_t budget = decode_budget(d);
      const auto remote = riblt_encode(p.remote, 0, budget);
      const auto local = riblt_encode(p.local, 0, budget);
      const std::size_t page = 1 + rng.below(40);
      const bool sliced = rng.chance(0.5);
      RibltDecoder dec;
      std::size_t m = 0;
      while (!dec.done() && m < budget) {
        const std::size_t next = std::min(budget, m + page);
        dec.add(prefix(std::vector<CodedSymbol>(remote.begin() + static_cast<std::ptrdiff_t>(m), remote.end()), next - m),
                prefix(std::vector<CodedSymbol>(local.begin() + static_cast<std::ptrdiff_t>(m), local.end()), next - m),
                sliced ? 1 : SIZE_MAX);
        while (dec.peeling()) dec.peel(1);
        m = next;
        ASSERT_FALSE(dec.failed());
        // The one-shot decode of the same prefix agrees on whether it is done.
        EXPECT_EQ(dec.done(), riblt_decode(prefix(remote, m), prefix(local, m)).has_value())
            << "prefix " << m;
      }
      ASSERT_TRUE(dec.done()) << "no decode within " << budget << " symbols";
      const auto got = dec.difference();
      ASSERT_TRUE(got.has_value());
      EXPECT_TRUE(same_difference(*got, p.truth));
      EXPECT_EQ(dec.estimate(), d);
    }
  }
}

// Before it is done, the estimate counts the items peeled and an estimate of the rest:
// within a factor of two of the truth once a fair number of symbols came in.
TEST(RibltDecoder, EstimatesWhatIsLeft) {
  Rng rng(77);
  const SetPair p = make_pair(rng, 1000, 1000);
  const auto remote = riblt_encode(p.remote, 0, 600);
  const auto local = riblt_encode(p.local, 0, 600);
  RibltDecoder dec;
  dec.add(remote, local);
  ASSERT_FALSE(dec.done());
  const std::uint64_t e = dec.estimate();
  EXPECT_GE(e, 500u);
  EXPECT_LE(e, 2000u);
}

// Symbols of unrelated noise never decode into a difference: a false peel is caught.
TEST(RibltDecoder, NoiseNeverDecodes) {
  Rng rng(5);
  for (int round = 0; round < 50; ++round) {
    std::vector<CodedSymbol> noise(64);
    for (auto& c : noise) {
      c.count = static_cast<std::int64_t>(rng.below(5)) - 2;
      c.keysum = rng.next_u64();
      c.checksum = rng.next_u64();
    }
    RibltDecoder dec;
    dec.add(noise, std::vector<CodedSymbol>(64));
    EXPECT_FALSE(dec.done() && dec.difference().has_value());
  }
}

TEST(RibltEstimate, ZeroForEqualSets) {
  Rng rng(6);
  const auto ids = random_ids(rng, 1000);
  const auto s = riblt_encode(ids, 0, 128);
  EXPECT_EQ(riblt_estimate_difference(s, s), 0U);
}

TEST(RibltEstimate, WithinAFactorOfTwoForAHundredFrom128Symbols) {
  std::vector<std::uint64_t> estimates;
  std::size_t within = 0;
  const auto seeds = case_seeds(101);
  for (const std::uint64_t seed : seeds) {
    Rng rng(seed);
    const SetPair p = make_pair(rng, 500, 100);
    const std::uint64_t e =
        riblt_estimate_difference(riblt_encode(p.remote, 0, 128), riblt_encode(p.local, 0, 128));
    estimates.push_back(e);
    within += (e >= 50 && e <= 200) ? 1 : 0;
  }
  std::sort(estimates.begin(), estimates.end());
  const std::uint64_t median = estimates[estimates.size() / 2];
  std::printf("[ riblt    ] d=100, 128 symbols: median estimate %llu, %zu/%zu within 2x\n",
              static_cast<unsigned long long>(median), within, seeds.size());
  EXPECT_GE(median, 50U);
  EXPECT_LE(median, 200U);
  EXPECT_GE(within * 10, seeds.size() * 8);  // at least 80% of single estimates too
}

TEST(RibltEstimate, AtLeastSymbolsOverOnePointFourWithoutInformation) {
  Rng rng(7);
  const SetPair p = make_pair(rng, 10, 5000);  // every one of 64 cells is busy
  const auto e =
      riblt_estimate_difference(riblt_encode(p.remote, 0, 64), riblt_encode(p.local, 0, 64));
  EXPECT_GE(e, 46U);
}

// Sizing a request must stay cheap: 1000 symbols in well under a millisecond on a quiet
// machine. The bound here is loose because test machines are shared; bench/ measures it.
TEST(RibltEstimate, IsFast) {
  Rng rng(8);
  const SetPair p = make_pair(rng, 1000, 900);
  const auto remote = riblt_encode(p.remote, 0, 1000);
  const auto local = riblt_encode(p.local, 0, 1000);
  constexpr int kCalls = 20;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t sum = 0;
  for (int k = 0; k < kCalls; ++k) sum += riblt_estimate_difference(remote, local);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count() /
                  kCalls;
  std::printf("[ riblt    ] estimate over 1000 symbols: %lld us per call (d=900, got %llu)\n",
              static_cast<long long>(us), static_cast<unsigned long long>(sum / kCalls));
  EXPECT_LT(us, 5000);
}

TEST(CodedSymbol, WireSizeUsesZigzagVarint) {
  EXPECT_EQ(coded_symbol_wire_size(CodedSymbol{0, 1, 2}), 17U);
  EXPECT_EQ(coded_symbol_wire_size(CodedSymbol{-1, 1, 2}), 17U);
  EXPECT_EQ(coded_symbol_wire_size(CodedSymbol{-64, 1, 2}), 17U);
  EXPECT_EQ(coded_symbol_wire_size(CodedSymbol{64, 1, 2}), 18U);
  EXPECT_EQ(coded_symbol_wire_size(CodedSymbol{1 << 20, 1, 2}), 20U);  // 2^21: 22 bits
}

}  // namespace
}  // namespace kittengrad
