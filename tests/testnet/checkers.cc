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
  if (peer->counters().oversized_sent > 0 && !ss.oversized_reported) {
    ss.oversized_reported = true;
    report_.add("t=" + std::to_string(net_.now()) + " us, slot " + std::to_string(slot) +
                ": sent a message larger than its datagram budget (oversized_sent)");
  }
  for (const std::string& ns : net_.config().namespaces) {
    if (!peer->serves(ns)) continue;
    Seen& seen = ss.by_ns[ns];
    check_successors(slot, ns, peer->ring(ns), seen);
    if (const Journal* j = peer->journal(ns)) check_journal(slot, ns, *j, seen);
    if (const Store* st = peer->store(ns)) check_store(slot, ns, *peer, *st, seen);
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

void EventChecker::check_store(std::size_t slot, const std::string& ns, const Peer& peer,
                               const Store& store, Seen& seen) {
  // Entries are never removed except whole keys handed on (erase_key), which erased_total
  // counts; so entries + erased can only grow.
  const std::uint64_t total = store.entry_count() + store.erased_total();
  if (total < seen.store_total) {
    report_.add("t=" + std::to_string(net_.now()) + " us, slot " + std::to_string(slot) +
                ", namespace '" + ns + "': store shrank (entries + erased went from " +
                std::to_string(seen.store_total) + " to " + std::to_string(total) + ")");
  }
  seen.store_total = total;
  // Keys only change at a key's first entry or at an erase: the key set is refreshed then,
  // and a key gone since the last look must be one the peer is no longer a replica of.
  if (store.key_count() == seen.key_count && store.erased_total() == seen.erased_total) return;
  std::set<RingId> keys;
  store.for_each([&keys](const RingId& key, const KeySlot&) { keys.insert(key); });
  if (store.erased_total() != seen.erased_total && !seen.erase_reported) {
    for (const RingId& key : seen.keys) {
      if (keys.count(key) != 0 || !peer.is_replica(ns, key)) continue;
      seen.erase_reported = true;  // one report per peer: the first such key
      report_.add("t=" + std::to_string(net_.now()) + " us, " + peer_name(slot, peer.self().id) +
                  ", namespace '" + ns + "': erased key " + key.short_hex() +
                  " although it is a replica of it");
      break;
    }
  }
  seen.keys = std::move(keys);
  seen.key_count = store.key_count();
  seen.erased_total = store.erased_total();
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

// Replication of one key: held by exactly its responsible members, all equal.
void check_key(const std::vector<Member>& members, const std::string& ns, const RingId& key,
               const std::vector<std::size_t>& held_by, std::size_t r, CheckReport& report) {
  const std::vector<std::size_t> owners = responsible(members, key, r);
  const std::string what = "key " + key.short_hex() + " in '" + ns + "': ";
  for (std::size_t m : held_by) {
    if (std::find(owners.begin(), owners.end(), m) == owners.end()) {
      report.add(what + "held by " + peer_name(members[m].slot, members[m].id) +
                 ", which is not among its " + std::to_string(owners.size()) + " successors");
    }
  }
  const KeySlot* reference = nullptr;
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

// Every entry a peer stores went through its journal (apply and restore journal first),
// and a key its journal has but its store lacks was erased: only keys outside its range
// may be (by the ring of the live members).
void check_journal_covers_store(const std::vector<Member>& members, const std::string& ns,
                                std::size_t r, CheckReport& report) {
  for (std::size_t m = 0; m < members.size(); ++m) {
    const Member& member = members[m];
    const Journal* j = member.peer->journal(ns);
    const Store* store = member.peer->store(ns);
    if (j == nullptr || store == nullptr) continue;
    std::set<EntryId> journalled;
    std::set<RingId> journal_keys;
    auto note = [&](const Entry& e) {
      journalled.insert(EntryId::of(entry_hash(e)));
      journal_keys.insert(e.key());
    };
    for (const JournalBlock& b : j->blocks()) {
      for (const Entry& e : b.entries) note(e);
    }
    for (const Entry& e : j->pending()) note(e);
    const std::string who = peer_name(member.slot, member.id) + " in '" + ns + "': ";
    bool reported = false;  // one report per peer: the first entry missing
    store->for_each([&](const RingId& key, const KeySlot& slot) {
      for (const StoredEntry& e : slot.entries) {
        if (reported || journalled.count(e.id) != 0) continue;
        reported = true;
        report.add(who + "stores an entry of key " + key.short_hex() +
                   " that is not in its journal");
      }
    });
    for (const RingId& key : journal_keys) {
      if (store->find(key) != nullptr) continue;
      const std::vector<std::size_t> owners = responsible(members, key, r);
      if (std::find(owners.begin(), owners.end(), m) == owners.end()) continue;
      report.add(who + "erased key " + key.short_hex() +
                 " of its own range (its journal has it, its store has not)");
      break;
    }
  }
}

void add_history(const HistoryReport& h, CheckReport& report) {
  for (const std::string& l : h.lost) report.add(l);
  for (const std::string& p : h.phantoms) report.add(p);
}

CheckReport check_all(const TestNetwork& net, const QuiescenceOptions& options,
                      const ReadBack* reads) {
  CheckReport report = new_report(net);
  for (const std::string& e : net.errors()) report.add("harness: " + e);
  // A few examples and a count: one broken write path must not crowd out other kinds.
  constexpr std::size_t kEarlyAcksShown = 5;
  const std::vector<std::string>& early = net.early_acks();
  for (std::size_t i = 0; i < early.size() && i < kEarlyAcksShown; ++i) report.add(early[i]);
  if (early.size() > kEarlyAcksShown) {
    report.add("... " + std::to_string(early.size() - kEarlyAcksShown) +
               " more writes acknowledged with an entry durable at fewer than W peers");
  }
  const std::size_t r = static_cast<std::size_t>(std::max(1, net.config().peer.replication));
  for (const std::string& ns : net.config().namespaces) {
    const std::vector<Member> members = ring_members(net, ns, report);
    if (options.ring) check_ring(members, ns, r, report);
    if (members.empty()) continue;
    if (options.replicas) {
      for (const auto& [key, held_by] : holders_of(members, ns)) {
        check_key(members, ns, key, held_by, r, report);
      }
    }
    if (options.journals) check_journal_covers_store(members, ns, r, report);
  }
  if (options.history) {
    if (reads == nullptr) {
      report.add("harness: the history was to be checked without final reads through a client");
    } else {
      for (const std::string& f : reads->failures) report.add(f);
      report.history = check_history(net.history(), reads->reads);
      add_history(report.history, report);
    }
  }
  if (options.in_flight && (net.ops_in_flight() != 0 || net.client_ops_in_flight() != 0)) {
    report.add(std::to_string(net.ops_in_flight()) + " client ops (" +
               std::to_string(net.client_ops_in_flight()) +
               " by the clients' count) still in flight at quiescence");
  }
  if (options.journals) check_journals(net, report);
  return report;
}

}  // namespace

CheckReport check_quiescent(TestNetwork& net, const QuiescenceOptions& options) {
  if (!options.history) return check_all(net, options, nullptr);
  const ReadBack reads = read_back(net);
  return check_all(net, options, &reads);
}

CheckReport check_quiescent(const TestNetwork& net, const QuiescenceOptions& options,
                            const ReadBack& reads) {
  return check_all(net, options, &reads);
}

CheckReport check_quiescent(const TestNetwork& net, const QuiescenceOptions& options) {
  return check_all(net, options, nullptr);
}

}  // namespace kittengrad::testnet
