// live_run_census.h — what the live peers hold, read from their databases, for the same
// oracle the simulator uses (runs/oracle.h): under-replicated, divergent and lost keys
// are measured by one definition in both worlds.
//
// A running peer's database is read as a committed snapshot (SqliteStorage::read_snapshot),
// so the census sees what the peer made durable: exactly what it may acknowledge, and
// what it would come back with after a crash. Entries of keys the peer has handed on and
// dropped from memory stay on its disk; they count as held (they would be, after a
// restart), which only the `holders` column of /final/keys can tell.
//
//   Census census(oracle, namespaces);
//   census.refresh(identity, ring_id, db_path);   // a live peer: read it again
//   census.down(identity);                        // not live any more
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kittengrad/runs/oracle.h"
#include "kittengrad/store.h"

namespace kittengrad::live {

class Census {
 public:
  Census(runs::Oracle& oracle, std::vector<std::string> namespaces)
      : oracle_(oracle), namespaces_(std::move(namespaces)) {}

  // Reads the peer's database and puts what it holds before the oracle as a live peer.
  // A database that cannot be read (not created yet by a peer still starting) counts as
  // empty; the error is returned for the log.
  Result<bool> refresh(runs::PeerIndex identity, const RingId& id, const std::string& db_path);
  // The peer is not live any more.
  void down(runs::PeerIndex identity);
  [[nodiscard]] bool is_up(runs::PeerIndex identity) const { return held_.contains(identity); }
  // Keys and entries the peer held at its last refresh, over every namespace.
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> load_of(runs::PeerIndex identity) const;

 private:
  struct Held {
    std::map<std::string, Store> stores;
  };
  runs::Oracle& oracle_;
  std::vector<std::string> namespaces_;
  std::map<runs::PeerIndex, std::unique_ptr<Held>> held_;
  std::map<runs::PeerIndex, std::pair<std::int64_t, std::int64_t>> last_load_;
};

}  // namespace kittengrad::live
