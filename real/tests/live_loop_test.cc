// live_loop_test.cc — the UDP loop on loopback: core messages arrive decoded with the
// sender's Address, garbage is counted by reason and does not stop the loop, timers fire
// at next_wakeup(), and endpoint <-> Address round trips.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <functional>

#include "kittengrad/client.h"
#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_loop.h"

namespace kittengrad::live {
namespace {

using asio::ip::udp;

struct Recorder final : Node {
  std::vector<std::pair<Address, Message>> got;
  std::optional<Time> wake;
  int wakeups = 0;
  int turns = 0;
  std::function<void()> after;
  void on_message(Address from, const Message& m) override {
    got.emplace_back(from, m);
    if (after) after();
  }
  void on_wakeup() override {
    ++wakeups;
    wake.reset();
    if (after) after();
  }
  [[nodiscard]] std::optional<Time> next_wakeup() const override { return wake; }
  void end_of_turn() override { ++turns; }
};

codec::NamespaceTable served() {
  codec::NamespaceTable t;
  EXPECT_TRUE(t.add("default").ok());
  return t;
}

std::unique_ptr<LiveLoop> open_loop(asio::io_context& io) {
  static std::uint64_t next_key = 1;
  auto l = LiveLoop::open(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0), served(), 1200,
                          keypair_from_u64(next_key++));
  EXPECT_TRUE(l.ok()) << (l.ok() ? "" : l.error().detail);
  return std::move(*l);
}

TEST(LiveAddress, EndpointAndAddressRoundTrip) {
  const udp::endpoint e(asio::ip::make_address("10.1.2.3"), 7400);
  const auto a = address_of(e);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, (Address{0x0a010203} << 16) | 7400);
  EXPECT_EQ(endpoint_of(*a), e);
  EXPECT_EQ(format_address(*a), "10.1.2.3:7400");
  const udp::endpoint mapped(asio::ip::make_address("::ffff:10.1.2.3"), 7400);
  EXPECT_EQ(address_of(mapped), a);
  // An IPv6 endpoint gets a handle above 48 bits, the same one each time, and back.
  const udp::endpoint v6(asio::ip::make_address("::1"), 7400);
  const auto h = address_of(v6);
  ASSERT_TRUE(h.has_value());
  EXPECT_GE(*h, Address{1} << 48);
  EXPECT_EQ(address_of(v6), h);
  EXPECT_EQ(endpoint_of(*h), v6);
  EXPECT_NE(address_of(udp::endpoint(asio::ip::make_address("::1"), 7401)), h);
  EXPECT_EQ(format_endpoint(udp::endpoint(asio::ip::make_address("::1"), 9)), "[::1]:9");
  auto parsed = parse_host_port("[::1]:9");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->port(), 9);
  EXPECT_FALSE(parse_host_port("::1:9").ok());
  EXPECT_FALSE(parse_host_port("1.2.3.4:65536").ok());
  EXPECT_FALSE(parse_host_port("1.2.3.4:x").ok());
}

TEST(LiveLoop, MessagesArriveAndGarbageIsCountedByReason) {
  asio::io_context io;
  auto a = open_loop(io);
  auto b = open_loop(io);
  Recorder ra, rb;
  a->start(&ra);
  b->start(&rb);
  const Address a_address = *a->local_address();

  // Garbage first, from a plain socket: every kind of bad datagram.
  udp::socket raw(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const udp::endpoint to_b = b->local_endpoint();
  std::vector<std::vector<std::uint8_t>> bad = {
      {},                                               // empty
      {0x00, 1, 2, 3},                                  // version 0
      {static_cast<std::uint8_t>(codec::kWireVersion << codec::kVersionShift | 60)},  // kind 60
      {static_cast<std::uint8_t>(codec::kWireVersion << codec::kVersionShift), 1},    // truncated
      {admin::kAdminByte, 9},                           // admin, bad tag
      admin::encode_admin(admin::Request{}),            // admin, but the recorder answers none
      std::vector<std::uint8_t>(65000, 0x41),           // oversized
  };
  bad.push_back(to_wire(Message{"other", Ping{1}}));  // unknown namespace
  for (const auto& d : bad) raw.send_to(asio::buffer(d), to_b);

  // Then a real message (a handshake, then the sealed message): it must still be delivered.
  rb.after = [&] {
    if (!rb.got.empty()) {
      a->stop();
      b->stop();
    }
  };
  a->send(*b->local_address(), Message{"default", Ping{42}});
  io.run_for(std::chrono::seconds(5));

  ASSERT_EQ(rb.got.size(), 1u);
  EXPECT_EQ(rb.got[0].first, a_address);
  EXPECT_EQ(std::get<Ping>(rb.got[0].second.body).req, 42u);
  const TransportCounters& c = b->counters();
  auto dropped = [&](Drop d) { return c.dropped[static_cast<std::size_t>(d)]; };
  // Outside a session nothing reaches the codec: the session layer refuses all but the
  // admin datagrams (which it does not see).
  EXPECT_EQ(dropped(Drop::kSession), bad.size() - 2);
  EXPECT_EQ(dropped(Drop::kAdminMalformed), 1u);
  EXPECT_EQ(dropped(Drop::kAdminUnexpected), 1u);
  EXPECT_EQ(c.dropped_total(), bad.size());
  EXPECT_EQ(c.datagrams_in, bad.size() + 2);  // + the initiation and the sealed Ping
  EXPECT_EQ(a->counters().datagrams_out, 2u);
  EXPECT_EQ(b->sessions().counters().opened, 1u);
  EXPECT_GE(rb.turns, 1);
}

TEST(LiveLoop, TimerFiresAtNextWakeup) {
  asio::io_context io;
  auto a = open_loop(io);
  Recorder r;
  const Time start = a->now();
  r.wake = start + 50 * kMicrosPerMs;
  Time woke = 0;
  r.after = [&] {
    woke = a->now();
    a->stop();
  };
  a->start(&r);
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(r.wakeups, 1);
  EXPECT_GE(woke, start + 50 * kMicrosPerMs);
  EXPECT_LT(woke, start + 2 * kMicrosPerSecond);
}

// The loop drives the core's Client as it drives a Peer: a route request to a peer that
// never answers ends in a timeout result at the client's deadline.
TEST(LiveLoop, DrivesAClientThroughCoreNode) {
  asio::io_context io;
  auto loop = open_loop(io);
  auto silent = open_loop(io);  // bound, never started: nobody reads its datagrams
  ClientConfig config;
  config.request_timeout = 30 * kMicrosPerMs;
  config.route_attempts_max = 2;
  Client client(config, *loop->local_address(), loop.get(), loop.get());
  CoreNode<Client> node(client);
  loop->start(&node);
  client.route("default", RingId{}, *silent->local_address());
  loop->turn_done();
  std::vector<OpResult> done;
  asio::steady_timer poll(io);
  std::function<void()> check = [&] {
    for (auto& r : client.take_completed()) done.push_back(std::move(r));
    if (!done.empty()) return loop->stop();
    poll.expires_after(std::chrono::milliseconds(5));
    poll.async_wait([&](const asio::error_code&) { check(); });
  };
  check();
  io.run_for(std::chrono::seconds(5));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].error, ErrorCode::kTimeout);
  // The request and its resend waited for a handshake the silent peer never answered: one
  // initiation went out (re-sent at most once a second), the two requests were queued.
  EXPECT_EQ(loop->counters().datagrams_out, 1u);
  EXPECT_GE(loop->sessions().counters().queued, 2u);
}

}  // namespace
}  // namespace kittengrad::live
