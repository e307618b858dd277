// kittengrad/real/address_book.h — IPv6 endpoints as the core's 64-bit Addresses.
//
// The core names a peer by an Address (messages.h). An IPv4 endpoint fits in 48 bits
// (address << 16 | port) and is its own Address; an IPv6 endpoint does not, so the live
// backend gives each one it meets a handle at or above 2^48 and keeps the endpoint here.
// On the wire a node's address travels whole (a family byte, then 6 or 18 bytes), so a
// handle never leaves the process: each process keeps its own book.
//
// Bounded: at most kAddressBookMax endpoints; past that, a datagram naming a new IPv6
// endpoint is refused (decode fails), never an old handle reused. One book per process,
// used from the loop's thread only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "kittengrad/messages.h"

namespace kittengrad::codec {

struct Ipv6Endpoint {
  std::array<std::uint8_t, 16> address{};
  std::uint16_t port = 0;
  auto operator<=>(const Ipv6Endpoint&) const = default;
};

inline constexpr std::size_t kAddressBookMax = 1 << 16;
inline constexpr Address kIpv6HandleBase = Address{1} << 48;

[[nodiscard]] inline bool is_ipv6_handle(Address a) { return a >= kIpv6HandleBase; }

class AddressBook {
 public:
  // The endpoint's handle, made on first sight; nullopt when the book is full.
  [[nodiscard]] std::optional<Address> intern(const Ipv6Endpoint& e);
  // The endpoint behind a handle this book made.
  [[nodiscard]] std::optional<Ipv6Endpoint> find(Address handle) const;
  [[nodiscard]] std::size_t size() const { return endpoints_.size(); }

 private:
  std::vector<Ipv6Endpoint> endpoints_;         // handle - kIpv6HandleBase -> endpoint
  std::map<Ipv6Endpoint, Address> handles_;
};

// The process's book.
[[nodiscard]] AddressBook& address_book();

}  // namespace kittengrad::codec
