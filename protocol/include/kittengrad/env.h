// kittengrad/env.h — the seams between the protocol core and the world.
//
// The core is a sans-I/O state machine: it never reads a clock, opens a socket or writes a
// file. Drivers (the deterministic test network, SimGrid, the live UDP daemon) implement
// these interfaces and feed events back in (Peer::on_datagram, on_persisted,
// on_wakeup). Time is an integer count of microseconds; never a double.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "kittengrad/entry.h"
#include "kittengrad/journal.h"
#include "kittengrad/messages.h"
#include "kittengrad/verifier.h"

namespace kittengrad {

using Time = std::int64_t;  // microseconds
inline constexpr Time kMicrosPerMs = 1000;
inline constexpr Time kMicrosPerSecond = 1000 * 1000;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time of the driver (virtual in simulations).
  [[nodiscard]] virtual Time now() const = 0;
  // This peer's idea of wall-clock time in ms, for entry and block timestamps. May be
  // skewed between peers; the protocol never relies on it for correctness.
  [[nodiscard]] virtual std::int64_t wall_ms() const = 0;
};

// Unreliable datagrams: may be dropped, delayed, reordered or duplicated.
class Network {
 public:
  virtual ~Network() = default;
  virtual void send(Address to, Message msg) = 0;
};

// A peer's position in a neighbour's journal: where catch-up resumes.
struct NeighbourMark {
  RingId peer;
  std::uint64_t height = 0;
  bool operator==(const NeighbourMark&) const = default;
};

struct StorageRecord {
  std::string ns;
  std::variant<Entry, JournalBlock, NeighbourMark> item;
  bool operator==(const StorageRecord&) const = default;
};

// Durable, ordered appends. persist() returns at once; once every record of the call is
// durable (and every earlier call's), the driver calls Peer::on_persisted(token). After a
// crash without loss of disk, the records whose completion was reported are still there,
// in order; later ones may or may not be.
class Storage {
 public:
  virtual ~Storage() = default;
  virtual void persist(std::vector<StorageRecord> records, std::uint64_t token) = 0;
};

struct Env {
  Clock* clock = nullptr;
  Network* network = nullptr;
  Storage* storage = nullptr;  // clients need none
  // Optional: a memory of checked signatures, shared by the peers of one process (see
  // verifier.h). Null: each peer keeps its own.
  SignatureVerifier* verifier = nullptr;
};

}  // namespace kittengrad
