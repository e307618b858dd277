// The subscriber's checks of a journal feed: see follower.h.
#include "kittengrad/follower.h"

#include <algorithm>

namespace kittengrad {

JournalFollower::JournalFollower(PublicKey peer, std::uint64_t from_height,
                                 SignatureVerifier* verifier)
    : peer_(peer), next_height_(std::max<std::uint64_t>(1, from_height)), verifier_(verifier) {
  if (next_height_ == 1) prev_ = Hash256{};
}

bool JournalFollower::entry_ok(const Entry& e) {
  const bool ok = verifier_ != nullptr ? verifier_->verify(e) : verify_entry(e);
  if (!ok) ++counters_.bad_signatures;
  return ok;
}

bool JournalFollower::block_ok(const JournalBlock& b) {
  if (b.header.author != peer_ || b.header.height != next_height_) return false;
  if (prev_ && b.header.prev != *prev_) return false;
  if (!verify_block(b).ok()) return false;
  // Every entry is checked, so that each forgery is counted, not just the first.
  bool all = true;
  for (const Entry& e : b.entries) all = entry_ok(e) && all;
  return all;
}

std::vector<Entry> JournalFollower::on_blocks(const JournalBlocks& m) {
  std::vector<Entry> out;
  for (const JournalBlock& b : m.blocks) {
    if (b.header.height < next_height_) continue;  // a duplicate of a block accepted
    if (!block_ok(b)) {
      ++counters_.bad_blocks;
      break;
    }
    out.insert(out.end(), b.entries.begin(), b.entries.end());
    prev_ = block_hash(b.header, b.signature);
    ++next_height_;
    ++counters_.blocks;
  }
  return out;
}

std::vector<Entry> JournalFollower::on_live(const JournalLive& m) {
  std::vector<Entry> out;
  for (const Entry& e : m.entries) {
    if (entry_ok(e)) out.push_back(e);
  }
  counters_.live += out.size();
  return out;
}

}  // namespace kittengrad
