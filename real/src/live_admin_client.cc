// live_admin_client.cc — a blocking request/reply over UDP with poll(2): the operator
// commands ask one peer at a time and have nothing else to do meanwhile.
#include "live_admin_client.h"

#include <poll.h>
#include <sodium.h>

#include <algorithm>
#include <array>

#include "kittengrad/real/live_address.h"

namespace kittengrad::live {

namespace {

// Resends of an unanswered page within the timeout: UDP may drop either datagram.
constexpr int kSendsPerTimeout = 4;

}  // namespace

Result<std::vector<admin::Item>> ask_peer(const asio::ip::udp::endpoint& peer, admin::Query query,
                                          std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  asio::io_context io;
  asio::ip::udp::socket socket(io);
  asio::error_code ec;
  socket.open(peer.protocol(), ec);
  if (ec) return Error{ErrorCode::kBadRequest, "cannot open a UDP socket: " + ec.message()};
  std::uint64_t req = 0;
  randombytes_buf(&req, sizeof req);
  req >>= 2;  // below the daemon's own probe ids

  const auto deadline = Clock::now() + timeout;
  const auto resend_every = std::max(timeout / kSendsPerTimeout, std::chrono::milliseconds(50));
  std::vector<admin::Item> items;
  std::array<std::uint8_t, 65536> buf{};
  std::uint32_t total = 0;
  bool have_total = false;
  while (!have_total || items.size() < total) {
    const admin::Request q{.req = req, .query = query, .first = static_cast<std::uint32_t>(items.size())};
    const std::vector<std::uint8_t> bytes = admin::encode_admin(q);
    bool answered = false;
    while (!answered) {
      const auto now = Clock::now();
      if (now >= deadline) {
        return Error{ErrorCode::kTimeout,
                     "peer " + format_endpoint(peer) + " did not answer within " +
                         std::to_string(timeout.count()) + " ms (is a kittengrad peer running there?)"};
      }
      socket.send_to(asio::buffer(bytes), peer, 0, ec);  // an error shows as no answer
      const auto resend_at = std::min(deadline, now + resend_every);
      while (!answered && Clock::now() < resend_at) {
        pollfd pfd{socket.native_handle(), POLLIN, 0};
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(resend_at - Clock::now());
        if (::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(wait.count(), 1))) <= 0) continue;
        asio::ip::udp::endpoint from;
        const std::size_t n = socket.receive_from(asio::buffer(buf), from, 0, ec);
        if (ec || from != peer) continue;  // ICMP refusals, strangers
        auto d = admin::decode_admin(std::span<const std::uint8_t>(buf.data(), n));
        if (!d) continue;
        const auto* reply = std::get_if<admin::Reply>(&*d);
        if (reply == nullptr || reply->req != req || reply->first != q.first) continue;
        answered = true;
        total = reply->total;
        have_total = true;
        if (reply->items.empty() && items.size() < total) {
          return Error{ErrorCode::kBadRequest, "peer " + format_endpoint(peer) + " sent an empty page"};
        }
        items.insert(items.end(), reply->items.begin(), reply->items.end());
      }
    }
  }
  return items;
}

}  // namespace kittengrad::live
