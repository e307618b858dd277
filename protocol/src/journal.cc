// Journal blocks: their canonical encoding, hashes, verification, filtering, and the
// Journal that seals pending entries into a hash-linked chain.
//
// Encoding. The header bytes that are signed and hashed start with a length-prefixed
// domain tag, so a block signature can never be replayed as an entry signature (whose
// bytes start with another tag), followed by every header field in fixed width and
// big-endian order. Fixed widths make the encoding canonical and length-explicit: two
// different headers never give the same bytes, and no field can borrow bytes from its
// neighbour.
//
// Cost. Hashing an entry (serialise, then SHA-256) dominates a journal's work, so the
// Journal hashes each entry once, when it is appended, and keeps the hash beside the
// pending entry. Cutting a block then hashes only 32 bytes per entry for the root and
// signs one header: with 1024 entries a block, the signature costs about as much as
// hashing a few dozen entries.
#include "kittengrad/journal.h"

#include "wire_util.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace kittengrad {

namespace {

using detail::varint_size;

constexpr std::string_view kBlockDomain = "kittengrad/journal-block/v1";
static_assert(kBlockDomain.size() < 256, "the domain tag's length must fit one byte");

// Header bytes: tag length, tag, height, prev, timestamp, root, count, author.
constexpr std::size_t kHeaderBytes = 1 + kBlockDomain.size() + 8 + 32 + 8 + 32 + 4 + 32;

void put_uint(std::vector<std::uint8_t>& out, std::uint64_t v, int width_bytes) {
  for (int i = width_bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

void put_bytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// Header fields on the wire; the count doubles as the length of the entry hash list.
std::size_t header_wire_size(const BlockHeader& h) {
  return varint_size(h.height) + 32 + 8 + 32 + varint_size(h.entry_count) + 32;
}

// The root over entries hashed one by one, without materialising the hash list.
Hash256 root_of_entries(std::span<const Entry> entries) {
  Sha256 root;
  for (const Entry& e : entries) root.update(entry_hash(e));
  return root.finish();
}

Error bad_block(std::string detail) { return Error{ErrorCode::kBadBlock, std::move(detail)}; }

bool signature_ok(const BlockHeader& h, const Signature& sig) {
  return verify(h.author, block_header_bytes(h), sig);
}

Error bad_signature() {
  return Error{ErrorCode::kBadSignature, "header signature does not verify under its author"};
}

// The checks of a filtered block that need no hashing: sizes, then positions.
Result<bool> check_filtered_shape(const FilteredBlock& b) {
  if (b.entry_hashes.size() != b.header.entry_count) {
    return bad_block("entry count " + std::to_string(b.header.entry_count) + " but " +
                     std::to_string(b.entry_hashes.size()) + " entry hashes");
  }
  if (b.positions.size() != b.included.size()) {
    return bad_block(std::to_string(b.positions.size()) + " positions for " +
                     std::to_string(b.included.size()) + " included entries");
  }
  for (std::size_t i = 0; i < b.positions.size(); ++i) {
    if (b.positions[i] >= b.header.entry_count) {
      return bad_block("position " + std::to_string(b.positions[i]) + " out of range");
    }
    if (i > 0 && b.positions[i] <= b.positions[i - 1]) {
      return bad_block("positions not strictly increasing at index " + std::to_string(i));
    }
  }
  return true;
}

// Why block `b` cannot follow a block whose hash is `prev` at height `height`, if it cannot.
std::optional<std::string> link_problem(const JournalBlock& b, std::uint64_t height,
                                        const Hash256& prev, const PublicKey& author) {
  if (height == 0) return "heights start at 1";
  if (b.header.height != height) {
    return "header names height " + std::to_string(b.header.height) + " (gap or reorder)";
  }
  if (b.header.prev != prev) return "prev hash does not match the block before";
  if (b.header.author != author) return "author differs from the chain's first block";
  return std::nullopt;
}

Error bad_at(std::uint64_t height, std::string_view reason) {
  return bad_block("height " + std::to_string(height) + ": " + std::string(reason));
}

}  // namespace

std::vector<std::uint8_t> block_header_bytes(const BlockHeader& h) {
  std::vector<std::uint8_t> out;
  out.reserve(kHeaderBytes);
  out.push_back(static_cast<std::uint8_t>(kBlockDomain.size()));
  out.insert(out.end(), kBlockDomain.begin(), kBlockDomain.end());
  put_uint(out, h.height, 8);
  put_bytes(out, h.prev);
  put_uint(out, static_cast<std::uint64_t>(h.timestamp_ms), 8);
  put_bytes(out, h.entries_root);
  put_uint(out, h.entry_count, 4);
  put_bytes(out, h.author);
  assert(out.size() == kHeaderBytes);
  return out;
}

Hash256 block_hash(const BlockHeader& h, const Signature& sig) {
  return Sha256().update(block_header_bytes(h)).update(sig).finish();
}

Hash256 entries_root(std::span<const Hash256> entry_hashes) {
  Sha256 root;
  for (const Hash256& h : entry_hashes) root.update(h);
  return root.finish();
}

Result<bool> verify_block(const JournalBlock& b) {
  // Cheapest check first; the root, which hashes every entry, last.
  if (b.entries.size() != b.header.entry_count) {
    return bad_block("entry count " + std::to_string(b.header.entry_count) + " but " +
                     std::to_string(b.entries.size()) + " entries");
  }
  if (!signature_ok(b.header, b.signature)) return bad_signature();
  if (root_of_entries(b.entries) != b.header.entries_root) {
    return bad_block("entries root does not match the entries");
  }
  return true;
}

Result<bool> verify_filtered_block(const FilteredBlock& b) {
  Result<bool> shape = check_filtered_shape(b);
  if (!shape) return shape.error();
  if (!signature_ok(b.header, b.signature)) return bad_signature();
  if (entries_root(b.entry_hashes) != b.header.entries_root) {
    return bad_block("entries root does not match the entry hashes");
  }
  for (std::size_t i = 0; i < b.included.size(); ++i) {
    if (entry_hash(b.included[i]) != b.entry_hashes[b.positions[i]]) {
      return bad_block("included entry at position " + std::to_string(b.positions[i]) +
                       " does not match its hash");
    }
  }
  return true;
}

Result<bool> verify_chain(std::span<const JournalBlock> chain, const Hash256& anchor) {
  if (chain.empty()) return true;
  const std::uint64_t first = chain[0].header.height;
  Hash256 prev = anchor;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    // Heights wrap only past 2^64 - 1, and a wrapped height of 0 is refused as a link.
    const std::uint64_t height = first + i;
    const JournalBlock& b = chain[i];
    if (auto problem = link_problem(b, height, prev, chain[0].header.author)) {
      return bad_at(height, *problem);
    }
    Result<bool> ok = verify_block(b);
    if (!ok) return bad_at(height, ok.error().detail);
    prev = block_hash(b.header, b.signature);
  }
  return true;
}

FilteredBlock filter_block(const JournalBlock& b, const std::vector<bool>& keep) {
  FilteredBlock out;
  out.header = b.header;
  out.signature = b.signature;
  out.entry_hashes.reserve(b.entries.size());
  for (std::size_t i = 0; i < b.entries.size(); ++i) {
    out.entry_hashes.push_back(entry_hash(b.entries[i]));
    // A short mask keeps nothing past its end.
    if (i < keep.size() && keep[i]) {
      out.positions.push_back(static_cast<std::uint32_t>(i));
      out.included.push_back(b.entries[i]);
    }
  }
  return out;
}

std::size_t block_wire_size(const JournalBlock& b) {
  std::size_t n = header_wire_size(b.header) + b.signature.size();
  for (const Entry& e : b.entries) n += entry_wire_size(e);
  return n;
}

std::size_t filtered_block_wire_size(const FilteredBlock& b) {
  std::size_t n = header_wire_size(b.header) + b.signature.size();
  n += 32 * b.entry_hashes.size();
  // The number of included entries travels once; each carries its 4-byte position.
  n += varint_size(b.included.size()) + 4 * b.positions.size();
  for (const Entry& e : b.included) n += entry_wire_size(e);
  return n;
}

// ---- Journal ----
//
// Invariants: blocks_[i] has height i + 1 and names blocks_[i - 1]'s hash as prev (or
// zero), except for blocks cut with the planted bad link; pending_hashes_[i] is
// entry_hash(pending_[i]) and both have the same size; pending_head_ <= pending_.size();
// entries_total_ counts every entry in blocks and pending.

Journal::Journal(const KeyPair& keys, std::int64_t block_interval_ms, std::size_t block_entries_max)
    : keys_(keys), block_interval_ms_(block_interval_ms), block_entries_max_(block_entries_max) {
  assert(block_entries_max_ >= 1);
  // A block's count is a 32-bit field.
  assert(block_entries_max_ <= std::numeric_limits<std::uint32_t>::max());
}

void Journal::append(const Entry& e, std::int64_t now_ms) {
  if (pending().empty()) pending_since_ms_ = now_ms;
  pending_hashes_.push_back(entry_hash(e));
  pending_.push_back(e);
  ++entries_total_;
}

bool Journal::should_cut(std::int64_t now_ms) const {
  if (pending().empty()) return false;
  return now_ms - pending_since_ms_ >= block_interval_ms_ || pending().size() >= block_entries_max_;
}

const JournalBlock& Journal::cut(std::int64_t now_ms) {
  assert(!pending().empty());
  assert(pending_.size() == pending_hashes_.size());
  const std::size_t n = std::min(pending().size(), block_entries_max_);
  const auto hashes = std::span<const Hash256>(pending_hashes_).subspan(pending_head_, n);

  JournalBlock b;
  b.header.height = height() + 1;
  b.header.prev = head_hash();
  // The planted bug flips one bit of the link, exactly what a checker must notice.
  if (plant_bad_link_) b.header.prev[0] ^= 0x01;
  b.header.timestamp_ms = now_ms;
  b.header.entries_root = entries_root(hashes);
  b.header.entry_count = static_cast<std::uint32_t>(n);
  b.header.author = keys_.public_key;
  b.signature = sign(keys_.secret_key, block_header_bytes(b.header));
  b.entries = take_pending(n);
  // Entries left over (more than a block holds) keep their pending_since: they have
  // waited since then, so the next should_cut sees them as due.
  blocks_.push_back(std::move(b));
  return blocks_.back();
}

std::vector<Entry> Journal::take_pending(std::size_t n) {
  std::vector<Entry> taken;
  if (pending_head_ == 0 && n == pending_.size()) {
    // The whole pending buffer becomes the block's, so each entry is written once, and an
    // idle journal holds no spare buffer: with 100k simulated peers, a kept buffer sized
    // for a full block would cost gigabytes.
    taken = std::move(pending_);
    pending_ = {};
    pending_hashes_ = {};
    // Blocks are kept for ever; a buffer grown by doubling may be far larger than needed.
    if (taken.capacity() > n + n / 8) taken.shrink_to_fit();
    return taken;
  }
  const auto first = pending_.begin() + static_cast<std::ptrdiff_t>(pending_head_);
  taken.assign(std::make_move_iterator(first),
               std::make_move_iterator(first + static_cast<std::ptrdiff_t>(n)));
  pending_head_ += n;
  if (pending_head_ == pending_.size()) {
    pending_ = {};
    pending_hashes_ = {};
    pending_head_ = 0;
  } else if (pending_head_ >= pending_.size() / 2) {
    // Most of the buffer is taken: erase the prefix (amortised over the cuts that took it).
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_head_));
    pending_hashes_.erase(pending_hashes_.begin(),
                          pending_hashes_.begin() + static_cast<std::ptrdiff_t>(pending_head_));
    pending_head_ = 0;
  }
  return taken;
}

Result<bool> Journal::restore(std::vector<JournalBlock> blocks, std::vector<Entry> pending,
                              std::int64_t pending_since_ms) {
  Result<bool> chain = verify_chain(blocks, Hash256{});
  if (!chain) return chain.error();
  if (!blocks.empty() && blocks[0].header.height != 1) {
    return bad_at(blocks[0].header.height, "a journal starts at height 1");
  }
  // verify_chain has checked that all blocks share the first block's author.
  if (!blocks.empty() && blocks[0].header.author != keys_.public_key) {
    return bad_at(1, "blocks are not this peer's");
  }
  std::vector<Hash256> hashes;
  hashes.reserve(pending.size());
  for (const Entry& e : pending) hashes.push_back(entry_hash(e));

  // Nothing changes until every check has passed.
  std::uint64_t total = pending.size();
  for (const JournalBlock& b : blocks) total += b.entries.size();
  blocks_ = std::move(blocks);
  pending_ = std::move(pending);
  pending_head_ = 0;
  pending_hashes_ = std::move(hashes);
  pending_since_ms_ = pending_since_ms;
  entries_total_ = total;
  return true;
}

Hash256 Journal::head_hash() const {
  if (blocks_.empty()) return Hash256{};
  return block_hash(blocks_.back().header, blocks_.back().signature);
}

const JournalBlock* Journal::block(std::uint64_t h) const {
  if (h == 0 || h > blocks_.size()) return nullptr;
  return &blocks_[h - 1];
}

}  // namespace kittengrad
