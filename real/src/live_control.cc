// live_control.cc — the hosts of a run and the runner's blocking send of a control order
// (see live_control.h). poll(2) like the operator commands: the runner waits for one
// acknowledgement at a time and has nothing else to do meanwhile.
#include "kittengrad/real/live_control.h"

#include <poll.h>

#include <algorithm>
#include <array>
#include <asio/io_context.hpp>
#include <cassert>
#include <chrono>
#include <cstdio>

#include "kittengrad/real/live_address.h"

namespace kittengrad::live {

namespace {

constexpr std::uint32_t kRunBlock = 127u << 24 | 77u << 16;  // 127.77.0.0/16
constexpr auto kResendInterval = std::chrono::milliseconds(100);

}  // namespace

asio::ip::address_v4 run_host_address(std::size_t host) {
  assert(host < kRunHostsMax && "a run has at most kRunHostsMax hosts");
  return asio::ip::address_v4(kRunBlock | static_cast<std::uint32_t>(host + 1));
}

std::optional<std::size_t> run_host_index(const asio::ip::address& a) {
  asio::ip::address_v4 v4;
  if (a.is_v4()) {
    v4 = a.to_v4();
  } else if (a.to_v6().is_v4_mapped()) {
    v4 = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  } else {
    return std::nullopt;
  }
  const std::uint32_t bits = v4.to_uint();
  if ((bits & 0xffff0000u) != kRunBlock) return std::nullopt;
  const std::uint32_t k = bits & 0xffffu;
  if (k == 0 || k > kRunHostsMax) return std::nullopt;
  return static_cast<std::size_t>(k - 1);
}

Result<bool> send_control(const asio::ip::udp::endpoint& peer, const std::string& peer_listen_text,
                          const KeyPair& runner, std::uint64_t seq, const ControlCommand& command,
                          double timeout_s) {
  using Clock = std::chrono::steady_clock;
  char what[96];
  std::snprintf(what, sizeof what, "%s (seq %llu)", command_name(command),
                static_cast<unsigned long long>(seq));
  asio::io_context io;
  asio::ip::udp::socket socket(io);
  asio::error_code ec;
  socket.open(peer.protocol(), ec);
  if (ec) return Error{ErrorCode::kTimeout, "cannot open a UDP socket: " + ec.message()};
  const std::vector<std::uint8_t> bytes =
      encode_control(sign_order(peer_listen_text, seq, command, runner));
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  std::array<std::uint8_t, 256> buf{};
  do {
    socket.send_to(asio::buffer(bytes), peer, 0, ec);  // an error shows as no answer
    const auto resend_at = std::min(deadline, Clock::now() + kResendInterval);
    for (auto now = Clock::now(); now < resend_at; now = Clock::now()) {
      pollfd pfd{socket.native_handle(), POLLIN, 0};
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(resend_at - now);
      if (::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(wait.count(), 1))) <= 0) continue;
      asio::ip::udp::endpoint from;
      const std::size_t n = socket.receive_from(asio::buffer(buf), from, 0, ec);
      if (ec || from != peer) continue;  // ICMP refusals, strangers
      auto d = decode_control(std::span<const std::uint8_t>(buf.data(), n));
      if (!d) continue;
      const auto* ack = std::get_if<ControlAck>(&*d);
      if (ack != nullptr && ack->seq == seq) return true;
    }
  } while (Clock::now() < deadline);
  char within[32];
  std::snprintf(within, sizeof within, "%.1f s", timeout_s);
  return Error{ErrorCode::kTimeout, "peer " + format_endpoint(peer) + " did not acknowledge control " +
                                        what + " within " + within +
                                        " (is it running, with this runner's control_key?)"};
}

}  // namespace kittengrad::live
