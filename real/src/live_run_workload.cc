// live_run_workload.cc — the live run's client thread (see the header).
#include "live_run_workload.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kittengrad/real/live_control.h"
#include "kittengrad/runs/distributions.h"
#include "kittengrad/runs/workload_draws.h"

namespace kittengrad::live {

namespace {

constexpr std::size_t kAuthors = 16;  // as in the simulator

}  // namespace

Workload::Workload(const Scenario& sc, Time t0_us)
    : sc_(sc), t0_(t0_us), rng_(Rng::derive(sc.run.seed, "client", 0)) {
  for (std::size_t a = 0; a < kAuthors; ++a) {
    authors_.push_back(keypair_from_u64(Rng::derive(sc.run.seed, "author", a).next_u64()));
  }
}

Workload::~Workload() {
  if (thread_.joinable()) (void)stop();
}

Result<bool> Workload::open(std::size_t client_host, const KeyPair& keys) {
  codec::NamespaceTable served;
  for (const std::string& ns : sc_.overlay.namespaces) {
    if (auto added = served.add(ns); !added) return added.error();
  }
  const auto bytes = static_cast<std::size_t>(sc_.overlay.max_datagram_bytes);
  auto loop = LiveLoop::open(io_, asio::ip::udp::endpoint(run_host_address(client_host), 0),
                             std::move(served), bytes, keys);
  if (!loop) return loop.error();
  loop_ = std::move(*loop);
  ClientConfig config;
  // The simulator's client settings (sim/src/world.cc): a route is answered after the
  // gateway's whole lookup, so the client waits for several peer timeouts; no route cache.
  config.request_timeout =
      4 * static_cast<Time>(std::llround(sc_.overlay.request_timeout_ms * kMicrosPerMs));
  config.max_datagram_bytes = bytes;
  client_.emplace(config, loop_->local_address().value_or(0), loop_.get(), loop_.get());
  return true;
}

void Workload::start() {
  loop_->start(this);
  arm_arrival();
  thread_ = std::thread([this] { io_.run(); });
}

WorkloadResult Workload::stop() {
  asio::post(io_, [this] {
    arrival_.cancel();
    loop_->stop();
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& [op, row] : in_flight_) {
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
  in_flight_.clear();
  result_.counters = loop_->counters();
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

void Workload::arm_arrival() {
  const Time now = loop_->now();
  const double t = run_s(now);
  const bool writing = t < sc_.writes_end_s();
  const double rate = writing ? runs::total_rate(sc_.workload) : sc_.workload.lookups_per_s;
  if (rate <= 0 || t >= sc_.workload_end_s()) return;
  // The first arrival comes after workload.start_s; then Poisson gaps at the rate in force.
  double at = std::max(t, sc_.workload.start_s) + rng_.exponential(1.0 / rate);
  if (at >= sc_.workload_end_s()) return;
  const auto wait = std::chrono::microseconds(t0_ + static_cast<Time>(at * 1e6) - now);
  arrival_.expires_after(std::max(wait, std::chrono::microseconds(0)));
  arrival_.async_wait([this](const std::error_code& ec) {
    if (ec) return;
    on_arrival();
  });
}

void Workload::on_arrival() {
  issue_op();
  arm_arrival();
  loop_->turn_done();
}

void Workload::issue_op() {
  const WorkloadSection& w = sc_.workload;
  std::optional<Address> gateway;
  {
    std::lock_guard lock(mu_);
    if (!gateways_.empty()) gateway = gateways_[rng_.below(gateways_.size())];
  }
  if (!gateway) return;  // nobody to ask: the arrival is lost, as a user would see it
  const double u = rng_.uniform01() * runs::total_rate(w);
  const Time now = loop_->now();
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
    ns_index = rng_.below(names.size());
    canonical = runs::fresh_record(rng_, w);
    canonicals_.emplace_back(ns_index, canonical);
  } else {
    const std::uint64_t n = canonicals_.size();
    // Zipf rank 1 is the oldest canonical, as in the simulator.
    const std::uint64_t pick = w.zipf_s > 0 ? runs::sample_zipf(rng_, n, w.zipf_s) - 1 : rng_.below(n);
    ns_index = canonicals_[pick].first;
    canonical = canonicals_[pick].second;
  }
  row.ns = names[ns_index];
  row.key = canonical.ring_key();
  std::uint64_t op = 0;
  if (lookup) {
    row.lookup = true;
    result_.history.invoke_lookup(row.history_id, row.ns, row.key, row.issued);
    op = client_->lookup(row.ns, canonical, *gateway);
  } else {
    row.insert = insert;
    const KeyPair& author = authors_[rng_.below(authors_.size())];
    const Cid update = insert ? canonical : runs::fresh_record(rng_, w);
    row.entries.push_back(make_entry(author, row.ns, canonical, update, loop_->wall_ms()));
    result_.history.invoke_write(row.history_id, row.ns, row.entries, row.issued);
    op = client_->write(row.ns, row.entries, *gateway);
  }
  in_flight_.emplace(op, std::move(row));
}

void Workload::harvest() {
  std::vector<AckedWrite> acked;
  std::size_t done = 0;
  for (OpResult& r : client_->take_completed()) {
    auto it = in_flight_.find(r.op);
    if (it == in_flight_.end()) continue;
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
    in_flight_.erase(it);
    ++done;
  }
  std::lock_guard lock(mu_);
  for (AckedWrite& a : acked) acks_.push_back(std::move(a));
  ops_done_ += done;
  counters_ = loop_->counters();
}

void Workload::on_message(Address from, const Message& m) { client_->on_datagram(from, m); }
void Workload::on_wakeup() { client_->on_wakeup(); }
std::optional<Time> Workload::next_wakeup() const { return client_->next_wakeup(); }
void Workload::end_of_turn() { harvest(); }

}  // namespace kittengrad::live
