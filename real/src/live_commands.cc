// live_commands.cc — registers the live subcommands on the CLI and runs the chosen one.
#include "kittengrad/real/live_commands.h"

#include <CLI/CLI.hpp>

#include "live_daemon.h"
#include "live_operator.h"

namespace kittengrad::live {

struct LiveCommands::Impl {
  CLI::App* peer = nullptr;
  CLI::App* stats = nullptr;
  CLI::App* health = nullptr;
  DaemonOptions daemon;
  OperatorOptions stats_options;
  OperatorOptions health_options;
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
}

LiveCommands::~LiveCommands() = default;

std::optional<int> LiveCommands::run() const {
  Impl& i = *impl_;
  if (*i.peer) return run_peer_daemon(i.daemon);
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
