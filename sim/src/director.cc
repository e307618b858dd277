// director.cc — the director actor: the agenda of a run (metrics samples, churn, scripted
// failures, overlay snapshots, the end), and the progress line.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "world.h"

namespace kittengrad::sim {

void World::schedule(Time at, std::function<void()> action) {
  agenda.push(Scheduled{at, agenda_seq++, std::move(action)});
}

void World::director_actor() {
  while (!agenda.empty() && !finished) {
    Scheduled next = agenda.top();
    agenda.pop();
    if (next.at > now_us()) simgrid::s4u::this_actor::sleep_until(to_s(next.at));
    next.action();
  }
  // The end: every other actor stops where it is; the tables are complete.
  simgrid::s4u::Actor::kill_all();
}

// ------------------------------------------------------------------------- churn --

namespace {

LifetimeModel lifetime_model(ChurnModel m) {
  switch (m) {
    case ChurnModel::kWeibull: return LifetimeModel::kWeibull;
    case ChurnModel::kPareto: return LifetimeModel::kPareto;
    default: return LifetimeModel::kExponential;
  }
}

}  // namespace

void World::schedule_churn_start() {
  const ChurnSection& c = sc.churn;
  if (c.model == ChurnModel::kNone) return;
  session_law = Lifetime::with_median(lifetime_model(c.model), c.median_session_s, c.shape);
  downtime_law = Lifetime::with_median(lifetime_model(c.model), c.median_downtime_s, c.shape);
  schedule(from_s(c.start_s), [this] {
    // Each peer is seen at a random point of its session: no wave of departures later.
    for (std::size_t h = 0; h < hosts.size(); ++h) {
      HostSlot& slot = *hosts[h];
      if (slot.state != HostState::kUp && slot.state != HostState::kIdle) continue;
      if (h >= initial_peers) continue;
      Rng rng = Rng::derive(sc.run.seed, "churn-start", h);
      const Time at = now_us() + from_s(session_law->sample_residual(rng));
      const std::uint64_t gen = slot.churn_generation;
      schedule(at, [this, h, gen] { churn_depart(h, gen); });
    }
  });
}

void World::churn_depart(std::size_t h, std::uint64_t generation) {
  HostSlot& slot = *hosts[h];
  if (slot.churn_generation != generation || slot.state != HostState::kUp) return;
  if (now_us() >= from_s(sc.churn_end_s())) return;  // the churn window is over
  Rng rng = Rng::derive(sc.run.seed, "churn", (std::uint64_t{h} << 24) ^ ++slot.churn_generation);
  const bool permanent = rng.chance(sc.churn.permanent_fraction);
  crash(slot, /*disk_lost=*/permanent, permanent ? "depart" : "crash");
  const Time back = now_us() + from_s(downtime_law->sample(rng));
  const std::uint64_t gen = slot.churn_generation;
  schedule(back, [this, h, gen, permanent] { churn_return(h, gen, permanent); });
}

void World::churn_return(std::size_t h, std::uint64_t generation, bool fresh) {
  HostSlot& slot = *hosts[h];
  if (slot.churn_generation != generation || slot.state != HostState::kDown) return;
  on_host(h, [this, h, fresh] {
    HostSlot& s = *hosts[h];
    if (s.state != HostState::kDown) return;
    if (fresh) {
      start_fresh(s, Start::kJoin);
    } else {
      recover(s);
    }
    schedule_session_end(h);
  });
}

// A new session of the host's peer: its departure, if it falls inside the churn window.
void World::schedule_session_end(std::size_t h) {
  const HostSlot& s = *hosts[h];
  Rng rng = Rng::derive(sc.run.seed, "session", (std::uint64_t{h} << 24) ^ s.churn_generation);
  const Time end = now_us() + from_s(session_law->sample(rng));
  const std::uint64_t gen = s.churn_generation;
  if (end < from_s(sc.churn_end_s())) schedule(end, [this, h, gen] { churn_depart(h, gen); });
}

// ---------------------------------------------------------------------- failures --

std::vector<std::size_t> World::choose_live_hosts(const PeerSelector& sel) {
  std::vector<std::size_t> live;
  if (sel.adjacent) {
    const std::vector<PeerIndex> ring = oracle.ring(namespaces.front());
    if (ring.empty()) return live;
    const std::size_t start = choice_rng.below(ring.size());
    const std::size_t k = std::min<std::size_t>(ring.size(), static_cast<std::size_t>(*sel.adjacent));
    for (std::size_t i = 0; i < k; ++i) live.push_back(identities[ring[(start + i) % ring.size()]].host);
    return live;
  }
  for (std::size_t h = 0; h < hosts.size(); ++h) {
    if (hosts[h]->state == HostState::kUp) live.push_back(h);
  }
  std::size_t want = live.size();
  if (sel.count) want = std::min<std::size_t>(live.size(), static_cast<std::size_t>(*sel.count));
  if (sel.fraction) {
    want = static_cast<std::size_t>(std::llround(*sel.fraction * static_cast<double>(live.size())));
  }
  // A partial Fisher-Yates shuffle: the first `want` are a uniform sample.
  for (std::size_t i = 0; i < want; ++i) {
    std::swap(live[i], live[i + choice_rng.below(live.size() - i)]);
  }
  live.resize(want);
  return live;
}

void World::apply_failure(const FailureEvent& f) {
  switch (f.kind) {
    case FailureKind::kCrash:
      for (std::size_t h : choose_live_hosts(f.peers)) {
        HostSlot& slot = *hosts[h];
        ++slot.churn_generation;
        slot.held_by_failure = true;
        crash(slot, f.disk_lost, "crash");
        if (f.disk_lost) {
          slot.state = HostState::kGone;  // its disk is gone: it never comes back
        } else {
          failure_crashed.push_back(h);
        }
      }
      break;
    case FailureKind::kRecover: {
      std::size_t want = failure_crashed.size();
      if (f.peers.count) want = std::min<std::size_t>(want, static_cast<std::size_t>(*f.peers.count));
      if (f.peers.fraction) {
        want = static_cast<std::size_t>(std::llround(*f.peers.fraction * static_cast<double>(want)));
      }
      for (std::size_t i = 0; i < want; ++i) {
        const std::size_t h = failure_crashed[i];
        on_host(h, [this, h] {
          HostSlot& s = *hosts[h];
          if (s.state != HostState::kDown) return;
          s.held_by_failure = false;
          recover(s);
          if (session_law) {
            ++s.churn_generation;  // churn takes the peer back from the failure
            schedule_session_end(h);
          }
        });
      }
      failure_crashed.erase(failure_crashed.begin(),
                            failure_crashed.begin() + static_cast<std::ptrdiff_t>(want));
      break;
    }
    case FailureKind::kLeave:
      for (std::size_t h : choose_live_hosts(f.peers)) {
        ++hosts[h]->churn_generation;
        on_host(h, [this, h] { begin_leave(*hosts[h]); });
      }
      break;
    case FailureKind::kJoin: {
      const std::size_t n = static_cast<std::size_t>(f.peers.count.value_or(1));
      for (std::size_t i = 0; i < n && next_spare_host < hosts.size(); ++i) {
        const std::size_t h = next_spare_host++;
        on_host(h, [this, h] { start_fresh(*hosts[h], Start::kJoin); });
      }
      break;
    }
    case FailureKind::kPartition: {
      for (auto& slot : hosts) slot->group = 0;
      for (std::size_t h : choose_live_hosts(f.peers)) hosts[h]->group = 1;
      partitioned = true;
      record_event("partition", -1);
      break;
    }
    case FailureKind::kHeal:
      partitioned = false;
      for (auto& slot : hosts) slot->group = 0;
      record_event("heal", -1);
      break;
    case FailureKind::kLoss:
      burst_loss = f.rate;
      burst_until = now_us() + from_s(f.duration_s);
      record_event("loss", -1);
      break;
  }
}

// ----------------------------------------------------------------------- metrics --

void World::take_sample(Time now) {
  const OracleSample s = oracle.sample();
  if (options.audit_oracle && !(oracle.audit() == s)) {
    ++result_audit_mismatches;
    if (options.log != nullptr) {
      *options.log << "\ninternal error: the oracle's incremental metrics differ from a full "
                      "recount at t = " << to_s(now) << " s\n";
    }
  }
  TimeseriesTable& t = tables.timeseries;
  t.t_s.push_back(to_s(now));
  t.peers_alive.push_back(s.peers_alive);
  t.keys.push_back(s.keys);
  t.replicas_min.push_back(s.replicas_min);
  t.replicas_mean.push_back(s.replicas_mean);
  t.under_replicated_keys.push_back(s.under_replicated_keys);
  t.divergent_keys.push_back(s.divergent_keys);
  t.lost_updates.push_back(s.lost_updates);
  std::int64_t msgs = 0, bytes = 0;
  for (std::size_t k = 0; k < kMessageKinds; ++k) {
    msgs += static_cast<std::int64_t>(interval_msgs[k]);
    bytes += static_cast<std::int64_t>(interval_bytes[k]);
    const std::string name = message_kind_name(k);
    t.msgs_by_kind[name].push_back(static_cast<std::int64_t>(interval_msgs[k]));
    t.bytes_by_kind[name].push_back(static_cast<std::int64_t>(interval_bytes[k]));
    const std::uint64_t drops = queue_net != nullptr ? queue_net->drops_by_kind()[k] : 0;
    t.queue_drops_by_kind[name].push_back(static_cast<std::int64_t>(drops - queue_drops_before[k]));
    queue_drops_before[k] = drops;
  }
  if (namespaces.size() > 1) {
    for (const std::string& ns : namespaces) {
      const OracleSample n = oracle.namespace_sample(ns);
      t.per_namespace_counts["keys_" + ns].push_back(n.keys);
      t.per_namespace_counts["replicas_min_" + ns].push_back(n.replicas_min);
      t.per_namespace_means["replicas_mean_" + ns].push_back(n.replicas_mean);
      t.per_namespace_counts["under_replicated_keys_" + ns].push_back(n.under_replicated_keys);
      t.per_namespace_counts["divergent_keys_" + ns].push_back(n.divergent_keys);
      t.per_namespace_counts["lost_updates_" + ns].push_back(n.lost_updates);
    }
  }
  t.msgs_sent.push_back(msgs);
  t.bytes_sent.push_back(bytes);
  interval_msgs.fill(0);
  interval_bytes.fill(0);
  print_progress(false);
}

void World::take_snapshot() {
  const std::string& ns = namespaces.front();
  const std::vector<PeerIndex> ring = oracle.ring(ns);
  std::unordered_map<Address, std::uint32_t> index;
  index.reserve(ring.size());
  for (std::uint32_t i = 0; i < ring.size(); ++i) index.emplace(ring[i], i);
  std::vector<std::vector<std::uint32_t>> out(ring.size());
  for (std::uint32_t i = 0; i < ring.size(); ++i) {
    const Peer* peer = hosts[identities[ring[i]].host]->peer.get();
    const RingState rs = peer->ring(ns);
    for (const auto* list : {&rs.successors, &rs.fingers}) {
      for (const NodeRef& n : *list) {
        auto it = index.find(n.addr);
        if (it != index.end()) out[i].push_back(it->second);
      }
    }
  }
  OverlaySnapshot snap;
  snap.t_s = simgrid::s4u::Engine::get_clock();
  snap.stats = analysis::analyse_overlay(out, 64, sc.run.seed);
  tables.snapshots.push_back(std::move(snap));
}

void World::print_progress(bool last) {
  const bool line_wanted = options.progress && options.log != nullptr;
  if (!line_wanted && !options.on_progress) return;
  const double wall = wall_seconds();
  if (!last && wall - wall_last_progress < 1.0) return;
  const double sim = simgrid::s4u::Engine::get_clock();
  if (options.on_progress) options.on_progress(sim, sc.run.duration_s);
  if (!line_wanted) {
    wall_last_progress = wall;
    return;
  }
  const double rate = wall > wall_last_progress
                          ? static_cast<double>(delivered - delivered_at_last_progress) /
                                (wall - wall_last_progress)
                          : 0.0;
  const double speed = (sim - sim_at_last_progress) / std::max(1e-9, wall - wall_last_progress);
  const double eta = speed > 0 ? (sc.run.duration_s - sim) / speed : 0.0;
  char line[160];
  std::snprintf(line, sizeof line,
                "\r  simulated %7.0f / %.0f s  %5.1f%%  %9.0f deliveries/s  peers %6zu  ETA %5.0f s ",
                sim, sc.run.duration_s, 100.0 * sim / sc.run.duration_s, rate,
                oracle.live_peers(), eta);
  *options.log << line << (last ? "\n" : "") << std::flush;
  wall_last_progress = wall;
  delivered_at_last_progress = delivered;
  sim_at_last_progress = sim;
}

}  // namespace kittengrad::sim
