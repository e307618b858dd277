// live_daemon.h — `kittengrad peer --config PEER.toml`: one Peer on a LiveLoop.
#pragma once

#include <string>

namespace kittengrad::live {

struct DaemonOptions {
  std::string config_path;
  double leave_timeout_s = 60;     // SIGTERM: the hand-off's bound
  double progress_interval_s = 1;  // SIGTERM: how often hand-off progress is logged
};

// Runs the daemon until it has left (SIGTERM/SIGINT). Exit status: 0 left (or the leave
// timed out, logged), 2 bad config, 1 the daemon could not start (port taken, identity
// unreadable) or a second signal cut the leave short.
[[nodiscard]] int run_peer_daemon(const DaemonOptions& options);

}  // namespace kittengrad::live
