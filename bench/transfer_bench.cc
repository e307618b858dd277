// Large transfers in 1,200-byte datagrams on the deterministic test network (20 ms one
// way, so 40 ms a round trip): the hand-off of a 100,000-key range by a peer that leaves,
// and the catch-up of a peer that missed 1,000,000 entries of a neighbour's journal
// (blocks of 1,024 entries, each far larger than a datagram, so it travels in pieces).
// Reported: simulated time, datagrams and bytes of the transfer, round trips (simulated
// time over the round trip), and the longest single event of any peer in thread CPU time.
//
// Every entry that travels is really signed and is verified by the receiver, as in a
// live run; the signing is setup and not timed. KG_TRANSFER_SCALE=0.1 runs both at a
// tenth of the size (a quick look).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

#include "kittengrad/journal.h"
#include "kittengrad/peer.h"
#include "netcore.h"

namespace kittengrad::bench {
namespace {

using testnet::NetConfig;
using testnet::NetCore;

constexpr Time kOneWay = 20 * kMicrosPerMs;

double scale() {
  const char* s = std::getenv("KG_TRANSFER_SCALE");
  return s ? std::clamp(std::atof(s), 0.001, 1.0) : 1.0;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// A Peer on the engine, with the CPU time of its longest event.
class PeerNode : public testnet::Endpoint {
 public:
  PeerNode(NetCore& core, const PeerConfig& config, const KeyPair& keys)
      : core_(core), addr_(core.add_peer_node()),
        peer_(config, keys, addr_, core.node_env(addr_), addr_ + 11) {
    peer_.serve("default");
  }
  void start() { core_.attach(addr_, this); }
  void kick() { core_.kick(addr_); }
  Peer& peer() { return peer_; }
  Address address() const { return addr_; }
  double longest_ms = 0;

  void on_datagram(Address from, const Message& m) override {
    timed([&] { peer_.on_datagram(from, m); }, message_kind(m.body));
  }
  void on_persisted(std::uint64_t token) override {
    timed([&] { peer_.on_persisted(token); }, "storage completion");
  }
  void on_wakeup() override { timed([&] { peer_.on_wakeup(); }, "wakeup"); }
  std::string longest_what;
  [[nodiscard]] std::optional<Time> next_wakeup() const override { return peer_.next_wakeup(); }

 private:
  template <typename F>
  void timed(F&& f, const char* what) {
    const double t0 = thread_cpu_ms();
    f();
    const double ms = thread_cpu_ms() - t0;
    if (ms > longest_ms) {
      longest_ms = ms;
      longest_what = what;
    }
  }
  NetCore& core_;
  Address addr_;
  Peer peer_;
};

NetConfig network() {
  NetConfig c;
  c.seed = 1;
  c.latency_min = kOneWay;
  c.latency_max = kOneWay;
  c.peer.anti_entropy_interval = 0;  // the transfer alone
  return c;
}

// n signed entries whose keys lie in (from, to].
std::vector<Entry> entries_in(const KeyRange& r, std::size_t n, const std::string& tag) {
  const KeyPair author = keypair_from_u64(99);
  std::vector<Entry> out;
  out.reserve(n);
  for (std::uint64_t i = 0; out.size() < n; ++i) {
    const Cid c = Cid::of_record(tag + std::to_string(i));
    if (!in_half_open(c.ring_key(), r.from, r.to)) continue;
    out.push_back(make_entry(author, "default", c, c, 1000 + static_cast<std::int64_t>(i)));
  }
  return out;
}

std::vector<StorageRecord> journal_records(const KeyPair& keys, const std::vector<Entry>& entries) {
  Journal j(keys, 5000, 1024);
  std::vector<StorageRecord> out;
  for (const Entry& e : entries) {
    j.append(e, 0);
    if (j.should_cut(0)) out.push_back(StorageRecord{"default", j.cut(0)});
  }
  if (!j.pending().empty()) out.push_back(StorageRecord{"default", j.cut(0)});
  return out;
}

std::vector<NodeRef> sorted_members(std::vector<std::unique_ptr<PeerNode>>& nodes) {
  std::vector<NodeRef> m;
  for (auto& n : nodes) m.push_back(n->peer().self());
  std::sort(m.begin(), m.end(), [](const NodeRef& a, const NodeRef& b) { return a.id < b.id; });
  return m;
}

void report(benchmark::State& state, const NetCore& core, const testnet::NetMetrics& before,
            Time elapsed, double longest_ms) {
  state.counters["sim_s"] = static_cast<double>(elapsed) / kMicrosPerSecond;
  state.counters["round_trips"] = static_cast<double>(elapsed) / (2.0 * kOneWay);
  state.counters["datagrams"] =
      static_cast<double>(core.metrics().messages_total - before.messages_total);
  state.counters["bytes"] = static_cast<double>(core.metrics().bytes_total - before.bytes_total);
  state.counters["longest_event_ms"] = longest_ms;
}

// A ring of 5; the peer that leaves holds 100,000 keys in its primary range, which goes to
// its third successor (the one that becomes a replica of it), page by page.
void BM_HandOff100kKeys(benchmark::State& state) {
  if (!crypto_init()) state.SkipWithError("libsodium did not start");
  const auto keys = static_cast<std::size_t>(100'000 * scale());
  for (auto _ : state) {
    state.PauseTiming();
    NetCore core(network());
    std::vector<std::unique_ptr<PeerNode>> nodes;
    for (std::uint64_t i = 0; i < 5; ++i)
      nodes.push_back(std::make_unique<PeerNode>(core, core.config().peer, keypair_from_u64(i + 1)));
    const std::vector<NodeRef> members = sorted_members(nodes);
    auto node_of = [&](const NodeRef& n) -> PeerNode& {
      return **std::find_if(nodes.begin(), nodes.end(),
                            [&](auto& p) { return p->peer().self().id == n.id; });
    };
    PeerNode& leaver = node_of(members[2]);
    PeerNode& target = node_of(members[0]);  // the leaver's third successor, round the ring
    const KeyRange range{members[1].id, members[2].id};
    const std::vector<Entry> entries = entries_in(range, keys, "hand-off ");
    if (auto ok = leaver.peer().restore(journal_records(leaver.peer().keys(), entries)); !ok.ok()) {
      state.SkipWithError(ok.error().detail.c_str());
      break;
    }
    for (auto& n : nodes) {
      n->peer().start_instant("default", members);
      n->start();
    }
    core.run_for(kMicrosPerSecond);  // the leaver's anti-entropy index builds in slices
    for (auto& n : nodes) n->longest_ms = 0;
    const testnet::NetMetrics before = core.metrics();
    const Time t0 = core.now();
    leaver.peer().leave();
    leaver.kick();
    while (!leaver.peer().has_left() && core.now() < t0 + 3600 * kMicrosPerSecond && core.step()) {
    }
    const Time elapsed = core.now() - t0;
    PeerNode* slowest = nodes.front().get();
    for (auto& n : nodes)
      if (n->longest_ms > slowest->longest_ms) slowest = n.get();
    report(state, core, before, elapsed, slowest->longest_ms);
    state.SetLabel("longest: " + slowest->longest_what +
                   (slowest == &leaver ? " (leaver)" : slowest == &target ? " (target)" : ""));
    state.counters["keys"] = static_cast<double>(keys);
    state.counters["target_holds"] =
        static_cast<double>(target.peer().store("default")->entry_count());
    state.ResumeTiming();
  }
}
BENCHMARK(BM_HandOff100kKeys)->Iterations(1)->Unit(benchmark::kMillisecond);

// Three peers N < V < X on the ring. V comes back from downtime having seen N's journal up
// to block 1; since then N journalled 1,000,000 entries of V's range. V joins through X
// (its successor, which holds nothing: the join's own range pull moves nothing) and
// catches up from N's journal: 977 blocks of 1,024 entries, each about 180 KiB filtered,
// so in pieces.
void BM_CatchUp1MEntries(benchmark::State& state) {
  if (!crypto_init()) state.SkipWithError("libsodium did not start");
  const auto count = static_cast<std::size_t>(1'000'000 * scale());
  for (auto _ : state) {
    state.PauseTiming();
    NetCore core(network());
    // Keys whose ring order is N, V, X.
    std::vector<KeyPair> kp;
    for (std::uint64_t i = 1; i <= 3; ++i) kp.push_back(keypair_from_u64(i + 20));
    std::sort(kp.begin(), kp.end(), [](const KeyPair& a, const KeyPair& b) { return a.ring_id() < b.ring_id(); });
    auto n = std::make_unique<PeerNode>(core, core.config().peer, kp[0]);
    auto v = std::make_unique<PeerNode>(core, core.config().peer, kp[1]);
    auto x = std::make_unique<PeerNode>(core, core.config().peer, kp[2]);
    const KeyRange range{n->peer().self().id, v->peer().self().id};
    std::vector<Entry> entries{entries_in(range, 1, "seen before ")};
    const std::vector<Entry> missed = entries_in(range, count, "missed ");
    entries.insert(entries.end(), missed.begin(), missed.end());
    // N's journal: block 1 holds the first entry alone (V saw it before it went down),
    // then blocks of 1,024.
    std::vector<StorageRecord> n_records;
    {
      Journal j(n->peer().keys(), 5000, 1024);
      j.append(entries.front(), 0);
      n_records.push_back(StorageRecord{"default", j.cut(0)});
      for (std::size_t i = 1; i < entries.size(); ++i) {
        j.append(entries[i], 0);
        if (j.should_cut(0)) n_records.push_back(StorageRecord{"default", j.cut(0)});
      }
      if (!j.pending().empty()) n_records.push_back(StorageRecord{"default", j.cut(0)});
    }
    if (auto ok = n->peer().restore(n_records); !ok.ok()) {
      state.SkipWithError(ok.error().detail.c_str());
      break;
    }
    std::vector<StorageRecord> v_records = {
        StorageRecord{"default", entries.front()},
        StorageRecord{"default", NeighbourMark{n->peer().self().id, 1}}};
    if (auto ok = v->peer().restore(v_records); !ok.ok()) {
      state.SkipWithError(ok.error().detail.c_str());
      break;
    }
    std::vector<NodeRef> members = {n->peer().self(), x->peer().self()};
    std::sort(members.begin(), members.end(), [](const NodeRef& a, const NodeRef& b) { return a.id < b.id; });
    n->peer().start_instant("default", members);
    x->peer().start_instant("default", members);
    n->start();
    x->start();
    core.run_for(kMicrosPerSecond);  // N's anti-entropy index builds in slices
    n->longest_ms = x->longest_ms = 0;
    const testnet::NetMetrics before = core.metrics();
    const Time t0 = core.now();
    v->start();
    v->peer().join("default", x->address());
    v->kick();
    const std::size_t want = entries.size();
    Time done_at = 0;
    while (core.now() < t0 + 6 * 3600 * kMicrosPerSecond && core.step()) {
      if (v->peer().store("default")->entry_count() >= want &&
          v->peer().table_sizes("default").catch_ups == 0) {
        done_at = core.now();
        break;
      }
    }
    const Time elapsed = (done_at ? done_at : core.now()) - t0;
    PeerNode* slowest = n->longest_ms >= v->longest_ms ? n.get() : v.get();
    if (x->longest_ms > slowest->longest_ms) slowest = x.get();
    report(state, core, before, elapsed, slowest->longest_ms);
    state.SetLabel("longest: " + slowest->longest_what +
                   (slowest == n.get() ? " (N)" : slowest == v.get() ? " (V)" : " (X)"));
    state.counters["entries"] = static_cast<double>(count);
    state.counters["caught_up"] = static_cast<double>(v->peer().store("default")->entry_count());
    state.counters["catch_up_datagrams"] = static_cast<double>(
        core.metrics().sent_messages[message_kind_index(Body{CatchUp{}})] -
        before.sent_messages[message_kind_index(Body{CatchUp{}})] +
        core.metrics().sent_messages[message_kind_index(Body{CatchUpReply{}})] -
        before.sent_messages[message_kind_index(Body{CatchUpReply{}})]);
    state.counters["bad_blocks"] = static_cast<double>(v->peer().counters().bad_blocks);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_CatchUp1MEntries)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kittengrad::bench
