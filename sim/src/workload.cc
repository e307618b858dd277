// workload.cc — the client actors: a seeded stream of inserts, updates and lookups
// (Poisson arrivals, key popularity uniform or Zipf), each op recorded for /ops, /lookups
// and the history checker.
#include <algorithm>
#include <cmath>
#include <limits>

#include "inbox.h"
#include "kittengrad/runs/workload_draws.h"
#include "world.h"

namespace kittengrad::sim {

using runs::fresh_record;
using runs::total_rate;

void World::client_actor(std::size_t index) {
  ClientSlot& c = *clients[index];
  std::optional<Inbox<Datagram>> inbox;  // the flow model's receive loop
  if (queue_net == nullptr) {
    c.mailbox->set_receiver(simgrid::s4u::Actor::self());
    inbox.emplace(c.mailbox);
    c.inbox = &*inbox;
  }
  c.actor = simgrid::s4u::this_actor::get_pid();
  const WorkloadSection& w = sc.workload;
  const double share = 1.0 / static_cast<double>(clients.size());
  const Time end = from_s(sc.workload_end_s());
  const Time writes_end = from_s(sc.writes_end_s());
  // Poisson arrivals at this client's share of the rates in force: all three kinds until
  // writes_end_s, lookups alone after it.
  auto next_gap = [&]() -> Time {
    const double rate = share * (now_us() < writes_end ? total_rate(w) : w.lookups_per_s);
    if (rate <= 0) return kNever;
    return std::max<Time>(1, from_s(c.rng.exponential(1.0 / rate)));
  };
  auto arrival_after = [&](Time t) {
    const Time gap = next_gap();
    return gap == kNever || t + gap >= end ? kNever : t + gap;
  };
  c.next_arrival = arrival_after(from_s(w.start_s));
  for (;;) {
    Time deadline = c.next_arrival;
    if (const auto t = c.client->next_wakeup()) deadline = std::min(deadline, *t);
    const Time now = now_us();
    if (deadline != kNever && deadline <= now) deadline = now + 1;
    std::unique_ptr<Datagram> d(
        receive(hosts.size() + index, inbox ? &*inbox : nullptr,
                deadline == kNever ? std::numeric_limits<double>::infinity() : to_s(deadline)));
    if (d && !d->wake) c.client->on_datagram(d->from, d->msg);
    const Time t = now_us();
    if (c.next_arrival != kNever && c.next_arrival <= t) {
      issue_op(c);
      c.next_arrival = arrival_after(t);
    }
    if (const auto wake = c.client->next_wakeup(); wake && *wake <= t) c.client->on_wakeup();
    harvest(c);
  }
}

void World::issue_op(ClientSlot& c) {
  const WorkloadSection& w = sc.workload;
  const std::optional<Address> gateway = random_joined_peer(c.rng);
  if (!gateway) return;  // nobody to ask: the arrival is lost, as a user would see it
  const double u = c.rng.uniform01() * total_rate(w);
  // After writes_end_s (a read phase), every arrival is a lookup.
  const bool writing = now_us() < from_s(sc.writes_end_s());
  const bool lookup = !writing || u >= w.inserts_per_s + w.updates_per_s;
  const bool insert = canonicals.empty() || u < w.inserts_per_s;
  if (lookup && canonicals.empty()) return;

  OpRow row;
  row.id = next_op++;
  row.issued = now_us();
  std::size_t ns_index = 0;
  Cid canonical;
  if (insert && !lookup) {
    ns_index = c.rng.below(namespaces.size());
    canonical = fresh_record(c.rng, w);
    canonicals.emplace_back(ns_index, canonical);
  } else {
    const std::uint64_t n = canonicals.size();
    // Zipf rank 1 is the oldest canonical: early keys are the popular ones.
    const std::uint64_t pick = w.zipf_s > 0 ? sample_zipf(c.rng, n, w.zipf_s) - 1 : c.rng.below(n);
    ns_index = canonicals[pick].first;
    canonical = canonicals[pick].second;
  }
  row.ns = namespaces[ns_index];
  row.key = canonical.ring_key();
  std::uint64_t client_op = 0;
  if (lookup) {
    row.kind = OpKind::kLookup;
    history.invoke_lookup(row.id, row.ns, row.key, row.issued);
    client_op = c.client->lookup(row.ns, canonical, *gateway);
  } else {
    row.kind = OpKind::kWrite;
    row.insert = insert;
    const KeyPair& author = authors[c.rng.below(authors.size())];
    const Cid update = insert ? canonical : fresh_record(c.rng, w);
    row.entries.push_back(make_entry(author, row.ns, canonical, update, c.clock->wall_ms()));
    history.invoke_write(row.id, row.ns, row.entries, row.issued);
    client_op = c.client->write(row.ns, row.entries, *gateway);
  }
  client_ops.emplace(std::make_pair(c.index, client_op), row.id);
  ops_in_flight.emplace(row.id, std::move(row));
}

void World::harvest(ClientSlot& c) {
  for (OpResult& r : c.client->take_completed()) {
    auto link = client_ops.find({c.index, r.op});
    if (link == client_ops.end()) continue;
    auto it = ops_in_flight.find(link->second);
    client_ops.erase(link);
    if (it == ops_in_flight.end()) continue;
    OpRow& row = it->second;
    const bool ok = r.error == ErrorCode::kOk;
    history.complete(row.id, runs::op_status(r), r.done, r.entries);
    if (row.kind == OpKind::kWrite) {
      if (ok) oracle.acknowledged(row.entries, r.done);
      OpsTable& t = tables.ops;
      t.kind.emplace_back(row.insert ? "insert" : "update");
      t.t_issue_s.push_back(to_s(row.issued));
      t.t_ack_s.push_back(ok ? to_s(r.done) : std::numeric_limits<double>::quiet_NaN());
      t.ok.push_back(ok ? 1 : 0);
      t.error.emplace_back(ok ? std::string() : std::string(error_name(r.error)));
      t.entries.push_back(static_cast<std::int64_t>(row.entries.size()));
    } else {
      LookupsTable& t = tables.lookups;
      t.t_issue_s.push_back(to_s(row.issued));
      t.t_done_s.push_back(to_s(r.done));
      t.hops.push_back(r.hops);
      t.ok.push_back(ok ? 1 : 0);
      t.correct.push_back(ok && oracle.lookup_correct(row.ns, row.key, row.issued, r.entries));
    }
    ops_in_flight.erase(it);
  }
}

}  // namespace kittengrad::sim
