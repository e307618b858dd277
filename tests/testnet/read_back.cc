// read_back.cc — final reads through a client (see read_back.h).
#include "read_back.h"

#include <algorithm>
#include <memory>

namespace kittengrad::testnet {

namespace {

struct FinalLookup {
  std::uint64_t op = 0;
  std::string ns;
  RingId key;
  std::size_t gateway = 0;
};

std::string name_of(const FinalLookup& p) {
  return "final lookup of key " + p.key.short_hex() + " in '" + p.ns + "' through slot " +
         std::to_string(p.gateway);
}

}  // namespace

ReadBack read_back(TestNetwork& net, Time budget) {
  ReadBack out;
  const Time start = net.now();
  const std::size_t client = net.add_client();
  Rng rng = net.rng("read-back");
  // Shared with the scheduled lookups: one that fires after the budget finds it alive.
  auto shared = std::make_shared<std::vector<FinalLookup>>();
  std::vector<FinalLookup>& pending = *shared;
  Time at = start;
  for (const auto& [where, canonical] : net.written_canonicals()) {
    const std::vector<std::size_t> gateways = net.joined_slots(where.first);
    if (gateways.empty()) {
      out.failures.push_back("final lookup of key " + where.second.short_hex() + " in '" +
                             where.first + "': no joined peer to ask");
      continue;
    }
    const std::size_t gateway = gateways[rng.below(gateways.size())];
    const std::size_t index = pending.size();
    pending.push_back(FinalLookup{0, where.first, where.second, gateway});
    const Cid cid = canonical;
    const std::string ns = where.first;
    // Paced: a burst of thousands of reads at one instant is not what users do.
    net.at(at, [&net, shared, index, client, cid, gateway, ns] {
      (*shared)[index].op = net.lookup(client, cid, gateway, ns, /*in_history=*/false);
    });
    at += kReadBackGap;
  }
  out.lookups = pending.size();
  auto all_done = [&] {
    return std::all_of(pending.begin(), pending.end(), [&net](const FinalLookup& p) {
      const auto it = net.ops().find(p.op);
      return p.op != 0 && it != net.ops().end() && it->second.done;
    });
  };
  const Time step = 100 * kMicrosPerMs;
  while (net.now() < start + budget && !all_done()) net.run_for(step);
  out.took = net.now() - start;
  for (const FinalLookup& p : pending) {
    const auto it = net.ops().find(p.op);
    if (p.op == 0 || it == net.ops().end() || !it->second.done) {
      out.failures.push_back(name_of(p) + " did not complete within " +
                             std::to_string(budget / kMicrosPerSecond) + " s");
      continue;
    }
    const OpResult& r = it->second.result;
    if (r.error != ErrorCode::kOk) {
      out.failures.push_back(name_of(p) + " failed: " + std::string(error_name(r.error)) +
                             (r.detail.empty() ? "" : " (" + r.detail + ")"));
      continue;
    }
    std::set<Hash256>& held = out.reads[{p.ns, p.key}];
    for (const Entry& e : r.entries) held.insert(entry_hash(e));
  }
  return out;
}

}  // namespace kittengrad::testnet
