// sqlite_test_records.cc — the deterministic record stream and the restore comparison.
#include "sqlite_test_records.h"

#include <algorithm>
#include <tuple>

#include "kittengrad/cid.h"
#include "kittengrad/entry.h"

namespace kittengrad::testing {

namespace {
constexpr std::size_t kAuthors = 4;
constexpr std::size_t kNeighbours = 3;
constexpr std::size_t kBlockEntriesMax = 6;  // small, so that some cuts leave entries pending

RingId neighbour_id(std::size_t i) {
  return keypair_from_u64(1000 + i).ring_id();
}
}  // namespace

RecordStream::RecordStream(std::uint64_t seed, std::vector<std::string> namespaces)
    : rng_(seed), peer_keys_(keypair_from_u64(seed)), namespaces_(std::move(namespaces)) {
  for (std::size_t i = 0; i < kAuthors; ++i) authors_.push_back(keypair_from_u64(seed * 100 + i));
  for (const std::string& ns : namespaces_) {
    journals_[ns] = std::make_unique<Journal>(peer_keys_, 1000, kBlockEntriesMax);
  }
}

std::vector<StorageRecord> RecordStream::next_call() {
  clock_ms_ += rng_.range(0, 50);
  const std::string& ns = namespaces_[rng_.below(namespaces_.size())];
  const std::uint64_t pick = rng_.below(100);
  if (pick < 5) return {};  // the core persists nothing but still wants its completion
  if (pick < 65) return entries(ns);
  if (pick < 85 && !journals_[ns]->pending().empty()) return block(ns);
  return mark(ns);
}

std::vector<StorageRecord> RecordStream::entries(const std::string& ns) {
  std::vector<StorageRecord> out;
  const std::uint64_t n = 1 + rng_.below(8);
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::string id = std::to_string(entries_made_++);
    const Cid canonical = Cid::of_record("canonical-" + std::to_string(rng_.below(20)));
    const Cid update = rng_.chance(0.3) ? canonical : Cid::of_record("update-" + id);
    Entry e = make_entry(authors_[rng_.below(authors_.size())], ns, canonical, update,
                         clock_ms_ - rng_.range(0, 5000));
    journals_[ns]->append(e, clock_ms_);
    out.push_back(StorageRecord{ns, std::move(e)});
  }
  return out;
}

std::vector<StorageRecord> RecordStream::block(const std::string& ns) {
  return {StorageRecord{ns, journals_[ns]->cut(clock_ms_)}};
}

std::vector<StorageRecord> RecordStream::mark(const std::string& ns) {
  const std::size_t who = rng_.below(kNeighbours);
  std::uint64_t& height = mark_heights_[{ns, who}];
  height += 1 + rng_.below(5);
  return {StorageRecord{ns, NeighbourMark{neighbour_id(who), height}}};
}

std::vector<StorageRecord> expected_load(const std::vector<std::vector<StorageRecord>>& calls) {
  std::vector<StorageRecord> out;
  std::map<std::pair<std::string, RingId>, std::uint64_t> marks;
  for (const auto& call : calls) {
    for (const StorageRecord& r : call) {
      if (const auto* m = std::get_if<NeighbourMark>(&r.item)) {
        marks[{r.ns, m->peer}] = m->height;
      } else {
        out.push_back(r);
      }
    }
  }
  for (const auto& [key, height] : marks) {
    out.push_back(StorageRecord{key.first, NeighbourMark{key.second, height}});
  }
  return out;
}

RestoredPeer::RestoredPeer(const KeyPair& keys, const std::vector<std::string>& namespaces)
    : peer_(PeerConfig{}, keys, 1, Env{&clock_, &network_, nullptr, nullptr}, 1) {
  for (const std::string& ns : namespaces) peer_.serve(ns);
}

bool same_durable_state(const Peer& a, const Peer& b, const std::vector<std::string>& namespaces,
                        std::string* why) {
  for (const std::string& ns : namespaces) {
    const Journal& ja = *a.journal(ns);
    const Journal& jb = *b.journal(ns);
    if (!a.store(ns)->same_contents(*b.store(ns))) {
      *why = ns + ": stores differ";
      return false;
    }
    if (ja.blocks() != jb.blocks()) {
      *why = ns + ": journals differ (heights " + std::to_string(ja.height()) + " and " +
             std::to_string(jb.height()) + ")";
      return false;
    }
    if (!std::equal(ja.pending().begin(), ja.pending().end(), jb.pending().begin(),
                    jb.pending().end())) {
      *why = ns + ": pending entries differ (" + std::to_string(ja.pending().size()) + " and " +
             std::to_string(jb.pending().size()) + ")";
      return false;
    }
  }
  return true;
}

}  // namespace kittengrad::testing
