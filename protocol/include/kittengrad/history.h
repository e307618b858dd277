// kittengrad/history.h — a record of every client op, and the checker that judges it.
//
// The checker does not care how the run was produced: the test network, the SimGrid
// backend and the live backend all feed it the same History and final reads. It follows
// Jepsen's set-full idea for a grow-only set:
//   - every entry of an acknowledged write is present in the final reads (else: lost);
//   - nothing appears in any read that was never written (else: phantom);
//   - a failed or indeterminate write may or may not appear.
// It also measures, without judging, how many lookups saw every write acknowledged before
// they were issued (read quorums below W + R > r may legitimately miss some).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/entry.h"
#include "kittengrad/env.h"

namespace kittengrad {

enum class OpStatus : std::uint8_t { kInvoked, kOk, kFailed, kUnknown };

struct HistoryOp {
  std::uint64_t id = 0;
  bool is_write = true;
  std::string ns;
  std::vector<Hash256> entries;  // write: the entries written
  std::vector<RingId> keys;      // the keys of those entries (write) or the key read
  Time invoked = 0;
  Time completed = 0;
  OpStatus status = OpStatus::kInvoked;
  std::vector<Hash256> read;     // lookup: the entries returned
};

class History {
 public:
  void invoke_write(std::uint64_t id, const std::string& ns, const std::vector<Entry>& entries,
                    Time at);
  void invoke_lookup(std::uint64_t id, const std::string& ns, const RingId& key, Time at);
  void complete(std::uint64_t id, OpStatus status, Time at,
                const std::vector<Entry>& read = {});
  [[nodiscard]] const std::map<std::uint64_t, HistoryOp>& ops() const { return ops_; }

 private:
  std::map<std::uint64_t, HistoryOp> ops_;
};

// What every key holds at the end, read from the live peers responsible for it
// (the union of their sets).
using FinalReads = std::map<std::pair<std::string, RingId>, std::set<Hash256>>;

struct HistoryReport {
  std::uint64_t writes_ok = 0, writes_failed = 0, writes_unknown = 0;
  std::uint64_t lookups_ok = 0, lookups_complete = 0;  // complete: saw every prior ack
  std::vector<std::string> lost;      // acknowledged entries missing from final reads
  std::vector<std::string> phantoms;  // entries read that were never written
  [[nodiscard]] bool valid() const { return lost.empty() && phantoms.empty(); }
  [[nodiscard]] std::string describe() const;
};

[[nodiscard]] HistoryReport check_history(const History& history, const FinalReads& finals);

}  // namespace kittengrad
