// read_back.cc — final reads through a client (see read_back.h).
//
// The reading client is a raw client node of the engine with a Client of its own, not one
// of the network's clients: its lookups stay out of ops() and history(), which record the
// run being judged.
#include "read_back.h"

#include <map>

namespace kittengrad::testnet {

namespace {

class ReaderEndpoint final : public Endpoint {
 public:
  explicit ReaderEndpoint(Client& client) : client_(client) {}
  void on_datagram(Address from, const Message& m) override { client_.on_datagram(from, m); }
  void on_persisted(std::uint64_t) override {}
  void on_wakeup() override { client_.on_wakeup(); }
  std::optional<Time> next_wakeup() const override { return client_.next_wakeup(); }

 private:
  Client& client_;
};

struct FinalLookup {
  std::string ns;
  RingId key;
  std::size_t gateway = 0;
  std::optional<OpResult> result;
};

std::string name_of(const FinalLookup& f) {
  return "final lookup of key " + f.key.short_hex() + " in '" + f.ns + "' through slot " +
         std::to_string(f.gateway);
}

}  // namespace

ReadBack read_back(TestNetwork& net, Time budget) {
  ReadBack out;
  const Time start = net.now();
  NetCore& core = net.core();
  const Address addr = core.add_client_node();
  const Env env = core.node_env(addr);
  Client client(net.config().client, addr, env.clock, env.network);
  ReaderEndpoint endpoint(client);
  core.attach(addr, &endpoint);

  Rng rng = net.rng("read-back");
  std::map<std::uint64_t, FinalLookup> lookups;  // by the client's op id
  auto harvest = [&] {
    for (OpResult& r : client.take_completed()) {
      auto it = lookups.find(r.op);
      if (it != lookups.end()) it->second.result = std::move(r);
    }
  };
  // Paced, one every kReadBackGap: a burst of thousands of reads at one instant is not
  // what users do.
  for (const auto& [where, canonical] : net.written_canonicals()) {
    const std::vector<std::size_t> gateways = net.joined_slots(where.first);
    if (gateways.empty()) {
      out.failures.push_back("final lookup of key " + where.second.short_hex() + " in '" +
                             where.first + "': no joined peer to ask");
      continue;
    }
    const std::size_t gateway = gateways[rng.below(gateways.size())];
    const std::uint64_t op = client.lookup(where.first, canonical, gateway);
    lookups.emplace(op, FinalLookup{where.first, where.second, gateway, std::nullopt});
    core.kick(addr);
    net.run_for(kReadBackGap);
    harvest();
  }
  out.lookups = lookups.size();
  while (client.in_flight() > 0 && net.now() < start + budget) {
    net.run_for(100 * kMicrosPerMs);
    harvest();
  }
  out.took = net.now() - start;
  core.retire(addr);  // the client and its endpoint end here

  for (const auto& [op, f] : lookups) {
    if (!f.result) {
      out.failures.push_back(name_of(f) + " did not complete within " +
                             std::to_string(budget / kMicrosPerSecond) + " s");
      continue;
    }
    const OpResult& r = *f.result;
    if (r.error != ErrorCode::kOk) {
      out.failures.push_back(name_of(f) + " failed: " + std::string(error_name(r.error)) +
                             (r.detail.empty() ? "" : " (" + r.detail + ")"));
      continue;
    }
    std::set<Hash256>& held = out.reads[{f.ns, f.key}];
    for (const Entry& e : r.entries) held.insert(entry_hash(e));
  }
  return out;
}

}  // namespace kittengrad::testnet
