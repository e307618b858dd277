// live_address.cc — endpoint <-> Address, and HOST:PORT text.
#include "kittengrad/real/live_address.h"

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <charconv>

#include "kittengrad/real/address_book.h"

namespace kittengrad::live {

namespace {

Error bad(std::string_view text, const std::string& why) {
  return Error{ErrorCode::kBadRequest, "'" + std::string(text) + "': " + why};
}

struct HostPort {
  std::string host;
  unsigned short port = 0;
};

// Splits "HOST:PORT" or "[V6]:PORT".
Result<HostPort> split(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return bad(text, "expected HOST:PORT, such as 127.0.0.1:7400");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return bad(text, "the port must be a number in 1..65535");
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad(text, "an IPv6 address goes in brackets: [::1]:7400");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad(text, "an IPv6 address goes in brackets: [::1]:7400");
  }
  return HostPort{std::string(host), static_cast<unsigned short>(port)};
}

}  // namespace

asio::ip::udp::endpoint endpoint_of(Address a) {
  if (codec::is_ipv6_handle(a)) {
    const std::optional<codec::Ipv6Endpoint> e = codec::address_book().find(a);
    if (!e) return {};  // not a handle of this process: nowhere (sends to it fail, counted)
    return {asio::ip::address_v6(e->address), e->port};
  }
  return {asio::ip::address_v4(static_cast<asio::ip::address_v4::uint_type>(a >> 16)),
          static_cast<unsigned short>(a & 0xffff)};
}

std::optional<Address> address_of(const asio::ip::udp::endpoint& e) {
  asio::ip::address_v4 v4;
  if (e.address().is_v4()) {
    v4 = e.address().to_v4();
  } else if (e.address().to_v6().is_v4_mapped()) {
    v4 = asio::ip::make_address_v4(asio::ip::v4_mapped, e.address().to_v6());
  } else {
    return codec::address_book().intern(codec::Ipv6Endpoint{e.address().to_v6().to_bytes(), e.port()});
  }
  return static_cast<Address>(v4.to_uint()) << 16 | e.port();
}

Result<asio::ip::udp::endpoint> parse_host_port(std::string_view text) {
  auto hp = split(text);
  if (!hp) return hp.error();
  asio::error_code ec;
  const asio::ip::address addr = asio::ip::make_address(hp->host, ec);
  if (ec) return bad(text, "'" + hp->host + "' is not a numeric IPv4 or IPv6 address");
  return asio::ip::udp::endpoint(addr, hp->port);
}

Result<asio::ip::udp::endpoint> resolve_host_port(std::string_view text) {
  auto hp = split(text);
  if (!hp) return hp.error();
  asio::error_code ec;
  const asio::ip::address addr = asio::ip::make_address(hp->host, ec);
  if (!ec) return asio::ip::udp::endpoint(addr, hp->port);
  asio::io_context io;
  asio::ip::udp::resolver resolver(io);
  const auto results = resolver.resolve(hp->host, std::to_string(hp->port), ec);
  if (ec || results.empty()) {
    return bad(text, "cannot resolve '" + hp->host + "'" + (ec ? ": " + ec.message() : ""));
  }
  for (const auto& r : results) {
    if (r.endpoint().address().is_v4()) return r.endpoint();
  }
  return results.begin()->endpoint();
}

std::string format_endpoint(const asio::ip::udp::endpoint& e) {
  if (e.address().is_v6()) return "[" + e.address().to_string() + "]:" + std::to_string(e.port());
  return e.address().to_string() + ":" + std::to_string(e.port());
}

std::string format_address(Address a) { return format_endpoint(endpoint_of(a)); }

asio::ip::udp::endpoint local_endpoint_for(const asio::ip::udp::endpoint& remote) {
  const bool v4 = remote.address().is_v4();
  if (remote.address().is_loopback()) {
    return {v4 ? asio::ip::address(asio::ip::address_v4::loopback())
               : asio::ip::address(asio::ip::address_v6::loopback()),
            0};
  }
  return {v4 ? asio::ip::address(asio::ip::address_v4::any())
             : asio::ip::address(asio::ip::address_v6::any()),
          0};
}

}  // namespace kittengrad::live
