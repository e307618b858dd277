// live_client.h — the client commands (DESIGN.md, "Live peer and client"):
//   kittengrad insert --record FILE | --cid CID      prints the new canonical's CID
//   kittengrad update CANONICAL --record FILE | --cid CID
//   kittengrad lookup CANONICAL                      the ordered set of updates
//   kittengrad route CANONICAL                       the replica set, HOST:PORT lines
//   kittengrad insert --batch FILE.jsonl             bulk ingest, pipelined
// Each drives the core's Client on a LiveLoop: route, then a replica, following
// wrong_peer redirects and moving on at timeouts, exactly as in the simulator.
// Exit status: 0 done (acknowledged by W replicas, or read from R), 1 the overlay could not
// do it (the message names the peers asked), 2 bad usage or input.
#pragma once

#include <cstddef>
#include <string>

#include "kittengrad/crypto.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

struct ClientOptions {
  std::string peer;               // HOST:PORT of any peer of the ring (the gateway)
  std::string ns = "default";
  std::string identity;           // author key file; empty: the default path
  std::string blocks;             // blockstore directory; empty: the default path
  bool json = false;
  long timeout_ms = 10000;        // the whole command
  long request_timeout_ms = 1000; // one request; retries move on to the next replica
  std::size_t max_datagram_bytes = 1200;
  std::size_t window = 64;        // batch: writes in flight
  std::string bind_host;          // numeric address to send from (kittengrad live binds its
                                  // workload client to its run host); empty: chosen for peer
};

// Where an insert's or update's record comes from: a file (stored in the blockstore) or
// an existing CID.
struct RecordSource {
  std::string record;
  std::string cid;
};

[[nodiscard]] int run_insert(const ClientOptions& o, const RecordSource& source);
[[nodiscard]] int run_update(const ClientOptions& o, const std::string& canonical,
                             const RecordSource& source);
[[nodiscard]] int run_lookup(const ClientOptions& o, const std::string& canonical);
[[nodiscard]] int run_route(const ClientOptions& o, const std::string& canonical);
// One JSON object a line: {"record": PATH} or {"cid": CID} inserts a canonical; with
// "canonical": CID it is an update of that one. Paths are relative to the batch file.
[[nodiscard]] int run_batch(const ClientOptions& o, const std::string& path);

// The key pair in `file` (empty: the default path; `~/` expanded), created with its
// folder on first use: it signs entries and authenticates the client's sessions.
[[nodiscard]] Result<KeyPair> client_identity(const std::string& file);

// ~/.local/share/kittengrad/<leaf> ($XDG_DATA_HOME when set).
[[nodiscard]] std::string default_data_path(const std::string& leaf);

}  // namespace kittengrad::live
