// live_admin_client.h — the asking side of the admin datagrams: one query to one peer,
// page after page, resent while unanswered, bounded by a timeout.
#pragma once

#include <asio/ip/udp.hpp>
#include <chrono>
#include <vector>

#include "kittengrad/real/live_admin.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

// Every item the peer has for `query`. kTimeout when a page is not answered within
// `timeout` (all pages together), with a detail naming the peer.
[[nodiscard]] Result<std::vector<admin::Item>> ask_peer(const asio::ip::udp::endpoint& peer,
                                                        admin::Query query,
                                                        std::chrono::milliseconds timeout);

}  // namespace kittengrad::live
