// A peer checks each entry's signature once: entries it holds are not checked again on any
// path (a read merging other replicas' copies, anti-entropy, repeated pushes), and the
// verifier it receives through Env is the one it uses.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "netcore.h"
#include "kittengrad/peer.h"
#include "kittengrad/verifier.h"

namespace kittengrad::testnet {
namespace {

// Counts the checks asked for each entry (by hash), and answers as verify_entry.
class CountingVerifier final : public SignatureVerifier {
 public:
  bool verify(const Entry& e) override {
    ++asked[entry_hash(e)];
    return verify_entry(e);
  }
  [[nodiscard]] std::size_t max_per_entry() const {
    std::size_t m = 0;
    for (const auto& [h, n] : asked) m = std::max(m, n);
    return m;
  }
  [[nodiscard]] std::size_t total() const {
    std::size_t t = 0;
    for (const auto& [h, n] : asked) t += n;
    return t;
  }
  std::map<Hash256, std::size_t> asked;
};

class Node final : public Endpoint {
 public:
  Node(NetCore& core, Address addr, std::unique_ptr<Peer> peer)
      : peer(std::move(peer)) { core.attach(addr, this); }
  void on_datagram(Address from, const Message& m) override { peer->on_datagram(from, m); }
  void on_persisted(std::uint64_t token) override { peer->on_persisted(token); }
  void on_wakeup() override { peer->on_wakeup(); }
  std::optional<Time> next_wakeup() const override { return peer->next_wakeup(); }
  std::unique_ptr<Peer> peer;
};

class Inbox final : public Endpoint {
 public:
  void on_datagram(Address, const Message& m) override { got.push_back(m); }
  void on_persisted(std::uint64_t) override {}
  void on_wakeup() override {}
  std::optional<Time> next_wakeup() const override { return std::nullopt; }
  std::vector<Message> got;
};

TEST(VerifyOnce, HeldEntriesAreNeverCheckedAgain) {
  ASSERT_TRUE(crypto_init());
  NetConfig config;
  config.seed = 41;
  NetCore core(config);
  PeerConfig pc;
  pc.read_quorum = 3;  // every read merges the other two replicas' copies
  pc.max_datagram_bytes = 65000;  // one page holds the whole 200-entry set
  pc.anti_entropy_interval = 5 * kMicrosPerSecond;
  std::vector<CountingVerifier> verifiers(3);
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<NodeRef> members;
  for (std::size_t i = 0; i < 3; ++i) {
    const Address a = core.add_peer_node();
    Env env = core.node_env(a);
    env.verifier = &verifiers[i];
    auto peer = std::make_unique<Peer>(pc, keypair_from_u64(100 + i), a, env, 7 + i);
    peer->serve("default");
    members.push_back(peer->self());
    nodes.push_back(std::make_unique<Node>(core, a, std::move(peer)));
  }
  std::sort(members.begin(), members.end(),
            [](const NodeRef& x, const NodeRef& y) { return x.id < y.id; });
  for (auto& n : nodes) {
    n->peer->start_instant("default", members);
    core.kick(n->peer->self().addr);
  }
  Inbox client;
  const Address client_addr = core.add_client_node();
  core.attach(client_addr, &client);
  auto send = [&](Address to, Body body) {
    core.node_env(client_addr).network->send(to, Message{"default", std::move(body)});
  };

  const KeyPair author = keypair_from_u64(99);
  const Cid canonical = Cid::of_record("hot");
  std::vector<Entry> entries;
  for (int i = 0; i < 200; ++i)
    entries.push_back(make_entry(author, "default", canonical,
                                 Cid::of_record("u" + std::to_string(i)), 1000 + i));
  const Address coordinator = nodes[0]->peer->self().addr;
  send(coordinator, WriteRequest{1, entries});
  // The same entries again, through a write and a push: already held, so not checked.
  core.run_for(2 * kMicrosPerSecond);
  send(coordinator, WriteRequest{2, entries});
  send(nodes[1]->peer->self().addr, Replicate{3, entries});
  core.run_for(20 * kMicrosPerSecond);  // anti-entropy rounds too
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(nodes[i]->peer->store("default")->entry_count(), entries.size()) << "peer " << i;
    EXPECT_EQ(verifiers[i].max_per_entry(), 1u) << "peer " << i << " checked an entry twice";
    EXPECT_LE(verifiers[i].total(), entries.size()) << "peer " << i;
  }
  const std::size_t coordinator_checks = verifiers[0].total();
  EXPECT_EQ(coordinator_checks, entries.size());

  // Ten reads of the 200-entry set, each merging two other replicas' copies: no checks.
  std::vector<std::size_t> before;
  for (const auto& v : verifiers) before.push_back(v.total());
  for (std::uint64_t r = 0; r < 10; ++r) send(coordinator, ReadRequest{10 + r, canonical, std::nullopt});
  core.run_for(5 * kMicrosPerSecond);
  std::size_t answered = 0;
  for (const Message& m : client.got) {
    if (const auto* reply = std::get_if<ClientReply>(&m.body); reply && reply->req >= 10) {
      EXPECT_EQ(reply->error, ErrorCode::kOk);
      EXPECT_EQ(reply->entries.size(), entries.size());
      ++answered;
    }
  }
  EXPECT_EQ(answered, 10u);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(verifiers[i].total(), before[i]) << "a read checked held entries at peer " << i;
}

}  // namespace
}  // namespace kittengrad::testnet
