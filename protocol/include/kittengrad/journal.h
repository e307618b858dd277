// kittengrad/journal.h — each peer's hash-linked, signed oplog.
//
// Design. A peer appends every entry it applies or replicates; pending entries are sealed
// into a block when the block interval has passed since the first of them or the block
// is full. A block is {height, prev hash, timestamp, entries root, entry count, author}
// plus the entries and the author's signature over the header. Block hash = SHA-256 of
// header and signature; block h+1 names block h's hash as prev; block 1's prev is zero.
// The entries root is SHA-256 over the entries' hashes in order, which lets a peer send a
// block *filtered* to a requester's ranges (header, signature, every entry hash, and only
// the wanted entries) that the requester can still verify against the signature.
//
// Invariants: heights are 1, 2, 3, ... without gaps; each block's prev equals the hash of
// the block before; every block verifies under the peer's key.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/entry.h"
#include "kittengrad/result.h"

namespace kittengrad {

struct BlockHeader {
  std::uint64_t height = 0;  // first block is 1
  Hash256 prev{};            // zero for block 1
  std::int64_t timestamp_ms = 0;
  Hash256 entries_root{};
  std::uint32_t entry_count = 0;
  PublicKey author{};

  bool operator==(const BlockHeader&) const = default;
};

struct JournalBlock {
  BlockHeader header;
  std::vector<Entry> entries;
  Signature signature{};

  bool operator==(const JournalBlock&) const = default;
};

// A block cut down to some of its entries, still verifiable: every entry hash travels,
// only the wanted entries travel whole (`included[i]` is at position `positions[i]`).
struct FilteredBlock {
  BlockHeader header;
  Signature signature{};
  std::vector<Hash256> entry_hashes;
  std::vector<std::uint32_t> positions;
  std::vector<Entry> included;

  bool operator==(const FilteredBlock&) const = default;
};

[[nodiscard]] std::vector<std::uint8_t> block_header_bytes(const BlockHeader& h);
[[nodiscard]] Hash256 block_hash(const BlockHeader& h, const Signature& sig);
[[nodiscard]] Hash256 entries_root(std::span<const Hash256> entry_hashes);

// Checks the header signature, the entries root and the entry count. Does not verify the
// entries' own author signatures (the store does that before applying them).
[[nodiscard]] Result<bool> verify_block(const JournalBlock& b);
[[nodiscard]] Result<bool> verify_filtered_block(const FilteredBlock& b);
// Checks every block and every link; `anchor` is the hash the first block must name as
// prev (zero for a chain from height 1). The error names the first bad height.
[[nodiscard]] Result<bool> verify_chain(std::span<const JournalBlock> chain,
                                        const Hash256& anchor);
[[nodiscard]] FilteredBlock filter_block(const JournalBlock& b,
                                         const std::vector<bool>& keep);
[[nodiscard]] std::size_t block_wire_size(const JournalBlock& b);
[[nodiscard]] std::size_t filtered_block_wire_size(const FilteredBlock& b);

class Journal {
 public:
  Journal(const KeyPair& keys, std::int64_t block_interval_ms, std::size_t block_entries_max);
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  Journal(Journal&&) = default;

  // Appends an entry to the pending block.
  void append(const Entry& e, std::int64_t now_ms);
  // True when pending entries should be sealed now.
  [[nodiscard]] bool should_cut(std::int64_t now_ms) const;
  // Seals the pending entries into the next block (requires pending non-empty). A block
  // holds at most block_entries_max entries; any beyond stay pending for the next cut.
  const JournalBlock& cut(std::int64_t now_ms);
  // Rebuilds from durable state: blocks must form a chain from height 1.
  [[nodiscard]] Result<bool> restore(std::vector<JournalBlock> blocks,
                                     std::vector<Entry> pending,
                                     std::int64_t pending_since_ms);

  [[nodiscard]] std::uint64_t height() const { return blocks_.size(); }
  [[nodiscard]] Hash256 head_hash() const;
  [[nodiscard]] const std::vector<JournalBlock>& blocks() const { return blocks_; }
  [[nodiscard]] std::span<const Entry> pending() const {
    return std::span<const Entry>(pending_).subspan(pending_head_);
  }
  // Block at height h (1-based), or nullptr.
  [[nodiscard]] const JournalBlock* block(std::uint64_t h) const;
  [[nodiscard]] std::uint64_t entries_total() const { return entries_total_; }

  // Planted bug for checker tests: the next cut block names a wrong prev hash.
  void plant_bad_link_for_test() { plant_bad_link_ = true; }

 private:
  // Removes the first n pending entries and their hashes; returns the entries.
  std::vector<Entry> take_pending(std::size_t n);

  KeyPair keys_;
  std::int64_t block_interval_ms_;
  std::size_t block_entries_max_;
  std::vector<JournalBlock> blocks_;
  // Pending entries are pending_[pending_head_, size()): a cut takes from the front by
  // moving the head, and the taken prefix is erased once it is most of the buffer, so a
  // backlog of n entries costs O(1) per entry cut, not O(n) per cut.
  std::vector<Entry> pending_;
  std::size_t pending_head_ = 0;
  // entry_hash of each pending entry (same indices), computed once at append so that
  // cut() only hashes the 32-byte hashes for the root instead of serialising every entry
  // a second time.
  std::vector<Hash256> pending_hashes_;
  std::int64_t pending_since_ms_ = 0;
  std::uint64_t entries_total_ = 0;
  bool plant_bad_link_ = false;
};

}  // namespace kittengrad
