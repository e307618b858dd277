// live_peer_items.cc — the admin items of a peer (see the header).
#include "live_peer_items.h"

#include <cmath>

#include "kittengrad/real/live_address.h"
#include "live_faults.h"

namespace kittengrad::live {

namespace {

struct Items {
  std::vector<admin::Item> v;
  void num(std::string name, std::uint64_t x) { v.push_back({std::move(name), x}); }
  void str(std::string name, std::string x) { v.push_back({std::move(name), std::move(x)}); }
};

void add_ring(Items& out, const PeerStatus& s) {
  const Peer& p = *s.peer;
  out.str("peer/address", format_address(p.self().addr));
  out.str("peer/id", p.self().id.hex());
  out.num("peer/leaving", s.leaving ? 1 : 0);
  out.num("peer/left", p.has_left() ? 1 : 0);
  for (const std::string& ns : s.namespaces) {
    const std::string pre = "ns/" + ns + "/";
    const RingState ring = p.ring(ns);
    const auto r = static_cast<std::size_t>(p.config().replication);
    out.num(pre + "joined", ring.joined ? 1 : 0);
    out.num(pre + "replication", r);
    if (ring.predecessor) out.str(pre + "predecessor", format_address(ring.predecessor->addr));
    for (std::size_t i = 0; i < ring.successors.size(); ++i) {
      out.str(pre + "successor/" + std::to_string(i), format_address(ring.successors[i].addr));
    }
    // What this peer can tell about replication: its keys live on it and its first r - 1
    // successors, so a shorter list means fewer than r replicas (or a ring of fewer than r
    // peers); repairs (hand-off and anti-entropy pushes, range pulls) still in flight
    // mean copies are being made.
    const TableSizes t = p.table_sizes(ns);
    out.num(pre + "replicas_reachable", std::min(r, ring.successors.size() + 1));
    out.num(pre + "under_replicated", ring.successors.size() + 1 < r ? 1 : 0);
    out.num(pre + "repairs_in_flight", t.pushes + t.pulls);
  }
}

void add_counters(Items& out, const PeerCounters& c) {
  const std::string pre = "counters/";
  out.num(pre + "bad_signatures", c.bad_signatures);
  const RefusedEntries& b = c.bad_signatures_by_path;
  const std::string by = pre + "bad_signatures_by_path/";
  out.num(by + "client_write", b.client_write);
  out.num(by + "replicate", b.replicate);
  out.num(by + "ae_responder", b.ae_responder);
  out.num(by + "ae_initiator", b.ae_initiator);
  out.num(by + "range_page", b.range_page);
  out.num(by + "read_reply", b.read_reply);
  out.num(by + "catch_up", b.catch_up);
  out.num(pre + "bad_blocks", c.bad_blocks);
  out.num(pre + "wrong_peer", c.wrong_peer);
  out.num(pre + "unknown_namespace", c.unknown_namespace);
  out.num(pre + "malformed", c.malformed);
  out.num(pre + "overloaded", c.overloaded);
  out.num(pre + "feed_blocks_skipped", c.feed_blocks_skipped);
  out.num(pre + "oversized_sent", c.oversized_sent);
  out.num(pre + "entries_applied", c.entries_applied);
  out.num(pre + "ae_rounds", c.ae_rounds);
  out.num(pre + "ae_in_sync", c.ae_in_sync);
  out.num(pre + "ae_reconciled", c.ae_reconciled);
  out.num(pre + "ae_paged", c.ae_paged);
  out.num(pre + "lookups_failed", c.lookups_failed);
  out.num(pre + "timeouts", c.timeouts);
  out.num(pre + "ae_evicted", c.ae_evicted);
  out.num(pre + "ae_busy", c.ae_busy);
  out.num(pre + "pulls_evicted", c.pulls_evicted);
  out.num(pre + "catch_ups_evicted", c.catch_ups_evicted);
  out.num(pre + "reassembly_refused", c.reassembly_refused);
}

void add_tables(Items& out, const std::string& pre, const TableSizes& t) {
  out.num(pre + "writes", t.writes);
  out.num(pre + "reads", t.reads);
  out.num(pre + "lookups", t.lookups);
  out.num(pre + "persists", t.persists);
  out.num(pre + "subscribers", t.subscribers);
  out.num(pre + "ae_sessions", t.ae_sessions);
  out.num(pre + "pulls", t.pulls);
  out.num(pre + "catch_ups", t.catch_ups);
  out.num(pre + "pushes", t.pushes);
  out.num(pre + "pending", t.pending);
  out.num(pre + "cached_arcs", t.cached_arcs);
  out.num(pre + "built_arcs", t.built_arcs);
}

void add_transport(Items& out, const TransportCounters& t) {
  const std::string pre = "transport/";
  out.num(pre + "datagrams_in", t.datagrams_in);
  out.num(pre + "bytes_in", t.bytes_in);
  out.num(pre + "datagrams_out", t.datagrams_out);
  out.num(pre + "bytes_out", t.bytes_out);
  out.num(pre + "send_failed", t.send_failed);
  out.num(pre + "receive_errors", t.receive_errors);
  out.num(pre + "replicate_entries_out", t.replicate_entries_out);
  out.num(pre + "dropped_total", t.dropped_total());
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    out.num(pre + "dropped/" + drop_name(static_cast<Drop>(i)), t.dropped[i]);
  }
  for (std::size_t k = 0; k < kMessageKinds; ++k) {
    out.num(pre + "msgs_sent/" + message_kind_name(k), t.msgs_sent_by_kind[k]);
    out.num(pre + "bytes_sent/" + message_kind_name(k), t.bytes_sent_by_kind[k]);
  }
}

// A run's network at this transport (kittengrad live); zeros for a peer outside a run, so
// that every peer has the same names.
void add_faults(Items& out, const LiveFaults* f) {
  const std::string pre = "transport/faults/";
  const FaultCounters c = f != nullptr ? f->counters() : FaultCounters{};
  out.num(pre + "partitioned", f != nullptr && f->partitioned() ? 1 : 0);
  out.num(pre + "dropped_partition_out", c.dropped_partition_out);
  out.num(pre + "dropped_partition_in", c.dropped_partition_in);
  out.num(pre + "dropped_loss", c.dropped_loss);
  out.num(pre + "dropped_loss_burst", c.dropped_loss_burst);
  out.num(pre + "duplicated", c.duplicated);
  out.num(pre + "delayed", c.delayed);
  out.num(pre + "delay_overflow", c.delay_overflow);
  out.num(pre + "delayed_now", f != nullptr ? f->delayed_now() : 0);
  out.num("transport/control/accepted", c.control_accepted);
  out.num("transport/control/repeated", c.control_repeated);
  for (std::size_t i = 0; i < kControlRefusals; ++i) {
    out.num(std::string("transport/control/refused/") + refusal_name(static_cast<ControlRefusal>(i)),
            c.control_refused[i]);
  }
}

void add_sessions(Items& out, const session::SessionTable& table) {
  const std::string pre = "session/";
  const session::SessionCounters& c = table.counters();
  out.num(pre + "initiations_sent", c.initiations_sent);
  out.num(pre + "responses_sent", c.responses_sent);
  out.num(pre + "handshakes_completed", c.handshakes_completed);
  out.num(pre + "cookies_sent", c.cookies_sent);
  out.num(pre + "cookies_received", c.cookies_received);
  out.num(pre + "signatures_verified", c.signatures_verified);
  out.num(pre + "sessions_evicted", c.sessions_evicted);
  out.num(pre + "sealed", c.sealed);
  out.num(pre + "opened", c.opened);
  out.num(pre + "queued", c.queued);
  for (std::size_t i = 0; i < c.dropped.size(); ++i) {
    out.num(pre + "dropped/" + std::string(session::drop_name(static_cast<session::Drop>(i))), c.dropped[i]);
  }
  const session::SessionSizes s = table.sizes();
  out.num(pre + "table/sessions", s.sessions);
  out.num(pre + "table/pending", s.pending);
  out.num(pre + "table/queued_bytes", s.queued_bytes);
}

}  // namespace

std::vector<admin::Item> ring_items(const PeerStatus& s) {
  Items out;
  add_ring(out, s);
  return std::move(out.v);
}

std::vector<admin::Item> stats_items(const PeerStatus& s) {
  Items out;
  out.num("peer/uptime_s", static_cast<std::uint64_t>(std::floor(s.uptime_s)));
  add_ring(out, s);
  add_counters(out, s.peer->counters());
  for (const std::string& ns : s.namespaces) {
    const std::string pre = "ns/" + ns + "/";
    add_tables(out, pre + "tables/", s.peer->table_sizes(ns));
    if (const Store* st = s.peer->store(ns)) {
      out.num(pre + "store/keys", st->key_count());
      out.num(pre + "store/entries", st->entry_count());
    }
    if (const Journal* j = s.peer->journal(ns)) {
      out.num(pre + "journal/height", j->height());
      out.num(pre + "journal/pending", j->pending().size());  // entries not yet in a block
    }
  }
  add_transport(out, s.loop->counters());
  add_faults(out, s.loop->faults());
  add_sessions(out, s.loop->sessions());
  out.num("storage/records", s.storage_records);
  return std::move(out.v);
}

}  // namespace kittengrad::live
