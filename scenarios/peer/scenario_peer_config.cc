// scenario_peer_config.cc — [overlay] keys to PeerConfig (see scenario_peer_config.h).
#include "kittengrad/scenario_peer_config.h"

#include <cmath>

namespace kittengrad {

PeerConfig peer_config_of(const OverlaySection& o) {
  auto us = [](double seconds) { return static_cast<Time>(std::llround(seconds * 1e6)); };
  PeerConfig c;
  c.replication = static_cast<int>(o.replication);
  c.write_quorum = static_cast<int>(o.write_quorum);
  c.read_quorum = static_cast<int>(o.read_quorum);
  c.successors = static_cast<int>(o.successors);
  c.stabilize_interval = us(o.stabilize_interval_s);
  c.fix_fingers_interval = us(o.fix_fingers_interval_s);
  c.check_predecessor_interval = us(o.check_predecessor_interval_s);
  c.anti_entropy_interval = us(o.anti_entropy_interval_s);
  c.journal_block_interval = us(o.journal_block_interval_s);
  c.request_timeout = static_cast<Time>(std::llround(o.request_timeout_ms * 1000.0));
  c.max_datagram_bytes = static_cast<std::size_t>(o.max_datagram_bytes);
  return c;
}

}  // namespace kittengrad
