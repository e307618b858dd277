// simulation.cc — run_simulation(): the platform, the actors, the agenda, and the tables
// at the end. See world.h for how the pieces fit.
#include "kittengrad/sim/simulation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <variant>

#include "kittengrad/runs/finish_run.h"
#include "kittengrad/runs/run_file.h"
#include "kittengrad/runs/workload_draws.h"
#include "platform.h"
#include "world.h"

namespace kittengrad::sim {

namespace {

// Clients run the workload from hosts of their own (runs/workload_draws.h); a handful does
// not add actors that matter at 10^5 peers.
constexpr std::size_t kClients = runs::kWorkloadClients;
constexpr std::size_t kAuthors = runs::kWorkloadAuthors;

std::size_t scripted_joins(const Scenario& sc) {
  std::size_t n = 0;
  for (const FailureEvent& f : sc.failures) {
    if (f.kind == FailureKind::kJoin) n += static_cast<std::size_t>(f.peers.count.value_or(1));
  }
  return n;
}


}  // namespace

void World::finish(SimResult& result) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Ops still in flight at the end: neither acknowledged nor failed.
  for (const auto& [id, row] : ops_in_flight) {
    if (row.kind == OpKind::kWrite) {
      tables.ops.kind.emplace_back(row.insert ? "insert" : "update");
      tables.ops.t_issue_s.push_back(to_s(row.issued));
      tables.ops.t_ack_s.push_back(nan);
      tables.ops.ok.push_back(0);
      tables.ops.error.emplace_back("unfinished");
      tables.ops.entries.push_back(static_cast<std::int64_t>(row.entries.size()));
    } else {
      tables.lookups.t_issue_s.push_back(to_s(row.issued));
      tables.lookups.t_done_s.push_back(nan);
      tables.lookups.hops.push_back(0);
      tables.lookups.ok.push_back(0);
      tables.lookups.correct.push_back(0);
    }
  }
  runs::sort_rows_by_issue(tables);

  for (std::size_t i = 0; i < identities.size(); ++i) {
    const HostSlot& h = *hosts[identities[i].host];
    const bool alive = h.identity == i && h.peer != nullptr;
    std::int64_t keys = 0, entries = 0;
    if (alive) {
      for (const std::string& ns : namespaces) {
        if (const Store* s = h.peer->store(ns)) {
          keys += static_cast<std::int64_t>(s->key_count());
          entries += static_cast<std::int64_t>(s->entry_count());
        }
      }
    }
    FinalPeersTable& f = tables.final_peers;
    f.peer.push_back(static_cast<std::int64_t>(i));
    f.alive.push_back(alive ? 1 : 0);
    f.keys.push_back(keys);
    f.entries.push_back(entries);
    f.msgs_sent.push_back(static_cast<std::int64_t>(identities[i].msgs_sent));
    f.bytes_sent.push_back(static_cast<std::int64_t>(identities[i].bytes_sent));
  }
  oracle.final_keys(tables.final_keys);

  const HistoryReport report = check_history(history, oracle.final_reads());
  tables.summary.history_lost = static_cast<std::int64_t>(report.lost.size());
  tables.summary.history_phantoms = static_cast<std::int64_t>(report.phantoms.size());
  tables.summary.history_checked = true;
  if (!report.valid() && options.log != nullptr) *options.log << report.describe() << "\n";

  const std::uint64_t queue_drops = queue_net != nullptr ? queue_net->drops() : 0;
  if (options.log != nullptr) {
    *options.log << "simulation: " << delivered << " datagrams delivered to peers, "
                 << dropped + queue_drops << " dropped (" << queue_drops
                 << " at full link queues), " << wakeups << " timer wakeups, " << disk_completions
                 << " disk completions, " << actor_turns << " peer actor turns; wall time "
                 << result.setup_wall_s << " s to set up, " << result.run_wall_s << " s to run\n";
  }
  result.datagrams_delivered = delivered;
  result.datagrams_dropped = dropped + queue_drops;
  result.queue_drops = queue_drops;
  result.audit_mismatches = result_audit_mismatches;
}

SimResult run_simulation(const Scenario& scenario, const SimOptions& options) {
  SimResult result;
  const double wall0 = wall_seconds();
  if (!crypto_init()) {
    result.error = "libsodium could not be initialised";
    return result;
  }
  World w(scenario, options);
  RunTables& t = w.tables;
  t.backend = "sim";
  t.seed = scenario.run.seed;
  t.version = options.version;
  t.duration_s = scenario.run.duration_s;
  t.peers = scenario.overlay.peers;

  const std::size_t peers = static_cast<std::size_t>(scenario.overlay.peers);
  const std::size_t peer_hosts = peers + scripted_joins(scenario);
  const std::size_t actors = peer_hosts + kClients + 1;

  int argc = 2;
  char arg0[] = "kittengrad";
  char arg1[] = "--log=root.thres:critical";
  char* argv[] = {arg0, arg1, nullptr};
  simgrid::s4u::Engine engine(&argc, argv);
  configure_engine_defaults(engine, actors);
  auto built = build_platform(engine, scenario.network, peer_hosts, kClients + 1, scenario.run.seed);
  if (const std::string* err = std::get_if<std::string>(&built)) {
    result.error = *err;
    return result;
  }
  const PlatformHosts& platform = std::get<PlatformHosts>(built);
  if (scenario.network.model == NetworkModel::kQueue) {
    w.queue_net = std::make_unique<QueueNet<Datagram>>(
        platform.rate_Bps, platform.latency, static_cast<std::uint64_t>(scenario.network.queue_bytes),
        kMessageKinds);
  }

  // Hosts, their seams and (for the initial peers) their identities.
  Rng skew_rng = Rng::derive(scenario.run.seed, "clock-skew");
  const auto skew = static_cast<std::int64_t>(scenario.network.clock_skew_ms);
  for (std::size_t h = 0; h < peer_hosts; ++h) {
    auto slot = std::make_unique<HostSlot>();
    slot->index = h;
    slot->host = platform.peers[h];
    slot->mailbox = simgrid::s4u::Mailbox::by_name("p" + std::to_string(h));
    slot->clock = std::make_unique<SimClock>(skew > 0 ? skew_rng.range(-skew, skew) : 0);
    slot->network = std::make_unique<SimNetwork>(w, 0);
    slot->storage = std::make_unique<SimStorage>(*slot);
    w.hosts.push_back(std::move(slot));
  }
  w.initial_peers = peers;
  w.next_spare_host = peers;
  for (std::size_t a = 0; a < kAuthors; ++a) {
    w.authors.push_back(keypair_from_u64(Rng::derive(scenario.run.seed, "author", a).next_u64()));
  }

  const bool instant = scenario.overlay.bootstrap == Bootstrap::kInstant;
  if (instant) {
    for (std::size_t h = 0; h < peers; ++h) {
      HostSlot& slot = *w.hosts[h];
      slot.identity = static_cast<PeerIndex>(h);
      w.identities.push_back(Identity{h, 0, 0});
      slot.keys = keypair_from_u64(Rng::derive(scenario.run.seed, "peer-key", h).next_u64());
      w.instant_members.push_back(NodeRef{slot.keys.ring_id(), slot.identity});
      slot.on_start = [&w, h] { w.start_fresh(*w.hosts[h], World::Start::kInstant); };
    }
    std::sort(w.instant_members.begin(), w.instant_members.end(),
              [](const NodeRef& a, const NodeRef& b) { return a.id < b.id; });
  } else {
    // Peers join one by one at join_rate_per_s, each through a random joined peer.
    w.hosts[0]->on_start = [&w] { w.start_fresh(*w.hosts[0], World::Start::kCreate); };
    for (std::size_t h = 1; h < peers; ++h) {
      const Time at = from_s(static_cast<double>(h) / scenario.overlay.join_rate_per_s);
      w.schedule(at, [&w, h] { w.on_host(h, [&w, h] { w.start_fresh(*w.hosts[h], World::Start::kJoin); }); });
    }
  }

  for (std::size_t c = 0; c < kClients; ++c) {
    auto slot = std::make_unique<ClientSlot>();
    slot->index = c;
    slot->address = kClientBase + c;
    slot->host = platform.extra[c];
    slot->mailbox = simgrid::s4u::Mailbox::by_name("c" + std::to_string(c));
    slot->clock = std::make_unique<SimClock>(0);
    slot->network = std::make_unique<SimNetwork>(w, slot->address);
    slot->client = std::make_unique<Client>(w.client_config, slot->address, slot->clock.get(),
                                            slot->network.get());
    slot->rng = Rng::derive(scenario.run.seed, "client", c);
    w.clients.push_back(std::move(slot));
  }
  w.director_host = platform.extra[kClients];

  // The agenda: samples, failures, churn, snapshots, the end.
  const Time end = from_s(scenario.run.duration_s);
  const Time interval = from_s(scenario.run.metrics_interval_s);
  for (Time at = interval; at < end; at += interval) {
    w.schedule(at, [&w, at] { w.take_sample(at); });
  }
  for (const FailureEvent& f : scenario.failures) {
    if (from_s(f.at_s) < end) w.schedule(from_s(f.at_s), [&w, &f] { w.apply_failure(f); });
  }
  w.schedule_churn_start();
  for (double at_s : scenario.snapshot_times_s()) {
    const Time at = from_s(at_s);
    if (at < end) w.schedule(at, [&w] { w.take_snapshot(); });
  }
  const bool snapshot_at_end = !scenario.snapshot_times_s().empty() &&
                               from_s(scenario.snapshot_times_s().back()) >= end;
  w.schedule(end, [&w, end, snapshot_at_end] {
    w.take_sample(end);
    if (snapshot_at_end) w.take_snapshot();
    w.print_progress(true);
    w.finished = true;
  });

  for (std::size_t h = 0; h < peer_hosts; ++h) {
    simgrid::s4u::Actor::create("peer", w.hosts[h]->host, [&w, h] { w.peer_actor(h); });
  }
  for (std::size_t c = 0; c < kClients; ++c) {
    simgrid::s4u::Actor::create("client", w.clients[c]->host, [&w, c] { w.client_actor(c); });
  }
  simgrid::s4u::Actor::create("director", w.director_host, [&w] { w.director_actor(); });

  result.setup_wall_s = wall_seconds() - wall0;
  w.wall_start = w.wall_last_progress = wall_seconds();
  engine.run();
  result.run_wall_s = wall_seconds() - w.wall_start;

  w.finish(result);
  w.queue_net.reset();  // its semaphores belong to this engine
  t.wall_time_s = wall_seconds() - wall0;
  result.tables = std::move(w.tables);
  return result;
}

std::string write_finished_run(const std::string& path, const Scenario& scenario,
                              RunTables& tables) {
  runs::finish_run_tables(scenario, tables);
  return runs::write_run_file(path, tables);
}

}  // namespace kittengrad::sim
