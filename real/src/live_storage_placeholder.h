// live_storage_placeholder.h — PLACEHOLDER, replaced by the lead at the merge with the
// SQLite storage (real/src/sqlite_*.cc, group commit at the end of each loop turn).
//
// Until then the daemon's Storage completes every persist() at the end of the loop turn
// that made it, as a group commit would, but keeps nothing: a restarted daemon starts
// empty and catches up from its neighbours. This is the one placeholder of the daemon.
#pragma once

#include <cstdint>
#include <vector>

#include "kittengrad/env.h"
#include "kittengrad/peer.h"

namespace kittengrad::live {

class TurnStorage final : public Storage {
 public:
  void persist(std::vector<StorageRecord> records, std::uint64_t token) override {
    records_ += records.size();
    pending_.push_back(token);
  }
  // End of turn: every write of the turn is "durable"; the peer hears so in order.
  void complete(Peer& peer) {
    // on_persisted may persist again (journal blocks): those complete in this turn too.
    while (!pending_.empty()) {
      std::vector<std::uint64_t> done;
      done.swap(pending_);
      for (const std::uint64_t token : done) peer.on_persisted(token);
    }
  }
  [[nodiscard]] std::uint64_t records() const { return records_; }

 private:
  std::vector<std::uint64_t> pending_;
  std::uint64_t records_ = 0;
};

}  // namespace kittengrad::live
