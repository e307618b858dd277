// client_route_test.cc — the client's route() against a gateway whose lookup outlasts the
// client's request_timeout (a long path of live hops on a large ring, seed 1316).
//
// The client is driven by hand: a fake clock and a network that records what it sends.
#include <gtest/gtest.h>

#include <vector>

#include "kittengrad/client.h"

namespace kittengrad {
namespace {

class FakeClock final : public Clock {
 public:
  [[nodiscard]] Time now() const override { return t; }
  [[nodiscard]] std::int64_t wall_ms() const override { return t / kMicrosPerMs; }
  Time t = 0;
};

class Recorder final : public Network {
 public:
  void send(Address to, Message msg) override { sent.push_back({to, std::move(msg)}); }
  struct Sent {
    Address to;
    Message msg;
  };
  std::vector<Sent> sent;
};

constexpr Address kGateway = 7;
constexpr Address kSelf = 100;

struct Fixture {
  FakeClock clock;
  Recorder net;
  ClientConfig config;
  Client client{config, kSelf, &clock, &net};

  // The request id of the i-th RouteRequest sent.
  std::uint64_t route_req(std::size_t i) const {
    std::size_t seen = 0;
    for (const Recorder::Sent& s : net.sent) {
      const auto* r = std::get_if<RouteRequest>(&s.msg.body);
      if (r == nullptr) continue;
      EXPECT_EQ(s.to, kGateway);
      if (seen++ == i) return r->req;
    }
    ADD_FAILURE() << "no RouteRequest number " << i << " was sent";
    return 0;
  }
  std::size_t routes_sent() const {
    std::size_t n = 0;
    for (const Recorder::Sent& s : net.sent) n += std::holds_alternative<RouteRequest>(s.msg.body);
    return n;
  }
  void advance_to_deadline() {
    ASSERT_TRUE(client.next_wakeup().has_value());
    clock.t = *client.next_wakeup();
    client.on_wakeup();
  }
  void answer(std::uint64_t req, ErrorCode error, std::vector<NodeRef> replicas) {
    ClientReply r;
    r.req = req;
    r.error = error;
    r.redirect = std::move(replicas);
    r.hops = 8;
    client.on_datagram(kGateway, Message{"default", std::move(r)});
  }
};

const std::vector<NodeRef> kReplicas = {NodeRef{RingId::from_u64(1), 11},
                                        NodeRef{RingId::from_u64(2), 12},
                                        NodeRef{RingId::from_u64(3), 13}};

TEST(ClientRoute, ResendKeepsTheRequestIdSoALateAnswerCompletesTheRoute) {
  Fixture f;
  const std::uint64_t op = f.client.route("default", RingId::from_u64(42), kGateway);
  f.advance_to_deadline();  // the gateway's lookup is still under way: ask again
  ASSERT_EQ(f.routes_sent(), 2u);
  EXPECT_EQ(f.route_req(1), f.route_req(0));
  // The first copy's lookup ends after the resend: its answer completes the route.
  f.answer(f.route_req(0), ErrorCode::kOk, kReplicas);
  const std::vector<OpResult> done = f.client.take_completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].op, op);
  EXPECT_EQ(done[0].error, ErrorCode::kOk) << done[0].detail;
  EXPECT_EQ(done[0].replicas, kReplicas);
  EXPECT_EQ(done[0].hops, 8u);
  EXPECT_EQ(f.client.in_flight(), 0u);
  // The second copy's answer, later still, is a duplicate: nothing more completes.
  f.answer(f.route_req(0), ErrorCode::kOk, kReplicas);
  EXPECT_TRUE(f.client.take_completed().empty());
}

TEST(ClientRoute, OverloadedAnswerToOneCopyLeavesTheRequestOpenForAnother) {
  Fixture f;
  f.client.route("default", RingId::from_u64(42), kGateway);
  f.advance_to_deadline();
  ASSERT_EQ(f.routes_sent(), 2u);
  // One copy found the gateway busy; the other one's lookup answers later.
  f.answer(f.route_req(0), ErrorCode::kOverloaded, {});
  EXPECT_TRUE(f.client.take_completed().empty());
  f.answer(f.route_req(0), ErrorCode::kOk, kReplicas);
  const std::vector<OpResult> done = f.client.take_completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].error, ErrorCode::kOk) << done[0].detail;
}

TEST(ClientRoute, GivesUpAfterRouteAttemptsMax) {
  Fixture f;
  f.client.route("default", RingId::from_u64(42), kGateway);
  for (int i = 0; i < f.config.route_attempts_max; ++i) f.advance_to_deadline();
  EXPECT_EQ(f.routes_sent(), static_cast<std::size_t>(f.config.route_attempts_max));
  const std::vector<OpResult> done = f.client.take_completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].error, ErrorCode::kTimeout);
  EXPECT_EQ(f.client.in_flight(), 0u);
  EXPECT_FALSE(f.client.next_wakeup().has_value());
}

}  // namespace
}  // namespace kittengrad
