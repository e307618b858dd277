// live_run_workload.cc — the live run's client thread (see the header).
#include "live_run_workload.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kittengrad/real/live_control.h"
#include "kittengrad/runs/distributions.h"
#include "kittengrad/runs/workload_draws.h"
#include "live_faults.h"
#include "live_faults_latency.h"

namespace kittengrad::live {

Workload::Slot::Slot(Workload& w, std::size_t i)
    : owner(w), index(i), rng(Rng::derive(w.sc_.run.seed, "client", i)), arrival(w.io_) {}

Workload::Workload(const Scenario& sc, Time t0_us) : sc_(sc), t0_(t0_us) {
  for (std::size_t a = 0; a < runs::kWorkloadAuthors; ++a) {
    authors_.push_back(keypair_from_u64(Rng::derive(sc.run.seed, "author", a).next_u64()));
  }
}

Workload::~Workload() {
  if (thread_.joinable()) (void)stop();
}

Result<bool> Workload::open(std::size_t first_host) {
  const auto bytes = static_cast<std::size_t>(sc_.overlay.max_datagram_bytes);
  const std::size_t hosts = first_host + runs::kWorkloadClients;
  auto latency = build_pair_latency(sc_.network.latency, hosts, sc_.run.seed);
  if (!latency) return latency.error();
  for (std::size_t c = 0; c < runs::kWorkloadClients; ++c) {
    auto slot = std::make_unique<Slot>(*this, c);
    codec::NamespaceTable served;
    for (const std::string& ns : sc_.overlay.namespaces) {
      if (auto added = served.add(ns); !added) return added.error();
    }
    const std::size_t host = first_host + c;
    auto keys = keypair_from_u64(Rng::derive(sc_.run.seed, "client-key", c).next_u64());
    auto loop = LiveLoop::open(io_, asio::ip::udp::endpoint(run_host_address(host), 0),
                               std::move(served), bytes, keys);
    if (!loop) return loop.error();
    slot->loop = std::move(*loop);
    // The client's datagrams cross the run's network as the peers' do (latency from its
    // host, loss, duplicates), as the simulator's clients' do; it obeys no control orders.
    FaultSettings faults;
    faults.host = host;
    faults.latency_s = *latency;
    faults.latency_hosts = hosts;
    faults.loss = sc_.network.loss;
    faults.duplicate = sc_.network.duplicate;
    faults.seed = sc_.run.seed;
    LiveLoop* raw = slot->loop.get();
    slot->loop->set_faults(std::make_unique<LiveFaults>(
        io_, std::move(faults),
        [raw](const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> b) { raw->send_bytes(to, b); }));
    ClientConfig config;
    // The simulator's client settings (sim/src/world.cc): a route is answered after the
    // gateway's whole lookup, so the client waits for several peer timeouts; no route cache.
    config.request_timeout =
        4 * static_cast<Time>(std::llround(sc_.overlay.request_timeout_ms * kMicrosPerMs));
    config.max_datagram_bytes = bytes;
    slot->client.emplace(config, slot->loop->local_address().value_or(0), slot->loop.get(), slot->loop.get());
    slots_.push_back(std::move(slot));
  }
  return true;
}

void Workload::start() {
  for (auto& c : slots_) {
    c->loop->start(c.get());
    arm_arrival(*c);
  }
  thread_ = std::thread([this] { io_.run(); });
}

WorkloadResult Workload::stop() {
  asio::post(io_, [this] {
    for (auto& c : slots_) {
      c->arrival.cancel();
      c->loop->stop();
    }
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (auto& c : slots_) {
    for (const auto& [op, row] : c->in_flight) {
      if (row.lookup) {
        runs::LookupsTable& t = result_.lookups;
        t.t_issue_s.push_back(run_s(row.issued));
        t.t_done_s.push_back(nan);
        t.hops.push_back(0);
        t.ok.push_back(0);
        t.correct.push_back(0);
      } else {
        runs::OpsTable& t = result_.ops;
        t.kind.emplace_back(row.insert ? "insert" : "update");
        t.t_issue_s.push_back(run_s(row.issued));
        t.t_ack_s.push_back(nan);
        t.ok.push_back(0);
        t.error.emplace_back("unfinished");
        t.entries.push_back(static_cast<std::int64_t>(row.entries.size()));
      }
    }
    c->in_flight.clear();
  }
  publish_counters();
  result_.counters = counters_;
  return std::move(result_);
}

void Workload::set_gateways(std::vector<Address> gateways) {
  std::lock_guard lock(mu_);
  gateways_ = std::move(gateways);
}

std::vector<AckedWrite> Workload::take_acks() {
  std::lock_guard lock(mu_);
  return std::exchange(acks_, {});
}

TransportCounters Workload::counters() {
  std::lock_guard lock(mu_);
  return counters_;
}

std::size_t Workload::ops_done() {
  std::lock_guard lock(mu_);
  return ops_done_;
}

// ---- the thread ----

void Workload::arm_arrival(Slot& c) {
  const Time now = c.loop->now();
  const double t = run_s(now);
  const double share = 1.0 / static_cast<double>(slots_.size());
  const bool writing = t < sc_.writes_end_s();
  const double rate = share * (writing ? runs::total_rate(sc_.workload) : sc_.workload.lookups_per_s);
  if (rate <= 0 || t >= sc_.workload_end_s()) return;
  // Poisson arrivals at the client's share of the rates in force, from workload.start_s.
  const double at = std::max(t, sc_.workload.start_s) + c.rng.exponential(1.0 / rate);
  if (at >= sc_.workload_end_s()) return;
  const auto wait = std::chrono::microseconds(t0_ + static_cast<Time>(at * 1e6) - now);
  c.arrival.expires_after(std::max(wait, std::chrono::microseconds(0)));
  c.arrival.async_wait([this, &c](const std::error_code& ec) {
    if (ec) return;
    issue_op(c);
    arm_arrival(c);
    c.loop->turn_done();
  });
}

void Workload::issue_op(Slot& c) {
  const WorkloadSection& w = sc_.workload;
  std::optional<Address> gateway;
  {
    std::lock_guard lock(mu_);
    if (!gateways_.empty()) gateway = gateways_[c.rng.below(gateways_.size())];
  }
  if (!gateway) return;  // nobody to ask: the arrival is lost, as a user would see it
  const double u = c.rng.uniform01() * runs::total_rate(w);
  const Time now = c.loop->now();
  const bool writing = run_s(now) < sc_.writes_end_s();
  const bool lookup = !writing || u >= w.inserts_per_s + w.updates_per_s;
  const bool insert = canonicals_.empty() || u < w.inserts_per_s;
  if (lookup && canonicals_.empty()) return;

  OpRow row;
  row.issued = now;
  row.history_id = next_history_id_++;
  std::size_t ns_index = 0;
  Cid canonical;
  const std::vector<std::string>& names = sc_.overlay.namespaces;
  if (insert && !lookup) {
    ns_index = c.rng.below(names.size());
    canonical = runs::fresh_record(c.rng, w);
    canonicals_.emplace_back(ns_index, canonical);
  } else {
    const std::uint64_t n = canonicals_.size();
    // Zipf rank 1 is the oldest canonical, as in the simulator.
    const std::uint64_t pick = w.zipf_s > 0 ? runs::sample_zipf(c.rng, n, w.zipf_s) - 1 : c.rng.below(n);
    ns_index = canonicals_[pick].first;
    canonical = canonicals_[pick].second;
  }
  row.ns = names[ns_index];
  row.key = canonical.ring_key();
  std::uint64_t op = 0;
  if (lookup) {
    row.lookup = true;
    result_.history.invoke_lookup(row.history_id, row.ns, row.key, row.issued);
    op = c.client->lookup(row.ns, canonical, *gateway);
  } else {
    row.insert = insert;
    const KeyPair& author = authors_[c.rng.below(authors_.size())];
    const Cid update = insert ? canonical : runs::fresh_record(c.rng, w);
    row.entries.push_back(make_entry(author, row.ns, canonical, update, c.loop->wall_ms()));
    result_.history.invoke_write(row.history_id, row.ns, row.entries, row.issued);
    op = c.client->write(row.ns, row.entries, *gateway);
  }
  c.in_flight.emplace(op, std::move(row));
}

void Workload::harvest(Slot& c) {
  std::vector<AckedWrite> acked;
  std::size_t done = 0;
  for (OpResult& r : c.client->take_completed()) {
    auto it = c.in_flight.find(r.op);
    if (it == c.in_flight.end()) continue;
    OpRow& row = it->second;
    const bool ok = r.error == ErrorCode::kOk;
    result_.history.complete(row.history_id, runs::op_status(r), r.done, r.entries);
    if (!row.lookup) {
      if (ok) acked.push_back(AckedWrite{row.entries, r.done});
      runs::OpsTable& t = result_.ops;
      t.kind.emplace_back(row.insert ? "insert" : "update");
      t.t_issue_s.push_back(run_s(row.issued));
      t.t_ack_s.push_back(ok ? run_s(r.done) : std::numeric_limits<double>::quiet_NaN());
      t.ok.push_back(ok ? 1 : 0);
      t.error.emplace_back(ok ? std::string() : std::string(error_name(r.error)));
      t.entries.push_back(static_cast<std::int64_t>(row.entries.size()));
    } else {
      runs::LookupsTable& t = result_.lookups;
      if (ok) {
        result_.to_judge.push_back(
            LookupToJudge{t.t_issue_s.size(), row.ns, row.key, row.issued, std::move(r.entries)});
      }
      t.t_issue_s.push_back(run_s(row.issued));
      t.t_done_s.push_back(run_s(r.done));
      t.hops.push_back(r.hops);
      t.ok.push_back(ok ? 1 : 0);
      t.correct.push_back(0);
    }
    c.in_flight.erase(it);
    ++done;
  }
  {
    std::lock_guard lock(mu_);
    for (AckedWrite& a : acked) acks_.push_back(std::move(a));
    ops_done_ += done;
  }
  publish_counters();
}

void Workload::publish_counters() {
  TransportCounters sum;
  for (const auto& c : slots_) {
    const TransportCounters& t = c->loop->counters();
    for (std::size_t k = 0; k < kMessageKinds; ++k) {
      sum.msgs_sent_by_kind[k] += t.msgs_sent_by_kind[k];
      sum.bytes_sent_by_kind[k] += t.bytes_sent_by_kind[k];
    }
  }
  std::lock_guard lock(mu_);
  counters_ = sum;
}

}  // namespace kittengrad::live
