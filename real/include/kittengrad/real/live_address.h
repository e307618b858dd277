// kittengrad/real/live_address.h — the one place where a UDP endpoint becomes the core's
// Address and back, and where "HOST:PORT" is read.
//
// Live, an IPv4 endpoint's Address is IPv4 << 16 | port; an IPv6 endpoint's is a handle
// from the process's address book (address_book.h; an IPv4-mapped one, ::ffff:a.b.c.d,
// is its IPv4 address). A ring is all IPv4 or all IPv6: a peer has one socket.
#pragma once

#include <asio/ip/udp.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kittengrad/messages.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

[[nodiscard]] asio::ip::udp::endpoint endpoint_of(Address a);
// Nullopt only when the address book is full (an IPv6 endpoint never seen before).
[[nodiscard]] std::optional<Address> address_of(const asio::ip::udp::endpoint& e);

// "127.0.0.1:7400", "[::1]:7400" or "host.example:7400" (resolved; the first IPv4 answer
// is preferred). Errors (kBadRequest) name the text and say what is wrong.
[[nodiscard]] Result<asio::ip::udp::endpoint> resolve_host_port(std::string_view text);
// The same, without name resolution: numeric addresses only.
[[nodiscard]] Result<asio::ip::udp::endpoint> parse_host_port(std::string_view text);

// Where a client binds to reach `remote`: loopback of its family for a loopback remote,
// else the family's any-address; port 0.
[[nodiscard]] asio::ip::udp::endpoint local_endpoint_for(const asio::ip::udp::endpoint& remote);

// "127.0.0.1:7400", "[::1]:7400".
[[nodiscard]] std::string format_endpoint(const asio::ip::udp::endpoint& e);
[[nodiscard]] std::string format_address(Address a);

}  // namespace kittengrad::live
