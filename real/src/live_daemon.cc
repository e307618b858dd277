// live_daemon.cc — the peer daemon: config, identity, one Peer on one LiveLoop, joining
// through the first bootstrap that answers, admin answers, and the graceful leave on
// SIGTERM with its progress in the log.
#include "live_daemon.h"

#include <sodium.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "kittengrad/peer.h"
#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_config.h"
#include "kittengrad/real/live_control.h"
#include "kittengrad/real/live_log.h"
#include "kittengrad/real/live_loop.h"
#include "kittengrad/real/identity_file.h"
#include "kittengrad/real/sqlite_storage.h"
#include "live_control_members.h"
#include "live_faults.h"
#include "live_metrics.h"
#include "live_peer_items.h"

namespace kittengrad::live {

namespace {

constexpr int kBadConfig = 2;
constexpr int kCannotStart = 1;
// How often the bootstraps are asked again while none answers.
constexpr auto kProbeInterval = std::chrono::seconds(1);
// A ring that starts formed waits this long at most for its members to be up, asking the
// silent ones this often.
constexpr auto kMembersWait = std::chrono::seconds(10);
constexpr auto kMembersProbeInterval = std::chrono::milliseconds(50);

// Commits per turn: completions persist again (blocks, acknowledgements); what is left
// after this many goes with the next turn.
constexpr int kCommitRoundsPerTurn = 4;
constexpr const char* kDatabaseFile = "kittengrad.sqlite";

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  randombytes_buf(&v, sizeof v);
  return v;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

class PeerDaemon final : public Node {
 public:
  PeerDaemon(asio::io_context& io, LivePeerConfig config, KeyPair keys, LiveLoop& loop,
             SqliteStorage& storage, JsonLog& log, const DaemonOptions& options)
      : config_(std::move(config)),
        loop_(loop),
        log_(log),
        options_(options),
        storage_(storage),
        peer_(config_.peer, keys, *loop.local_address(),
              Env{.clock = &loop, .network = &loop, .storage = &storage_, .verifier = nullptr},
              random_u64()),
        signals_(io, SIGTERM, SIGINT),
        probe_timer_(io),
        progress_timer_(io),
        metrics_timer_(io),
        started_(std::chrono::steady_clock::now()) {
    for (const std::string& ns : config_.namespaces) peer_.serve(ns);
  }

  // What the database holds, back into store and journal (before start()).
  [[nodiscard]] Result<bool> restore(const std::vector<StorageRecord>& records) {
    if (records.empty()) return true;
    restored_ = true;
    return peer_.restore(records);
  }

  // The lifecycle call: a new ring, or asking the bootstraps.
  int start() {
    if (!config_.metrics_listen.empty()) {
      auto m = MetricsServer::start(config_.metrics_listen);
      if (!m) {
        log_.error("metrics_failed", {{"error", m.error().detail}});
        return kCannotStart;
      }
      metrics_ = std::move(*m);
      log_.info("metrics_listening", {{"metrics_listen", config_.metrics_listen}});
      publish_metrics();
    }
    signals_.async_wait([this](const asio::error_code& ec, int sig) {
      if (!ec) on_signal(sig);
    });
    log_.info("started", {{"listen", format_endpoint(loop_.local_endpoint())},
                          {"id", peer_.self().id.hex()},
                          {"namespaces", join(config_.namespaces)},
                          {"bootstrap", join(config_.bootstrap)},
                          {"database", storage_.path()},
                          {"sync", std::string(sync_level_name(config_.sync))}});
    if (config_.runner && !config_.runner->members.empty()) return start_among_members();
    if (config_.bootstrap.empty()) {
      for (const std::string& ns : config_.namespaces) peer_.create_ring(ns);
      log_.info("ring_created", {{"namespaces", join(config_.namespaces)}});
      return 0;
    }
    for (const std::string& b : config_.bootstrap) {
      auto ep = resolve_host_port(b);
      if (!ep) {
        log_.warn("bootstrap_unresolved", {{"bootstrap", b}, {"error", ep.error().detail}});
        continue;
      }
      if (ep->address().is_v4() != loop_.local_endpoint().address().is_v4() || !address_of(*ep)) {
        log_.warn("bootstrap_other_family", {{"bootstrap", b}});
        continue;
      }
      bootstraps_.push_back(*ep);
    }
    if (bootstraps_.empty()) {
      log_.error("no_bootstrap", {{"error", "no bootstrap peer resolves to an address of the listen address's family"}});
      return kCannotStart;
    }
    probe();
    return 0;
  }

  // A run's ring that starts formed (overlay.bootstrap = "instant"): a fresh peer takes its
  // place among the members at once, as the simulator's peers do at t = 0; a peer that comes
  // back with a database (a recovery) rejoins through whichever member answers.
  int start_among_members() {
    auto members = load_members(config_.runner->members);
    if (!members) {
      log_.error("members_failed", {{"error", members.error().detail}});
      return kCannotStart;
    }
    const NodeRef self = peer_.self();
    if (restored_) {
      for (const NodeRef& m : *members) {
        if (m.id != self.id) bootstraps_.push_back(endpoint_of(m.addr));
      }
      if (bootstraps_.empty()) {
        log_.error("no_bootstrap", {{"error", "the members file lists no other peer to rejoin through"}});
        return kCannotStart;
      }
      probe();
      return 0;
    }
    if (std::find(members->begin(), members->end(), self) == members->end()) {
      log_.error("members_failed", {{"error", config_.runner->members + ": this peer (" + self.id.short_hex() +
                                                  " at " + format_address(self.addr) + ") is not a member"}});
      return kCannotStart;
    }
    members_ = std::move(*members);
    for (const NodeRef& m : members_) {
      if (m.id != self.id) unheard_.insert(m.addr);
    }
    barrier_started_ = std::chrono::steady_clock::now();
    await_members();
    return 0;
  }

  // The members start as separate processes, not at one instant: what a peer sends to a
  // member whose socket is not bound yet is lost, and its failure detection would forget
  // that member before the run begins. So the ring forms once every member answers an
  // admin probe (its socket is up), or after kMembersWait with whoever did.
  void await_members() {
    const bool late = seconds_since(barrier_started_) >= kMembersWait.count();
    if (unheard_.empty() || late) {
      if (late) log_.warn("members_missing", {{"missing", unheard_.size()}, {"waited_s", seconds_since(barrier_started_)}});
      unheard_.clear();
      formed_ = true;
      for (const std::string& ns : config_.namespaces) peer_.start_instant(ns, members_);
      log_.info("ring_formed", {{"namespaces", join(config_.namespaces)}, {"members", members_.size()},
                                {"waited_s", seconds_since(barrier_started_)}});
      loop_.turn_done();
      return;
    }
    for (const Address a : unheard_) {
      const admin::Request q{.req = barrier_req_, .query = admin::Query::kRing, .first = 0};
      loop_.send_bytes(endpoint_of(a), admin::encode_admin(q));
    }
    probe_timer_.expires_after(kMembersProbeInterval);
    probe_timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec) await_members();
    });
  }

  bool on_member_reply(const asio::ip::udp::endpoint& from, const admin::Reply& reply) {
    if (reply.req != barrier_req_) return false;
    const std::optional<Address> a = address_of(from);
    if (!a) return false;
    unheard_.erase(*a);  // a late answer after the ring formed changes nothing
    if (unheard_.empty() && !members_.empty() && !formed_) {
      probe_timer_.cancel();
      await_members();
    }
    return true;
  }

  [[nodiscard]] int exit_status() const { return exit_status_; }

  // ---- Node ----
  void on_message(Address from, const Message& m) override { peer_.on_datagram(from, m); }

  [[nodiscard]] PeerStatus status() const {
    return PeerStatus{.peer = &peer_,
                      .loop = &loop_,
                      .namespaces = config_.namespaces,
                      .uptime_s = seconds_since(started_),
                      .leaving = leaving_,
                      .storage_records = storage_.counters().records};
  }

  bool on_admin(const asio::ip::udp::endpoint& from, const admin::Datagram& d) override {
    if (const auto* reply = std::get_if<admin::Reply>(&d)) {
      return on_member_reply(from, *reply) || on_probe_reply(from, *reply);
    }
    const auto& request = std::get<admin::Request>(d);
    // Admin requests are small and unauthenticated; their replies are up to a datagram.
    // A budget of replies per second keeps a spoofed flood from using the peer as an
    // amplifier (a request over budget is dropped, counted as unexpected).
    if (!admin_budget_.take(loop_.now())) return false;
    const PeerStatus status = this->status();
    const std::vector<admin::Item> items =
        request.query == admin::Query::kRing ? ring_items(status) : stats_items(status);
    const admin::Reply reply = admin::paged_reply(request, items, config_.peer.message_budget());
    loop_.send_bytes(from, admin::encode_admin(reply));
    return true;
  }

  void on_wakeup() override { peer_.on_wakeup(); }
  [[nodiscard]] std::optional<Time> next_wakeup() const override { return peer_.next_wakeup(); }

  // The group commit: every persist of the turn in one transaction, then the peer hears
  // which are durable (and may persist again: journal blocks, acknowledgements).
  void end_of_turn() override {
    for (int round = 0; round < kCommitRoundsPerTurn && storage_.queued() > 0; ++round) {
      Result<std::vector<std::uint64_t>> done = storage_.flush();
      if (!done) {
        // Nothing was acknowledged; the queue is kept and the next turn tries again.
        if (++flush_failures_ == 1 || flush_failures_ % 100 == 0) {
          log_.error("commit_failed", {{"error", done.error().detail}, {"failures", flush_failures_}});
        }
        break;
      }
      for (const std::uint64_t token : *done) peer_.on_persisted(token);
    }
    watch();
  }

 private:
  static std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
  }

  // The Prometheus snapshot, once a second, made on the loop's thread.
  void publish_metrics() {
    metrics_->publish(prometheus_text(stats_items(status())));
    metrics_timer_.expires_after(std::chrono::seconds(1));
    metrics_timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec && !done_) publish_metrics();
    });
  }

  // ---- joining ----
  void probe() {
    if (joining_ || leaving_) return;
    ++probe_rounds_;
    for (std::size_t i = 0; i < bootstraps_.size(); ++i) {
      const admin::Request q{.req = probe_base_ + i, .query = admin::Query::kRing, .first = 0};
      loop_.send_bytes(bootstraps_[i], admin::encode_admin(q));
    }
    // Say so at the first miss, then every ten.
    if (probe_rounds_ % 10 == 2) {
      log_.warn("bootstrap_waiting", {{"bootstrap", join(config_.bootstrap)}, {"rounds", probe_rounds_ - 1}});
    }
    probe_timer_.expires_after(kProbeInterval);
    probe_timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec) probe();
    });
  }

  bool on_probe_reply(const asio::ip::udp::endpoint& from, const admin::Reply& reply) {
    if (reply.req < probe_base_ || reply.req - probe_base_ >= bootstraps_.size()) return false;
    // Admin datagrams are not authenticated: only the bootstrap asked may answer.
    if (from != bootstraps_[reply.req - probe_base_]) return false;
    if (joining_ || leaving_) return true;  // a later answer to an earlier round
    // Join only through a peer that is in a ring itself: when a whole ring starts cold,
    // peers that are still probing answer each other, and two of them joining through
    // each other would make a ring of nobody. Keep asking until a joined one answers.
    const bool in_a_ring =
        std::any_of(config_.namespaces.begin(), config_.namespaces.end(), [&reply](const std::string& ns) {
          return admin::number_of(reply.items, "ns/" + ns + "/joined") == 1u;
        });
    if (!in_a_ring) return true;
    const std::optional<Address> addr = address_of(from);
    if (!addr) return false;
    joining_ = true;
    probe_timer_.cancel();
    log_.info("bootstrap_answered", {{"bootstrap", format_endpoint(from)}});
    for (const std::string& ns : config_.namespaces) peer_.join(ns, *addr);
    return true;
  }

  // After every turn: log what changed in the ring, and finish a leave.
  void watch() {
    for (const std::string& ns : config_.namespaces) {
      const bool now_joined = peer_.joined(ns);
      bool& was = joined_[ns];
      if (now_joined && !was) {
        const RingState ring = peer_.ring(ns);
        log_.info("joined", {{"ns", ns},
                             {"successor", ring.successors.empty() ? std::string("none")
                                                                   : format_address(ring.successors.front().addr)},
                             {"successors", ring.successors.size()}});
      }
      was = now_joined;
    }
    if (leaving_ && peer_.has_left() && !done_) finish("left", 0);
  }

  // ---- leaving ----
  void on_signal(int sig) {
    const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
    if (leaving_) {
      log_.warn("leave_aborted", {{"signal", name}, {"elapsed_s", seconds_since(leave_started_)}});
      finish("stopped", kCannotStart);
      return;
    }
    leaving_ = true;
    leave_started_ = std::chrono::steady_clock::now();
    entries_out_at_leave_ = loop_.counters().replicate_entries_out;
    probe_timer_.cancel();
    std::uint64_t keys = 0, entries = 0;
    for (const std::string& ns : config_.namespaces) {
      if (const Store* s = peer_.store(ns)) {
        keys += s->key_count();
        entries += s->entry_count();
      }
    }
    log_.info("leave_started", {{"signal", name}, {"keys", keys}, {"entries", entries},
                                {"timeout_s", options_.leave_timeout_s}});
    signals_.async_wait([this](const asio::error_code& ec, int s) {
      if (!ec) on_signal(s);
    });
    peer_.leave();
    loop_.turn_done();
    if (!done_) progress();
  }

  void progress() {
    const double elapsed = seconds_since(leave_started_);
    std::size_t pushes = 0, pending = 0;
    for (const std::string& ns : config_.namespaces) {
      const TableSizes t = peer_.table_sizes(ns);
      pushes += t.pushes;
      pending += t.pending;
    }
    const std::uint64_t sent = loop_.counters().replicate_entries_out - entries_out_at_leave_;
    log_.info("handoff_progress", {{"elapsed_s", elapsed},
                                   {"pushes_in_flight", pushes},
                                   {"requests_pending", pending},
                                   {"entries_sent", sent},
                                   {"entries_per_s", elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0}});
    if (elapsed >= options_.leave_timeout_s) {
      log_.warn("leave_timeout", {{"elapsed_s", elapsed}, {"pushes_in_flight", pushes}, {"entries_sent", sent}});
      finish("left_incomplete", 0);
      return;
    }
    progress_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options_.progress_interval_s)));
    progress_timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec && !done_) progress();
    });
  }

  void finish(const char* event, int status) {
    done_ = true;
    exit_status_ = status;
    if (leaving_) {
      const std::uint64_t sent = loop_.counters().replicate_entries_out - entries_out_at_leave_;
      log_.info(event, {{"elapsed_s", seconds_since(leave_started_)}, {"entries_sent", sent}});
    }
    asio::error_code ignored;
    signals_.cancel(ignored);
    probe_timer_.cancel();
    progress_timer_.cancel();
    metrics_timer_.cancel();
    loop_.stop();
  }

  LivePeerConfig config_;
  LiveLoop& loop_;
  JsonLog& log_;
  DaemonOptions options_;
  SqliteStorage& storage_;
  struct ReplyBudget {
    static constexpr double kPerSecond = 200;
    double tokens = kPerSecond;
    Time last = 0;
    bool take(Time now) {
      tokens = std::min(kPerSecond, tokens + kPerSecond * static_cast<double>(now - last) / kMicrosPerSecond);
      last = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    }
  } admin_budget_;
  std::uint64_t flush_failures_ = 0;
  // Request ids of the bootstrap probes start at a random value, so that a host that did
  // not see them cannot answer them.
  std::uint64_t probe_base_ = (random_u64() >> 2) | 1;
  Peer peer_;
  asio::signal_set signals_;
  asio::steady_timer probe_timer_;
  asio::steady_timer progress_timer_;
  asio::steady_timer metrics_timer_;
  std::unique_ptr<MetricsServer> metrics_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point leave_started_;
  std::vector<asio::ip::udp::endpoint> bootstraps_;
  std::map<std::string, bool> joined_;
  std::uint64_t probe_rounds_ = 0;
  std::uint64_t entries_out_at_leave_ = 0;
  bool restored_ = false;
  // The members barrier (start_among_members).
  std::vector<NodeRef> members_;
  std::set<Address> unheard_;
  std::chrono::steady_clock::time_point barrier_started_;
  std::uint64_t barrier_req_ = random_u64() >> 1;  // above the operator commands' ids
  bool formed_ = false;
  bool joining_ = false;
  bool leaving_ = false;
  bool done_ = false;
  int exit_status_ = 0;
};

// The run's network at this peer's transport ([runner]; checked by the config loader).
std::unique_ptr<LiveFaults> run_network(asio::io_context& io, const LivePeerConfig& config, LiveLoop& loop) {
  const RunnerSettings& r = *config.runner;
  FaultSettings s;
  s.control_key = r.control_key;
  s.listen_text = config.listen_text;
  s.host = run_host_index(config.listen.address());
  if (r.latency) {
    s.latency_s = *build_pair_latency(*r.latency, r.hosts, r.seed);
    s.latency_hosts = r.hosts;
  }
  s.loss = r.loss;
  s.duplicate = r.duplicate;
  s.seed = r.seed;
  return std::make_unique<LiveFaults>(io, std::move(s), [&loop](const asio::ip::udp::endpoint& to,
                                                                std::span<const std::uint8_t> bytes) {
    loop.send_bytes(to, bytes);
  });
}

}  // namespace

int run_peer_daemon(const DaemonOptions& options) {
  auto config = load_peer_config(options.config_path);
  if (!config) {
    std::fprintf(stderr, "kittengrad peer: %s\n", config.error().detail.c_str());
    return kBadConfig;
  }
  JsonLog log(config->log_level);
  if (!crypto_init()) {
    log.error("crypto_init_failed");
    return kCannotStart;
  }
  auto keys = load_or_create_identity(config->identity);
  if (!keys) {
    log.error("identity_failed", {{"error", keys.error().detail}});
    return kCannotStart;
  }
  codec::NamespaceTable served;
  for (const std::string& ns : config->namespaces) (void)served.add(ns);  // checked by the loader
  asio::io_context io;
  auto loop = LiveLoop::open(io, config->listen, std::move(served), config->peer.max_datagram_bytes,
                             *keys);
  if (!loop) {
    log.error("listen_failed", {{"error", loop.error().detail}});
    return kCannotStart;
  }
  if (config->runner) (*loop)->set_faults(run_network(io, *config, **loop));
  std::error_code ec;
  std::filesystem::create_directories(config->data_dir, ec);
  if (!ec) std::filesystem::permissions(config->data_dir, std::filesystem::perms::owner_all, ec);
  const std::string db_path = (std::filesystem::path(config->data_dir) / kDatabaseFile).string();
  auto storage = SqliteStorage::open(db_path, config->sync);
  if (!storage) {
    log.error("storage_failed", {{"error", storage.error().detail}});
    return kCannotStart;
  }
  auto records = (*storage)->load();
  if (!records) {
    log.error("storage_unreadable", {{"error", records.error().detail}});
    return kCannotStart;
  }
  PeerDaemon daemon(io, std::move(*config), *keys, **loop, **storage, log, options);
  if (auto restored = daemon.restore(*records); !restored) {
    log.error("restore_failed", {{"error", restored.error().detail}, {"database", db_path}});
    return kCannotStart;
  }
  if (!records->empty()) log.info("restored", {{"records", records->size()}, {"database", db_path}});
  if (const int status = daemon.start(); status != 0) return status;
  (*loop)->start(&daemon);
  io.run();
  return daemon.exit_status();
}

}  // namespace kittengrad::live
