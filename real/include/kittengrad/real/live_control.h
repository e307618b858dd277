// kittengrad/real/live_control.h — what `kittengrad live` needs to run peers as the
// simulator runs hosts: the loopback address of each host of a run, and the runner's side
// of the control datagrams (live_control_wire.h) that inject partitions and loss bursts at
// the peers' transport.
//
// Hosts are numbered as in the simulator: peer slots 0 .. peers-1 (a fresh identity that
// replaces a departed one reuses its slot), then the extra hosts (the workload client is
// host `peers`, ...). Host h listens on 127.77.(k >> 8).(k & 255) with k = h + 1, so any peer
// tells another's host from its address alone (run_host_index), which is how a partition
// names its sides and the latency model its pairs. Linux routes all of 127.0.0.0/8 to
// loopback: no set-up is needed.
//
//   auto ep = asio::ip::udp::endpoint(run_host_address(3), 7400);
//   Result<bool> r = send_control(ep, "127.77.0.4:7400", runner_keys, ++seq,
//                                 Partition{{0, 1}}, 2.0);
#pragma once

#include <asio/ip/address.hpp>
#include <asio/ip/address_v4.hpp>
#include <asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "kittengrad/crypto.h"
#include "kittengrad/real/live_control_wire.h"
#include "kittengrad/result.h"

namespace kittengrad::live {

// REQUIRES: host < kRunHostsMax.
[[nodiscard]] asio::ip::address_v4 run_host_address(std::size_t host);
// The host whose address this is; nullopt for anything outside 127.77.0.0/16 (and for
// 127.77.0.0 and 127.77.255.255). An IPv4-mapped IPv6 address counts as its IPv4 address.
[[nodiscard]] std::optional<std::size_t> run_host_index(const asio::ip::address& a);

// Sends `command` to the peer at `peer` (whose config says listen = `peer_listen_text`),
// signed by `runner` under sequence number `seq`, every 100 ms until the peer acknowledges
// that seq or `timeout_s` passes. Blocking (its own socket). Use a seq above every seq
// sent to that peer before in the run — also across the peer's restarts, which forget the
// last seq obeyed, so a seq that grows for the whole run (a counter from the wall clock at
// the run's start) is safest. A peer acknowledges a repeat of the seq it obeyed last
// without obeying it twice, so retries are safe. Errors (kTimeout) name the peer, the
// command and the seq.
[[nodiscard]] Result<bool> send_control(const asio::ip::udp::endpoint& peer,
                                        const std::string& peer_listen_text,
                                        const KeyPair& runner, std::uint64_t seq,
                                        const ControlCommand& command, double timeout_s);

}  // namespace kittengrad::live
