// kittengrad/real/live_config.h — a peer daemon's config file (TOML), exactly DESIGN.md's
// "Live peer and client" format:
//
//   listen = "127.0.0.1:7400"      identity = "peer.key"     data_dir = "data"
//   namespaces = ["default"]       bootstrap = []            sync = "full"
//   log_level = "info"             metrics_listen = ""
//   [overlay]   the scenario's [overlay] protocol keys, same names, defaults and checks
//
// The [overlay] table is read by the scenario loader itself (scenarios/), so a key means
// and accepts in a peer file exactly what it does in a scenario. Its keys that describe a
// simulated population (peers, bootstrap, join_rate_per_s) and overlay.namespaces (a peer
// file has its own top-level `namespaces`) are refused. Relative paths (identity,
// data_dir) are taken from the config file's folder, as systemd units expect.
//
// Every refusal is one line naming the file, the line and the key:
//   "peer.toml:3: sync: must be "full" or "normal" (got "fast")".
//
// A [runner] table is written by `kittengrad live` only (operators leave it out): the
// run's network at this peer's transport (live_faults.h) and how the ring starts.
//   [runner]
//   control_key = "HEX"     the runner's Ed25519 public key (64 hex digits): only control
//                           datagrams it signs are obeyed; absent: none is
//   members = "PATH"        overlay.bootstrap = "instant": `PUBKEYHEX HOST:PORT` lines, the
//                           whole ring, this peer among them (needs bootstrap = [])
//   seed = N                the run's seed (latency draws; loss and duplicate draws)
//   hosts = N               hosts in the latency model (peers + extra hosts)
//   latency = { model = "constant", ms = 20 }   exactly the scenario's network.latency
//   loss = P                the scenario's network.loss
//   duplicate = P           the scenario's network.duplicate
// With [runner], `listen` must be a run host's address (127.77.X.Y, live_control.h).
#pragma once

#include <asio/ip/udp.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kittengrad/config.h"
#include "kittengrad/crypto.h"
#include "kittengrad/scenario.h"  // LatencySpec
#include "kittengrad/real/live_log.h"
#include "kittengrad/real/sqlite_storage.h"  // SyncLevel
#include "kittengrad/result.h"

namespace kittengrad::live {


struct RunnerSettings {
  std::optional<PublicKey> control_key;
  std::string members;  // absolute path; empty: none
  std::uint64_t seed = 1;
  std::size_t hosts = 0;
  std::optional<LatencySpec> latency;  // nullopt: no delay
  double loss = 0;
  double duplicate = 0;
};

struct LivePeerConfig {
  asio::ip::udp::endpoint listen;
  std::string listen_text;
  std::string identity;  // absolute or relative to the current folder, resolved
  std::string data_dir;  // likewise
  std::vector<std::string> namespaces = {"default"};
  std::vector<std::string> bootstrap;  // "HOST:PORT", resolved when the daemon starts
  SyncLevel sync = SyncLevel::kFull;
  LogLevel log_level = LogLevel::kInfo;
  std::string metrics_listen;
  PeerConfig peer;  // from [overlay]
  std::optional<RunnerSettings> runner;  // from [runner]
  std::string source;
};

// Reads and checks the file. Errors are kBadRequest with the one-line message as detail.
[[nodiscard]] Result<LivePeerConfig> load_peer_config(const std::string& path);
// The same from text; `source_name` names the file in errors, `base_dir` resolves paths.
[[nodiscard]] Result<LivePeerConfig> parse_peer_config(std::string_view text,
                                                       const std::string& source_name,
                                                       const std::string& base_dir);

}  // namespace kittengrad::live
