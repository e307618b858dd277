// live_run_fleet.h — the peer processes of a `kittengrad live` run: one slot per host, each
// holding at most one `kittengrad peer` process at a time.
//
// A host is one loopback address (run_host_address), so its peer keeps the address across
// restarts and a fresh identity that replaces a departed one takes the host over, as in
// the simulator. The run's folder holds, per identity, its key file, its config and its data
// directory, and per process start a log file (the peer's JSON lines).
//
//   Fleet fleet(options, hosts, initial);
//   fleet.start(0, /*instant=*/true, {});     // fork + exec `kittengrad peer --config ...`
//   fleet.crash(0);                           // SIGKILL, reaped at once
//   fleet.start(0, false, {"127.77.0.2:7400"});  // recover: same identity, same data
//   fleet.wipe(0);                             // permanent departure: the disk is gone
//   fleet.replace(0);                          // a fresh identity takes the host
// The destructor kills (SIGKILL) and reaps every process still running; each child also
// dies with the runner (PR_SET_PDEATHSIG), so no peer outlives a run, even a crashed one.
#pragma once

#include <sys/types.h>

#include <asio/ip/udp.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

enum class SlotState : std::uint8_t {
  kIdle,  // never started (a spare host for scripted joins, or not yet started)
  kUp,    // a process runs
  kDown,  // crashed or left; may come back
  kGone,  // its disk was lost by a failure: it never comes back
};

struct FleetOptions {
  std::string binary;       // the kittengrad executable the peers run
  std::string dir;          // the run's folder
  std::uint16_t port = 0;   // every host's UDP port
  std::uint64_t seed = 1;   // identities derive from it, as in the simulator
  std::string config_tail;  // appended to every peer config: [overlay] and [runner]
  std::vector<std::string> namespaces;
  double leave_timeout_s = 30;
};

struct PeerSlot {
  std::size_t host = 0;
  static constexpr std::uint32_t kNoIdentity = UINT32_MAX;
  std::uint32_t identity = kNoIdentity;  // the run's index of the identity now on this host
  KeyPair keys;
  asio::ip::udp::endpoint endpoint;
  pid_t pid = -1;
  std::uint64_t starts = 0;  // processes started on this host (log file names)
  SlotState state = SlotState::kIdle;
  // Director bookkeeping, as the simulator's HostSlot has it.
  std::uint64_t churn_generation = 0;
  bool held_by_failure = false;
};

struct IdentityInfo {
  std::size_t host = 0;
  PublicKey key{};
};

class Fleet {
 public:
  // Hosts 0 .. initial-1 get identities 0 .. initial-1 now (the simulator's numbering);
  // the others are spare hosts whose identity comes with their first replace().
  Fleet(FleetOptions options, std::size_t hosts, std::size_t initial);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Starts the host's identity (creating its files on first start). `members_file`: the
  // instant ring's member list ("" to join through `bootstrap`, or, with both empty, to
  // start a ring). REQUIRES: the host's state is not kUp or kGone.
  [[nodiscard]] Result<bool> start(std::size_t host, const std::string& members_file,
                                   const std::vector<std::string>& bootstrap);
  // SIGKILL; the process is reaped before this returns.
  void crash(std::size_t host);
  // SIGTERM: the peer leaves with hand-off and exits by itself (reap() notices).
  void terminate(std::size_t host);
  // The host's disk is lost: its identity's data directory is deleted.
  void wipe(std::size_t host);
  // A fresh identity takes the host (the next start() starts it on an empty disk); the
  // one it replaces is wiped.
  void replace(std::size_t host);
  // Reaps processes that exited; a peer that exited unasked is marked kDown and named in
  // the returned notes ("peer 3 (host 3) exited with status 1; log: ...").
  [[nodiscard]] std::vector<std::string> reap();
  // SIGKILL to every running process, reaped.
  void stop_all();

  [[nodiscard]] const PeerSlot& slot(std::size_t host) const { return slots_[host]; }
  [[nodiscard]] PeerSlot& slot(std::size_t host) { return slots_[host]; }
  [[nodiscard]] std::size_t hosts() const { return slots_.size(); }
  [[nodiscard]] const std::vector<IdentityInfo>& identities() const { return identities_; }
  // The data directory's database of an identity (the census reads it).
  [[nodiscard]] std::string database_of(std::uint32_t identity) const;
  [[nodiscard]] std::string log_of(std::size_t host) const;
  [[nodiscard]] std::string listen_text(std::size_t host) const;

 private:
  [[nodiscard]] std::string identity_dir(std::uint32_t identity) const;
  [[nodiscard]] Result<bool> write_files(const PeerSlot& s, const std::string& members_file,
                                         const std::vector<std::string>& bootstrap) const;
  void new_identity(PeerSlot& s);

  FleetOptions options_;
  std::vector<PeerSlot> slots_;
  std::vector<IdentityInfo> identities_;
};

// The identity of the run's index `identity` (the simulator's "peer-key" derivation).
[[nodiscard]] std::array<std::uint8_t, 32> run_identity_seed(std::uint64_t seed,
                                                             std::uint32_t identity);

}  // namespace kittengrad::live
