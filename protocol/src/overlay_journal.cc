// overlay_journal.cc — sealing journal blocks, feeding subscribers, restoring from disk.
//
// Subscribers receive blocks from the height they asked for, a bounded number per tick
// until they are caught up, and from then on every new block as it is cut plus each
// entry as it is applied (JournalLive: a preview; the block that later holds the entry
// is authoritative). A subscription lasts one lease; renewing it extends it.
#include <algorithm>

#include "overlay.h"

namespace kittengrad {

namespace {
constexpr std::size_t kBlocksPerFeed = 16;
constexpr std::size_t kCutsPerCheck = 16;
}

void Overlay::cut_block_if_due() {
  const std::int64_t wall = peer_.env_.clock->wall_ms();
  // Blocks are small (one datagram), so a busy peer cuts several per check; a bounded
  // number, so that a backlog costs a few milliseconds per check, not one long event.
  for (std::size_t cuts = 0; cuts < kCutsPerCheck && journal_.should_cut(wall); ++cuts) {
    if (config().bugs.journal_bad_link) journal_.plant_bad_link_for_test();
    const JournalBlock& b = journal_.cut(wall);
    persist({StorageRecord{ns_, b}}, nullptr);
  }
  if (journal_.should_cut(wall)) next_block_check_ = now() + kMicrosPerMs;  // the rest soon
  for (Subscriber& s : subscribers_) feed_subscriber_blocks(s);
}

// Blocks are cut to fit a datagram (MessageLimits::block_entries), so each feed message
// carries as many whole blocks as fit, and at most kBlocksPerFeed per tick in all.
void Overlay::feed_subscriber_blocks(Subscriber& s) {
  std::size_t fed = 0;
  while (s.next_height <= journal_.height() && fed < kBlocksPerFeed) {
    JournalBlocks msg;
    msg.sub = s.sub;
    std::size_t bytes = kBlockMessageFixedBytes;
    while (s.next_height <= journal_.height() && fed < kBlocksPerFeed) {
      const JournalBlock& b = *journal_.block(s.next_height);
      const std::size_t size = block_wire_size(b);
      if (kBlockMessageFixedBytes + size > limits_.budget) {
        // Written under a larger max_datagram_bytes (before a restart with a smaller one):
        // it cannot travel whole. Passed over and counted; the subscriber sees the gap in
        // heights and reads the block through catch-up, which sends it in pieces.
        bump(peer_.counters_.feed_blocks_skipped);
        ++s.next_height;
        ++fed;
        continue;
      }
      if (!msg.blocks.empty() && bytes + size > limits_.budget) break;
      msg.blocks.push_back(b);
      bytes += size;
      ++s.next_height;
      ++fed;
    }
    if (!msg.blocks.empty()) send(s.addr, std::move(msg));
  }
}

void Overlay::feed_subscribers_live(const std::vector<Entry>& entries) {
  for (const Subscriber& s : subscribers_) {
    if (s.next_height <= journal_.height()) continue;  // still behind: blocks come first
    for (std::size_t first = 0; first < entries.size(); first += limits_.entries) {
      const auto begin = entries.begin() + static_cast<std::ptrdiff_t>(first);
      const auto end = entries.begin() +
                       static_cast<std::ptrdiff_t>(std::min(entries.size(), first + limits_.entries));
      send(s.addr, JournalLive{s.sub, std::vector<Entry>(begin, end)});
    }
  }
}

void Overlay::handle(Address from, const Subscribe& m) {
  const Time lease = now() + config().subscription_lease;
  for (Subscriber& s : subscribers_) {
    if (s.addr == from && s.sub == m.sub) {
      s.lease_until = lease;
      return;
    }
  }
  if (subscribers_.size() >= config().subscribers_max) {
    return send(from, Refused{m.sub, ErrorCode::kOverloaded});
  }
  subscribers_.push_back(Subscriber{from, m.sub, std::max<std::uint64_t>(1, m.from_height), lease});
  feed_subscriber_blocks(subscribers_.back());
}

void Overlay::handle(Address from, const Unsubscribe& m) {
  std::erase_if(subscribers_,
                [&](const Subscriber& s) { return s.addr == from && s.sub == m.sub; });
}

Result<bool> Overlay::restore(const std::vector<const StorageRecord*>& records) {
  // Entries sealed in a block are covered by the block, which journal_.restore() verifies
  // (our own signature, entries root, links); we verified each entry before journalling
  // it. Entries appended after the last block are checked one by one.
  std::vector<JournalBlock> blocks;
  std::vector<Entry> pending;
  for (const StorageRecord* rec : records) {
    if (const auto* e = std::get_if<Entry>(&rec->item)) {
      pending.push_back(*e);
    } else if (const auto* b = std::get_if<JournalBlock>(&rec->item)) {
      // A block seals the entries appended before it, in order (a bulk import may store
      // blocks alone, without the entry records first).
      const std::size_t sealed = std::min(b->entries.size(), pending.size());
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(sealed));
      blocks.push_back(*b);
    } else if (const auto* mark = std::get_if<NeighbourMark>(&rec->item)) {
      std::uint64_t& seen = seen_heights_[mark->peer];
      seen = std::max(seen, mark->height);
    }
  }
  for (const Entry& e : pending) {
    if (!peer_.verifier().verify(e)) {
      return Error{ErrorCode::kBadSignature,
                   "a stored entry fails its signature: the journal is corrupted"};
    }
  }
  for (const JournalBlock& b : blocks) {
    if (b.header.author != peer_.keys().public_key) {
      return Error{ErrorCode::kBadBlock, "a stored block was signed by another peer"};
    }
  }
  Result<bool> ok = journal_.restore(blocks, pending, peer_.env_.clock->wall_ms());
  if (!ok) return ok;
  for (const JournalBlock& b : blocks)
    for (const Entry& e : b.entries) store_.insert(e);
  for (const Entry& e : pending) store_.insert(e);
  ++store_version_;
  restored_ = true;
  return true;
}

}  // namespace kittengrad
