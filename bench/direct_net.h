// direct_net.h — a minimal in-process network for benchmarks: FIFO delivery with zero
// latency, storage that completes in order at once, a clock moved by hand, wakeups run
// when due. Benchmarks that need faults, latency or many peers use the deterministic test
// network instead.
//
// It also measures what a benchmark of a protocol step wants to know besides bytes:
// - the longest single event (a datagram handled, a storage completion, a wakeup) in wall
//   time: the time a live peer would answer nobody else;
// - the depth of the exchange: every datagram is one hop deeper than the event that sent
//   it, so with zero latency the deepest hop / 2 is the number of round trips a run
//   would take on a real network, however many datagrams travel side by side.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "kittengrad/client.h"
#include "kittengrad/peer.h"

namespace kittengrad::bench {

class DirectNet {
 public:
  struct Counts {
    std::array<std::uint64_t, kMessageKinds> messages{};
    std::array<std::uint64_t, kMessageKinds> bytes{};
  };

  // A peer at `addr`; returns it for lifecycle calls.
  Peer& add_peer(const PeerConfig& config, const KeyPair& keys, Address addr) {
    auto node = std::make_unique<Node>(this, addr);
    auto peer = std::make_unique<Peer>(config, keys, addr,
                                       Env{node.get(), node.get(), node.get()}, addr + 1);
    Peer& p = *peer;
    nodes_[addr] = std::move(node);
    peers_[addr] = std::move(peer);
    return p;
  }
  Client& add_client(Address addr) {
    auto node = std::make_unique<Node>(this, addr);
    client_ = std::make_unique<Client>(ClientConfig{}, addr, node.get(), node.get());
    client_addr_ = addr;
    nodes_[addr] = std::move(node);
    return *client_;
  }

  // Delivers datagrams and storage completions, and runs wakeups that are due, until
  // nothing is left to do at now_us.
  void pump() {
    for (;;) {
      while (!queue_.empty()) {
        Item item = std::move(queue_.front());
        queue_.pop_front();
        depth_ = item.depth;
        if (item.to == client_addr_ && client_) {
          client_->on_datagram(item.from, item.message);
          continue;
        }
        auto it = peers_.find(item.to);
        if (it == peers_.end()) continue;
        if (item.token) {
          timed(item.to, EventKind::kStorage, [&] { it->second->on_persisted(item.token); });
        } else {
          const std::size_t kind = message_kind_index(item.message.body);
          timed(item.to, EventKind::kDatagram, [&] { it->second->on_datagram(item.from, item.message); },
                kind);
        }
      }
      bool woke = false;
      for (auto& [addr, peer] : peers_) {
        const std::optional<Time> due = peer->next_wakeup();
        if (!due || *due > now_us) continue;
        depth_ = max_depth_;
        Peer* p = peer.get();
        timed(addr, EventKind::kWakeup, [p] { p->on_wakeup(); });
        woke = true;
      }
      if (!woke && queue_.empty()) return;
    }
  }

  Counts& counts() { return counts_; }
  void reset_counts() {
    counts_ = Counts{};
    depth_ = 0;
    max_depth_ = 0;
  }
  Time now_us = 0;

  // The longest event since reset_events() (by its thread CPU time; the longest wall time
  // too), and how many ran.
  enum class EventKind : std::uint8_t { kDatagram, kStorage, kWakeup };
  struct Longest {
    double ms = 0;       // CPU
    double wall_ms = 0;  // wall, of whichever event took longest by the wall clock
    Address peer = 0;
    EventKind kind = EventKind::kDatagram;
    std::size_t message_kind = 0;  // for a datagram
    std::uint64_t events = 0;
    std::uint64_t wakeups = 0;
  };
  [[nodiscard]] const Longest& longest() const { return longest_; }
  void reset_events() { longest_ = Longest{}; }
  // Round trips of the exchange since reset_counts(): the deepest datagram's hop / 2.
  [[nodiscard]] std::uint64_t round_trips() const { return (max_depth_ + 1) / 2; }

 private:
  struct Item {
    Address from = 0, to = 0;
    Message message;
    std::uint64_t token = 0;  // non-zero: a storage completion
    std::uint64_t depth = 0;  // hops from the start of the exchange
  };

  // The CPU time of this thread: on a shared machine the wall time of a short event also
  // counts the time others held the core, which says nothing of the event's own work.
  static double thread_cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  }

  template <typename F>
  void timed(Address peer, EventKind kind, F&& f, std::size_t message_kind = 0) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_ms();
    f();
    const double cpu = thread_cpu_ms() - c0;
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ++longest_.events;
    if (kind == EventKind::kWakeup) ++longest_.wakeups;
    longest_.wall_ms = std::max(longest_.wall_ms, ms);
    if (cpu > longest_.ms) {
      longest_.ms = cpu;
      longest_.peer = peer;
      longest_.kind = kind;
      longest_.message_kind = message_kind;
    }
  }
  struct Node : Clock, Network, Storage {
    Node(DirectNet* net, Address addr) : net_(net), addr_(addr) {}
    Time now() const override { return net_->now_us; }
    std::int64_t wall_ms() const override { return 1'700'000'000'000 + net_->now_us / 1000; }
    void send(Address to, Message m) override {
      const std::size_t kind = message_kind_index(m.body);
      ++net_->counts_.messages[kind];
      net_->counts_.bytes[kind] += wire_size(m);
      const std::uint64_t depth = net_->depth_ + 1;
      net_->max_depth_ = std::max(net_->max_depth_, depth);
      net_->queue_.push_back(Item{addr_, to, std::move(m), 0, depth});
    }
    void persist(std::vector<StorageRecord>, std::uint64_t token) override {
      // A disk is no network hop: the completion keeps the depth of what asked for it.
      net_->queue_.push_back(Item{addr_, addr_, Message{}, token, net_->depth_});
    }
    DirectNet* net_;
    Address addr_;
  };

  std::map<Address, std::unique_ptr<Node>> nodes_;
  std::map<Address, std::unique_ptr<Peer>> peers_;
  std::unique_ptr<Client> client_;
  Address client_addr_ = ~Address{0};
  std::deque<Item> queue_;
  Counts counts_;
  std::uint64_t depth_ = 0, max_depth_ = 0;
  Longest longest_;
};

}  // namespace kittengrad::bench
