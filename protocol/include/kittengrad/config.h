// kittengrad/config.h — the protocol's parameters (the [overlay] table of a scenario).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kittengrad/env.h"

namespace kittengrad {

// Bugs planted on purpose, to show that the checkers can fail. All off in real use.
struct PlantedBugs {
  bool replica_skips_writes = false;   // acknowledges Replicate without storing it
  bool handoff_drops_range = false;    // graceful leave omits its primary range
  bool journal_bad_link = false;       // every cut block names a wrong prev hash
  bool read_serves_stale = false;      // a read served here leaves out the key's newest entry
  bool replica_drops_one_entry = false;  // the first Replicate's first entry: acked, not stored
  bool gc_keeps_keys = false;          // keys handed on by garbage collection stay here too
  bool gc_erases_own_keys = false;     // GC takes only the primary range for its own
  bool notify_keeps_predecessor = false;  // a closer predecessor's Notify is ignored
  bool journal_skips_entry = false;    // an entry that lands in an empty store: not journalled
};

struct PeerConfig {
  int replication = 3;   // r
  int write_quorum = 2;  // W
  int read_quorum = 1;   // R
  int successors = 8;    // successor-list length, >= r

  Time stabilize_interval = 5 * kMicrosPerSecond;
  Time fix_fingers_interval = 10 * kMicrosPerSecond;
  Time check_predecessor_interval = 5 * kMicrosPerSecond;
  Time anti_entropy_interval = 30 * kMicrosPerSecond;  // 0 disables anti-entropy
  Time journal_block_interval = 5 * kMicrosPerSecond;
  Time request_timeout = 1000 * kMicrosPerMs;
  Time subscription_lease = 60 * kMicrosPerSecond;

  int request_retries = 2;          // resends of an unanswered peer request
  int lookup_hops_max = 48;         // a lookup longer than this fails
  std::size_t journal_block_entries_max = 1024;
  std::size_t message_entries_max = 256;   // entries per datagram in pages and pushes
  std::size_t riblt_first_batch = 128;     // coded symbols in the first reply
  std::size_t riblt_symbols_max = 1 << 15; // beyond this, page the range instead
  std::size_t gc_keys_per_round = 256;     // out-of-range keys handed on per AE round
  // Bounds on what other parties can make a peer hold. Past each, new requests are refused
  // with `overloaded` (PeerCounters::overloaded counts them); nothing is evicted.
  std::size_t subscribers_max = 64;
  std::size_t pending_ops_max = 4096;      // client writes in flight per namespace
  std::size_t reads_max = 4096;            // client lookups in flight per namespace
  std::size_t lookups_max = 1024;          // iterative lookups (routes, redirects) in flight
  std::size_t persists_max = 8192;         // storage writes awaiting completion
  // Pages one lookup request may be answered with at once (ReadRequest::pages is capped
  // to it): a burst of this many datagrams per request.
  std::size_t read_window_max = 32;
  // Every datagram this peer sends, transport overhead included, is at most this many
  // bytes (512..65000); larger payloads are paged or split. 1,200 fits any Internet path
  // without IP fragmentation.
  std::size_t max_datagram_bytes = 1200;

  // Bounds of the state that repair and transfers keep. When one is reached the oldest
  // session of that kind is dropped and counted (PeerCounters); the repair it was doing
  // falls to a later anti-entropy round.
  std::size_t ae_sessions_max = 16;   // anti-entropy sessions this peer opened, open at once
  std::size_t range_pulls_max = 16;   // range pull streams in flight
  std::size_t catch_ups_max = 8;      // catch-up sessions in flight
  // Entry hashes of one journal block arriving in pieces (32 bytes an entry): a block
  // announcing more is refused. One block per catch-up session is under reassembly.
  std::size_t reassembly_bytes_max = 1 << 20;
  std::size_t transfer_window = 64;   // requests of one push, AE session or catch-up in flight

  // The largest wire_size() of a message this peer may send.
  [[nodiscard]] std::size_t message_budget() const {
    return max_datagram_bytes - kTransportOverheadBytes;
  }

  PlantedBugs bugs;
};

}  // namespace kittengrad
