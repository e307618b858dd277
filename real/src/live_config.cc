// live_config.cc — the peer config file. Top-level keys are read here; the [overlay]
// table goes through the scenario loader (parse_scenario) on a copy of the file where
// every line but the overlay table's is blank, so that its errors carry the right line.
#include "kittengrad/real/live_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "kittengrad/real/codec.h"
#include "kittengrad/real/live_address.h"
#include "kittengrad/real/live_control.h"
#include "live_control_members.h"
#include "live_faults_latency.h"
#include "kittengrad/scenario_peer_config.h"
#include "kittengrad/scenario_loader.h"

namespace kittengrad::live {

namespace {

constexpr std::uintmax_t kConfigFileBytesMax = 1u << 20;

constexpr const char* kKeys =
    "listen, identity, data_dir, namespaces, bootstrap, sync, log_level, metrics_listen "
    "and the tables [overlay] and [runner]";
constexpr const char* kRunnerKeys =
    "control_key, members, seed, hosts, latency, loss and duplicate";

// Scenario [overlay] keys that make no sense for one live peer, and why.
struct Refused {
  const char* key;
  const char* why;
};
constexpr Refused kRefusedOverlayKeys[] = {
    {"peers", "a live peer is one peer; the ring is whoever joins it"},
    {"bootstrap",
     "a live ring is built by joining: list live peers in the top-level bootstrap = "
     "[\"HOST:PORT\"] (empty: start a new ring)"},
    {"join_rate_per_s", "peers join when they are started"},
    {"namespaces", "a peer file names its namespaces at the top level: namespaces = [...]"},
};

Error refuse(const std::string& source, std::int64_t line, std::string_view key,
             const std::string& what) {
  std::string m = source;
  if (line > 0) m += ":" + std::to_string(line);
  m += ": ";
  if (!key.empty()) m += std::string(key) + ": ";
  return Error{ErrorCode::kBadRequest, m + what};
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

std::string resolve_path(const std::string& base_dir, const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
  return path.lexically_normal().string();
}

class Reader {
 public:
  Reader(std::string_view text, std::string source, std::string base_dir)
      : text_(text), source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  Result<LivePeerConfig> read() {
    toml::table doc;
    try {
      doc = toml::parse(text_, std::string_view(source_));
    } catch (const toml::parse_error& e) {
      return refuse(source_, e.source().begin.line, "",
                    "TOML syntax error: " + std::string(e.description()));
    }
    c_.source = source_;
    // In file order, so that the first error reported is the first in the file.
    std::vector<std::pair<const toml::key*, const toml::node*>> keys;
    for (auto&& [k, v] : doc) keys.emplace_back(&k, &v);
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
      return a.first->source().begin.line < b.first->source().begin.line;
    });
    bool has_listen = false, has_identity = false, has_data_dir = false;
    for (const auto& [k, v] : keys) {
      const std::string key(k->str());
      line_ = k->source().begin.line;
      Result<bool> r = true;
      if (key == "listen") {
        has_listen = true;
        r = read_listen(*v);
      } else if (key == "identity") {
        has_identity = true;
        r = read_path(key, *v, c_.identity);
      } else if (key == "data_dir") {
        has_data_dir = true;
        r = read_path(key, *v, c_.data_dir);
      } else if (key == "namespaces") {
        r = read_strings(key, *v, c_.namespaces);
        namespaces_line_ = line_;
      } else if (key == "bootstrap") {
        r = read_bootstrap(*v);
      } else if (key == "sync") {
        r = read_sync(*v);
      } else if (key == "log_level") {
        r = read_log_level(*v);
      } else if (key == "metrics_listen") {
        r = read_metrics(*v);
      } else if (key == "overlay") {
        r = read_overlay(*v);
      } else if (key == "runner") {
        r = read_runner(*v);
      } else {
        return refuse(source_, line_, key, std::string("unknown key (a peer file has ") + kKeys + ")");
      }
      if (!r) return r.error();
    }
    line_ = 0;
    if (!has_listen) return refuse(source_, 0, "listen", "missing: the UDP address, such as \"127.0.0.1:7400\"");
    if (!has_identity) return refuse(source_, 0, "identity", "missing: the key file, such as \"peer.key\"");
    if (!has_data_dir) return refuse(source_, 0, "data_dir", "missing: the data folder, such as \"data\"");
    if (auto r = read_overlay_through_scenario(); !r) return r.error();
    if (auto r = check_runner(); !r) return r.error();
    return c_;
  }

 private:
  Result<bool> fail(std::string_view key, const std::string& what) const {
    return refuse(source_, line_, key, what);
  }

  Result<std::string> string_of(std::string_view key, const toml::node& v) const {
    if (const auto* s = v.as_string()) return s->get();
    return fail(key, std::string("must be a string (got ") + type_name(v) + ")").error();
  }

  Result<bool> read_listen(const toml::node& v) {
    auto s = string_of("listen", v);
    if (!s) return s.error();
    auto ep = parse_host_port(*s);
    if (!ep) return fail("listen", ep.error().detail);
    if (ep->address().is_unspecified()) {
      return fail("listen", "must be the address other peers reach this one at, not " + *s +
                                " (it is what the ring tells them)");
    }
    c_.listen = *ep;
    c_.listen_text = *s;
    return true;
  }

  Result<bool> read_path(std::string_view key, const toml::node& v, std::string& out) {
    auto s = string_of(key, v);
    if (!s) return s.error();
    if (s->empty()) return fail(key, "must not be empty");
    out = resolve_path(base_dir_, *s);
    return true;
  }

  Result<bool> read_strings(std::string_view key, const toml::node& v, std::vector<std::string>& out) {
    const toml::array* a = v.as_array();
    if (a == nullptr) return fail(key, std::string("must be an array of strings (got ") + type_name(v) + ")");
    out.clear();
    for (const toml::node& item : *a) {
      const auto* s = item.as_string();
      if (s == nullptr) {
        return fail(key, std::string("must be an array of strings (an item is ") + type_name(item) + ")");
      }
      out.push_back(s->get());
    }
    return true;
  }

  Result<bool> read_bootstrap(const toml::node& v) {
    if (auto r = read_strings("bootstrap", v, c_.bootstrap); !r) return r;
    for (const std::string& b : c_.bootstrap) {
      auto ep = parse_host_port(b);
      if (!ep) {
        // A name is fine too; it is resolved when the daemon starts.
        if (ep.error().detail.find("not a numeric") == std::string::npos) {
          return fail("bootstrap", ep.error().detail);
        }
      }
    }
    return true;
  }

  Result<bool> read_sync(const toml::node& v) {
    auto s = string_of("sync", v);
    if (!s) return s.error();
    if (*s == "full") {
      c_.sync = SyncLevel::kFull;
    } else if (*s == "normal") {
      c_.sync = SyncLevel::kNormal;
    } else {
      return fail("sync", "must be \"full\" (survives power loss) or \"normal\" (survives "
                          "kill -9) (got " + json_quote(*s) + ")");
    }
    return true;
  }

  Result<bool> read_log_level(const toml::node& v) {
    auto s = string_of("log_level", v);
    if (!s) return s.error();
    auto l = parse_log_level(*s);
    if (!l) {
      return fail("log_level", "must be \"debug\", \"info\", \"warn\" or \"error\" (got " + json_quote(*s) + ")");
    }
    c_.log_level = *l;
    return true;
  }

  Result<bool> read_metrics(const toml::node& v) {
    auto s = string_of("metrics_listen", v);
    if (!s) return s.error();
    if (!s->empty()) {
      if (auto ep = parse_host_port(*s); !ep) return fail("metrics_listen", ep.error().detail);
    }
    c_.metrics_listen = *s;
    return true;
  }

  // Records the overlay table's lines for the scenario loader; refuses the keys that make
  // no sense live.
  Result<bool> read_overlay(const toml::node& v) {
    const toml::table* t = v.as_table();
    if (t == nullptr) return fail("overlay", std::string("must be a table (got ") + type_name(v) + ")");
    for (auto&& [k, val] : *t) {
      for (const Refused& r : kRefusedOverlayKeys) {
        if (k.str() == r.key) {
          return refuse(source_, k.source().begin.line, "overlay." + std::string(r.key),
                        std::string("not a live peer's key: ") + r.why);
        }
      }
      keep_lines(k.source().begin.line, val.source().end.line);
    }
    if (t->is_inline()) {
      keep_lines(v.source().begin.line, v.source().end.line);
    } else {
      const auto header = static_cast<std::int64_t>(t->source().begin.line);
      const std::string_view text = line_text(header);
      const auto first = text.find_first_not_of(" \t");
      if (first != std::string_view::npos && text[first] == '[') keep_lines(header, header);
    }
    return true;
  }

  Result<bool> read_overlay_through_scenario() {
    std::string overlay_only;
    std::int64_t n = 1;
    for (std::string_view rest = text_;; ++n) {
      const auto nl = rest.find('\n');
      if (kept_.count(n) > 0) overlay_only += rest.substr(0, nl);
      overlay_only += '\n';
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    auto sc = parse_scenario(overlay_only, source_, base_dir_);
    if (!sc) {
      ScenarioError e = sc.error();
      // The scenario's list of keys names the ones refused here: give the live list.
      if (e.what.starts_with("unknown key")) {
        e.what = "unknown key ([overlay] in a peer file takes replication, write_quorum, "
                 "read_quorum, successors, stabilize_interval_s, fix_fingers_interval_s, "
                 "check_predecessor_interval_s, anti_entropy_interval_s, "
                 "journal_block_interval_s, request_timeout_ms, max_datagram_bytes)";
      }
      return Error{ErrorCode::kBadRequest, e.message()};
    }
    // The top-level namespaces get the scenario's checks for overlay.namespaces.
    std::string list = "[";
    for (const std::string& ns : c_.namespaces) list += (list.size() > 1 ? ", " : "") + json_quote(ns);
    list += "]";
    if (auto r = apply_override(*sc, "overlay.namespaces=" + list); !r) {
      return refuse(source_, namespaces_line_, "namespaces", r.error().what);
    }
    codec::NamespaceTable table;
    for (const std::string& ns : c_.namespaces) {
      if (auto r = table.add(ns); !r) return refuse(source_, namespaces_line_, "namespaces", r.error().detail);
    }
    c_.peer = peer_config_of(sc->overlay);  // the same mapping as the simulator's
    return true;
  }

  // ---- [runner] (written by `kittengrad live`) ----
  Result<bool> read_runner(const toml::node& v) {
    const toml::table* t = v.as_table();
    if (t == nullptr || t->is_inline()) return fail("runner", "must be a [runner] table");
    runner_line_ = line_;
    RunnerSettings r;
    for (auto&& [k, val] : *t) {
      const std::string key = "runner." + std::string(k.str());
      line_ = k.source().begin.line;
      if (k.str() == "control_key") {
        auto s = string_of(key, val);
        if (!s) return s.error();
        r.control_key = parse_public_key_hex(*s);
        if (!r.control_key) return fail(key, "must be the runner's Ed25519 public key, 64 hex digits");
      } else if (k.str() == "members") {
        if (auto p = read_path(key, val, r.members); !p) return p;
        members_line_ = line_;
      } else if (k.str() == "seed") {
        const auto* i = val.as_integer();
        if (i == nullptr || i->get() < 0) return fail(key, "must be an integer >= 0");
        r.seed = static_cast<std::uint64_t>(i->get());
      } else if (k.str() == "hosts") {
        const auto* i = val.as_integer();
        if (i == nullptr || i->get() < 1 || i->get() > static_cast<std::int64_t>(kRunHostsMax)) {
          return fail(key, "must be an integer in [1, " + std::to_string(kRunHostsMax) + "]");
        }
        r.hosts = static_cast<std::size_t>(i->get());
      } else if (k.str() == "latency" || k.str() == "loss" || k.str() == "duplicate") {
        if (k.str() == "latency") latency_line_ = line_;
        network_lines_.insert(line_);
        for (auto l = line_; l <= static_cast<std::int64_t>(val.source().end.line); ++l) network_lines_.insert(l);
      } else {
        return fail(key, std::string("unknown key ([runner] takes ") + kRunnerKeys + ")");
      }
    }
    c_.runner = std::move(r);
    return true;
  }

  // The network keys go through the scenario loader as a [network] table, so that they
  // mean and accept exactly what they do in a scenario; then the cross-checks.
  Result<bool> check_runner() {
    if (!c_.runner) return true;
    RunnerSettings& r = *c_.runner;
    if (!run_host_index(c_.listen.address())) {
      return refuse(source_, 0, "listen", "with [runner], must be a run host's address 127.77.X.Y (got " +
                                              c_.listen_text + ")");
    }
    if (!r.members.empty() && !c_.bootstrap.empty()) {
      return refuse(source_, members_line_, "runner.members",
                    "a ring that starts formed has no bootstrap: leave bootstrap = []");
    }
    if (network_lines_.empty()) return true;
    std::string network_only;
    std::int64_t n = 1;
    for (std::string_view rest = text_;; ++n) {
      const auto nl = rest.find('\n');
      if (n == runner_line_) {
        network_only += "[network]";
      } else if (network_lines_.count(n) > 0) {
        network_only += rest.substr(0, nl);
      }
      network_only += '\n';
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    auto sc = parse_scenario(network_only, source_, base_dir_);
    if (!sc) {
      ScenarioError e = sc.error();
      if (e.key.starts_with("network.")) e.key = "runner." + e.key.substr(8);
      return Error{ErrorCode::kBadRequest, e.message()};
    }
    r.loss = sc->network.loss;
    r.duplicate = sc->network.duplicate;
    if (latency_line_ > 0) {
      if (r.hosts == 0) return refuse(source_, latency_line_, "runner.hosts", "missing: the hosts of the latency model");
      // Reads a matrix or coordinate file now, so that a bad one is named at start. The
      // message names the scenario key (network.latency.file ...): here it is runner's.
      if (auto built = build_pair_latency(sc->network.latency, 1, r.seed); !built) {
        std::string detail = built.error().detail;
        if (detail.starts_with("network.")) detail = "runner." + detail.substr(8);
        return Error{ErrorCode::kBadRequest, source_ + ":" + std::to_string(latency_line_) + ": " + detail};
      }
      r.latency = sc->network.latency;
    }
    return true;
  }

  void keep_lines(std::int64_t from, std::int64_t to) {
    for (std::int64_t l = from; l <= to; ++l) kept_.insert(l);
  }

  std::string_view line_text(std::int64_t line) const {
    std::string_view rest = text_;
    for (std::int64_t n = 1; n < line; ++n) {
      const auto nl = rest.find('\n');
      if (nl == std::string_view::npos) return {};
      rest.remove_prefix(nl + 1);
    }
    return rest.substr(0, rest.find('\n'));
  }

  std::string_view text_;
  std::string source_;
  std::string base_dir_;
  LivePeerConfig c_;
  std::int64_t line_ = 0;
  std::int64_t namespaces_line_ = 0;
  std::set<std::int64_t> kept_;
  std::int64_t runner_line_ = 0;
  std::int64_t members_line_ = 0;
  std::int64_t latency_line_ = 0;
  std::set<std::int64_t> network_lines_;  // the [runner] lines of latency, loss, duplicate
};

}  // namespace

Result<LivePeerConfig> parse_peer_config(std::string_view text, const std::string& source_name,
                                         const std::string& base_dir) {
  try {
    return Reader(text, source_name, base_dir).read();
  } catch (const std::exception& e) {  // out of memory: nothing throws past this
    return Error{ErrorCode::kBadRequest, source_name + ": cannot read: " + e.what()};
  }
}

Result<LivePeerConfig> load_peer_config(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Error{ErrorCode::kBadRequest, path + ": cannot read the config file: " + ec.message()};
  if (size > kConfigFileBytesMax) {
    return Error{ErrorCode::kBadRequest, path + ": " + std::to_string(size) + " bytes is not a peer config file"};
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return Error{ErrorCode::kBadRequest, path + ": cannot read the config file"};
  const std::string base = std::filesystem::path(path).parent_path().string();
  return parse_peer_config(text.str(), path, base);
}

}  // namespace kittengrad::live
