// address_book.cc — handles for IPv6 endpoints (see address_book.h).
#include "kittengrad/real/address_book.h"

namespace kittengrad::codec {

std::optional<Address> AddressBook::intern(const Ipv6Endpoint& e) {
  if (auto it = handles_.find(e); it != handles_.end()) return it->second;
  if (endpoints_.size() >= kAddressBookMax) return std::nullopt;
  const Address handle = kIpv6HandleBase + endpoints_.size();
  endpoints_.push_back(e);
  handles_.emplace(e, handle);
  return handle;
}

std::optional<Ipv6Endpoint> AddressBook::find(Address handle) const {
  if (!is_ipv6_handle(handle) || handle - kIpv6HandleBase >= endpoints_.size()) return std::nullopt;
  return endpoints_[handle - kIpv6HandleBase];
}

AddressBook& address_book() {
  static AddressBook book;
  return book;
}

}  // namespace kittengrad::codec
