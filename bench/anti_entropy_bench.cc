// Anti-entropy between two replicas of 1,000,000 keys that differ in 100 keys (50 only on
// each side), and in 10,000: bytes exchanged in both directions, round trips (the depth of
// the exchange: pages sent side by side share a round trip), and the longest single event
// of either peer (a datagram handled, a storage completion, a wakeup), through the real
// Peer code on an in-process network with the default 1,200-byte datagrams. Then the same
// two replicas once equal: one digest.
//
// Before the round the peers build their anti-entropy index (per-arc coded symbols and id
// tables, sync_index.h) in slices across wakeups, as a live peer does after it starts; the
// benchmark reports the longest of those slices and their total too.
//
// Setup builds each peer's durable journal (blocks of 1,024 entries, signed by the peer)
// and restores the peer from it, as after a restart. The 999,900 common entries carry
// placeholder author signatures: they never travel (restore trusts blocks our own key
// signed) and signing a million entries would only slow the setup. The 100 differing
// entries are really signed and are verified by the receiving peer.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "direct_net.h"
#include "kittengrad/journal.h"

namespace kittengrad::bench {
namespace {

constexpr std::size_t kKeys = 1'000'000;
constexpr std::size_t kBlockEntries = 1024;

Entry placeholder_entry(std::uint64_t i) {
  Entry e;
  e.ns = "default";
  std::uint8_t rec[8];
  std::memcpy(rec, &i, 8);
  e.canonical = Cid::of_record(std::span<const std::uint8_t>(rec, 8));
  e.update = e.canonical;
  e.timestamp_ms = static_cast<std::int64_t>(i);
  e.author[0] = 1;
  e.signature[0] = static_cast<std::uint8_t>(i);
  return e;
}

std::vector<StorageRecord> journal_records(const KeyPair& keys, const std::vector<Entry>& entries) {
  Journal j(keys, 5000, kBlockEntries);
  std::vector<StorageRecord> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    j.append(entries[i], 0);
    if (j.should_cut(0)) out.push_back(StorageRecord{"default", j.cut(0)});
  }
  if (!j.pending().empty()) out.push_back(StorageRecord{"default", j.cut(0)});
  return out;
}

std::uint64_t ae_bytes(const DirectNet::Counts& c) {
  std::uint64_t total = 0;
  for (std::size_t k = 0; k < kMessageKinds; ++k) {
    const std::string name = message_kind_name(k);
    if (name.rfind("ae_", 0) == 0 || name.rfind("range_", 0) == 0 || name == "replicate" ||
        name == "replicate_ack")
      total += c.bytes[k];
  }
  return total;
}

std::uint64_t kind_count(const DirectNet::Counts& c, const std::string& name) {
  for (std::size_t k = 0; k < kMessageKinds; ++k)
    if (name == message_kind_name(k)) return c.messages[k];
  return 0;
}

std::uint64_t kind_bytes(const DirectNet::Counts& c, const std::string& name) {
  for (std::size_t k = 0; k < kMessageKinds; ++k)
    if (name == message_kind_name(k)) return c.bytes[k];
  return 0;
}

const char* event_kind_name(DirectNet::EventKind k) {
  switch (k) {
    case DirectNet::EventKind::kDatagram: return "datagram";
    case DirectNet::EventKind::kStorage: return "storage";
    case DirectNet::EventKind::kWakeup: return "wakeup";
  }
  return "?";
}

// state.range(0): keys that differ, half only on each side.
void BM_AntiEntropy1MKeys(benchmark::State& state) {
  if (!crypto_init()) state.SkipWithError("libsodium did not start");
  const auto differing_per_side = static_cast<std::size_t>(state.range(0)) / 2;
  std::vector<Entry> common;
  common.reserve(kKeys);
  for (std::uint64_t i = 0; i < kKeys - differing_per_side; ++i) common.push_back(placeholder_entry(i));
  const KeyPair author = keypair_from_u64(77);
  auto signed_entry = [&](std::uint64_t i) {
    const Cid c = Cid::of_record("differing record " + std::to_string(i));
    return make_entry(author, "default", c, c, 1000 + static_cast<std::int64_t>(i));
  };
  std::vector<Entry> a_entries = common, b_entries = common;
  for (std::uint64_t i = 0; i < differing_per_side; ++i) {
    a_entries.push_back(signed_entry(i));
    b_entries.push_back(signed_entry(1'000'000 + i));
  }
  const KeyPair ka = keypair_from_u64(1), kb = keypair_from_u64(2);
  const std::vector<StorageRecord> ra = journal_records(ka, a_entries);
  const std::vector<StorageRecord> rb = journal_records(kb, b_entries);

  for (auto _ : state) {
    state.PauseTiming();
    DirectNet net;
    PeerConfig config;
    config.anti_entropy_interval = 0;  // rounds only when the benchmark asks
    Peer& a = net.add_peer(config, ka, 1);
    Peer& b = net.add_peer(config, kb, 2);
    a.serve("default");
    b.serve("default");
    if (auto ok = a.restore(ra); !ok.ok()) { state.SkipWithError(ok.error().detail.c_str()); break; }
    if (auto ok = b.restore(rb); !ok.ok()) { state.SkipWithError(ok.error().detail.c_str()); break; }
    std::vector<NodeRef> members = {a.self(), b.self()};
    std::sort(members.begin(), members.end(),
              [](const NodeRef& x, const NodeRef& y) { return x.id < y.id; });
    a.start_instant("default", members);
    b.start_instant("default", members);
    // The index builds in slices, one per wakeup.
    net.reset_events();
    const auto w0 = std::chrono::steady_clock::now();
    net.pump();
    const auto w1 = std::chrono::steady_clock::now();
    state.counters["index_build_ms"] = std::chrono::duration<double, std::milli>(w1 - w0).count();
    state.counters["index_longest_event_ms"] = net.longest().ms;
    state.counters["index_longest_event_wall_ms"] = net.longest().wall_ms;
    state.counters["index_wakeups"] = static_cast<double>(net.longest().wakeups);
    net.reset_counts();
    net.reset_events();
    state.ResumeTiming();

    const auto t0 = std::chrono::steady_clock::now();
    a.anti_entropy_now();
    net.pump();
    const auto t1 = std::chrono::steady_clock::now();

    state.PauseTiming();
    state.counters["reconcile_ms"] =
        std::chrono::duration<double, std::milli>(t1 - t0).count();
    const DirectNet::Longest longest = net.longest();
    state.counters["longest_event_ms"] = longest.ms;
    state.counters["longest_event_wall_ms"] = longest.wall_ms;
    state.counters["events"] = static_cast<double>(longest.events);
    state.SetLabel(std::string("longest: ") + event_kind_name(longest.kind) +
                   (longest.kind == DirectNet::EventKind::kDatagram
                        ? std::string(" ") + message_kind_name(longest.message_kind)
                        : std::string()));
    state.counters["round_trips"] = static_cast<double>(net.round_trips());
    state.counters["datagrams"] = 0;
    for (std::size_t k = 0; k < kMessageKinds; ++k)
      state.counters["datagrams"] += static_cast<double>(net.counts().messages[k]);
    const DirectNet::Counts diff = net.counts();
    const RingId zero{};
    const bool equal = a.store("default")->digest(zero, zero) == b.store("default")->digest(zero, zero);
    net.reset_counts();
    a.anti_entropy_now();
    net.pump();
    const DirectNet::Counts agree = net.counts();
    state.counters["bytes_both_ways"] = static_cast<double>(ae_bytes(diff));
    state.counters["requests"] = static_cast<double>(
        kind_count(diff, "ae_digest") + kind_count(diff, "ae_more") +
        kind_count(diff, "ae_exchange") + kind_count(diff, "range_pull"));
    state.counters["symbol_messages"] = static_cast<double>(kind_count(diff, "ae_symbols"));
    state.counters["symbol_bytes"] = static_cast<double>(kind_bytes(diff, "ae_symbols"));
    state.counters["entry_bytes"] =
        static_cast<double>(kind_bytes(diff, "ae_exchange") + kind_bytes(diff, "ae_entries"));
    state.counters["converged"] = equal ? 1 : 0;
    state.counters["agree_digests"] = static_cast<double>(kind_count(agree, "ae_digest"));
    state.counters["agree_bytes"] = static_cast<double>(ae_bytes(agree));
    state.counters["bad_signatures"] =
        static_cast<double>(a.counters().bad_signatures + b.counters().bad_signatures);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_AntiEntropy1MKeys)->Arg(100)->Arg(10'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kittengrad::bench
