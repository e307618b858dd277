// live_client.cc — the client commands: the core's Client on a LiveLoop, one command at a
// time, bounded by the command's timeout.
#include "live_client.h"

#include "live_client_runner.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <variant>
#include <vector>

#include "kittengrad/client.h"
#include "kittengrad/crypto.h"
#include "kittengrad/entry.h"
#include "kittengrad/real/blockstore.h"
#include "kittengrad/real/identity_file.h"
#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_loop.h"

namespace kittengrad::live {
namespace {

constexpr int kDone = 0;
constexpr int kFailed = 1;
constexpr int kBadInput = 2;

using Json = nlohmann::ordered_json;  // keys in the order DESIGN.md shows them


std::string expand_home(const std::string& path) {
  if (path.rfind("~/", 0) == 0) {
    if (const char* home = std::getenv("HOME")) return std::string(home) + path.substr(1);
  }
  return path;
}

}  // namespace

Result<KeyPair> client_identity(const std::string& file) {
  const std::string path = expand_home(file.empty() ? default_data_path("identity.key") : file);
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  return load_or_create_identity(path);
}

namespace {

Result<Cid> parse_cid(const std::string& text, const char* what) {
  Cid cid;
  if (!Cid::parse(text, &cid)) {
    return Error{ErrorCode::kBadRequest, std::string(what) + " \"" + text +
                                             "\" is not a CIDv1 with a sha2-256 digest "
                                             "(base32, starting with 'b')"};
  }
  return cid;
}

// The record's CID: from --cid, or the file's bytes put into the blockstore (opened at the
// first record, then kept in `store`: a batch opens it once).
Result<Cid> record_cid(const ClientOptions& o, const RecordSource& s, std::optional<Blockstore>& store,
                       const std::filesystem::path& base = {}) {
  if (s.record.empty() == s.cid.empty()) {
    return Error{ErrorCode::kBadRequest, "give exactly one of --record FILE and --cid CID"};
  }
  if (!s.cid.empty()) return parse_cid(s.cid, "--cid");
  std::filesystem::path file = expand_home(s.record);
  if (file.is_relative() && !base.empty()) file = base / file;
  auto bytes = read_record_file(file);
  if (!bytes) return bytes.error();
  if (!store) {
    auto opened = Blockstore::open(expand_home(o.blocks.empty() ? default_data_path("blocks") : o.blocks));
    if (!opened) return opened.error();
    store.emplace(std::move(*opened));
  }
  return store->put(*bytes);
}

bool is_input_error(ErrorCode c) {
  return c == ErrorCode::kBadRequest || c == ErrorCode::kBadSignature ||
         c == ErrorCode::kUnknownNamespace;
}

std::string peers_named(const OpResult& r, Address gateway) {
  std::string out;
  for (const NodeRef& n : r.replicas) out += (out.empty() ? "" : ", ") + format_address(n.addr);
  return out.empty() ? "gateway " + format_address(gateway) : "replicas " + out;
}

// The message for a failed op, naming the peers asked.
std::string failure(const OpResult& r, Address gateway) {
  std::string m = std::string(error_name(r.error)) + ": " + r.detail;
  if (r.error == ErrorCode::kTimeout && r.replicas.empty()) {
    m += " (no answer from " + format_address(gateway) + ": is a peer running there?)";
  } else if (!is_input_error(r.error)) {
    m += " (" + peers_named(r, gateway) + ")";
  }
  if (r.indeterminate) m += "; the write may have been applied: a lookup will tell";
  return m;
}

int fail(const char* command, const std::string& message, int status) {
  std::cerr << "kittengrad " << command << ": " << message << "\n";
  return status;
}

// One op of a command: the client's identity, a runner, the op `submit` starts, run to its
// end. Returns the op's result when it succeeded; otherwise prints why (naming the peers
// asked) and returns the exit status.
using Submit = std::function<std::uint64_t(Client&, const KeyPair& keys, std::int64_t wall_ms, Address gateway)>;
std::variant<OpResult, int> run_op(const ClientOptions& o, const char* command, const Submit& submit) {
  auto keys = client_identity(o.identity);  // signs entries, authenticates the session
  if (!keys) return fail(command, keys.error().detail, kBadInput);
  auto opened = ClientRunner::open(o, o.ns, *keys);
  if (!opened) {
    return fail(command, opened.error().detail, opened.error().code == ErrorCode::kBadRequest ? kBadInput : kFailed);
  }
  ClientRunner& runner = **opened;
  std::optional<OpResult> result;
  runner.on_done([&result](OpResult r) { result = std::move(r); });
  submit(runner.client(), *keys, runner.clock().wall_ms(), runner.gateway());
  if (!runner.run(std::chrono::milliseconds(o.timeout_ms)) || !result) {
    return fail(command, "no answer within " + std::to_string(o.timeout_ms) + " ms from " +
                             format_address(runner.gateway()) + " or the replicas it named",
                kFailed);
  }
  if (result->error != ErrorCode::kOk) {
    return fail(command, failure(*result, runner.gateway()), is_input_error(result->error) ? kBadInput : kFailed);
  }
  return std::move(*result);
}

// Signs and writes one entry; prints the result. insert: update == canonical.
int write_one(const ClientOptions& o, const char* command, const Cid& canonical, const Cid& update,
              bool print_canonical) {
  const auto done = run_op(o, command, [&](Client& c, const KeyPair& keys, std::int64_t now_ms, Address gateway) {
    return c.write(o.ns, {make_entry(keys, o.ns, canonical, update, now_ms)}, gateway);
  });
  if (const int* status = std::get_if<int>(&done)) return *status;
  if (o.json) {
    std::cout << Json{{"canonical", canonical.to_string()}, {"update", update.to_string()}, {"acked", true}}.dump()
              << "\n";
  } else {
    std::cout << (print_canonical ? canonical : update).to_string() << "\n";
  }
  return kDone;
}

Result<Cid> canonical_arg(const std::string& text) { return parse_cid(text, "CANONICAL"); }

}  // namespace

int run_insert(const ClientOptions& o, const RecordSource& source) {
  std::optional<Blockstore> store;
  auto cid = record_cid(o, source, store);
  if (!cid) return fail("insert", cid.error().detail, kBadInput);
  return write_one(o, "insert", *cid, *cid, true);
}

int run_update(const ClientOptions& o, const std::string& canonical, const RecordSource& source) {
  auto c = canonical_arg(canonical);
  if (!c) return fail("update", c.error().detail, kBadInput);
  std::optional<Blockstore> store;
  auto cid = record_cid(o, source, store);
  if (!cid) return fail("update", cid.error().detail, kBadInput);
  return write_one(o, "update", *c, *cid, false);
}

int run_lookup(const ClientOptions& o, const std::string& canonical) {
  auto c = canonical_arg(canonical);
  if (!c) return fail("lookup", c.error().detail, kBadInput);
  const auto done = run_op(o, "lookup", [&](Client& cl, const KeyPair&, std::int64_t, Address gateway) {
    return cl.lookup(o.ns, *c, gateway);
  });
  if (const int* status = std::get_if<int>(&done)) return *status;
  const OpResult* result = &std::get<OpResult>(done);
  if (o.json) {
    Json updates = Json::array();
    for (const Entry& e : result->entries) {
      updates.push_back({{"cid", e.update.to_string()}, {"author", to_hex(e.author)},
                         {"timestamp_ms", e.timestamp_ms}});
    }
    std::cout << Json{{"canonical", c->to_string()}, {"updates", updates}}.dump() << "\n";
  } else {
    for (const Entry& e : result->entries) {
      std::cout << e.timestamp_ms << "\t" << e.update.to_string() << "\t" << to_hex(e.author) << "\n";
    }
  }
  return kDone;
}

int run_route(const ClientOptions& o, const std::string& canonical) {
  auto c = canonical_arg(canonical);
  if (!c) return fail("route", c.error().detail, kBadInput);
  const auto done = run_op(o, "route", [&](Client& cl, const KeyPair&, std::int64_t, Address gateway) {
    return cl.route(o.ns, c->ring_key(), gateway);
  });
  if (const int* status = std::get_if<int>(&done)) return *status;
  const OpResult* result = &std::get<OpResult>(done);
  if (o.json) {
    Json replicas = Json::array();
    for (const NodeRef& n : result->replicas) {
      replicas.push_back({{"id", n.id.hex()}, {"addr", format_address(n.addr)}});
    }
    std::cout << Json{{"canonical", c->to_string()}, {"key", c->ring_key().hex()},
                      {"replicas", replicas}, {"hops", result->hops}}.dump()
              << "\n";
  } else {
    for (const NodeRef& n : result->replicas) std::cout << format_address(n.addr) << "\n";
  }
  return kDone;
}

namespace {

struct BatchLine {
  std::size_t line = 0;
  Cid canonical;
  Cid update;
};

// The lines of a batch file; errors name the file and line.
Result<std::vector<BatchLine>> read_batch(const ClientOptions& o, const std::string& path) {
  constexpr std::size_t kLinesMax = 10'000'000;
  std::ifstream in(expand_home(path));
  if (!in) return Error{ErrorCode::kBadRequest, "cannot read the batch file " + path};
  const std::filesystem::path base = std::filesystem::path(expand_home(path)).parent_path();
  std::optional<Blockstore> store;
  std::vector<BatchLine> out;
  std::string text;
  for (std::size_t n = 1; std::getline(in, text); ++n) {
    auto where = [&](const std::string& what) {
      return Error{ErrorCode::kBadRequest, path + ":" + std::to_string(n) + ": " + what};
    };
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (out.size() >= kLinesMax) return where("more than " + std::to_string(kLinesMax) + " lines");
    const Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return where("not a JSON object");
    RecordSource source;
    std::optional<std::string> canonical;
    for (const auto& [key, value] : j.items()) {
      if (!value.is_string()) return where("\"" + key + "\" must be a string");
      if (key == "record") {
        source.record = value.get<std::string>();
      } else if (key == "cid") {
        source.cid = value.get<std::string>();
      } else if (key == "canonical") {
        canonical = value.get<std::string>();
      } else {
        return where("unknown key \"" + key + "\" (keys: record, cid, canonical)");
      }
    }
    if (source.record.empty() == source.cid.empty()) return where("give exactly one of \"record\" and \"cid\"");
    auto update = record_cid(o, source, store, base);
    if (!update) return where(update.error().detail);
    BatchLine line{n, *update, *update};
    if (canonical) {
      auto c = parse_cid(*canonical, "canonical");
      if (!c) return where(c.error().detail);
      line.canonical = *c;
    }
    out.push_back(line);
  }
  return out;
}

}  // namespace

int run_batch(const ClientOptions& o, const std::string& path) {
  auto lines = read_batch(o, path);
  if (!lines) return fail("insert", lines.error().detail, kBadInput);
  auto keys = client_identity(o.identity);
  if (!keys) return fail("insert", keys.error().detail, kBadInput);
  auto runner = ClientRunner::open(o, o.ns, *keys);
  if (!runner) {
    return fail("insert", runner.error().detail, runner.error().code == ErrorCode::kBadRequest ? kBadInput : kFailed);
  }
  ClientRunner& r = **runner;

  // One write per canonical (a write's entries share a replica set); the Client pages it.
  // Entries are signed before the first send.
  std::map<Cid, std::vector<std::size_t>> by_canonical;
  for (std::size_t i = 0; i < lines->size(); ++i) by_canonical[(*lines)[i].canonical].push_back(i);
  const std::int64_t now_ms = r.clock().wall_ms();
  std::deque<std::pair<std::vector<std::size_t>, std::vector<Entry>>> writes;
  for (auto& [canonical, indices] : by_canonical) {
    std::vector<Entry> entries;
    for (std::size_t i : indices) {
      entries.push_back(make_entry(*keys, o.ns, canonical, (*lines)[i].update, now_ms));
    }
    writes.emplace_back(std::move(indices), std::move(entries));
  }

  std::vector<std::optional<ErrorCode>> outcome(lines->size());
  std::map<std::uint64_t, std::vector<std::size_t>> in_flight;
  std::vector<std::string> failures;
  std::size_t acked = 0;
  const auto started = std::chrono::steady_clock::now();
  auto submit = [&] {
    while (in_flight.size() < std::max<std::size_t>(o.window, 1) && !writes.empty()) {
      auto [indices, entries] = std::move(writes.front());
      writes.pop_front();
      in_flight.emplace(r.client().write(o.ns, std::move(entries), r.gateway()), std::move(indices));
    }
  };
  r.on_done([&](OpResult result) {
    auto it = in_flight.find(result.op);
    if (it == in_flight.end()) return;
    for (std::size_t i : it->second) outcome[i] = result.error;
    if (result.error == ErrorCode::kOk) {
      acked += it->second.size();
    } else if (failures.size() < 5) {
      failures.push_back(failure(result, r.gateway()));
    }
    in_flight.erase(it);
    r.progress();
    submit();
  });
  submit();
  const bool finished = r.run(std::chrono::milliseconds(o.timeout_ms)) && writes.empty();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (o.json) {
    for (std::size_t i = 0; i < lines->size(); ++i) {
      const BatchLine& l = (*lines)[i];
      std::cout << Json{{"line", l.line}, {"canonical", l.canonical.to_string()},
                        {"update", l.update.to_string()},
                        {"acked", outcome[i] == ErrorCode::kOk}}.dump()
                << "\n";
    }
  }
  std::cerr << "kittengrad insert: " << acked << " of " << lines->size()
            << " entries acknowledged in " << seconds << " s ("
            << (seconds > 0 ? static_cast<double>(acked) / seconds : 0.0) << " entries/s)\n";
  for (const std::string& f : failures) std::cerr << "kittengrad insert: " << f << "\n";
  if (!finished) {
    return fail("insert", "no progress for " + std::to_string(o.timeout_ms) + " ms from " +
                              format_address(r.gateway()) + " or the replicas it named",
                kFailed);
  }
  return acked == lines->size() ? kDone : kFailed;
}

std::string default_data_path(const std::string& leaf) {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    return (std::filesystem::path(xdg) / "kittengrad" / leaf).string();
  }
  const char* home = std::getenv("HOME");
  return (std::filesystem::path(home != nullptr ? home : ".") / ".local/share/kittengrad" / leaf)
      .string();
}

}  // namespace kittengrad::live
