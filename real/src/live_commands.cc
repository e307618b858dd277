// live_commands.cc — registers the live subcommands on the CLI and runs the chosen one.
#include "kittengrad/real/live_commands.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "kittengrad/crypto.h"
#include "live_client.h"
#include "live_daemon.h"
#include "live_subscribe.h"
#include "live_operator.h"

namespace kittengrad::live {

struct LiveCommands::Impl {
  CLI::App* peer = nullptr;
  CLI::App* stats = nullptr;
  CLI::App* health = nullptr;
  DaemonOptions daemon;
  OperatorOptions stats_options;
  OperatorOptions health_options;
  CLI::App* insert = nullptr;
  CLI::App* update = nullptr;
  CLI::App* lookup = nullptr;
  CLI::App* route = nullptr;
  CLI::App* subscribe = nullptr;
  SubscribeOptions follow;
  ClientOptions client;
  RecordSource source;
  std::string batch;
  std::string canonical;
  long stats_timeout_ms = 3000;
  long health_timeout_ms = 3000;
};

LiveCommands::LiveCommands(CLI::App& app) : impl_(std::make_unique<Impl>()) {
  Impl& i = *impl_;
  i.peer = app.add_subcommand("peer", "run a live peer daemon (JSON logs on stderr)");
  i.peer->add_option("--config", i.daemon.config_path, "peer config file (TOML)")->required();
  i.peer->add_option("--leave-timeout", i.daemon.leave_timeout_s,
                     "SIGTERM: seconds the hand-off may take before the peer exits anyway")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  auto operator_command = [&app](const char* name, const char* help, OperatorOptions& o,
                                 long& timeout_ms) {
    CLI::App* c = app.add_subcommand(name, help);
    c->add_option("--peer", o.peer, "the peer's HOST:PORT")->required();
    c->add_flag("--json", o.json, "print JSON");
    c->add_option("--timeout-ms", timeout_ms, "how long to wait for each peer asked")
        ->check(CLI::Range(1L, 600000L))
        ->capture_default_str();
    return c;
  };
  i.stats = operator_command("stats", "every counter of a live peer, per namespace",
                             i.stats_options, i.stats_timeout_ms);
  i.health = operator_command("health",
                              "check the overlay around a live peer: exit 0 healthy, 1 not",
                              i.health_options, i.health_timeout_ms);
  add_client_commands(app);
}

void LiveCommands::add_client_commands(CLI::App& app) {
  Impl& i = *impl_;
  auto client_command = [&app, &i](const char* name, const char* help) {
    CLI::App* c = app.add_subcommand(name, help);
    c->add_option("--peer", i.client.peer, "HOST:PORT of any peer of the ring")->required();
    c->add_option("--namespace", i.client.ns, "namespace")->capture_default_str();
    c->add_flag("--json", i.client.json, "print JSON");
    c->add_option("--identity", i.client.identity,
                  "key file (Ed25519; signs entries, authenticates the session; created on "
                  "first use); default " + default_data_path("identity.key"));
    c->add_option("--timeout-ms", i.client.timeout_ms,
                  "give up after this long without an answer (batch: without progress)")
        ->check(CLI::Range(1L, 86400000L))
        ->capture_default_str();
    c->add_option("--request-timeout-ms", i.client.request_timeout_ms,
                  "one request; then the next replica is tried")
        ->check(CLI::Range(1L, 600000L))
        ->capture_default_str();
    c->add_option("--max-datagram-bytes", i.client.max_datagram_bytes,
                  "largest datagram sent (512..65000)")
        ->check(CLI::Range(512, 65000))
        ->capture_default_str();
    return c;
  };
  auto writes = [&i](CLI::App* c) {
    c->add_option("--blocks", i.client.blocks,
                  "blockstore directory for --record; default " + default_data_path("blocks"));
    c->add_option("--record", i.source.record, "the record's file (stored in the blockstore)");
    c->add_option("--cid", i.source.cid, "the CID of a record stored elsewhere");
  };
  i.insert = client_command("insert", "insert a canonical; prints its CID");
  writes(i.insert);
  i.insert->add_option("--batch", i.batch,
                       "bulk ingest: one JSON object a line, {\"record\": PATH} or {\"cid\": CID}, "
                       "plus \"canonical\" for an update");
  i.insert->add_option("--window", i.client.window, "batch: writes in flight")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  i.update = client_command("update", "add an update to a canonical");
  i.update->add_option("canonical", i.canonical, "the canonical's CID")->required();
  writes(i.update);
  i.lookup = client_command("lookup", "the canonical's updates, in order");
  i.lookup->add_option("canonical", i.canonical, "the canonical's CID")->required();
  i.route = client_command("route", "the canonical's replicas, as HOST:PORT lines");
  i.route->add_option("canonical", i.canonical, "the canonical's CID")->required();
  i.subscribe = app.add_subcommand("subscribe", "follow a peer's journal (JSON lines)");
  i.subscribe->add_option("--peer", i.follow.peer, "HOST:PORT of the peer")->required();
  i.subscribe->add_option("--namespace", i.follow.ns, "namespace")->capture_default_str();
  i.subscribe->add_option("--from", i.follow.from, "first block height (resume: last printed + 1)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  i.subscribe->add_flag("--until-caught-up", i.follow.until_caught_up,
                        "exit once the backlog is printed");
  i.subscribe->add_option("--identity", i.follow.identity,
                          "key file of the session (created on first use); default " +
                              default_data_path("identity.key"));
  i.subscribe->add_option("--timeout-ms", i.follow.timeout_ms, "to reach the peer at the start")
      ->check(CLI::Range(1L, 600000L))
      ->capture_default_str();
}

LiveCommands::~LiveCommands() = default;

std::optional<int> LiveCommands::run() const {
  Impl& i = *impl_;
  const bool chosen = *i.peer || *i.stats || *i.health || *i.insert || *i.update || *i.lookup ||
                      *i.route || *i.subscribe;
  if (!chosen) return std::nullopt;
  if (!crypto_init()) {
    std::cerr << "kittengrad: libsodium could not be initialised\n";
    return 1;
  }
  if (*i.peer) return run_peer_daemon(i.daemon);
  if (*i.insert) {
    if (!i.batch.empty()) {
      if (!i.source.record.empty() || !i.source.cid.empty()) {
        std::cerr << "kittengrad insert: --batch takes no --record or --cid\n";
        return 2;
      }
      return run_batch(i.client, i.batch);
    }
    return run_insert(i.client, i.source);
  }
  if (*i.update) return run_update(i.client, i.canonical, i.source);
  if (*i.lookup) return run_lookup(i.client, i.canonical);
  if (*i.route) return run_route(i.client, i.canonical);
  if (*i.subscribe) return run_subscribe(i.follow);
  if (*i.stats) {
    OperatorOptions o = i.stats_options;
    o.timeout = std::chrono::milliseconds(i.stats_timeout_ms);
    return run_stats(o);
  }
  if (*i.health) {
    OperatorOptions o = i.health_options;
    o.timeout = std::chrono::milliseconds(i.health_timeout_ms);
    return run_health(o);
  }
  return std::nullopt;
}

}  // namespace kittengrad::live
