// live_run.cc — run_live(): the director of a live run (see the header). One thread runs
// the agenda (samples, churn, failures, the end) on the wall clock; the workload runs on
// its own (live_run_workload.h); the peers are processes (live_run_fleet.h).
#include "kittengrad/real/live_run.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <queue>
#include <sstream>
#include <thread>

#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_admin.h"
#include "kittengrad/real/live_control.h"
#include "kittengrad/runs/distributions.h"
#include "kittengrad/runs/finish_run.h"
#include "kittengrad/runs/oracle.h"
#include "kittengrad/runs/workload_draws.h"
#include "kittengrad/scenario_loader.h"
#include "live_admin_client.h"
#include "live_run_census.h"
#include "live_run_fleet.h"
#include "live_run_workload.h"

namespace kittengrad::live {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

Time steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

// What a run's scenario asks that the live world does not do, one line each.
std::vector<std::string> not_honoured(const Scenario& sc) {
  std::vector<std::string> out;
  const NetworkSection& n = sc.network;
  out.push_back("network.bandwidth_mbps and network.model: loopback links are not rate-limited"
                " or queued; datagrams cross them at the machine's speed");
  if (n.clock_skew_ms > 0) out.push_back("network.clock_skew_ms: peers share this machine's clock");
  return out;
}

runs::LifetimeModel lifetime_model(ChurnModel m) {
  switch (m) {
    case ChurnModel::kWeibull: return runs::LifetimeModel::kWeibull;
    case ChurnModel::kPareto: return runs::LifetimeModel::kPareto;
    default: return runs::LifetimeModel::kExponential;
  }
}

std::size_t scripted_joins(const Scenario& sc) {
  std::size_t n = 0;
  for (const FailureEvent& f : sc.failures) {
    if (f.kind == FailureKind::kJoin) n += static_cast<std::size_t>(f.peers.count.value_or(1));
  }
  return n;
}

// A UDP port free on every peer host address of the run (clients bind any free port).
std::optional<std::uint16_t> free_port(std::size_t hosts, std::uint64_t seed) {
  Rng rng = Rng::derive(seed ^ static_cast<std::uint64_t>(::getpid()), "live-port", 0);
  for (int attempt = 0; attempt < 50; ++attempt) {
    const auto port = static_cast<std::uint16_t>(20000 + rng.below(40000));
    asio::io_context io;
    bool ok = true;
    for (std::size_t h = 0; h < hosts && ok; ++h) {
      asio::ip::udp::socket s(io);
      asio::error_code ec;
      s.open(asio::ip::udp::v4(), ec);
      if (!ec) s.bind(asio::ip::udp::endpoint(run_host_address(h), port), ec);
      ok = !ec;
    }
    if (ok) return port;
  }
  return std::nullopt;
}

// Counters of one peer process, as its last `stats` answered them.
struct ProcessCounters {
  pid_t pid = -1;
  std::array<std::uint64_t, kMessageKinds> msgs{};
  std::array<std::uint64_t, kMessageKinds> bytes{};
};

struct Scheduled {
  Time at;
  std::uint64_t seq;
  std::function<void()> action;
  bool operator>(const Scheduled& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

}  // namespace

class LiveRun {
 public:
  LiveRun(const Scenario& sc, const LiveRunOptions& o) : sc_(sc), o_(o) {}
  LiveRunResult run();

 private:
  // Set-up.
  Result<bool> prepare();
  Result<bool> start_ring();
  Result<bool> wait_joined(std::vector<std::size_t> hosts, double timeout_s);
  // The agenda.
  void schedule(double at_s, std::function<void()> action);
  void schedule_churn_start();
  void churn_depart(std::size_t h, std::uint64_t generation);
  void churn_return(std::size_t h, std::uint64_t generation, bool fresh);
  void schedule_session_end(std::size_t h);
  void apply_failure(const FailureEvent& f);
  [[nodiscard]] std::vector<std::size_t> choose_live_hosts(const PeerSelector& sel);
  // Lifecycle of one host.
  void start_host(std::size_t h, bool fresh);
  void crash_host(std::size_t h, bool disk_lost, const char* kind);
  void leave_host(std::size_t h);
  [[nodiscard]] std::vector<std::string> joined_bootstrap(std::size_t except);
  void control_all(const ControlCommand& c);
  // Measuring.
  void take_sample(double t_s);
  void poll_peers();
  void drain_acks();
  void record_event(const char* kind, std::int64_t peer);
  void finish();
  void note(const std::string& line);
  void print_progress(bool last);
  [[nodiscard]] double now_s() const { return static_cast<double>(steady_us() - t0_) / 1e6; }
  [[nodiscard]] bool interrupted() const { return o_.interrupted != nullptr && *o_.interrupted != 0; }

  const Scenario& sc_;
  const LiveRunOptions& o_;
  LiveRunResult result_;
  runs::RunTables& tables_ = result_.tables;
  std::string dir_;
  bool remove_dir_ = false;
  std::size_t peers_ = 0;        // hosts of the initial ring
  std::size_t peer_hosts_ = 0;   // plus spare hosts for scripted joins
  std::size_t next_spare_ = 0;
  std::unique_ptr<Fleet> fleet_;
  KeyPair runner_keys_;
  std::uint64_t control_seq_ = 0;
  std::string members_file_;
  std::unique_ptr<runs::Oracle> oracle_;
  std::unique_ptr<Census> census_;
  std::unique_ptr<Workload> workload_;
  Time t0_ = 0;
  Rng choice_rng_;
  Rng bootstrap_rng_;
  std::optional<runs::Lifetime> session_law_, downtime_law_;
  std::vector<std::size_t> failure_crashed_;
  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> agenda_;
  std::uint64_t agenda_seq_ = 0;
  std::vector<ProcessCounters> last_counters_;     // by host
  std::vector<std::int64_t> identity_msgs_, identity_bytes_;  // by identity, over the run
  std::array<std::uint64_t, kMessageKinds> interval_msgs_{}, interval_bytes_{};
  TransportCounters client_last_;
  std::vector<bool> joined_;     // by host, as the last poll saw it
  double last_progress_s_ = -1;
};

// ------------------------------------------------------------------------ set-up --

Result<bool> LiveRun::prepare() {
  if (sc_.overlay.peers > kLivePeersMax) {
    result_.bad_input = true;
    return Error{ErrorCode::kBadRequest,
                 "overlay.peers = " + std::to_string(sc_.overlay.peers) + ": a live run starts one "
                 "process per peer on this machine, at most " + std::to_string(kLivePeersMax) +
                 "; use kittengrad sim for larger rings"};
  }
  peers_ = static_cast<std::size_t>(sc_.overlay.peers);
  peer_hosts_ = peers_ + scripted_joins(sc_);
  next_spare_ = peers_;
  if (!o_.keep_dir.empty()) {
    dir_ = o_.keep_dir;
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return Error{ErrorCode::kBadRequest, "--keep " + dir_ + ": " + ec.message()};
  } else {
    std::string pattern = (fs::temp_directory_path() / "kittengrad-live-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Error{ErrorCode::kBadRequest, "cannot create a folder under " + fs::temp_directory_path().string()};
    }
    dir_ = pattern;
    remove_dir_ = true;
  }
  const std::optional<std::uint16_t> port = free_port(peer_hosts_, sc_.run.seed);
  if (peer_hosts_ + runs::kWorkloadClients >= kRunHostsMax) {
    result_.bad_input = true;
    return Error{ErrorCode::kBadRequest, "too many hosts for a live run"};
  }
  if (!port) return Error{ErrorCode::kOverloaded, "no UDP port is free on the run's loopback addresses"};

  runner_keys_ = keypair_from_u64(Rng::derive(sc_.run.seed, "live-runner", 0).next_u64() ^
                                  static_cast<std::uint64_t>(steady_us()));
  std::ostringstream tail;
  tail << overlay_protocol_toml(sc_.overlay) << "\n[runner]\n"
       << "control_key = \"" << to_hex(runner_keys_.public_key) << "\"\n"
       << "seed = " << sc_.run.seed << "\n"
       << "hosts = " << peer_hosts_ + runs::kWorkloadClients << "\n"
       << "latency = " << latency_toml(sc_.network.latency) << "\n"
       << "loss = " << sc_.network.loss << "\n"
       << "duplicate = " << sc_.network.duplicate << "\n";
  FleetOptions fo;
  fo.binary = o_.binary;
  fo.dir = dir_;
  fo.port = *port;
  fo.seed = sc_.run.seed;
  fo.config_tail = tail.str();
  fo.namespaces = sc_.overlay.namespaces;
  fo.leave_timeout_s = std::max(30.0, 4 * sc_.overlay.anti_entropy_interval_s);
  fleet_ = std::make_unique<Fleet>(fo, peer_hosts_, peers_);
  oracle_ = std::make_unique<runs::Oracle>(static_cast<int>(sc_.overlay.replication),
                                           sc_.overlay.namespaces);
  census_ = std::make_unique<Census>(*oracle_, sc_.overlay.namespaces);
  last_counters_.resize(peer_hosts_);
  joined_.assign(peer_hosts_, false);
  // The simulator's stream for victims: the same draws pick the same peers until a restart
  // (where the simulator also draws a bootstrap peer from it; the live runner draws its
  // bootstrap peers from a stream of their own, so the two worlds' later choices differ).
  choice_rng_ = Rng::derive(sc_.run.seed, "choice");
  bootstrap_rng_ = Rng::derive(sc_.run.seed, "live-bootstrap");
  return true;
}

Result<bool> LiveRun::start_ring() {
  if (sc_.overlay.bootstrap == Bootstrap::kInstant) {
    members_file_ = (fs::path(dir_) / "members.txt").string();
    std::ofstream members(members_file_);
    for (std::size_t h = 0; h < peers_; ++h) {
      members << to_hex(fleet_->slot(h).keys.public_key) << " " << fleet_->listen_text(h) << "\n";
    }
    if (!members.flush()) return Error{ErrorCode::kBadRequest, "cannot write " + members_file_};
    for (std::size_t h = 0; h < peers_; ++h) {
      if (Result<bool> ok = fleet_->start(h, members_file_, {}); !ok) return ok;
    }
    std::vector<std::size_t> all(peers_);
    std::iota(all.begin(), all.end(), 0);
    return wait_joined(all, 20 + 0.25 * static_cast<double>(peers_));
  }
  // Joins: the first peer starts the ring before the clock starts; the others join one by
  // one at join_rate_per_s from t = 0, each through a peer already in the ring.
  if (Result<bool> ok = fleet_->start(0, "", {}); !ok) return ok;
  return wait_joined({0}, 20);
}

// Waits until each host's peer answers `stats` and reports itself in the ring of every
// namespace. The error names the first peer that did not, and its log.
Result<bool> LiveRun::wait_joined(std::vector<std::size_t> hosts, double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  std::vector<std::size_t> waiting = std::move(hosts);
  while (!waiting.empty()) {
    if (interrupted()) return Error{ErrorCode::kTimeout, "interrupted"};
    for (const std::string& n : fleet_->reap()) note(n);
    std::vector<std::size_t> still;
    for (std::size_t h : waiting) {
      if (fleet_->slot(h).state != SlotState::kUp) {
        return Error{ErrorCode::kTimeout, "peer on host " + std::to_string(h) +
                                              " exited while starting; its log: " + fleet_->log_of(h)};
      }
      auto items = ask_peer(fleet_->slot(h).endpoint, admin::Query::kRing, std::chrono::milliseconds(300));
      std::size_t joined = 0;
      if (items) {
        for (const admin::Item& i : *items) {
          const auto* v = std::get_if<std::uint64_t>(&i.value);
          if (v != nullptr && *v == 1 && i.name.ends_with("/joined")) ++joined;
        }
      }
      if (joined < sc_.overlay.namespaces.size()) still.push_back(h);
    }
    waiting = std::move(still);
    if (waiting.empty()) break;
    if (Clock::now() > deadline) {
      const std::size_t h = waiting.front();
      return Error{ErrorCode::kTimeout, std::to_string(waiting.size()) + " peers not in the ring after " +
                                            std::to_string(static_cast<int>(timeout_s)) + " s, e.g. " +
                                            fleet_->listen_text(h) + "; its log: " + fleet_->log_of(h)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (std::size_t h : waiting) joined_[h] = true;
  return true;
}

// ------------------------------------------------------------------------ agenda --

void LiveRun::schedule(double at_s, std::function<void()> action) {
  agenda_.push(Scheduled{static_cast<Time>(std::llround(at_s * 1e6)), agenda_seq_++, std::move(action)});
}

void LiveRun::schedule_churn_start() {
  const ChurnSection& c = sc_.churn;
  if (c.model == ChurnModel::kNone) return;
  session_law_ = runs::Lifetime::with_median(lifetime_model(c.model), c.median_session_s, c.shape);
  downtime_law_ = runs::Lifetime::with_median(lifetime_model(c.model), c.median_downtime_s, c.shape);
  schedule(c.start_s, [this] {
    // Each peer is seen at a random point of its session, as in the simulator.
    for (std::size_t h = 0; h < peers_; ++h) {
      if (fleet_->slot(h).state != SlotState::kUp) continue;
      Rng rng = Rng::derive(sc_.run.seed, "churn-start", h);
      const std::uint64_t gen = fleet_->slot(h).churn_generation;
      schedule(now_s() + session_law_->sample_residual(rng), [this, h, gen] { churn_depart(h, gen); });
    }
  });
}

void LiveRun::churn_depart(std::size_t h, std::uint64_t generation) {
  PeerSlot& s = fleet_->slot(h);
  if (s.churn_generation != generation || s.state != SlotState::kUp) return;
  if (now_s() >= sc_.churn_end_s()) return;
  Rng rng = Rng::derive(sc_.run.seed, "churn", (std::uint64_t{h} << 24) ^ ++s.churn_generation);
  const bool permanent = rng.chance(sc_.churn.permanent_fraction);
  crash_host(h, permanent, permanent ? "depart" : "crash");
  const std::uint64_t gen = s.churn_generation;
  schedule(now_s() + downtime_law_->sample(rng), [this, h, gen, permanent] { churn_return(h, gen, permanent); });
}

void LiveRun::churn_return(std::size_t h, std::uint64_t generation, bool fresh) {
  PeerSlot& s = fleet_->slot(h);
  if (s.churn_generation != generation || s.state != SlotState::kDown) return;
  start_host(h, fresh);
  schedule_session_end(h);
}

void LiveRun::schedule_session_end(std::size_t h) {
  const PeerSlot& s = fleet_->slot(h);
  Rng rng = Rng::derive(sc_.run.seed, "session", (std::uint64_t{h} << 24) ^ s.churn_generation);
  const double end = now_s() + session_law_->sample(rng);
  const std::uint64_t gen = s.churn_generation;
  if (end < sc_.churn_end_s()) schedule(end, [this, h, gen] { churn_depart(h, gen); });
}

std::vector<std::size_t> LiveRun::choose_live_hosts(const PeerSelector& sel) {
  std::vector<std::size_t> live;
  if (sel.adjacent) {
    const std::vector<runs::PeerIndex> ring = oracle_->ring(sc_.overlay.namespaces.front());
    if (ring.empty()) return live;
    const std::size_t start = choice_rng_.below(ring.size());
    const std::size_t k = std::min<std::size_t>(ring.size(), static_cast<std::size_t>(*sel.adjacent));
    for (std::size_t i = 0; i < k; ++i) {
      live.push_back(fleet_->identities()[ring[(start + i) % ring.size()]].host);
    }
    return live;
  }
  for (std::size_t h = 0; h < fleet_->hosts(); ++h) {
    if (fleet_->slot(h).state == SlotState::kUp) live.push_back(h);
  }
  std::size_t want = live.size();
  if (sel.count) want = std::min<std::size_t>(live.size(), static_cast<std::size_t>(*sel.count));
  if (sel.fraction) {
    want = static_cast<std::size_t>(std::llround(*sel.fraction * static_cast<double>(live.size())));
  }
  for (std::size_t i = 0; i < want; ++i) {
    std::swap(live[i], live[i + choice_rng_.below(live.size() - i)]);
  }
  live.resize(want);
  return live;
}

void LiveRun::apply_failure(const FailureEvent& f) {
  switch (f.kind) {
    case FailureKind::kCrash:
      for (std::size_t h : choose_live_hosts(f.peers)) {
        PeerSlot& s = fleet_->slot(h);
        ++s.churn_generation;
        s.held_by_failure = true;
        crash_host(h, f.disk_lost, "crash");
        if (f.disk_lost) {
          s.state = SlotState::kGone;
        } else {
          failure_crashed_.push_back(h);
        }
      }
      break;
    case FailureKind::kRecover: {
      std::size_t want = failure_crashed_.size();
      if (f.peers.count) want = std::min<std::size_t>(want, static_cast<std::size_t>(*f.peers.count));
      if (f.peers.fraction) {
        want = static_cast<std::size_t>(std::llround(*f.peers.fraction * static_cast<double>(want)));
      }
      for (std::size_t i = 0; i < want; ++i) {
        const std::size_t h = failure_crashed_[i];
        PeerSlot& s = fleet_->slot(h);
        if (s.state != SlotState::kDown) continue;
        s.held_by_failure = false;
        start_host(h, false);
        if (session_law_) {
          ++s.churn_generation;  // churn takes the peer back from the failure
          schedule_session_end(h);
        }
      }
      failure_crashed_.erase(failure_crashed_.begin(),
                             failure_crashed_.begin() + static_cast<std::ptrdiff_t>(want));
      break;
    }
    case FailureKind::kLeave:
      for (std::size_t h : choose_live_hosts(f.peers)) {
        ++fleet_->slot(h).churn_generation;
        leave_host(h);
      }
      break;
    case FailureKind::kJoin: {
      const std::size_t n = static_cast<std::size_t>(f.peers.count.value_or(1));
      for (std::size_t i = 0; i < n && next_spare_ < fleet_->hosts(); ++i) start_host(next_spare_++, true);
      break;
    }
    case FailureKind::kPartition: {
      Partition p;
      for (std::size_t h : choose_live_hosts(f.peers)) p.group.push_back(static_cast<std::uint32_t>(h));
      std::sort(p.group.begin(), p.group.end());
      control_all(p);
      record_event("partition", -1);
      break;
    }
    case FailureKind::kHeal:
      control_all(Heal{});
      record_event("heal", -1);
      break;
    case FailureKind::kLoss:
      control_all(Loss{f.rate, f.duration_s});
      record_event("loss", -1);
      break;
  }
}

// Partitions and loss bursts reach every peer that runs now; a peer that starts later
// starts whole (as a restarted host would in the simulator's partition, it joins the side
// of the hosts not in the group).
void LiveRun::control_all(const ControlCommand& c) {
  for (std::size_t h = 0; h < fleet_->hosts(); ++h) {
    const PeerSlot& s = fleet_->slot(h);
    if (s.state != SlotState::kUp) continue;
    const Result<bool> sent = send_control(s.endpoint, fleet_->listen_text(h), runner_keys_,
                                           ++control_seq_, c, 2.0);
    if (!sent) note("control " + std::string(command_name(c)) + ": " + sent.error().detail);
  }
}

// ---------------------------------------------------------------- host lifecycle --

std::vector<std::string> LiveRun::joined_bootstrap(std::size_t except) {
  std::vector<std::size_t> joined;
  for (std::size_t h = 0; h < fleet_->hosts(); ++h) {
    if (h != except && joined_[h] && fleet_->slot(h).state == SlotState::kUp) joined.push_back(h);
  }
  std::vector<std::string> out;
  // Three bootstraps, so that one that has just gone does not stop the join.
  for (std::size_t i = 0; i < 3 && !joined.empty(); ++i) {
    const std::size_t k = bootstrap_rng_.below(joined.size());
    out.push_back(fleet_->listen_text(joined[k]));
    joined.erase(joined.begin() + static_cast<std::ptrdiff_t>(k));
  }
  return out;
}

void LiveRun::start_host(std::size_t h, bool fresh) {
  if (fresh) fleet_->replace(h);
  const std::vector<std::string> via = joined_bootstrap(h);
  if (Result<bool> ok = fleet_->start(h, "", via); !ok) {
    note("cannot start peer on host " + std::to_string(h) + ": " + ok.error().detail);
    return;
  }
  const PeerSlot& s = fleet_->slot(h);
  identity_msgs_.resize(fleet_->identities().size());
  identity_bytes_.resize(fleet_->identities().size());
  (void)census_->refresh(s.identity, s.keys.ring_id(), fleet_->database_of(s.identity));
  joined_[h] = false;  // until its stats say so
  record_event(fresh ? "join" : "recover", s.identity);
}

void LiveRun::crash_host(std::size_t h, bool disk_lost, const char* kind) {
  const std::int64_t lost_before = oracle_->sample().lost_updates;
  PeerSlot& s = fleet_->slot(h);
  fleet_->crash(h);
  joined_[h] = false;
  census_->down(s.identity);
  record_event(kind, s.identity);
  tables_.events.lost_updates.back() = oracle_->sample().lost_updates - lost_before;
  if (disk_lost) fleet_->wipe(h);  // a fresh identity takes the host if it comes back
}

void LiveRun::leave_host(std::size_t h) {
  const PeerSlot& s = fleet_->slot(h);
  fleet_->terminate(h);  // it hands off, then exits; reap() collects it
  joined_[h] = false;
  census_->down(s.identity);
  record_event("leave", s.identity);
}

// ---------------------------------------------------------------------- measuring --

void LiveRun::record_event(const char* kind, std::int64_t peer) {
  tables_.events.t_s.push_back(now_s());
  tables_.events.kind.emplace_back(kind);
  tables_.events.peer.push_back(peer);
  tables_.events.lost_updates.push_back(0);
}

void LiveRun::drain_acks() {
  for (AckedWrite& a : workload_->take_acks()) oracle_->acknowledged(a.entries, a.at);
}

// Asks every running peer for its counters and ring state, and reads what it holds.
void LiveRun::poll_peers() {
  std::vector<Address> gateways;
  for (std::size_t h = 0; h < fleet_->hosts(); ++h) {
    PeerSlot& s = fleet_->slot(h);
    if (s.state != SlotState::kUp) {
      census_->down(s.identity);  // e.g. a peer that exited unasked (reap() noted it)
      continue;
    }
    auto items = ask_peer(s.endpoint, admin::Query::kStats, std::chrono::milliseconds(1000));
    if (items) {
      ProcessCounters now;
      now.pid = s.pid;
      std::size_t joined = 0;
      for (const admin::Item& i : *items) {
        const auto* v = std::get_if<std::uint64_t>(&i.value);
        if (v == nullptr) continue;
        if (i.name.ends_with("/joined") && i.name.starts_with("ns/")) joined += *v == 1;
        for (std::size_t k = 0; k < kMessageKinds; ++k) {
          const std::string kind = message_kind_name(k);
          if (i.name == "transport/msgs_sent/" + kind) now.msgs[k] = *v;
          if (i.name == "transport/bytes_sent/" + kind) now.bytes[k] = *v;
        }
      }
      ProcessCounters& last = last_counters_[h];
      if (last.pid != now.pid) last = ProcessCounters{now.pid, {}, {}};  // a new process counts from 0
      for (std::size_t k = 0; k < kMessageKinds; ++k) {
        const std::uint64_t dm = now.msgs[k] - std::min(now.msgs[k], last.msgs[k]);
        const std::uint64_t db = now.bytes[k] - std::min(now.bytes[k], last.bytes[k]);
        interval_msgs_[k] += dm;
        interval_bytes_[k] += db;
        identity_msgs_[s.identity] += static_cast<std::int64_t>(dm);
        identity_bytes_[s.identity] += static_cast<std::int64_t>(db);
      }
      last = now;
      joined_[h] = joined == sc_.overlay.namespaces.size();
    } else {
      joined_[h] = false;  // not answering: no gateway this interval
    }
    if (joined_[h]) gateways.push_back(*address_of(s.endpoint));
    (void)census_->refresh(s.identity, s.keys.ring_id(), fleet_->database_of(s.identity));
  }
  const TransportCounters client = workload_->counters();
  for (std::size_t k = 0; k < kMessageKinds; ++k) {
    interval_msgs_[k] += client.msgs_sent_by_kind[k] - client_last_.msgs_sent_by_kind[k];
    interval_bytes_[k] += client.bytes_sent_by_kind[k] - client_last_.bytes_sent_by_kind[k];
  }
  client_last_ = client;
  workload_->set_gateways(std::move(gateways));
}

void LiveRun::take_sample(double t_s) {
  for (const std::string& n : fleet_->reap()) note(n);
  poll_peers();
  drain_acks();
  const runs::OracleSample s = oracle_->sample();
  runs::TimeseriesTable& t = tables_.timeseries;
  t.t_s.push_back(t_s);
  t.peers_alive.push_back(s.peers_alive);
  t.keys.push_back(s.keys);
  t.replicas_min.push_back(s.replicas_min);
  t.replicas_mean.push_back(s.replicas_mean);
  t.under_replicated_keys.push_back(s.under_replicated_keys);
  t.divergent_keys.push_back(s.divergent_keys);
  t.lost_updates.push_back(s.lost_updates);
  std::int64_t msgs = 0, bytes = 0;
  for (std::size_t k = 0; k < kMessageKinds; ++k) {
    msgs += static_cast<std::int64_t>(interval_msgs_[k]);
    bytes += static_cast<std::int64_t>(interval_bytes_[k]);
    const std::string name = message_kind_name(k);
    t.msgs_by_kind[name].push_back(static_cast<std::int64_t>(interval_msgs_[k]));
    t.bytes_by_kind[name].push_back(static_cast<std::int64_t>(interval_bytes_[k]));
    t.queue_drops_by_kind[name].push_back(0);  // loopback has no modelled queues
  }
  if (sc_.overlay.namespaces.size() > 1) {
    for (const std::string& ns : sc_.overlay.namespaces) {
      const runs::OracleSample n = oracle_->namespace_sample(ns);
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
  interval_msgs_.fill(0);
  interval_bytes_.fill(0);
}

void LiveRun::note(const std::string& line) {
  if (o_.log == nullptr) return;
  if (o_.progress) *o_.log << "\r\033[K";
  *o_.log << "note: " << line << "\n";
}

void LiveRun::print_progress(bool last) {
  const double t = std::min(now_s(), sc_.run.duration_s);
  if (o_.on_progress) o_.on_progress(t, sc_.run.duration_s);
  if (!o_.progress || o_.log == nullptr) return;
  std::size_t up = 0;
  for (std::size_t h = 0; h < fleet_->hosts(); ++h) up += fleet_->slot(h).state == SlotState::kUp;
  char line[160];
  std::snprintf(line, sizeof line, "\r\033[Klive: %6.0f / %.0f s, %zu peers up, %zu ops done, ETA %.0f s",
                t, sc_.run.duration_s, up, workload_->ops_done(), std::max(0.0, sc_.run.duration_s - t));
  *o_.log << line << (last ? "\n" : "") << std::flush;
}

void LiveRun::finish() {
  WorkloadResult w = workload_->stop();
  drain_acks();  // acks after the last sample still count in judging lookups
  tables_.ops = std::move(w.ops);
  tables_.lookups = std::move(w.lookups);
  for (const LookupToJudge& j : w.to_judge) {
    tables_.lookups.correct[j.row] = oracle_->lookup_correct(j.ns, j.key, j.issued, j.got) ? 1 : 0;
  }
  runs::sort_rows_by_issue(tables_);

  for (std::size_t i = 0; i < fleet_->identities().size(); ++i) {
    const std::size_t h = fleet_->identities()[i].host;
    const PeerSlot& s = fleet_->slot(h);
    const bool alive = s.identity == i && s.state == SlotState::kUp;
    const auto [keys, entries] = alive ? census_->load_of(static_cast<runs::PeerIndex>(i))
                                       : std::pair<std::int64_t, std::int64_t>{0, 0};
    runs::FinalPeersTable& f = tables_.final_peers;
    f.peer.push_back(static_cast<std::int64_t>(i));
    f.alive.push_back(alive ? 1 : 0);
    f.keys.push_back(keys);
    f.entries.push_back(entries);
    f.msgs_sent.push_back(i < identity_msgs_.size() ? identity_msgs_[i] : 0);
    f.bytes_sent.push_back(i < identity_bytes_.size() ? identity_bytes_[i] : 0);
  }
  oracle_->final_keys(tables_.final_keys);
  const HistoryReport report = check_history(w.history, oracle_->final_reads());
  tables_.summary.history_lost = static_cast<std::int64_t>(report.lost.size());
  tables_.summary.history_phantoms = static_cast<std::int64_t>(report.phantoms.size());
  tables_.summary.history_checked = true;
  if (!report.valid() && o_.log != nullptr) *o_.log << report.describe() << "\n";
}

LiveRunResult LiveRun::run() {
  result_.not_honoured = not_honoured(sc_);
  tables_.backend = "live";
  tables_.seed = sc_.run.seed;
  tables_.version = o_.version;
  const auto wall0 = Clock::now();
  auto fail = [&](const Error& e) {
    result_.error = e.detail;
    if (fleet_) fleet_->stop_all();
    if (remove_dir_) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
    return std::move(result_);
  };
  if (Result<bool> ok = prepare(); !ok) return fail(ok.error());
  if (o_.log != nullptr) {
    for (const std::string& n : result_.not_honoured) *o_.log << "not honoured live: " << n << "\n";
    *o_.log << "live: peers' folders in " << dir_ << (remove_dir_ ? " (removed at the end)" : "") << "\n";
  }
  identity_msgs_.resize(fleet_->identities().size());
  identity_bytes_.resize(fleet_->identities().size());
  if (Result<bool> ok = start_ring(); !ok) return fail(ok.error());

  t0_ = steady_us();
  for (std::size_t h = 0; h < peers_ && h < fleet_->hosts(); ++h) {
    if (fleet_->slot(h).state == SlotState::kUp) {
      (void)census_->refresh(fleet_->slot(h).identity, fleet_->slot(h).keys.ring_id(),
                             fleet_->database_of(fleet_->slot(h).identity));
    }
  }
  workload_ = std::make_unique<Workload>(sc_, t0_);
  if (Result<bool> ok = workload_->open(peer_hosts_); !ok) {
    return fail(ok.error());
  }
  {
    std::vector<Address> gateways;
    for (std::size_t h = 0; h < fleet_->hosts(); ++h) {
      if (joined_[h]) gateways.push_back(*address_of(fleet_->slot(h).endpoint));
    }
    workload_->set_gateways(std::move(gateways));
  }
  workload_->start();

  const double end = sc_.run.duration_s;
  const double interval = sc_.run.metrics_interval_s;
  for (double at = interval; at < end; at += interval) schedule(at, [this, at] { take_sample(at); });
  if (sc_.overlay.bootstrap == Bootstrap::kJoin) {
    for (std::size_t h = 1; h < peers_; ++h) {
      schedule(static_cast<double>(h) / sc_.overlay.join_rate_per_s, [this, h] { start_host(h, false); });
    }
  }
  for (const FailureEvent& f : sc_.failures) {
    if (f.at_s < end) schedule(f.at_s, [this, &f] { apply_failure(f); });
  }
  schedule_churn_start();
  bool finished = false;
  schedule(end, [this, end, &finished] {
    take_sample(end);
    finished = true;
  });

  while (!agenda_.empty() && !finished) {
    const Scheduled next = agenda_.top();
    // Wait for it in short steps: progress, reaped processes and Ctrl-C on the way.
    while (steady_us() - t0_ < next.at) {
      if (interrupted()) return fail(Error{ErrorCode::kTimeout, "interrupted: every peer was stopped"});
      const double t = now_s();
      if (t - last_progress_s_ >= 1) {
        print_progress(false);
        last_progress_s_ = t;
      }
      const Time left = next.at - (steady_us() - t0_);
      std::this_thread::sleep_for(std::chrono::microseconds(std::clamp<Time>(left, 0, 100'000)));
    }
    agenda_.pop();
    next.action();
  }
  print_progress(true);
  finish();
  fleet_->stop_all();
  tables_.wall_time_s = std::chrono::duration<double>(Clock::now() - wall0).count();
  if (remove_dir_) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  return std::move(result_);
}

LiveRunResult run_live(const Scenario& scenario, const LiveRunOptions& options) {
  LiveRun run(scenario, options);
  return run.run();
}

}  // namespace kittengrad::live
