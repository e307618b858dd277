// kittengrad/follower.h — the subscriber's side of a journal subscription: what it checks
// before it believes a block or a live entry of the feed.
//
// A peer's feed (JournalBlocks, JournalLive) reaches a subscriber through a network it
// cannot trust. A JournalFollower follows one peer's chain and accepts a block only if the
// peer signed it (verify_block, and the author is the peer followed), it is the height
// expected next, it names the hash of the block accepted before it (block 1 names zero; a
// subscription from a later height takes the first block's link as given), and every
// entry in it verifies. A block that fails refuses itself and the rest of its message
// (nothing can link past the hole); a later feed from the height expected is taken again.
// Live entries are previews: each that verifies is passed on, the others are refused.
//
//   JournalFollower f(peer_public_key, /*from_height=*/1);
//   for (const Entry& e : f.on_blocks(msg)) index(e);
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kittengrad/messages.h"
#include "kittengrad/verifier.h"

namespace kittengrad {

struct FollowerCounters {
  std::uint64_t blocks = 0;          // blocks accepted
  std::uint64_t bad_blocks = 0;      // blocks refused (any reason)
  std::uint64_t bad_signatures = 0;  // entries that do not verify, in blocks or live
  std::uint64_t live = 0;            // live entries accepted
};

class JournalFollower {
 public:
  // `verifier` may be null (verify_entry then), else it must outlive the follower.
  JournalFollower(PublicKey peer, std::uint64_t from_height,
                  SignatureVerifier* verifier = nullptr);

  // The entries of the blocks accepted, in chain order.
  std::vector<Entry> on_blocks(const JournalBlocks& m);
  // The live entries that verify.
  std::vector<Entry> on_live(const JournalLive& m);

  [[nodiscard]] std::uint64_t next_height() const { return next_height_; }
  [[nodiscard]] const FollowerCounters& counters() const { return counters_; }

 private:
  [[nodiscard]] bool entry_ok(const Entry& e);
  [[nodiscard]] bool block_ok(const JournalBlock& b);

  PublicKey peer_;
  std::uint64_t next_height_;
  std::optional<Hash256> prev_;  // hash of the last block accepted (zero before block 1)
  SignatureVerifier* verifier_;
  FollowerCounters counters_;
};

}  // namespace kittengrad
