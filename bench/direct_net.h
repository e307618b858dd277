// direct_net.h — a minimal in-process network for benchmarks: FIFO delivery with zero
// latency, storage that completes in order at once, a clock moved by hand. Benchmarks
// that need faults, latency or many peers use the deterministic test network instead.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <memory>
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

  // Delivers datagrams and storage completions until none is left.
  void pump() {
    while (!queue_.empty()) {
      Item item = std::move(queue_.front());
      queue_.pop_front();
      if (item.to == client_addr_ && client_) {
        client_->on_datagram(item.from, item.message);
        continue;
      }
      auto it = peers_.find(item.to);
      if (it == peers_.end()) continue;
      if (item.token) {
        it->second->on_persisted(item.token);
      } else {
        it->second->on_datagram(item.from, item.message);
      }
    }
  }

  Counts& counts() { return counts_; }
  void reset_counts() { counts_ = Counts{}; }
  Time now_us = 0;

 private:
  struct Item {
    Address from = 0, to = 0;
    Message message;
    std::uint64_t token = 0;  // non-zero: a storage completion
  };
  struct Node : Clock, Network, Storage {
    Node(DirectNet* net, Address addr) : net_(net), addr_(addr) {}
    Time now() const override { return net_->now_us; }
    std::int64_t wall_ms() const override { return 1'700'000'000'000 + net_->now_us / 1000; }
    void send(Address to, Message m) override {
      const std::size_t kind = message_kind_index(m.body);
      ++net_->counts_.messages[kind];
      net_->counts_.bytes[kind] += wire_size(m);
      net_->queue_.push_back(Item{addr_, to, std::move(m), 0});
    }
    void persist(std::vector<StorageRecord>, std::uint64_t token) override {
      net_->queue_.push_back(Item{addr_, addr_, Message{}, token});
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
};

}  // namespace kittengrad::bench
