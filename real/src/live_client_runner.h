// live_client_runner.h — the core's Client on its own LiveLoop: what every client command
// (and the live tests) run on.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "kittengrad/client.h"
#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_loop.h"
#include "live_client.h"

namespace kittengrad::live {

// What every client command talks through: a loop on a socket of the peer's address family
// (loopback for a loopback peer), serving one namespace, under the client's identity; and
// the peer's endpoint and Address. `bind_host` (a numeric address; empty: the family's
// loopback or any-address) is where the socket binds. Errors: the peer or bind_host does
// not parse or resolve (kBadRequest), the address book is full, the socket cannot bind.
struct ClientSocket {
  std::unique_ptr<LiveLoop> loop;
  asio::ip::udp::endpoint peer;
  Address peer_address = 0;
};
[[nodiscard]] inline Result<ClientSocket> open_client_socket(asio::io_context& io, const std::string& peer,
                                                             const std::string& ns,
                                                             std::size_t max_datagram_bytes,
                                                             const KeyPair& identity,
                                                             const std::string& bind_host = "") {
  auto endpoint = resolve_host_port(peer);
  if (!endpoint) return endpoint.error();
  asio::ip::udp::endpoint local = local_endpoint_for(*endpoint);
  if (!bind_host.empty()) {
    asio::error_code ec;
    local.address(asio::ip::make_address(bind_host, ec));
    if (ec) return Error{ErrorCode::kBadRequest, "bind address " + bind_host + ": not a numeric address"};
  }
  const std::optional<Address> address = address_of(*endpoint);
  if (!address) return Error{ErrorCode::kOverloaded, "the address book is full"};
  codec::NamespaceTable served;
  if (auto added = served.add(ns); !added) return added.error();
  auto loop = LiveLoop::open(io, local, std::move(served), max_datagram_bytes, identity);
  if (!loop) return Error{ErrorCode::kTimeout, loop.error().detail};  // not the user's input
  return ClientSocket{std::move(*loop), *endpoint, *address};
}

// The core's Client on its own loop and socket. ops are submitted, the loop runs until every
// op has completed or the deadline passes; completions go to on_done as they come (a batch
// submits more from there).
class ClientRunner final : public Node {
 public:
  // A client socket (open_client_socket) and a Client that asks o.peer first.
  [[nodiscard]] static Result<std::unique_ptr<ClientRunner>> open(const ClientOptions& o, const std::string& ns,
                                                     const KeyPair& identity) {
    std::unique_ptr<ClientRunner> r(new ClientRunner());
    auto socket = open_client_socket(r->io_, o.peer, ns, o.max_datagram_bytes, identity, o.bind_host);
    if (!socket) return socket.error();
    r->loop_ = std::move(socket->loop);
    r->gateway_ = socket->peer_address;
    ClientConfig config;
    config.request_timeout = o.request_timeout_ms * kMicrosPerMs;
    config.max_datagram_bytes = o.max_datagram_bytes;
    config.route_cache_max = 4096;  // a batch of many keys routes a few, then goes direct
    r->client_.emplace(config, r->loop_->local_address().value_or(0), r->loop_.get(), r->loop_.get());
    r->loop_->start(r.get());
    return r;
  }

  Client& client() { return *client_; }
  Clock& clock() { return *loop_; }
  [[nodiscard]] Address gateway() const { return gateway_; }
  void on_done(std::function<void(OpResult)> f) { on_done_ = std::move(f); }

  // Runs until nothing is in flight, or `timeout` passed without progress() (the
  // deadline moves on at each call): false then.
  bool run(std::chrono::milliseconds timeout) {
    timeout_ = timeout;
    running_ = true;
    finished_ = false;
    timed_out_ = false;
    io_.restart();  // a runner runs again for the next batch of ops (the socket stays open)
    progress();
    loop_->turn_done();  // ends the turn: end_of_turn() collects what is already done
    if (!finished_) io_.run();
    deadline_.cancel();
    return !timed_out_;
  }
  void progress() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([this](const std::error_code& ec) {
      if (ec) return;  // moved on, or cancelled
      timed_out_ = true;
      io_.stop();
    });
  }

  void on_message(Address from, const Message& m) override { client_->on_datagram(from, m); }
  void on_wakeup() override { client_->on_wakeup(); }
  [[nodiscard]] std::optional<Time> next_wakeup() const override { return client_->next_wakeup(); }
  void end_of_turn() override {
    // on_done may submit ops that complete at once (refused before any send): drain.
    for (auto done = client_->take_completed(); !done.empty(); done = client_->take_completed()) {
      for (OpResult& r : done) {
        if (on_done_) on_done_(std::move(r));
      }
    }
    if (running_ && client_->in_flight() == 0 && !finished_) {
      finished_ = true;
      deadline_.cancel();
      io_.stop();
    }
  }

 private:
  ClientRunner() = default;
  asio::io_context io_;
  std::unique_ptr<LiveLoop> loop_;
  std::optional<Client> client_;
  Address gateway_ = 0;
  std::function<void(OpResult)> on_done_;
  asio::steady_timer deadline_{io_};
  std::chrono::milliseconds timeout_{0};
  bool running_ = false;  // run() was called: an empty client means done
  bool finished_ = false;
  bool timed_out_ = false;
};

}  // namespace kittengrad::live
