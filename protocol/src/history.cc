// history.cc — recording client ops and judging them afterwards (Jepsen's set-full idea).
//
// The checker only needs three facts per entry: was it ever written (by any op, whatever
// its outcome), was it acknowledged, and is it in the final reads. Entries are named by
// entry_hash, so two writes of the same entry are one element of the set; an entry
// counts as acknowledged if any write carrying it was acknowledged.
#include "kittengrad/history.h"

#include <algorithm>
#include <sstream>

namespace kittengrad {

namespace {

using NsKey = std::pair<std::string, RingId>;

std::string hash_prefix(const Hash256& h) { return to_hex(std::span(h).first(8)); }

// Where each entry ever written lives: (namespace, key) by entry hash.
std::map<Hash256, NsKey> written_entries(const History& history) {
  std::map<Hash256, NsKey> written;
  for (const auto& [id, op] : history.ops()) {
    if (!op.is_write) continue;
    for (std::size_t i = 0; i < op.entries.size() && i < op.keys.size(); ++i) {
      written.emplace(op.entries[i], NsKey{op.ns, op.keys[i]});
    }
  }
  return written;
}

// Acknowledged entries per key, with the earliest acknowledgement time of each.
using AckedByKey = std::map<NsKey, std::map<Hash256, Time>>;

AckedByKey acknowledged_entries(const History& history) {
  AckedByKey acked;
  for (const auto& [id, op] : history.ops()) {
    if (!op.is_write || op.status != OpStatus::kOk) continue;
    for (std::size_t i = 0; i < op.entries.size() && i < op.keys.size(); ++i) {
      auto& slot = acked[NsKey{op.ns, op.keys[i]}];
      auto [it, inserted] = slot.emplace(op.entries[i], op.completed);
      if (!inserted) it->second = std::min(it->second, op.completed);
    }
  }
  return acked;
}

void count_writes(const History& history, HistoryReport& report) {
  for (const auto& [id, op] : history.ops()) {
    if (!op.is_write) continue;
    switch (op.status) {
      case OpStatus::kOk:
        ++report.writes_ok;
        break;
      case OpStatus::kFailed:
        ++report.writes_failed;
        break;
      // An op that never completed is as indeterminate as one that timed out.
      case OpStatus::kInvoked:
      case OpStatus::kUnknown:
        ++report.writes_unknown;
        break;
    }
  }
}

void find_lost(const AckedByKey& acked, const FinalReads& finals, HistoryReport& report) {
  static const std::set<Hash256> kNothing;
  for (const auto& [nk, entries] : acked) {
    auto it = finals.find(nk);
    const std::set<Hash256>& held = it == finals.end() ? kNothing : it->second;
    for (const auto& [hash, acked_at] : entries) {
      if (held.count(hash) != 0) continue;
      std::ostringstream s;
      s << "lost: entry " << hash_prefix(hash) << " of key " << nk.second.short_hex()
        << " in namespace '" << nk.first << "', acknowledged at " << acked_at
        << " us, is missing from the final reads";
      report.lost.push_back(s.str());
    }
  }
}

// An entry read (in a lookup or at the end) that no op wrote, or under another key.
void check_phantom(const std::map<Hash256, NsKey>& written, const NsKey& where, const Hash256& hash,
                   const std::string& context, HistoryReport& report) {
  auto it = written.find(hash);
  if (it != written.end() && it->second == where) return;
  std::ostringstream s;
  s << "phantom: entry " << hash_prefix(hash) << " read " << context << " under key "
    << where.second.short_hex() << " in namespace '" << where.first << "' "
    << (it == written.end() ? "was never written" : "was written under another key");
  report.phantoms.push_back(s.str());
}

void find_phantoms(const History& history, const std::map<Hash256, NsKey>& written,
                   const FinalReads& finals, HistoryReport& report) {
  for (const auto& [nk, held] : finals) {
    for (const Hash256& hash : held) check_phantom(written, nk, hash, "at the end", report);
  }
  for (const auto& [id, op] : history.ops()) {
    if (op.is_write || op.keys.empty()) continue;
    const NsKey where{op.ns, op.keys.front()};
    for (const Hash256& hash : op.read) {
      check_phantom(written, where, hash, "by lookup #" + std::to_string(id), report);
    }
  }
}

// A lookup is complete when it returned every entry of its key acknowledged before it was
// invoked. Measured, not judged: R + W <= r legitimately misses some.
void count_lookups(const History& history, const AckedByKey& acked, HistoryReport& report) {
  for (const auto& [id, op] : history.ops()) {
    if (op.is_write || op.status != OpStatus::kOk || op.keys.empty()) continue;
    ++report.lookups_ok;
    const std::set<Hash256> read(op.read.begin(), op.read.end());
    bool complete = true;
    auto it = acked.find(NsKey{op.ns, op.keys.front()});
    if (it != acked.end()) {
      for (const auto& [hash, acked_at] : it->second) {
        if (acked_at < op.invoked && read.count(hash) == 0) complete = false;
      }
    }
    if (complete) ++report.lookups_complete;
  }
}

}  // namespace

void History::invoke_write(std::uint64_t id, const std::string& ns,
                           const std::vector<Entry>& entries, Time at) {
  HistoryOp op;
  op.id = id;
  op.is_write = true;
  op.ns = ns;
  op.invoked = at;
  op.entries.reserve(entries.size());
  op.keys.reserve(entries.size());
  for (const Entry& e : entries) {
    op.entries.push_back(entry_hash(e));
    op.keys.push_back(e.key());
  }
  ops_[id] = std::move(op);
}

void History::invoke_lookup(std::uint64_t id, const std::string& ns, const RingId& key, Time at) {
  HistoryOp op;
  op.id = id;
  op.is_write = false;
  op.ns = ns;
  op.keys.push_back(key);
  op.invoked = at;
  ops_[id] = std::move(op);
}

void History::complete(std::uint64_t id, OpStatus status, Time at, const std::vector<Entry>& read) {
  auto it = ops_.find(id);
  // Completing an op never invoked is a driver bug; ignoring it keeps the history honest.
  if (it == ops_.end() || it->second.status != OpStatus::kInvoked) return;
  it->second.status = status;
  it->second.completed = at;
  it->second.read.clear();
  it->second.read.reserve(read.size());
  for (const Entry& e : read) it->second.read.push_back(entry_hash(e));
}

HistoryReport check_history(const History& history, const FinalReads& finals) {
  HistoryReport report;
  count_writes(history, report);
  const std::map<Hash256, NsKey> written = written_entries(history);
  const AckedByKey acked = acknowledged_entries(history);
  find_lost(acked, finals, report);
  find_phantoms(history, written, finals, report);
  count_lookups(history, acked, report);
  return report;
}

std::string HistoryReport::describe() const {
  std::ostringstream s;
  s << "writes: " << writes_ok << " ok, " << writes_failed << " failed, " << writes_unknown
    << " unknown; lookups: " << lookups_ok << " ok, " << lookups_complete
    << " saw every earlier acknowledged write; " << lost.size() << " lost, " << phantoms.size()
    << " phantom";
  // Bounded: a run that lost everything must still print a readable report.
  constexpr std::size_t kLinesMax = 50;
  std::size_t lines = 0;
  for (const auto* list : {&lost, &phantoms}) {
    for (const std::string& line : *list) {
      if (lines++ < kLinesMax) s << "\n  " << line;
    }
  }
  if (lines > kLinesMax) s << "\n  ... and " << (lines - kLinesMax) << " more";
  return s.str();
}

}  // namespace kittengrad
