// live_subscribe.h — `kittengrad subscribe --peer HOST:PORT [--from HEIGHT]
// [--until-caught-up]`: one peer's journal as JSON lines: {"height": H, "timestamp_ms": T,
// "entries": [...]} per block, {"caught_up": true, "height": H} once the backlog that
// existed at the start is in, then {"live": {...}} per live entry. Exit 0 when stopped
// (SIGINT, SIGTERM, or caught up with --until-caught-up), 1 when the peer is unreachable
// or refuses, 2 bad usage.
#pragma once

#include <cstdint>
#include <string>

namespace kittengrad::live {

struct SubscribeOptions {
  std::string peer;
  std::string ns = "default";
  std::string identity;  // the session's key file (client_identity: empty is the default)
  std::uint64_t from = 1;
  bool until_caught_up = false;
  long timeout_ms = 3000;  // to reach the peer at the start
  std::size_t max_datagram_bytes = 1200;
};

[[nodiscard]] int run_subscribe(const SubscribeOptions& o);

}  // namespace kittengrad::live
