// kg_live_load — a load generator for a running kittengrad ring (issue 15's benchmark).
//
//   kg_live_load --peers HOST:PORT,... --mode write|lookup|batch --ops N --concurrency C
//                --record-bytes B [--json] [--save FILE] [--load FILE] [--batch-entries K]
//
// write:  N writes of one entry each (a fresh canonical each), C in flight, gateways round
//         robin over --peers; --save FILE keeps the acknowledged canonicals.
// lookup: N lookups of the canonicals of --load FILE (in turn), C in flight.
// batch:  N entries (fresh canonicals) in writes of K entries whose keys share a replica
//         set: a few hundred routes first discover the ring, entries are grouped by the
//         peer that is their first replica, C writes in flight.
// Every entry is signed before the timed phase. The report: ops/s acknowledged, latency
// p50/p90/p99/max (ms, issue to completion at the client), failures by error, and for
// batch entries/s; then Ed25519 verifications/s on one core (measured just before and just
// after the load, in the same run; the higher counts) and the bound cores x verify/s / r
// with the fraction of it reached.
//
// The core's Client runs on a LiveLoop (live_client_runner.h; a fresh one for each phase),
// exactly as the `kittengrad` client commands do; this process is single-threaded.
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kittengrad/cid.h"
#include "kittengrad/client.h"
#include "kittengrad/crypto.h"
#include "kittengrad/entry.h"
#include "kittengrad/real/live_address.h"
#include "live_client_runner.h"
#include "live_load_measure.h"

namespace kittengrad::live_load {
namespace {

using live::ClientRunner;

struct Options {
  std::string peers;
  std::string mode = "write";
  std::size_t ops = 1000;
  std::size_t concurrency = 1;
  std::size_t record_bytes = 176;
  std::size_t batch_entries = 64;
  std::size_t max_datagram_bytes = 1200;
  long request_timeout_ms = 1000;
  long timeout_s = 60;  // without any completion
  double verify_seconds = 1.0;
  unsigned replication = 3;
  std::uint64_t seed = 0;  // 0: from the clock (fresh canonicals each run)
  std::string save, load, ns = "default";
  bool json = false;
};

// What one timed phase did.
struct Outcome {
  std::size_t submitted = 0, acked = 0, failed = 0, entries_acked = 0;
  std::vector<std::int64_t> latency_us;
  std::map<std::string, std::size_t> errors;
  std::string first_failure;
  double seconds = 0;
  bool finished = true;
};

// A job is submitted once and completes once; `accept` says whether its result counts as
// acknowledged (and how many entries it carried).
struct Jobs {
  std::size_t count = 0;
  std::function<std::uint64_t(Client&, std::size_t)> submit;
  std::function<bool(const OpResult&, std::size_t, std::string*)> accept;
  std::function<std::size_t(std::size_t)> entries = [](std::size_t) { return std::size_t{1}; };
};

// A fresh Client on its own loop for each phase (a runner runs once).
using OpenRunner = std::function<std::unique_ptr<ClientRunner>()>;

// Runs `jobs` with `window` in flight on a fresh runner; the clock runs from the first
// submit to the last completion.
Outcome drive(const OpenRunner& open, const Jobs& jobs, std::size_t window, long timeout_s) {
  Outcome out;
  const std::unique_ptr<ClientRunner> runner = open();
  ClientRunner& r = *runner;
  std::map<std::uint64_t, std::size_t> in_flight;
  auto submit = [&] {
    while (in_flight.size() < std::max<std::size_t>(window, 1) && out.submitted < jobs.count) {
      const std::size_t job = out.submitted++;
      in_flight.emplace(jobs.submit(r.client(), job), job);
    }
  };
  r.on_done([&](OpResult res) {
    auto it = in_flight.find(res.op);
    if (it == in_flight.end()) return;
    std::string why;
    if (jobs.accept(res, it->second, &why)) {
      ++out.acked;
      out.entries_acked += jobs.entries(it->second);
      out.latency_us.push_back(res.done - res.issued);
    } else {
      ++out.failed;
      ++out.errors[why];
      if (out.first_failure.empty()) out.first_failure = why + ": " + res.detail;
    }
    in_flight.erase(it);
    r.progress();
    submit();
  });
  const auto start = std::chrono::steady_clock::now();
  submit();
  out.finished = r.run(std::chrono::seconds(timeout_s)) && out.submitted == jobs.count;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

bool ok_or_why(const OpResult& res, std::string* why) {
  if (res.error == ErrorCode::kOk) return true;
  *why = error_name(res.error);
  if (res.indeterminate) *why += " (indeterminate)";
  return false;
}

// A record of exactly `bytes` bytes, distinct for each (seed, i): its CID is a canonical.
Cid record_cid(std::uint64_t seed, std::size_t i, std::size_t bytes) {
  std::string record = "kg_live_load " + std::to_string(seed) + "/" + std::to_string(i) + " ";
  if (record.size() < bytes) record.append(bytes - record.size(), static_cast<char>('a' + i % 26));
  return Cid::of_record(record);
}

std::vector<Entry> signed_inserts(const KeyPair& author, const Options& o, std::size_t n,
                                  std::int64_t now_ms) {
  std::vector<Entry> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Cid c = record_cid(o.seed, i, o.record_bytes);
    out.push_back(make_entry(author, o.ns, c, c, now_ms));
  }
  return out;
}

Result<std::vector<Address>> parse_peers(const std::string& list) {
  std::vector<Address> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) continue;
    auto ep = live::resolve_host_port(item);
    if (!ep) return ep.error();
    const auto a = live::address_of(*ep);
    if (!a) return Error{ErrorCode::kBadRequest, item + ": give an IPv4 HOST:PORT"};
    out.push_back(*a);
  }
  if (out.empty()) return Error{ErrorCode::kBadRequest, "--peers: no HOST:PORT given"};
  return out;
}

// The ring's members, sorted by id: replica sets of random keys until 64 routes in a row
// name no new peer (at most 4,096 routes). Routes are not timed.
std::vector<NodeRef> discover_ring(const OpenRunner& open, const Options& o, const std::vector<Address>& gateways) {
  std::map<RingId, NodeRef> members;
  std::size_t since_new = 0, routed = 0;
  while (since_new < 64 && routed < 4096) {
    Jobs jobs;
    jobs.count = 64;
    jobs.submit = [&](Client& c, std::size_t j) {
      const std::string probe = "kg_live_load probe " + std::to_string(o.seed) + "/" + std::to_string(routed + j);
      return c.route(o.ns, RingId::of_bytes(sha256(probe)), gateways[(routed + j) % gateways.size()]);
    };
    jobs.accept = [&](const OpResult& res, std::size_t, std::string* why) {
      if (!ok_or_why(res, why)) return false;
      bool fresh = false;
      for (const NodeRef& n : res.replicas) fresh = members.emplace(n.id, n).second || fresh;
      since_new = fresh ? 0 : since_new + 1;
      return true;
    };
    const Outcome out = drive(open, jobs, 16, o.timeout_s);
    routed += jobs.count;
    if (!out.finished || out.acked == 0) break;
  }
  std::vector<NodeRef> ring;
  for (const auto& [id, n] : members) ring.push_back(n);
  return ring;
}

// The first replica of `key`: the first member at or after it, around the ring.
std::size_t first_replica(const std::vector<NodeRef>& ring, const RingId& key) {
  auto it = std::lower_bound(ring.begin(), ring.end(), key,
                             [](const NodeRef& n, const RingId& k) { return n.id < k; });
  return it == ring.end() ? 0 : static_cast<std::size_t>(it - ring.begin());
}

// CPU time of this process (user + system), for the split between client and peers.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

std::string fmt(double v, int digits = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

int run(const Options& cli) {
  Options o = cli;
  if (!crypto_init()) {
    std::cerr << "kg_live_load: libsodium did not start\n";
    return 1;
  }
  if (o.seed == 0) {
    o.seed = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  }
  auto gateways = parse_peers(o.peers);
  if (!gateways) {
    std::cerr << "kg_live_load: " << gateways.error().detail << "\n";
    return 2;
  }
  live::ClientOptions co;
  co.peer = o.peers.substr(0, o.peers.find(','));
  co.ns = o.ns;
  co.request_timeout_ms = o.request_timeout_ms;
  co.max_datagram_bytes = o.max_datagram_bytes;
  // The author key signs the entries and authenticates the client's sessions.
  const KeyPair author = keypair_from_u64(o.seed);
  if (auto probe = ClientRunner::open(co, o.ns, author); !probe) {
    std::cerr << "kg_live_load: " << probe.error().detail << "\n";
    return 2;
  }
  const OpenRunner open = [&co, &o, &author] { return std::move(*ClientRunner::open(co, o.ns, author)); };
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto gw = [&](std::size_t j) { return (*gateways)[j % gateways->size()]; };

  // ---- prepare (untimed): sign every entry, group batches ----
  std::vector<Entry> entries;
  std::vector<Cid> canonicals;               // lookup
  std::vector<std::vector<Entry>> batches;   // batch: one write each
  std::vector<Address> batch_gateway;
  std::size_t ring_size = 0;
  if (o.mode == "write" || o.mode == "batch") {
    entries = signed_inserts(author, o, o.ops, now_ms);
  }
  if (o.mode == "lookup") {
    std::ifstream in(o.load);
    for (std::string line; std::getline(in, line);) {
      Cid c;
      if (Cid::parse(line, &c)) canonicals.push_back(c);
    }
    if (canonicals.empty()) {
      std::cerr << "kg_live_load: --load " << o.load << ": no canonical CIDs (write --save FILE first)\n";
      return 2;
    }
    entries = signed_inserts(author, o, 256, now_ms);  // for the verify rate
  } else if (o.mode == "batch") {
    const std::vector<NodeRef> ring = discover_ring(open, o, *gateways);
    ring_size = ring.size();
    if (ring.empty()) {
      std::cerr << "kg_live_load: no route answered from " << o.peers << "\n";
      return 1;
    }
    std::vector<std::vector<Entry>> by_primary(ring.size());
    for (const Entry& e : entries) by_primary[first_replica(ring, e.key())].push_back(e);
    // Writes of K entries, the groups interleaved so that C writes in flight spread over
    // the ring rather than queue at one replica set.
    for (bool more = true; more;) {
      more = false;
      for (std::size_t p = 0; p < by_primary.size(); ++p) {
        auto& g = by_primary[p];
        if (g.empty()) continue;
        const std::size_t k = std::min(g.size(), std::max<std::size_t>(o.batch_entries, 1));
        batches.emplace_back(g.end() - static_cast<std::ptrdiff_t>(k), g.end());
        g.resize(g.size() - k);
        batch_gateway.push_back(ring[p].addr);
        more = more || !g.empty();
      }
    }
  } else if (o.mode != "write") {
    std::cerr << "kg_live_load: --mode must be write, lookup or batch\n";
    return 2;
  }

  // ---- the timed phase ----
  Jobs jobs;
  std::vector<bool> acked_write;
  if (o.mode == "write") {
    acked_write.assign(entries.size(), false);
    jobs.count = entries.size();
    jobs.submit = [&](Client& c, std::size_t j) { return c.write(o.ns, {entries[j]}, gw(j)); };
    jobs.accept = [&](const OpResult& res, std::size_t j, std::string* why) {
      const bool ok = ok_or_why(res, why);
      acked_write[j] = ok;
      return ok;
    };
  } else if (o.mode == "lookup") {
    jobs.count = o.ops;
    jobs.submit = [&](Client& c, std::size_t j) { return c.lookup(o.ns, canonicals[j % canonicals.size()], gw(j)); };
    jobs.accept = [&](const OpResult& res, std::size_t j, std::string* why) {
      if (!ok_or_why(res, why)) return false;
      const Cid& want = canonicals[j % canonicals.size()];
      const bool found = std::any_of(res.entries.begin(), res.entries.end(),
                                     [&](const Entry& e) { return e.canonical == want; });
      if (!found) *why = "empty_set";
      return found;
    };
  } else {
    jobs.count = batches.size();
    jobs.submit = [&](Client& c, std::size_t j) { return c.write(o.ns, batches[j], batch_gateway[j]); };
    jobs.accept = [&](const OpResult& res, std::size_t, std::string* why) { return ok_or_why(res, why); };
    jobs.entries = [&](std::size_t j) { return batches[j].size(); };
  }
  // The verification rate is measured before and after the timed phase (the machine is
  // shared: the other load varies); the bound takes the higher, so the fraction is the
  // conservative one.
  const double verify_before = verifications_per_s(entries, o.verify_seconds);
  const double cpu_before = cpu_seconds();
  const Outcome out = drive(open, jobs, o.concurrency, o.timeout_s);
  const double client_cpu_s = cpu_seconds() - cpu_before;

  if (!o.save.empty()) {
    std::ofstream save(o.save);
    for (std::size_t i = 0; i < acked_write.size(); ++i) {
      if (acked_write[i]) save << entries[i].canonical.to_string() << "\n";
    }
  }

  // ---- the verification bound, in the same run ----
  const double verify_after = verifications_per_s(entries, o.verify_seconds);
  const double verify_per_s = std::max(verify_before, verify_after);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const double bound = static_cast<double>(cores) * verify_per_s / o.replication;
  const double ops_per_s = out.seconds > 0 ? static_cast<double>(out.acked) / out.seconds : 0;
  const double entries_per_s = out.seconds > 0 ? static_cast<double>(out.entries_acked) / out.seconds : 0;
  const Percentiles p = percentiles(out.latency_us);

  std::ostringstream errors;
  for (const auto& [name, n] : out.errors) errors << (errors.tellp() > 0 ? "," : "") << "\"" << name << "\":" << n;
  if (o.json) {
    std::cout << "{\"mode\":\"" << o.mode << "\",\"gateways\":" << gateways->size() << ",\"ops\":" << jobs.count
              << ",\"concurrency\":" << o.concurrency << ",\"record_bytes\":" << o.record_bytes
              << ",\"entry_wire_bytes\":" << kEntryWireBytes << ",\"batch_entries\":" << o.batch_entries
              << ",\"max_datagram_bytes\":" << o.max_datagram_bytes << ",\"ring_discovered\":" << ring_size
              << ",\"acked\":" << out.acked << ",\"failed\":" << out.failed
              << ",\"finished\":" << (out.finished ? "true" : "false") << ",\"errors\":{" << errors.str() << "}"
              << ",\"entries_acked\":" << out.entries_acked << ",\"seconds\":" << fmt(out.seconds, 3)
              << ",\"client_cpu_s\":" << fmt(client_cpu_s, 3)
              << ",\"ops_per_s\":" << fmt(ops_per_s) << ",\"entries_per_s\":" << fmt(entries_per_s)
              << ",\"latency_ms\":{\"p50\":" << fmt(p.p50_ms, 3) << ",\"p90\":" << fmt(p.p90_ms, 3)
              << ",\"p99\":" << fmt(p.p99_ms, 3) << ",\"max\":" << fmt(p.max_ms, 3) << "}"
              << ",\"verify_per_s_one_core\":" << fmt(verify_per_s) << ",\"verify_per_s_before\":" << fmt(verify_before)
              << ",\"verify_per_s_after\":" << fmt(verify_after) << ",\"cores\":" << cores
              << ",\"replication\":" << o.replication << ",\"bound_entries_per_s\":" << fmt(bound)
              << ",\"fraction_of_bound\":" << fmt(bound > 0 ? entries_per_s / bound : 0, 4)
              << ",\"seed\":" << o.seed << "}\n";
  } else {
    std::cout << o.mode << ": " << out.acked << " of " << jobs.count << " acknowledged in " << fmt(out.seconds, 2)
              << " s, " << fmt(ops_per_s) << " ops/s (" << fmt(entries_per_s) << " entries/s), concurrency "
              << o.concurrency << ", " << gateways->size() << " gateways\n"
              << "latency ms: p50 " << fmt(p.p50_ms, 2) << "  p90 " << fmt(p.p90_ms, 2) << "  p99 "
              << fmt(p.p99_ms, 2) << "  max " << fmt(p.max_ms, 2) << "\n"
              << "failures: " << out.failed << (out.failed ? " {" + errors.str() + "} first: " + out.first_failure : "")
              << (out.finished ? "" : " (stopped: no completion for " + std::to_string(o.timeout_s) + " s)") << "\n"
              << "Ed25519 verify/s on one core: " << fmt(verify_per_s) << "; bound " << cores << " x verify/s / "
              << o.replication << " = " << fmt(bound) << " entries/s; reached " << fmt(100 * entries_per_s / std::max(bound, 1e-9), 1)
              << "%\n";
  }
  return out.finished && out.failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace kittengrad::live_load

int main(int argc, char** argv) {
  kittengrad::live_load::Options o;
  CLI::App app{"kg_live_load: load on a running kittengrad ring (writes, lookups, batched ingest)"};
  app.add_option("--peers", o.peers, "HOST:PORT,... gateways, used round robin")->required();
  app.add_option("--mode", o.mode, "write | lookup | batch")->check(CLI::IsMember({"write", "lookup", "batch"}));
  app.add_option("--ops", o.ops, "writes or lookups; batch: entries")->check(CLI::Range(1, 10'000'000));
  app.add_option("--concurrency", o.concurrency, "ops (batch: writes) in flight")->check(CLI::Range(1, 4096));
  app.add_option("--record-bytes", o.record_bytes, "size of each record whose CID is a canonical")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--batch-entries", o.batch_entries, "batch: entries per write")->check(CLI::Range(1, 100'000));
  app.add_option("--max-datagram-bytes", o.max_datagram_bytes, "the client's datagram budget (pages writes)")
      ->check(CLI::Range(512, 65'000));
  app.add_option("--request-timeout-ms", o.request_timeout_ms, "one request")->check(CLI::Range(10, 60'000));
  app.add_option("--timeout-s", o.timeout_s, "stop after this long without a completion")->check(CLI::Range(1, 3600));
  app.add_option("--verify-seconds", o.verify_seconds, "how long to measure Ed25519 verification")
      ->check(CLI::Range(0.1, 10.0));
  app.add_option("--replication", o.replication, "r of the ring, for the bound")->check(CLI::Range(1, 16));
  app.add_option("--seed", o.seed, "canonicals and author key (0: from the clock)");
  app.add_option("--save", o.save, "write: the acknowledged canonicals, one a line");
  app.add_option("--load", o.load, "lookup: canonicals to look up, one a line");
  app.add_option("--ns", o.ns, "namespace");
  app.add_flag("--json", o.json, "one JSON object");
  CLI11_PARSE(app, argc, argv);
  return kittengrad::live_load::run(o);
}
