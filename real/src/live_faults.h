// live_faults.h — the network of a `kittengrad live` run, at one peer's transport: what the
// simulator's network does to a datagram, done by the sender (latency, base loss,
// duplicates, loss bursts) and by both ends (partitions), on the peer's own asio loop.
//
// Only the protocol's datagrams (session handshakes and sealed core messages) pass through
// here; admin datagrams (stats, health, bootstrap probes) and control datagrams do not:
// they are the runner's view and hand, as the simulator's oracle sees through partitions.
//
//   send(to, bytes)   partition cut -> dropped; base loss, then a burst's loss -> dropped;
//                     else sent after latency(self host, receiver host) (no delay for a
//                     receiver outside the run's block), twice with probability duplicate.
//   admit(from)       false when the partition cuts the sender off.
//   on_control(bytes) a control order (live_control_wire.h): obeyed only when signed by the
//                     runner's key for this peer's listen text with a seq above the last
//                     obeyed; the answer is the ack to send back, or a refusal (counted).
//
// Delayed datagrams wait in one timer queue, bounded (kDelayedMax datagrams and
// kDelayedBytesMax bytes; beyond, dropped and counted). Single-threaded, like the loop.
#pragma once

#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <vector>

#include "kittengrad/crypto.h"
#include "kittengrad/real/live_control_wire.h"
#include "kittengrad/rng.h"
#include "live_faults_latency.h"

namespace kittengrad::live {

inline constexpr std::size_t kDelayedMax = 65536;
inline constexpr std::size_t kDelayedBytesMax = 64u << 20;

// Why a control datagram was refused.
enum class ControlRefusal : std::uint8_t {
  kNoKey,         // this peer has no control_key: it obeys nobody
  kMalformed,     // does not decode, or is an ack (peers send acks, they do not take them)
  kBadSignature,  // not signed by the runner's key for this peer's listen text
  kReplayed,      // a seq below the last obeyed
};
inline constexpr std::size_t kControlRefusals = 4;
[[nodiscard]] const char* refusal_name(ControlRefusal r);

struct FaultCounters {
  std::uint64_t dropped_partition_out = 0;  // sends cut by the partition
  std::uint64_t dropped_partition_in = 0;   // arrivals cut by the partition
  std::uint64_t dropped_loss = 0;           // the run's base loss
  std::uint64_t dropped_loss_burst = 0;     // a Loss order's extra loss
  std::uint64_t duplicated = 0;             // sent twice
  std::uint64_t delayed = 0;                // sent after a latency > 0
  std::uint64_t delay_overflow = 0;         // dropped: the delay queue was full
  std::uint64_t control_accepted = 0;       // orders obeyed
  std::uint64_t control_repeated = 0;       // the last order again (a retry): acked, not obeyed
  std::array<std::uint64_t, kControlRefusals> control_refused{};
  [[nodiscard]] std::uint64_t control_refused_total() const;
};

struct FaultSettings {
  std::optional<PublicKey> control_key;  // nullopt: every control datagram is refused
  std::string listen_text;               // what orders for this peer are signed over
  std::optional<std::size_t> host;       // this peer's host in the run (run_host_index)
  PairLatencyFn latency_s;               // empty: no delay
  std::size_t latency_hosts = 0;         // hosts the latency model has
  double loss = 0;
  double duplicate = 0;
  std::uint64_t seed = 1;  // loss and duplicate draws: Rng::derive(seed, "live.faults", host)
};

class LiveFaults {
 public:
  using RawSend = std::function<void(const asio::ip::udp::endpoint&, std::span<const std::uint8_t>)>;

  LiveFaults(asio::io_context& io, FaultSettings settings, RawSend raw_send);
  LiveFaults(const LiveFaults&) = delete;
  LiveFaults& operator=(const LiveFaults&) = delete;

  void send(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> bytes);
  [[nodiscard]] bool admit(const asio::ip::udp::endpoint& from);

  struct ControlOutcome {
    std::optional<std::vector<std::uint8_t>> ack;
    std::optional<ControlRefusal> refused;
  };
  [[nodiscard]] ControlOutcome on_control(std::span<const std::uint8_t> bytes);

  // Cancels the timer; what waits is dropped (the loop is closing).
  void stop();

  [[nodiscard]] const FaultCounters& counters() const { return counters_; }
  [[nodiscard]] bool partitioned() const { return partitioned_; }
  // The extra loss rate in force now (0 outside a burst).
  [[nodiscard]] double burst_rate() const;
  [[nodiscard]] std::size_t delayed_now() const { return queue_.size(); }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Delayed {
    TimePoint due;
    std::uint64_t order = 0;  // FIFO among equal due times
    asio::ip::udp::endpoint to;
    std::vector<std::uint8_t> bytes;
    bool operator>(const Delayed& o) const { return due != o.due ? due > o.due : order > o.order; }
  };

  // True when the partition puts `peer` on the other side.
  [[nodiscard]] bool cut(const asio::ip::udp::endpoint& peer) const;
  void send_after(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> bytes, double delay_s);
  void arm();
  void on_timer();
  void obey(const ControlCommand& c);

  FaultSettings s_;
  RawSend raw_send_;
  asio::steady_timer timer_;
  Rng rng_;
  FaultCounters counters_;
  // The partition: the group's hosts, as a bitmap over host indices.
  bool partitioned_ = false;
  bool self_in_group_ = false;
  std::vector<bool> group_;
  // A loss burst.
  double burst_rate_ = 0;
  TimePoint burst_until_{};
  std::uint64_t last_seq_ = 0;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t next_order_ = 0;
  std::optional<TimePoint> armed_;
  bool stopped_ = false;
};

}  // namespace kittengrad::live
