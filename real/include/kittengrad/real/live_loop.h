// kittengrad/real/live_loop.h — one UDP socket and one single-threaded asio event loop that
// drive a sans-I/O core (a Peer in the daemon, a Client in the client commands) exactly as
// the simulator does: datagrams in, timers at next_wakeup(), sends out.
//
// The loop is the core's Clock (steady_clock in µs; wall_ms from system_clock) and its
// Network (send: to_wire, then send_to). Every datagram in is classified: an admin
// datagram (live_admin.h) goes to Node::on_admin, anything else through from_wire() to
// Node::on_message; what cannot be decoded is dropped and counted by reason, never fatal.
// After each turn (a batch of datagrams drained from the socket, a timer, or an outside
// call followed by turn_done()) the loop calls Node::end_of_turn (the daemon completes
// its storage writes there: one group commit a turn) and re-arms its timer from
// Node::next_wakeup().
//
//   asio::io_context io;
//   auto loop = LiveLoop::open(io, endpoint, served, max_datagram_bytes, identity);
//   PeerNode node(...);            // a Node: on_message, on_wakeup, next_wakeup, ...
//   (*loop)->start(&node);
//   io.run();
#pragma once

#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kittengrad/env.h"
#include "kittengrad/real/codec.h"
#include "kittengrad/real/live_admin.h"
#include "kittengrad/real/session.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

class LiveFaults;  // src/live_faults.h: a run's network at this transport

// ---- the datagram layer ----
// Every core message is encoded by to_wire and decoded by from_wire; in between, the loop
// seals and opens it in the peer's authenticated session (send() and handle()).
[[nodiscard]] std::vector<std::uint8_t> to_wire(const Message& m);
[[nodiscard]] Result<Message> from_wire(std::span<const std::uint8_t> bytes,
                                        const codec::NamespaceTable& served);

// Why a datagram in was dropped.
enum class Drop : std::uint8_t {
  kEmpty,             // zero bytes
  kOversized,         // longer than any peer may send (codec::kPayloadBytesMax)
  kBadVersion,        // first byte: a protocol version this peer does not speak
  kUnknownKind,       // first byte: no such message kind
  kMalformed,         // the codec refused the body (truncated, overlong, out of range...)
  kUnknownNamespace,  // well formed, for a namespace this peer does not serve
  kNoAddress,         // from an IPv6 endpoint when the address book is full
  kAdminMalformed,    // an admin datagram that does not decode
  kAdminUnexpected,   // an admin datagram this node does not answer
  kSession,           // refused by the session layer (counted by reason in sessions())
  kFalseIdentity,     // a sender claiming a ring id or key its session did not prove
  kControlRefused,    // a control datagram (live_control_wire.h) not obeyed: no runner
                      // key, malformed, forged or replayed (by reason in faults())
};
inline constexpr std::size_t kDropReasons = 12;
[[nodiscard]] const char* drop_name(Drop d);
// The reason for a datagram that from_wire refused with `error`.
[[nodiscard]] Drop drop_reason(std::span<const std::uint8_t> bytes, const Error& error);

struct TransportCounters {
  std::uint64_t datagrams_in = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t datagrams_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t send_failed = 0;       // the socket refused a send (buffer full, no route)
  std::uint64_t receive_errors = 0;
  std::uint64_t replicate_entries_out = 0;  // entries in Replicate messages sent (hand-off
                                            // progress: the core pushes them in those)
  std::array<std::uint64_t, kDropReasons> dropped{};
  // Core messages sent, by kind, and their bytes counted as the simulator counts them
  // (the message's encoding + kTransportOverheadBytes + 28 bytes of UDP/IPv4 header), so
  // `kittengrad live` and `kittengrad sim` fill /timeseries' msgs_<kind> and bytes_<kind>
  // alike. Handshakes are not messages: session/ counts them.
  std::array<std::uint64_t, kMessageKinds> msgs_sent_by_kind{};
  std::array<std::uint64_t, kMessageKinds> bytes_sent_by_kind{};
  [[nodiscard]] std::uint64_t dropped_total() const;
};

// What a loop drives.
class Node {
 public:
  virtual ~Node() = default;
  // A message from an authenticated sender (`from` proved it holds the key whose hash is
  // its ring id; the loop has already refused senders claiming another).
  virtual void on_message(Address from, const Message& m) = 0;
  // An admin datagram (already decoded). Nodes that answer none keep the default: the
  // loop counts it as kAdminUnexpected.
  // Returns false if it does not answer this one.
  virtual bool on_admin(const asio::ip::udp::endpoint& from, const admin::Datagram& d) {
    (void)from;
    (void)d;
    return false;
  }
  virtual void on_wakeup() = 0;
  [[nodiscard]] virtual std::optional<Time> next_wakeup() const = 0;
  virtual void end_of_turn() {}
};

// Any core with the driver interface of Peer and Client (on_datagram, on_wakeup,
// next_wakeup) as a Node (the client commands use ClientRunner, which also collects
// completions; this is the plain form).
//   Client client(config, *loop->local_address(), loop.get(), loop.get());
//   CoreNode<Client> node(client);
//   loop->start(&node);
template <typename Core>
class CoreNode final : public Node {
 public:
  explicit CoreNode(Core& core) : core_(core) {}
  void on_message(Address from, const Message& m) override { core_.on_datagram(from, m); }
  void on_wakeup() override { core_.on_wakeup(); }
  [[nodiscard]] std::optional<Time> next_wakeup() const override { return core_.next_wakeup(); }

 private:
  Core& core_;
};

class LiveLoop final : public Clock, public Network {
 public:
  // Binds a UDP socket at `listen` (port 0: any free port). Every core message in and out
  // travels in an authenticated session (session.h) under `identity`.
  [[nodiscard]] static Result<std::unique_ptr<LiveLoop>> open(asio::io_context& io,
                                                              const asio::ip::udp::endpoint& listen,
                                                              codec::NamespaceTable served,
                                                              std::size_t max_datagram_bytes,
                                                              const KeyPair& identity);
  ~LiveLoop() override;
  LiveLoop(const LiveLoop&) = delete;
  LiveLoop& operator=(const LiveLoop&) = delete;

  // Starts receiving and timing for `node` (which outlives the loop's run).
  void start(Node* node);
  // Stops receiving and timing; io_context::run() returns once nothing else is pending.
  void stop();
  // After calling into the node from outside a loop handler (a lifecycle call, a signal):
  // ends the turn as a handler would.
  void turn_done();

  [[nodiscard]] asio::ip::udp::endpoint local_endpoint() const;
  // The local endpoint as a core Address (nullopt only when the address book is full).
  [[nodiscard]] std::optional<Address> local_address() const;
  [[nodiscard]] const TransportCounters& counters() const { return counters_; }
  [[nodiscard]] const session::SessionTable& sessions() const { return *sessions_; }
  // Session time: wall-clock µs (handshake timestamps must grow across restarts).
  [[nodiscard]] static Time session_now();
  [[nodiscard]] std::size_t max_datagram_bytes() const { return max_datagram_bytes_; }
  [[nodiscard]] const codec::NamespaceTable& served() const { return served_; }

  // Clock
  [[nodiscard]] Time now() const override;
  [[nodiscard]] std::int64_t wall_ms() const override;
  // Network
  void send(Address to, Message msg) override;
  // Raw bytes to an endpoint (admin replies, which need no core Address).
  void send_bytes(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> bytes);

  // A run's network (kittengrad live): from now on the protocol's datagrams in and out go
  // through `faults` (partitions, loss, duplicates, latency) and control datagrams to it.
  // Without, every control datagram is refused.
  void set_faults(std::unique_ptr<LiveFaults> faults);
  [[nodiscard]] const LiveFaults* faults() const { return faults_.get(); }

 private:
  LiveLoop(asio::io_context& io, asio::ip::udp::socket socket, codec::NamespaceTable served,
           std::size_t max_datagram_bytes, const KeyPair& identity);
  // False for a message whose sender claims an identity its session did not prove.
  [[nodiscard]] static bool claims_hold(const Message& m, Address from, const PublicKey& key);
  void receive();
  void handle(std::size_t n, const asio::ip::udp::endpoint& from);
  // A protocol datagram out: through the run's network when there is one.
  void send_protocol(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> bytes);
  void arm();
  void on_timer();

  asio::io_context& io_;
  asio::ip::udp::socket socket_;
  asio::steady_timer timer_;
  codec::NamespaceTable served_;
  std::size_t max_datagram_bytes_;
  std::unique_ptr<session::SessionTable> sessions_;
  Node* node_ = nullptr;
  bool stopped_ = false;
  std::optional<Time> armed_;  // when the timer is set to fire
  std::vector<std::uint8_t> buffer_;
  asio::ip::udp::endpoint sender_;
  TransportCounters counters_;
  std::unique_ptr<LiveFaults> faults_;
};

}  // namespace kittengrad::live
