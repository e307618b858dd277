// sqlite_test_records.h — what a peer persists, made deterministically for the storage
// tests: signed entries, journal blocks that seal them (signed by the peer), and
// neighbour marks that rise, spread over namespaces and cut into persist() calls the way
// the core makes them (entries in batches, each block alone, each mark alone).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kittengrad/env.h"
#include "kittengrad/journal.h"
#include "kittengrad/peer.h"
#include "kittengrad/rng.h"

namespace kittengrad::testing {

class RecordStream {
 public:
  // The peer whose journal the blocks belong to is keypair_from_u64(peer_seed).
  RecordStream(std::uint64_t seed, std::vector<std::string> namespaces);

  // The records of the next persist() call.
  [[nodiscard]] std::vector<StorageRecord> next_call();
  [[nodiscard]] const KeyPair& peer_keys() const { return peer_keys_; }
  [[nodiscard]] const std::vector<std::string>& namespaces() const { return namespaces_; }

 private:
  std::vector<StorageRecord> entries(const std::string& ns);
  std::vector<StorageRecord> block(const std::string& ns);
  std::vector<StorageRecord> mark(const std::string& ns);

  Rng rng_;
  KeyPair peer_keys_;
  std::vector<KeyPair> authors_;
  std::vector<std::string> namespaces_;
  std::map<std::string, std::unique_ptr<Journal>> journals_;
  std::map<std::pair<std::string, std::size_t>, std::uint64_t> mark_heights_;
  std::int64_t clock_ms_ = 1'700'000'000'000;
  std::uint64_t entries_made_ = 0;
};

// What SqliteStorage::load() must return after `calls` were made durable, in order:
// entries and blocks in call order, then the latest mark of each (namespace, peer), sorted
// by namespace and peer id.
[[nodiscard]] std::vector<StorageRecord> expected_load(
    const std::vector<std::vector<StorageRecord>>& calls);

// A peer (of `keys`, serving `namespaces`) restored from `records`, to compare what two
// record lists restore to. The peer's clock and network are the returned object's own.
class RestoredPeer {
 public:
  RestoredPeer(const KeyPair& keys, const std::vector<std::string>& namespaces);
  [[nodiscard]] Result<bool> restore(const std::vector<StorageRecord>& records) {
    return peer_.restore(records);
  }
  [[nodiscard]] const Peer& peer() const { return peer_; }

 private:
  struct FixedClock final : Clock {
    Time now() const override { return 0; }
    std::int64_t wall_ms() const override { return 1'700'000'000'000; }
  };
  struct NoNetwork final : Network {
    void send(Address, Message) override {}
  };
  FixedClock clock_;
  NoNetwork network_;
  Peer peer_;
};

// True iff the two peers hold the same store and journal (blocks and pending entries) in
// every namespace of `namespaces`; else false with the first difference in *why.
[[nodiscard]] bool same_durable_state(const Peer& a, const Peer& b,
                                      const std::vector<std::string>& namespaces,
                                      std::string* why);

}  // namespace kittengrad::testing
