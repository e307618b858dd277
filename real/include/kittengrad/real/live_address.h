// kittengrad/real/live_address.h — the one place where a UDP endpoint becomes the core's
// Address and back, and where "HOST:PORT" is read.
//
// The core's Address is 48 bits on the wire (codec.h): live, IPv4 << 16 | port. An IPv6
// endpoint has no Address (an IPv4-mapped one, ::ffff:a.b.c.d, is its IPv4 address), so
// peers of a ring reach each other over IPv4; operator commands may ask over either.
#pragma once

#include <asio/ip/udp.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kittengrad/messages.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

[[nodiscard]] asio::ip::udp::endpoint endpoint_of(Address a);
// Nullopt for an endpoint that is neither IPv4 nor IPv4-mapped IPv6.
[[nodiscard]] std::optional<Address> address_of(const asio::ip::udp::endpoint& e);

// "127.0.0.1:7400", "[::1]:7400" or "host.example:7400" (resolved; the first IPv4 answer
// is preferred). Errors (kBadRequest) name the text and say what is wrong.
[[nodiscard]] Result<asio::ip::udp::endpoint> resolve_host_port(std::string_view text);
// The same, without name resolution: numeric addresses only.
[[nodiscard]] Result<asio::ip::udp::endpoint> parse_host_port(std::string_view text);

// "127.0.0.1:7400", "[::1]:7400".
[[nodiscard]] std::string format_endpoint(const asio::ip::udp::endpoint& e);
[[nodiscard]] std::string format_address(Address a);

}  // namespace kittengrad::live
