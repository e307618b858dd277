// Tests of the journal: blocks verify, chains link, every kind of tampering is caught and
// named by height, filtered blocks stay verifiable, and the Journal cuts by size and time.
#include "kittengrad/journal.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace kittengrad {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto_init()); }

  static Entry entry(int i) {
    static const KeyPair author = keypair_from_u64(7);
    const std::string n = std::to_string(i);
    return make_entry(author, "default", Cid::of_record("canonical-" + n),
                      Cid::of_record("update-" + n), 1000 + i);
  }

  // A journal of `entries` entries cut into blocks of at most `per_block`.
  static Journal journal_with(int entries, std::size_t per_block,
                              const KeyPair& keys = keypair_from_u64(1)) {
    Journal j(keys, /*block_interval_ms=*/1000, per_block);
    for (int i = 0; i < entries; ++i) {
      j.append(entry(i), i);
      if (j.should_cut(i)) j.cut(i);
    }
    if (!j.pending().empty()) j.cut(entries);
    return j;
  }

  static std::vector<JournalBlock> chain_of(int entries, std::size_t per_block) {
    return journal_with(entries, per_block).blocks();
  }

  static void resign(JournalBlock& b, const KeyPair& keys) {
    b.signature = sign(keys.secret_key, block_header_bytes(b.header));
  }

  // Expects verify_chain to fail with kBadBlock and name `height` first.
  static void expect_chain_fails_at(const std::vector<JournalBlock>& chain, std::uint64_t height) {
    Result<bool> r = verify_chain(chain, Hash256{});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kBadBlock);
    const std::string prefix = "height " + std::to_string(height) + ":";
    EXPECT_EQ(r.error().detail.rfind(prefix, 0), 0u) << r.error().detail;
  }
};

// One header field and a way to alter it.
struct HeaderChange {
  const char* field;
  std::function<void(BlockHeader&)> apply;
};

// ---- Encoding and hashes ----

TEST_F(JournalTest, EmptyRootIsSha256OfNothing) {
  EXPECT_EQ(entries_root({}), sha256(std::string_view()));
  EXPECT_EQ(to_hex(entries_root({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(JournalTest, RootIsHashOfConcatenatedEntryHashes) {
  const std::vector<Hash256> hashes = {entry_hash(entry(1)), entry_hash(entry(2))};
  std::vector<std::uint8_t> concat(hashes[0].begin(), hashes[0].end());
  concat.insert(concat.end(), hashes[1].begin(), hashes[1].end());
  EXPECT_EQ(entries_root(hashes), sha256(concat));
}

TEST_F(JournalTest, HeaderBytesChangeWithEveryField) {
  const BlockHeader base = chain_of(3, 3)[0].header;
  const std::vector<std::uint8_t> bytes = block_header_bytes(base);
  const std::vector<HeaderChange> changes = {
      {"height", [](BlockHeader& h) { h.height += 1; }},
      {"prev", [](BlockHeader& h) { h.prev[31] ^= 1; }},
      {"timestamp_ms", [](BlockHeader& h) { h.timestamp_ms += 1; }},
      {"entries_root", [](BlockHeader& h) { h.entries_root[0] ^= 1; }},
      {"entry_count", [](BlockHeader& h) { h.entry_count += 1; }},
      {"author", [](BlockHeader& h) { h.author[5] ^= 1; }},
  };
  for (const HeaderChange& change : changes) {
    SCOPED_TRACE(change.field);
    BlockHeader h = base;
    change.apply(h);
    const std::vector<std::uint8_t> changed = block_header_bytes(h);
    EXPECT_EQ(changed.size(), bytes.size());
    EXPECT_NE(changed, bytes);
  }
}

TEST_F(JournalTest, BlockHashCoversSignature) {
  const JournalBlock b = chain_of(2, 2)[0];
  Signature other = b.signature;
  other[0] ^= 1;
  EXPECT_NE(block_hash(b.header, b.signature), block_hash(b.header, other));
}

// ---- Chains ----

TEST_F(JournalTest, ChainOfManyBlocksVerifies) {
  const Journal j = journal_with(2000, 16);
  ASSERT_EQ(j.height(), 125u);
  EXPECT_EQ(j.entries_total(), 2000u);
  Result<bool> r = verify_chain(j.blocks(), Hash256{});
  ASSERT_TRUE(r.ok()) << r.error().detail;
  for (std::uint64_t h = 1; h <= j.height(); ++h) {
    ASSERT_NE(j.block(h), nullptr);
    EXPECT_EQ(j.block(h)->header.height, h);
    EXPECT_TRUE(verify_block(*j.block(h)).ok());
  }
  EXPECT_EQ(j.block(0), nullptr);
  EXPECT_EQ(j.block(j.height() + 1), nullptr);
  const JournalBlock& last = j.blocks().back();
  EXPECT_EQ(j.head_hash(), block_hash(last.header, last.signature));
}

TEST_F(JournalTest, EmptyJournalHasZeroHead) {
  const Journal j(keypair_from_u64(1), 1000, 16);
  EXPECT_EQ(j.height(), 0u);
  EXPECT_EQ(j.head_hash(), Hash256{});
  EXPECT_EQ(j.block(1), nullptr);
  EXPECT_TRUE(verify_chain({}, Hash256{}).ok());
}

TEST_F(JournalTest, SuffixVerifiesFromItsAnchor) {
  const std::vector<JournalBlock> chain = chain_of(100, 10);
  const std::span<const JournalBlock> suffix = std::span(chain).subspan(4);
  const Hash256 anchor = block_hash(chain[3].header, chain[3].signature);
  EXPECT_TRUE(verify_chain(suffix, anchor).ok());
  Result<bool> r = verify_chain(suffix, Hash256{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail.rfind("height 5:", 0), 0u) << r.error().detail;
}

TEST_F(JournalTest, SameInputsGiveSameBlocks) { EXPECT_EQ(chain_of(50, 8), chain_of(50, 8)); }

// ---- Tampering ----

TEST_F(JournalTest, AlteredEntryIsDetected) {
  std::vector<JournalBlock> chain = chain_of(100, 10);
  chain[6].entries[3].timestamp_ms += 1;
  Result<bool> r = verify_block(chain[6]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadBlock);
  expect_chain_fails_at(chain, 7);
}

TEST_F(JournalTest, ReplacedEntryIsDetected) {
  std::vector<JournalBlock> chain = chain_of(100, 10);
  chain[2].entries[0] = entry(999);  // a genuine entry, just not the one that was signed
  EXPECT_FALSE(verify_block(chain[2]).ok());
  expect_chain_fails_at(chain, 3);
}

TEST_F(JournalTest, AlteredHeaderFieldIsDetected) {
  const std::vector<HeaderChange> changes = {
      {"height", [](BlockHeader& h) { h.height += 1; }},
      {"prev", [](BlockHeader& h) { h.prev[0] ^= 1; }},
      {"timestamp_ms", [](BlockHeader& h) { h.timestamp_ms -= 1; }},
      {"entries_root", [](BlockHeader& h) { h.entries_root[9] ^= 1; }},
      {"entry_count", [](BlockHeader& h) { h.entry_count -= 1; }},
      {"author", [](BlockHeader& h) { h.author = keypair_from_u64(2).public_key; }},
  };
  for (const HeaderChange& change : changes) {
    SCOPED_TRACE(change.field);
    std::vector<JournalBlock> chain = chain_of(100, 10);
    change.apply(chain[4].header);
    EXPECT_FALSE(verify_block(chain[4]).ok());
    expect_chain_fails_at(chain, 5);
  }
}

TEST_F(JournalTest, WrongPrevLinkIsDetectedEvenWhenSigned) {
  std::vector<JournalBlock> chain = chain_of(100, 10);
  chain[5].header.prev = block_hash(chain[3].header, chain[3].signature);
  resign(chain[5], keypair_from_u64(1));
  EXPECT_TRUE(verify_block(chain[5]).ok());  // the block alone is fine; the link is not
  expect_chain_fails_at(chain, 6);
}

TEST_F(JournalTest, SwappedBlocksAreDetected) {
  std::vector<JournalBlock> chain = chain_of(100, 10);
  std::swap(chain[3], chain[4]);
  expect_chain_fails_at(chain, 4);
}

TEST_F(JournalTest, GapInHeightsIsDetected) {
  std::vector<JournalBlock> chain = chain_of(100, 10);
  chain.erase(chain.begin() + 5);
  expect_chain_fails_at(chain, 6);
}

TEST_F(JournalTest, SignedButSkippedHeightIsDetected) {
  // The author itself skips a height: the head block is well signed and names the right
  // prev, so only the height check can catch it.
  std::vector<JournalBlock> chain = chain_of(100, 10);
  chain.back().header.height += 1;
  resign(chain.back(), keypair_from_u64(1));
  EXPECT_TRUE(verify_block(chain.back()).ok());
  expect_chain_fails_at(chain, 10);
}

TEST_F(JournalTest, HeightZeroIsRefused) {
  std::vector<JournalBlock> chain = chain_of(10, 10);
  chain[0].header.height = 0;
  resign(chain[0], keypair_from_u64(1));
  expect_chain_fails_at(chain, 0);
}

TEST_F(JournalTest, ForgedSignatureIsDetected) {
  std::vector<JournalBlock> chain = chain_of(100, 10);
  resign(chain[8], keypair_from_u64(2));  // the header still names the real author
  Result<bool> r = verify_block(chain[8]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadSignature);
  expect_chain_fails_at(chain, 9);
}

TEST_F(JournalTest, BlockByAnotherAuthorIsRefusedInAChain) {
  // The intruder signs the head block as itself: the block verifies on its own, and since
  // it is the last one no later link breaks, so only the author check can catch it.
  std::vector<JournalBlock> chain = chain_of(100, 10);
  const KeyPair intruder = keypair_from_u64(2);
  chain.back().header.author = intruder.public_key;
  resign(chain.back(), intruder);
  EXPECT_TRUE(verify_block(chain.back()).ok());
  expect_chain_fails_at(chain, 10);
}

TEST_F(JournalTest, TruncatedEntriesAreDetected) {
  std::vector<JournalBlock> chain = chain_of(100, 10);
  chain[1].entries.pop_back();
  Result<bool> r = verify_block(chain[1]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadBlock);
  EXPECT_NE(r.error().detail.find("count"), std::string::npos) << r.error().detail;
  expect_chain_fails_at(chain, 2);
}

TEST_F(JournalTest, BadEntriesRootIsDetectedEvenWhenSigned) {
  std::vector<JournalBlock> chain = chain_of(100, 10);
  chain[0].header.entries_root[0] ^= 1;
  resign(chain[0], keypair_from_u64(1));
  Result<bool> r = verify_block(chain[0]);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("root"), std::string::npos) << r.error().detail;
  expect_chain_fails_at(chain, 1);
}

TEST_F(JournalTest, FirstBadHeightIsNamed) {
  std::vector<JournalBlock> chain = chain_of(100, 10);
  chain[7].entries[0].timestamp_ms += 1;
  chain[2].entries[0].timestamp_ms += 1;
  expect_chain_fails_at(chain, 3);
}

// ---- Filtered blocks ----

class FilteredBlockTest : public JournalTest {
 protected:
  // Block of 10 entries filtered to positions 1, 4, 5 and 9.
  static FilteredBlock filtered() {
    std::vector<bool> keep(10, false);
    keep[1] = keep[4] = keep[5] = keep[9] = true;
    return filter_block(chain_of(10, 10)[0], keep);
  }
};

TEST_F(FilteredBlockTest, FilteredBlockVerifies) {
  const JournalBlock b = chain_of(10, 10)[0];
  const FilteredBlock f = filtered();
  EXPECT_EQ(f.positions, (std::vector<std::uint32_t>{1, 4, 5, 9}));
  ASSERT_EQ(f.included.size(), 4u);
  EXPECT_EQ(f.included[2], b.entries[5]);
  EXPECT_TRUE(verify_filtered_block(f).ok());
}

TEST_F(FilteredBlockTest, KeepNothingAndKeepAllVerify) {
  const JournalBlock b = chain_of(10, 10)[0];
  const FilteredBlock none = filter_block(b, {});
  EXPECT_TRUE(none.included.empty());
  EXPECT_TRUE(verify_filtered_block(none).ok());
  const FilteredBlock all = filter_block(b, std::vector<bool>(10, true));
  EXPECT_EQ(all.included, b.entries);
  EXPECT_TRUE(verify_filtered_block(all).ok());
}

TEST_F(FilteredBlockTest, AlteredIncludedEntryIsDetected) {
  FilteredBlock f = filtered();
  f.included[1].timestamp_ms += 1;
  EXPECT_FALSE(verify_filtered_block(f).ok());
}

TEST_F(FilteredBlockTest, WrongPositionIsDetected) {
  FilteredBlock f = filtered();
  f.positions[1] = 3;  // still increasing and in range, but names another entry's hash
  EXPECT_FALSE(verify_filtered_block(f).ok());
}

TEST_F(FilteredBlockTest, UnorderedOrOutOfRangePositionsAreRefused) {
  // A repeated entry with its repeated position matches every hash: only order catches it.
  FilteredBlock repeated = filtered();
  repeated.positions[2] = repeated.positions[1];
  repeated.included[2] = repeated.included[1];
  EXPECT_FALSE(verify_filtered_block(repeated).ok());
  FilteredBlock beyond = filtered();
  beyond.positions[3] = 10;
  EXPECT_FALSE(verify_filtered_block(beyond).ok());
  FilteredBlock missing = filtered();
  missing.positions.pop_back();
  EXPECT_FALSE(verify_filtered_block(missing).ok());
}

TEST_F(FilteredBlockTest, AlteredHashListIsDetected) {
  FilteredBlock changed = filtered();
  changed.entry_hashes[0][0] ^= 1;  // an excluded entry's hash: only the root notices
  EXPECT_FALSE(verify_filtered_block(changed).ok());
  FilteredBlock shortened = filtered();
  shortened.entry_hashes.pop_back();
  EXPECT_FALSE(verify_filtered_block(shortened).ok());
}

TEST_F(FilteredBlockTest, CountDisagreeingWithHashListIsDetected) {
  // The author signs a count that its own hash list does not have; root and included
  // entries still match, so only the count check can catch it.
  std::vector<bool> keep(10, false);
  keep[1] = true;
  FilteredBlock f = filter_block(chain_of(10, 10)[0], keep);
  f.header.entry_count = 11;
  f.signature = sign(keypair_from_u64(1).secret_key, block_header_bytes(f.header));
  EXPECT_FALSE(verify_filtered_block(f).ok());
}

TEST_F(FilteredBlockTest, ForgedSignatureIsDetected) {
  FilteredBlock f = filtered();
  f.signature = sign(keypair_from_u64(2).secret_key, block_header_bytes(f.header));
  Result<bool> r = verify_filtered_block(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadSignature);
}

// ---- Wire sizes ----

TEST_F(JournalTest, WireSizesAddUpFields) {
  const JournalBlock b = chain_of(10, 10)[0];  // height 1 and count 10: one-byte varints
  const std::size_t header = 1 + 32 + 8 + 32 + 1 + 32;
  EXPECT_EQ(block_wire_size(b), header + 64 + 10 * entry_wire_size(b.entries[0]));
  std::vector<bool> keep(10, false);
  keep[2] = keep[7] = true;
  const FilteredBlock f = filter_block(b, keep);
  EXPECT_EQ(filtered_block_wire_size(f),
            header + 64 + 10 * 32 + 1 + 2 * 4 + 2 * entry_wire_size(b.entries[0]));
}

// ---- The Journal: cutting ----

TEST_F(JournalTest, CutsBySize) {
  Journal j(keypair_from_u64(1), /*block_interval_ms=*/1000, /*block_entries_max=*/4);
  for (int i = 0; i < 3; ++i) j.append(entry(i), 10);
  EXPECT_FALSE(j.should_cut(10));
  j.append(entry(3), 10);
  EXPECT_TRUE(j.should_cut(10));
  const JournalBlock& b = j.cut(10);
  EXPECT_EQ(b.header.height, 1u);
  EXPECT_EQ(b.header.entry_count, 4u);
  EXPECT_EQ(b.header.timestamp_ms, 10);
  EXPECT_EQ(b.header.prev, Hash256{});
  EXPECT_EQ(b.header.author, keypair_from_u64(1).public_key);
  EXPECT_TRUE(j.pending().empty());
  EXPECT_FALSE(j.should_cut(10'000));
}

TEST_F(JournalTest, CutsByTimeSinceFirstPendingEntry) {
  Journal j(keypair_from_u64(1), /*block_interval_ms=*/100, /*block_entries_max=*/1024);
  EXPECT_FALSE(j.should_cut(1'000));  // nothing pending, nothing to cut
  j.append(entry(0), 10);
  j.append(entry(1), 50);  // a later entry does not restart the clock
  EXPECT_FALSE(j.should_cut(109));
  EXPECT_TRUE(j.should_cut(110));
  EXPECT_EQ(j.cut(110).entries.size(), 2u);
  j.append(entry(2), 200);  // the clock restarts with the next first entry
  EXPECT_FALSE(j.should_cut(299));
  EXPECT_TRUE(j.should_cut(300));
  EXPECT_EQ(j.cut(300).header.prev, block_hash(j.block(1)->header, j.block(1)->signature));
  EXPECT_TRUE(verify_chain(j.blocks(), Hash256{}).ok());
}

TEST_F(JournalTest, OversizedBacklogIsCutIntoFullBlocks) {
  Journal j(keypair_from_u64(1), /*block_interval_ms=*/1000, /*block_entries_max=*/4);
  for (int i = 0; i < 10; ++i) j.append(entry(i), 5);
  EXPECT_EQ(j.cut(6).entries.size(), 4u);
  EXPECT_EQ(j.pending().size(), 6u);
  EXPECT_TRUE(j.should_cut(6));
  EXPECT_EQ(j.cut(6).entries.size(), 4u);
  EXPECT_FALSE(j.should_cut(6));    // two left, and not yet due by size
  EXPECT_TRUE(j.should_cut(1005));  // but due by the time the backlog began
  EXPECT_EQ(j.cut(1005).entries.size(), 2u);
  EXPECT_EQ(j.entries_total(), 10u);
  EXPECT_EQ(j.blocks()[0].entries[0], entry(0));  // order is kept across blocks
  EXPECT_EQ(j.blocks()[2].entries[1], entry(9));
  EXPECT_TRUE(verify_chain(j.blocks(), Hash256{}).ok());
}

TEST_F(JournalTest, PlantedBadLinkIsDetected) {
  Journal j(keypair_from_u64(1), 1000, 4);
  for (int i = 0; i < 12; ++i) j.append(entry(i), i);
  for (int k = 0; k < 3; ++k) j.cut(20);
  ASSERT_TRUE(verify_chain(j.blocks(), Hash256{}).ok());
  j.plant_bad_link_for_test();
  for (int i = 0; i < 4; ++i) j.append(entry(100 + i), 30);
  const JournalBlock& bad = j.cut(30);
  EXPECT_TRUE(verify_block(bad).ok());  // well signed: only the link is wrong
  EXPECT_NE(bad.header.prev, block_hash(j.block(3)->header, j.block(3)->signature));
  expect_chain_fails_at(j.blocks(), 4);
}

// ---- The Journal: restore ----

TEST_F(JournalTest, RestoreAcceptsGoodChainAndContinuesIt) {
  const Journal original = journal_with(100, 10);
  Journal j(keypair_from_u64(1), 1000, 10);
  const std::vector<Entry> pending = {entry(500), entry(501)};
  Result<bool> r = j.restore(original.blocks(), pending, 77);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(j.height(), original.height());
  EXPECT_EQ(j.head_hash(), original.head_hash());
  EXPECT_EQ(std::vector<Entry>(j.pending().begin(), j.pending().end()), pending);
  EXPECT_EQ(j.entries_total(), 102u);
  EXPECT_FALSE(j.should_cut(1076));
  EXPECT_TRUE(j.should_cut(1077));  // pending_since survives the restart
  j.cut(1077);
  EXPECT_EQ(j.height(), original.height() + 1);
  EXPECT_TRUE(verify_chain(j.blocks(), Hash256{}).ok());
}

TEST_F(JournalTest, RestoreRejectsBrokenChainAndKeepsState) {
  Journal j = journal_with(30, 10);
  const Hash256 head = j.head_hash();
  std::vector<JournalBlock> broken = chain_of(100, 10);
  broken[4].entries[2].timestamp_ms += 1;
  Result<bool> r = j.restore(broken, {entry(1)}, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadBlock);
  EXPECT_EQ(r.error().detail.rfind("height 5:", 0), 0u) << r.error().detail;
  EXPECT_EQ(j.height(), 3u);
  EXPECT_EQ(j.head_hash(), head);
  EXPECT_TRUE(j.pending().empty());
  EXPECT_EQ(j.entries_total(), 30u);
}

TEST_F(JournalTest, RestoreRejectsChainNotFromHeightOne) {
  Journal j(keypair_from_u64(1), 1000, 10);
  const std::vector<JournalBlock> chain = chain_of(100, 10);
  EXPECT_FALSE(j.restore({chain.begin() + 1, chain.end()}, {}, 0).ok());
}

TEST_F(JournalTest, RestoreRejectsSignedChainStartingAboveOne) {
  // A well-signed block at height 2 that names zero as prev verifies from a zero anchor,
  // but a journal must start at height 1.
  const KeyPair keys = keypair_from_u64(1);
  JournalBlock b = chain_of(10, 10)[0];
  b.header.height = 2;
  resign(b, keys);
  ASSERT_TRUE(verify_chain(std::vector<JournalBlock>{b}, Hash256{}).ok());
  Journal j(keys, 1000, 10);
  EXPECT_FALSE(j.restore({b}, {}, 0).ok());
  EXPECT_EQ(j.height(), 0u);
}

TEST_F(JournalTest, RestoreRejectsAnotherPeersChain) {
  Journal j(keypair_from_u64(3), 1000, 10);
  EXPECT_FALSE(j.restore(chain_of(100, 10), {}, 0).ok());
  EXPECT_EQ(j.height(), 0u);
}

TEST_F(JournalTest, RestoreOfNothingIsEmpty) {
  Journal j = journal_with(30, 10);
  ASSERT_TRUE(j.restore({}, {}, 0).ok());
  EXPECT_EQ(j.height(), 0u);
  EXPECT_EQ(j.head_hash(), Hash256{});
  EXPECT_EQ(j.entries_total(), 0u);
}

// A backlog far larger than a block (a peer ingesting a catch-up) is cut a block at a
// time from the front: order and content are kept through the buffer's compactions, and
// appends between cuts land behind what is still pending.
TEST_F(JournalTest, BacklogCutsKeepOrderThroughCompaction) {
  Journal j(keypair_from_u64(1), /*block_interval_ms=*/1000, /*block_entries_max=*/3);
  std::vector<Entry> appended;
  for (int i = 0; i < 100; ++i) {
    appended.push_back(entry(i));
    j.append(appended.back(), 0);
  }
  std::size_t cut = 0;
  int next = 100;
  while (!j.pending().empty()) {
    j.cut(0);
    cut += j.blocks().back().entries.size();
    const std::vector<Entry> rest(j.pending().begin(), j.pending().end());
    ASSERT_EQ(rest, std::vector<Entry>(appended.begin() + static_cast<std::ptrdiff_t>(cut),
                                       appended.end()))
        << "after " << j.height() << " cuts";
    if (next < 130) {  // some appends while the backlog drains
      appended.push_back(entry(next++));
      j.append(appended.back(), 0);
    }
  }
  std::vector<Entry> in_blocks;
  for (const JournalBlock& b : j.blocks()) {
    EXPECT_TRUE(verify_block(b).ok());
    in_blocks.insert(in_blocks.end(), b.entries.begin(), b.entries.end());
  }
  EXPECT_EQ(in_blocks, appended);
  EXPECT_EQ(j.entries_total(), appended.size());
}

}  // namespace
}  // namespace kittengrad
