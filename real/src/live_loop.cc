// live_loop.cc — the socket, the timer and the turn (see live_loop.h).
#include "kittengrad/real/live_loop.h"

#include <sodium.h>

#include <asio/socket_base.hpp>
#include <chrono>

#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_control_wire.h"
#include "live_faults.h"

namespace kittengrad::live {

namespace {

// The largest UDP payload: anything the socket can deliver fits, so that an oversized
// datagram is seen whole and counted as such rather than truncated into something else.
constexpr std::size_t kReceiveBufferBytes = 65536;
// Datagrams handled in one turn before the turn ends: enough that the storage writes of a
// burst share a commit, few enough that timers are not starved.
constexpr int kDatagramsPerTurnMax = 64;
// Kernel buffers: a hand-off or a range pull sends a window of datagrams at once.
constexpr int kSocketBufferBytes = 4 << 20;

}  // namespace

Result<std::unique_ptr<LiveLoop>> LiveLoop::open(asio::io_context& io,
                                                 const asio::ip::udp::endpoint& listen,
                                                 codec::NamespaceTable served,
                                                 std::size_t max_datagram_bytes,
                                                 const KeyPair& identity) {
  asio::ip::udp::socket socket(io);
  asio::error_code ec;
  socket.open(listen.protocol(), ec);
  if (!ec) socket.bind(listen, ec);
  if (ec) {
    return Error{ErrorCode::kBadRequest,
                 "cannot listen on UDP " + format_endpoint(listen) + ": " + ec.message()};
  }
  socket.non_blocking(true, ec);
  // Best effort: the kernel caps them at net.core.{r,w}mem_max.
  asio::error_code ignored;
  socket.set_option(asio::socket_base::receive_buffer_size(kSocketBufferBytes), ignored);
  socket.set_option(asio::socket_base::send_buffer_size(kSocketBufferBytes), ignored);
  return std::unique_ptr<LiveLoop>(
      new LiveLoop(io, std::move(socket), std::move(served), max_datagram_bytes, identity));
}

namespace {
// A handshake takes a round trip; what the core sends meanwhile waits in the session's
// queue. A window of a transfer (64) or a client's burst of requests must fit, or half of
// it would be dropped and wait for the core's retries (the client's 1 s request timeout).
session::SessionConfig session_config() {
  session::SessionConfig c;
  c.queue_per_peer_max = 256;
  return c;
}

std::array<std::uint8_t, 32> random_seed() {
  std::array<std::uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  return seed;
}
}  // namespace

LiveLoop::LiveLoop(asio::io_context& io, asio::ip::udp::socket socket,
                   codec::NamespaceTable served, std::size_t max_datagram_bytes,
                   const KeyPair& identity)
    : io_(io),
      socket_(std::move(socket)),
      timer_(io),
      served_(std::move(served)),
      max_datagram_bytes_(max_datagram_bytes),
      sessions_(std::make_unique<session::SessionTable>(session_config(), identity,
                                                        random_seed())),
      buffer_(kReceiveBufferBytes) {}

Time LiveLoop::session_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool LiveLoop::claims_hold(const Message& m, Address from, const PublicKey& key) {
  if (const auto* n = std::get_if<Notify>(&m.body)) return n->public_key == key;
  if (const auto* l = std::get_if<LeaveNotice>(&m.body)) {
    return l->leaving.id == RingId::of_bytes(key) && l->leaving.addr == from;
  }
  return true;  // no claim about the sender itself
}

LiveLoop::~LiveLoop() { stop(); }

void LiveLoop::start(Node* node) {
  node_ = node;
  receive();
  turn_done();
}

void LiveLoop::set_faults(std::unique_ptr<LiveFaults> faults) { faults_ = std::move(faults); }

void LiveLoop::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ignored;
  timer_.cancel();
  if (faults_) faults_->stop();
  socket_.close(ignored);
}

void LiveLoop::turn_done() {
  if (node_ == nullptr || stopped_) return;
  node_->end_of_turn();
  arm();
}

asio::ip::udp::endpoint LiveLoop::local_endpoint() const {
  asio::error_code ec;
  return socket_.local_endpoint(ec);
}

std::optional<Address> LiveLoop::local_address() const { return address_of(local_endpoint()); }

Time LiveLoop::now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t LiveLoop::wall_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void LiveLoop::send(Address to, Message msg) {
  if (const auto* r = std::get_if<Replicate>(&msg.body)) {
    counters_.replicate_entries_out += r->entries.size();
  }
  const std::vector<std::uint8_t> bytes = to_wire(msg);
  const std::size_t kind = message_kind_index(msg.body);
  ++counters_.msgs_sent_by_kind[kind];
  counters_.bytes_sent_by_kind[kind] += bytes.size() + kTransportOverheadBytes + kUdpIpHeaderBytes;
  const session::Outbound out = sessions_->seal(to, bytes, session_now());
  const asio::ip::udp::endpoint ep = endpoint_of(to);
  for (const session::Bytes& d : out.datagrams) send_protocol(ep, d);
}

void LiveLoop::send_protocol(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> bytes) {
  if (faults_) {
    faults_->send(to, bytes);
  } else {
    send_bytes(to, bytes);
  }
}

void LiveLoop::send_bytes(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> bytes) {
  if (stopped_) return;
  asio::error_code ec;
  socket_.send_to(asio::buffer(bytes.data(), bytes.size()), to, 0, ec);
  if (ec) {
    ++counters_.send_failed;  // UDP may lose any datagram; the core retries what matters
    return;
  }
  ++counters_.datagrams_out;
  counters_.bytes_out += bytes.size();
}

void LiveLoop::receive() {
  socket_.async_receive_from(
      asio::buffer(buffer_), sender_, [this](const asio::error_code& ec, std::size_t n) {
        if (stopped_ || ec == asio::error::operation_aborted) return;
        if (ec) {
          ++counters_.receive_errors;
        } else {
          handle(n, sender_);
          // Drain what else is waiting, so that one turn (one group commit) covers a burst.
          for (int i = 1; i < kDatagramsPerTurnMax && !stopped_; ++i) {
            asio::error_code e;
            asio::ip::udp::endpoint from;
            const std::size_t m = socket_.receive_from(asio::buffer(buffer_), from, 0, e);
            if (e == asio::error::would_block || e == asio::error::try_again) break;
            if (e) {
              ++counters_.receive_errors;
              break;
            }
            handle(m, from);
          }
        }
        turn_done();
        if (!stopped_) receive();
      });
}

void LiveLoop::handle(std::size_t n, const asio::ip::udp::endpoint& from) {
  ++counters_.datagrams_in;
  counters_.bytes_in += n;
  const std::span<const std::uint8_t> bytes(buffer_.data(), n);
  auto drop = [this](Drop d) { ++counters_.dropped[static_cast<std::size_t>(d)]; };
  if (admin::is_admin(bytes)) {
    Result<admin::Datagram> d = admin::decode_admin(bytes);
    if (!d) return drop(Drop::kAdminMalformed);
    if (!node_->on_admin(from, *d)) drop(Drop::kAdminUnexpected);
    return;
  }
  if (is_control(bytes)) {
    if (!faults_) return drop(Drop::kControlRefused);
    const LiveFaults::ControlOutcome out = faults_->on_control(bytes);
    if (out.ack) send_bytes(from, *out.ack);  // the runner's channel: no faults
    if (out.refused) drop(Drop::kControlRefused);
    return;
  }
  if (faults_ && !faults_->admit(from)) return;  // cut off by a partition (counted there)
  const std::optional<Address> addr = address_of(from);
  if (!addr) return drop(Drop::kNoAddress);
  const session::Inbound in = sessions_->on_datagram(*addr, bytes, session_now());
  for (const session::Bytes& reply : in.replies) send_protocol(from, reply);
  if (in.dropped) drop(Drop::kSession);
  if (!in.delivery) return;
  Result<Message> m = from_wire(in.delivery->plaintext, served_);
  if (!m) return drop(drop_reason(in.delivery->plaintext, m.error()));
  if (!claims_hold(*m, *addr, in.delivery->peer)) return drop(Drop::kFalseIdentity);
  node_->on_message(*addr, *m);
}

void LiveLoop::arm() {
  const std::optional<Time> next = node_->next_wakeup();
  if (next == armed_) return;
  armed_ = next;
  if (!next) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::microseconds(*next)));
  timer_.async_wait([this](const asio::error_code& ec) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    on_timer();
  });
}

void LiveLoop::on_timer() {
  armed_.reset();
  // A wait that completed just before it was re-armed for later runs anyway: wake the node
  // only when its time has come.
  const std::optional<Time> next = node_->next_wakeup();
  if (next && *next <= now()) node_->on_wakeup();
  turn_done();
}

}  // namespace kittengrad::live
