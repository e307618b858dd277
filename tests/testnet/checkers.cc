// checkers.cc — per-event and quiescence invariants (see checkers.h).
#include "checkers.h"

#include <algorithm>
#include <sstream>

#include "kittengrad/ring.h"

namespace kittengrad::testnet {

namespace {

std::string peer_name(std::size_t slot, const RingId& id) {
  return "slot " + std::to_string(slot) + " (" + id.short_hex() + ")";
}

CheckReport new_report(const TestNetwork& net) {
  CheckReport r;
  r.seed = net.config().seed;
  r.repro = net.repro();
  return r;
}

}  // namespace

// ------------------------------------------------------------------------ CheckReport --

void CheckReport::add(const std::string& what) {
  if (violations.size() >= kViolationsMax) {
    ++suppressed;
    return;
  }
  violations.push_back("seed " + std::to_string(seed) + ": " + what + "  [reproduce: " + repro +
                       "]");
}

void CheckReport::merge(const CheckReport& other) {
  for (const std::string& v : other.violations) {
    if (violations.size() < kViolationsMax) {
      violations.push_back(v);
    } else {
      ++suppressed;
    }
  }
  suppressed += other.suppressed;
}

std::string CheckReport::describe() const {
  std::ostringstream s;
  s << "seed " << seed << ": " << (ok() ? "all invariants hold" : "INVARIANTS VIOLATED") << " ("
    << violations.size() + suppressed << " violations)";
  for (const std::string& v : violations) s << "\n  " << v;
  if (suppressed > 0) s << "\n  ... and " << suppressed << " more";
  s << "\n  history: " << history.writes_ok << " writes ok, " << history.writes_failed
    << " failed, " << history.writes_unknown << " unknown; " << history.lookups_ok
    << " lookups ok, " << history.lookups_complete << " complete";
  if (!ok()) s << "\n  reproduce: " << repro;
  return s.str();
}

std::string successor_order_problem(const NodeRef& self, const std::vector<NodeRef>& successors) {
  RingId prev = self.id;
  for (std::size_t i = 0; i < successors.size(); ++i) {
    const RingId& id = successors[i].id;
    if (id == self.id) return "successor list names self at position " + std::to_string(i);
    // (prev, self) open: strictly after the previous entry and not yet round to self.
    if (i > 0 && !in_open(id, prev, self.id)) {
      return "successor " + std::to_string(i) + " (" + id.short_hex() +
             ") is not clockwise between successor " + std::to_string(i - 1) + " (" +
             prev.short_hex() + ") and self";
    }
    prev = id;
  }
  return "";
}

// ----------------------------------------------------------------------- EventChecker --

EventChecker::EventChecker(TestNetwork& net) : net_(net), report_(new_report(net)) {
  net_.set_peer_hook([this](std::size_t slot) { check(slot); });
}

EventChecker::~EventChecker() { net_.set_peer_hook(nullptr); }

void EventChecker::check(std::size_t slot) {
  const Peer* peer = net_.peer(slot);
  if (peer == nullptr) return;
  ++checks_;
  if (seen_.size() <= slot) seen_.resize(slot + 1);
  SlotSeen& ss = seen_[slot];
  if (ss.incarnation != net_.incarnation(slot)) {
    ss = SlotSeen{};  // a recovered peer is a new object: its history starts again
    ss.incarnation = net_.incarnation(slot);
  }
  for (const std::string& ns : net_.config().namespaces) {
    if (!peer->serves(ns)) continue;
    Seen& seen = ss.by_ns[ns];
    check_successors(slot, ns, peer->ring(ns), seen);
    if (const Journal* j = peer->journal(ns)) check_journal(slot, ns, *j, seen);
    if (const Store* st = peer->store(ns)) check_store(slot, ns, *st, seen);
  }
}

void EventChecker::check_successors(std::size_t slot, const std::string& ns, const RingState& ring,
                                    Seen& seen) {
  std::string problem = successor_order_problem(ring.self, ring.successors);
  // A broken list usually stays broken for several events: one report while it lasts.
  if (problem == seen.ring_problem) return;
  seen.ring_problem = problem;
  if (problem.empty()) return;
  report_.add("t=" + std::to_string(net_.now()) + " us, " + peer_name(slot, ring.self.id) +
              ", namespace '" + ns + "': " + problem);
}

// Only the blocks added since the last check are hashed: the check stays O(1) per event.
void EventChecker::check_journal(std::size_t slot, const std::string& ns, const Journal& journal,
                                 Seen& seen) {
  const std::vector<JournalBlock>& blocks = journal.blocks();
  if (blocks.size() < seen.blocks) {
    report_.add("t=" + std::to_string(net_.now()) + " us, slot " + std::to_string(slot) +
                ", namespace '" + ns + "': journal shrank from " + std::to_string(seen.blocks) +
                " to " + std::to_string(blocks.size()) + " blocks");
    seen.blocks = 0;
    seen.head = Hash256{};
  }
  for (std::size_t i = seen.blocks; i < blocks.size(); ++i) {
    const BlockHeader& h = blocks[i].header;
    const bool linked = h.height == i + 1 && h.prev == (i == 0 ? Hash256{} : seen.head);
    if (!linked && !seen.link_reported) {
      seen.link_reported = true;
      report_.add("t=" + std::to_string(net_.now()) + " us, slot " + std::to_string(slot) +
                  ", namespace '" + ns + "': journal block at position " + std::to_string(i + 1) +
                  " (height " + std::to_string(h.height) +
                  ") does not link to the block before it");
    }
    seen.head = block_hash(h, blocks[i].signature);
  }
  seen.blocks = blocks.size();
}

void EventChecker::check_store(std::size_t slot, const std::string& ns, const Store& store,
                               Seen& seen) {
  // Entries are never removed except whole keys handed on (erase_key), which erased_total
  // counts; so entries + erased can only grow.
  const std::uint64_t total = store.entry_count() + store.erased_total();
  if (total < seen.store_total) {
    report_.add("t=" + std::to_string(net_.now()) + " us, slot " + std::to_string(slot) +
                ", namespace '" + ns + "': store shrank (entries + erased went from " +
                std::to_string(seen.store_total) + " to " + std::to_string(total) + ")");
  }
  seen.store_total = total;
}

// --------------------------------------------------------------------- quiescence ----

namespace {

struct Member {
  std::size_t slot = 0;
  RingId id;
  const Peer* peer = nullptr;
};

// The live joined peers of `ns` in ring order; peers that should be there and are not
// (still joining, still leaving) are violations.
std::vector<Member> ring_members(const TestNetwork& net, const std::string& ns,
                                 CheckReport& report) {
  std::vector<Member> members;
  for (std::size_t slot = 0; slot < net.peer_slots(); ++slot) {
    const SlotState state = net.state(slot);
    const RingId id = net.keys(slot).ring_id();
    if (state == SlotState::kLeaving) {
      report.add(peer_name(slot, id) + " is still leaving at quiescence");
    }
    if (state != SlotState::kUp) continue;
    const Peer* p = net.peer(slot);
    if (!p->ring(ns).joined) {
      report.add(peer_name(slot, id) + " never joined namespace '" + ns + "'");
      continue;
    }
    members.push_back(Member{slot, id, p});
  }
  std::sort(members.begin(), members.end(),
            [](const Member& a, const Member& b) { return a.id < b.id; });
  return members;
}

// Indices into `members` (sorted by id) of the min(r, n) successors of key.
std::vector<std::size_t> responsible(const std::vector<Member>& members, const RingId& key,
                                     std::size_t r) {
  std::vector<std::size_t> out;
  for (auto it : ring_successors(members, key, r, &Member::id)) {
    out.push_back(static_cast<std::size_t>(it - members.begin()));
  }
  return out;
}

// Each member's first successors are the next live members clockwise, and its
// predecessor is the previous one.
void check_ring(const std::vector<Member>& members, const std::string& ns, std::size_t r,
                CheckReport& report) {
  const std::size_t n = members.size();
  if (n < 2) return;
  for (std::size_t i = 0; i < n; ++i) {
    const RingState ring = members[i].peer->ring(ns);
    const std::string who = peer_name(members[i].slot, members[i].id) + " in '" + ns + "'";
    const std::size_t want = std::min(r, n - 1);
    // The successors of its own id, less itself (the first of them).
    const std::vector<std::size_t> next = responsible(members, members[i].id, want + 1);
    for (std::size_t k = 0; k < want; ++k) {
      const Member& expected = members[next[k + 1]];
      if (k >= ring.successors.size()) {
        report.add(who + " knows only " + std::to_string(ring.successors.size()) + " successors, " +
                   std::to_string(want) + " expected");
        break;
      }
      if (ring.successors[k].id != expected.id) {
        report.add(who + ": successor " + std::to_string(k) + " is " +
                   ring.successors[k].id.short_hex() + ", the ring says " +
                   peer_name(expected.slot, expected.id));
        break;
      }
    }
    const Member& pred = members[(i + n - 1) % n];
    if (!ring.predecessor || ring.predecessor->id != pred.id) {
      report.add(who + ": predecessor is " +
                 (ring.predecessor ? ring.predecessor->id.short_hex() : std::string("unset")) +
                 ", the ring says " + peer_name(pred.slot, pred.id));
    }
  }
}

using Holders = std::map<RingId, std::vector<std::size_t>>;  // key -> member indices

Holders holders_of(const std::vector<Member>& members, const std::string& ns) {
  Holders holders;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const Store* store = members[i].peer->store(ns);
    if (store == nullptr) continue;
    store->for_each([&holders, i](const RingId& key, const KeySlot& slot) {
      if (!slot.entries.empty()) holders[key].push_back(i);
    });
  }
  return holders;
}

bool same_entries(const KeySlot& a, const KeySlot& b) {
  if (a.entries.size() != b.entries.size()) return false;
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    if (!(a.entries[i].entry == b.entries[i].entry)) return false;
  }
  return true;
}

// Replication of one key: held by exactly its responsible members, all equal. Adds the
// union of what the responsible members hold to `finals`.
void check_key(const std::vector<Member>& members, const std::string& ns, const RingId& key,
               const std::vector<std::size_t>& held_by, std::size_t r, CheckReport& report,
               FinalReads& finals) {
  const std::vector<std::size_t> owners = responsible(members, key, r);
  const std::string what = "key " + key.short_hex() + " in '" + ns + "': ";
  for (std::size_t m : held_by) {
    if (std::find(owners.begin(), owners.end(), m) == owners.end()) {
      report.add(what + "held by " + peer_name(members[m].slot, members[m].id) +
                 ", which is not among its " + std::to_string(owners.size()) + " successors");
    }
  }
  const KeySlot* reference = nullptr;
  std::set<Hash256>& union_set = finals[{ns, key}];
  for (std::size_t m : owners) {
    const Member& owner = members[m];
    const KeySlot* slot = owner.peer->store(ns)->find(key);
    if (slot == nullptr || slot->entries.empty()) {
      report.add(what + "missing at replica " + peer_name(owner.slot, owner.id));
      continue;
    }
    if (reference != nullptr && same_entries(*reference, *slot)) continue;
    if (reference != nullptr) {
      report.add(what + "replica " + peer_name(owner.slot, owner.id) + " holds " +
                 std::to_string(slot->entries.size()) + " entries, another replica " +
                 std::to_string(reference->entries.size()) + " (or different ones)");
    }
    reference = reference == nullptr ? slot : reference;
    for (const StoredEntry& e : slot->entries) union_set.insert(entry_hash(e.entry));
  }
}

void check_journals(const TestNetwork& net, CheckReport& report) {
  for (std::size_t slot : net.up_slots()) {
    const Peer* p = net.peer(slot);
    for (const std::string& ns : net.config().namespaces) {
      const Journal* j = p->journal(ns);
      if (j == nullptr) continue;
      const Result<bool> ok = verify_chain(j->blocks(), Hash256{});
      if (!ok) {
        report.add(peer_name(slot, net.keys(slot).ring_id()) + ": journal of '" + ns +
                   "' does not verify: " + ok.error().detail);
      }
    }
  }
}

void add_history(const HistoryReport& h, CheckReport& report) {
  for (const std::string& l : h.lost) report.add(l);
  for (const std::string& p : h.phantoms) report.add(p);
}

}  // namespace

CheckReport check_quiescent(const TestNetwork& net, const QuiescenceOptions& options) {
  CheckReport report = new_report(net);
  for (const std::string& e : net.errors()) report.add("harness: " + e);
  const std::size_t r = static_cast<std::size_t>(std::max(1, net.config().peer.replication));
  FinalReads finals;
  for (const std::string& ns : net.config().namespaces) {
    const std::vector<Member> members = ring_members(net, ns, report);
    if (options.ring) check_ring(members, ns, r, report);
    if (members.empty()) continue;
    CheckReport replicas = new_report(net);
    for (const auto& [key, held_by] : holders_of(members, ns)) {
      check_key(members, ns, key, held_by, r, replicas, finals);
    }
    if (options.replicas) report.merge(replicas);
  }
  if (options.history) {
    report.history = check_history(net.history(), finals);
    add_history(report.history, report);
  }
  if (options.journals) check_journals(net, report);
  return report;
}

}  // namespace kittengrad::testnet
