// platform.cc — builds the simulated network (see platform.h for the models) and sets the
// engine options that kittengrad runs depend on.
//
// The whole platform is one flat star zone: each host has an up link and a down link of
// the access bandwidth and no latency; the latency of a pair is added by the zone itself
// when SimGrid asks it for a route. SimGrid's Vivaldi zone does this from three
// coordinates per host, which covers the coordinate file and (with x = y = 0 and the
// height set to the access latency) the constant, uniform and lognormal models. For a
// latency matrix we subclass SimGrid's StarZone the same way VivaldiZone does, with a
// lookup in an N x N float array instead of a distance. The textbook construction, one
// sub-zone per matrix node joined by a full zone with one link per node pair, costs N^2
// SimGrid links (hundreds of bytes each, and one more routing level per datagram); the
// subclass costs 4 bytes per pair and routes as fast as Vivaldi. It relies on SimGrid's
// kernel routing headers (installed, exported, but less stable than s4u across versions).
#include "platform.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <fstream>
#include <memory>
#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/kernel/routing/StarZone.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <xbt/config.hpp>

#include "kittengrad/rng.h"

namespace kittengrad::sim {
namespace {

namespace sg4 = simgrid::s4u;
namespace sgr = simgrid::kernel::routing;

// ---------------------------------------------------------------------------------------
// Engine settings.

// Actor stacks. SimGrid's default is 8 MiB of address space per actor, one mmap each:
// only touched pages become resident, but mapping and faulting in a fresh stack per actor
// costs: at 10k peers we measured 1.7 to 3 times fewer deliveries per wall second with
// 8 MiB stacks than with stacks of 16 to 64 KiB (which come from the heap).
//
// How deep an actor goes, measured by running with 1 MiB zero-filled stacks and scanning
// them afterwards for the deepest byte written: `kittengrad sim` on churn-1k (with joins,
// loss and duplication), adjacent-crash, partition-heal and chord-mass-failure at 200-300
// peers peaks at 6.4 KiB (the director killing every actor at the end); the protocol core
// alone, driven by the test network inside one actor (joins, crashes, a leave,
// anti-entropy, signatures checked with libsodium) at 9 KiB.
//
// With a guard page (below) a stack only costs the pages it touches (139 MB at 10k peers
// for 16, 32 or 64 KiB stacks alike), so we can be generous: 64 KiB, 7 times the deepest
// use we saw. Without one, SimGrid allocates stacks with calloc, which zero-fills (touches)
// all of it, so every KiB is resident for every actor (3.2 GB at 100k actors for 32 KiB;
// the page faults of that fill are most of the 30 s setup at 100k peers), and an overflow
// silently corrupts the heap instead of stopping the run: 32 KiB, 3.5 times the deepest.
constexpr int kGuardedStackKiB = 64;
constexpr int kUnguardedStackKiB = 32;

// A guard page turns a stack overflow into a clean SIGSEGV, so we keep it while we can;
// but a guarded stack costs two memory mappings (the stack and its PROT_NONE page), and
// Linux refuses more than vm.max_map_count mappings per process (65530 by default): SimGrid
// then aborts with "Failed to protect stack" (we measured the limit at 32.5k-34k actors).
// Mappings left for the program itself (libraries, malloc arenas, large buffers):
constexpr std::size_t kMapsReserved = 4000;
constexpr std::size_t kMaxMapCountDefault = 65530;

// vm.max_map_count of this machine, or Linux's default when it cannot be read.
std::size_t max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  std::size_t n = 0;
  if (in >> n && n > 0) return n;
  return kMaxMapCountDefault;
}

// TCP-gamma is SimGrid's TCP window: a flow's rate is capped at gamma / (2 * latency).
// Datagrams are not window-limited, so we lift the cap (1 TB) rather than let 4 MiB
// throttle big messages on long paths.
constexpr double kTcpGammaBytes = 1e12;

// Sets `name` to `value` unless the user chose it on the command line.
template <typename T>
void set_default_config(sg4::Engine& e, const char* name, T value) {
  if (simgrid::config::is_default(name)) e.set_config(name, value);
}

// ---------------------------------------------------------------------------------------
// Reading latency files.

// "line L of PATH: what".
std::string at_line(const std::string& path, std::size_t line, std::string_view what) {
  return "line " + std::to_string(line) + " of " + path + ": " + std::string(what);
}

// A line as the user wrote it, shortened for error messages.
std::string quoted(std::string_view line) {
  constexpr std::size_t kShownMax = 60;
  if (line.size() > kShownMax) return "`" + std::string(line.substr(0, kShownMax)) + "...`";
  return "`" + std::string(line) + "`";
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// True for lines to skip: blank ones and `#` comments.
bool is_blank_or_comment(std::string_view line) {
  const std::string_view t = trim(line);
  return t.empty() || t.front() == '#';
}

// Parses the whole of `s` as a finite double (locale-independent).
bool parse_double(std::string_view s, double* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(*out);
}

bool parse_u64(std::string_view s, std::uint64_t* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// Splits on runs of spaces and tabs.
std::vector<std::string_view> split_blanks(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Parses one `ID X Y h HEIGHT` line; returns "" or what is wrong with it.
std::string parse_syscoord_line(std::string_view line, std::uint64_t* id, SyscoordNode* node) {
  const auto f = split_blanks(line);
  if (f.size() != 5 || f[3] != "h" || !parse_u64(f[0], id) || !parse_double(f[1], &node->x_ms) ||
      !parse_double(f[2], &node->y_ms) || !parse_double(f[4], &node->height_ms)) {
    return "expected `ID X Y h HEIGHT` (ID an integer, X Y HEIGHT numbers in ms), got " +
           quoted(line);
  }
  if (node->height_ms < 0) return "HEIGHT must be >= 0, got " + std::string(f[4]);
  return "";
}

// Splits a CSV row on commas and checks each field is a number; returns "" or the error.
std::string parse_matrix_row(std::string_view line, std::vector<double>* row) {
  row->clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    const std::string_view field =
        trim(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start));
    double v = 0;
    if (!parse_double(field, &v)) {
      return "field " + std::to_string(row->size() + 1) + " " + quoted(field) +
             " is not a finite number (the matrix has no header row and no index column; "
             "comment lines start with #)";
    }
    row->push_back(v);
    if (comma == std::string_view::npos) return "";
    start = comma + 1;
  }
}

// ---------------------------------------------------------------------------------------
// The matrix zone.

// A star zone whose routes pay m[node(src)][node(dst)] on top of their links, as SimGrid's
// VivaldiZone pays a distance. Invariant: every host of the zone has an entry in node_of_.
class MatrixZone final : public sgr::StarZone {
 public:
  MatrixZone(const std::string& name, std::shared_ptr<const LatencyMatrix> matrix)
      : StarZone(name), matrix_(std::move(matrix)) {}

  // Records that `host` sits on matrix node `node`.
  void place(const sg4::Host* host, std::size_t node) {
    const auto id = host->get_netpoint()->id();
    if (node_of_.size() <= id) node_of_.resize(id + 1, 0);
    node_of_[id] = static_cast<std::uint32_t>(node);
  }

  void get_local_route(const sgr::NetPoint* src, const sgr::NetPoint* dst, sgr::Route* route,
                       double* latency_s) override {
    StarZone::get_local_route(src, dst, route, latency_s);
    if (latency_s != nullptr) {
      *latency_s += matrix_->at(node_of_.at(src->id()), node_of_.at(dst->id())) / 1000.0;
    }
  }

 private:
  std::shared_ptr<const LatencyMatrix> matrix_;
  std::vector<std::uint32_t> node_of_;  // by NetPoint::id()
};

// ---------------------------------------------------------------------------------------
// Building.

std::string check_nonneg(const char* key, double v) {
  if (std::isfinite(v) && v >= 0) return "";
  return std::string(key) + ": must be a finite number >= 0, got " + std::to_string(v);
}

// Checks the numbers the models use; returns "" or the error naming the key.
std::string check_network(const NetworkSection& net) {
  if (!(std::isfinite(net.bandwidth_mbps) && net.bandwidth_mbps > 0)) {
    return "network.bandwidth_mbps: must be a finite number > 0, got " +
           std::to_string(net.bandwidth_mbps);
  }
  if (net.bandwidth_max_mbps && !(std::isfinite(*net.bandwidth_max_mbps) &&
                                  *net.bandwidth_max_mbps >= net.bandwidth_mbps)) {
    return "network.bandwidth_mbps.max: must be a finite number >= min, got " +
           std::to_string(*net.bandwidth_max_mbps);
  }
  const LatencySpec& l = net.latency;
  switch (l.model) {
    case LatencyModel::kConstant:
      return check_nonneg("network.latency.ms", l.ms);
    case LatencyModel::kUniform:
      if (auto e = check_nonneg("network.latency.min_ms", l.min_ms); !e.empty()) return e;
      if (auto e = check_nonneg("network.latency.max_ms", l.max_ms); !e.empty()) return e;
      if (l.max_ms < l.min_ms) return "network.latency.max_ms: must be >= min_ms";
      return "";
    case LatencyModel::kLognormal:
      if (auto e = check_nonneg("network.latency.median_ms", l.median_ms); !e.empty()) return e;
      return check_nonneg("network.latency.sigma", l.sigma);
    case LatencyModel::kMatrix:
    case LatencyModel::kCoordinates:
      if (l.path.empty()) return "network.latency.file: missing";
      return "";
  }
  return "network.latency.model: unknown model";
}

std::string host_name(char prefix, std::size_t i) { return prefix + std::to_string(i); }

// Shortest round-trip decimal form of v (locale-independent).
std::string decimal(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "0";
}

// Creates host `name` in `zone` with its up and down access links of `bw_Bps`.
sg4::Host* add_host(sg4::NetZone* zone, const std::string& name, double bw_Bps) {
  sg4::Host* host = zone->create_host(name, kHostSpeedFlops);
  const sg4::Link* up = zone->create_link(name + "_up", bw_Bps);
  const sg4::Link* down = zone->create_link(name + "_down", bw_Bps);
  auto* np = host->get_netpoint();
  zone->add_route(np, nullptr, nullptr, nullptr, {sg4::LinkInRoute(up)}, false);
  zone->add_route(nullptr, np, nullptr, nullptr, {sg4::LinkInRoute(down)}, false);
  return host;
}

// Creates all hosts, calling place(host, k) for host number k; seals the zone. Host k's
// links run at access_rate_Bps(net, seed, k).
template <typename Place>
PlatformHosts add_all_hosts(sg4::NetZone* zone, const NetworkSection& net, std::size_t peers,
                            std::size_t extra, std::uint64_t seed, Place place) {
  PlatformHosts hosts;
  hosts.peers.reserve(peers);
  hosts.extra.reserve(extra);
  hosts.rate_Bps.reserve(peers + extra);
  for (std::size_t k = 0; k < peers + extra; ++k) {
    hosts.rate_Bps.push_back(access_rate_Bps(net, seed, k));
  }
  for (std::size_t i = 0; i < peers; ++i) {
    hosts.peers.push_back(add_host(zone, host_name('p', i), hosts.rate_Bps[i]));
    place(hosts.peers.back(), i);
  }
  for (std::size_t j = 0; j < extra; ++j) {
    hosts.extra.push_back(add_host(zone, host_name('x', j), hosts.rate_Bps[peers + j]));
    place(hosts.extra.back(), peers + j);
  }
  zone->seal();
  return hosts;
}

std::variant<PlatformHosts, std::string> build_vivaldi(const NetworkSection& net, std::size_t peers,
                                                       std::size_t extra, std::uint64_t seed) {
  std::vector<SyscoordNode> nodes;
  if (net.latency.model == LatencyModel::kCoordinates) {
    auto read = read_syscoord_file(net.latency.path);
    if (auto* err = std::get_if<std::string>(&read)) return "network.latency.file: " + *err;
    nodes = std::move(std::get<std::vector<SyscoordNode>>(read));
  }
  sg4::NetZone* zone = sg4::create_vivaldi_zone("kittengrad");
  std::vector<SyscoordNode> coords;
  coords.reserve(peers + extra);
  PlatformHosts hosts =
      add_all_hosts(zone, net, peers, extra, seed, [&](sg4::Host* host, std::size_t k) {
        const SyscoordNode c = nodes.empty()
                                   ? SyscoordNode{0, 0, access_latency_ms(net.latency, seed, k)}
                                   : nodes[k % nodes.size()];
        host->set_coordinates(decimal(c.x_ms) + " " + decimal(c.y_ms) + " " +
                              decimal(c.height_ms));
        coords.push_back(c);  // decimal() round-trips: SimGrid reads back these doubles
      });
  hosts.latency = PairLatency(std::move(coords));
  return hosts;
}

std::variant<PlatformHosts, std::string> build_matrix(const NetworkSection& net, std::size_t peers,
                                                      std::size_t extra, std::uint64_t seed) {
  auto read = read_latency_matrix_file(net.latency.path);
  if (auto* err = std::get_if<std::string>(&read)) return "network.latency.file: " + *err;
  auto matrix = std::make_shared<const LatencyMatrix>(std::move(std::get<LatencyMatrix>(read)));
  const std::size_t n = matrix->n;
  // The zone registers itself with the engine (as root) and is deleted by it.
  auto* zone = new MatrixZone("kittengrad", matrix);
  PlatformHosts hosts =
      add_all_hosts(zone->get_iface(), net, peers, extra, seed,
                    [&](const sg4::Host* host, std::size_t k) { zone->place(host, k % n); });
  hosts.latency = PairLatency(std::move(matrix));
  return hosts;
}

}  // namespace

// ---------------------------------------------------------------------------------------

void configure_engine_defaults(simgrid::s4u::Engine& e, std::size_t actors) {
  // CM02 is max-min sharing with no TCP corrections: LV08 (the default) multiplies every
  // latency by 13.01 and adds weight-S penalties that model TCP slow start; a datagram is
  // one packet, not a TCP flow. It is also far faster at scale: in a bare messaging test at
  // 100k peers we measured 150k deliveries per wall second with CM02 against 27k/s with LV08.
  set_default_config(e, "network/model", std::string("CM02"));
  // Crosstraffic charges every flow 5% on the reverse route for TCP acknowledgements;
  // datagrams have none. It would also double the constraints of each flow.
  set_default_config(e, "network/crosstraffic", false);
  set_default_config(e, "network/TCP-gamma", kTcpGammaBytes);
  if (2 * actors + kMapsReserved > max_map_count()) {
    set_default_config(e, "contexts/guard-size", 0);
  }
  const bool guarded = simgrid::config::get_value<int>("contexts/guard-size") > 0;
  set_default_config(e, "contexts/stack-size", guarded ? kGuardedStackKiB : kUnguardedStackKiB);
  // Left at SimGrid's defaults on purpose: contexts/factory (raw, the fastest on x86-64),
  // contexts/nthreads = 1 (our actors share state through the oracle; parallel contexts
  // also make the order of same-time events depend on thread timing), network/optim =
  // Lazy (only flows whose share changed are recomputed).
}

std::variant<PlatformHosts, std::string> build_platform(simgrid::s4u::Engine& e,
                                                        const NetworkSection& net,
                                                        std::size_t peer_hosts,
                                                        std::size_t extra_hosts,
                                                        std::uint64_t seed) {
  if (auto err = check_network(net); !err.empty()) return err;
  if (e.get_netzone_root() != nullptr) {
    return std::string("network: the simulation engine already has a platform");
  }
  try {
    if (net.latency.model == LatencyModel::kMatrix)
      return build_matrix(net, peer_hosts, extra_hosts, seed);
    return build_vivaldi(net, peer_hosts, extra_hosts, seed);
  } catch (const std::exception& ex) {
    return std::string("network: SimGrid refused the platform: ") + ex.what();
  }
}

double access_latency_ms(const LatencySpec& spec, std::uint64_t seed, std::size_t host_index) {
  Rng rng = Rng::derive(seed, "platform.access", host_index);
  switch (spec.model) {
    case LatencyModel::kUniform: {
      const double lo = spec.min_ms / 2;
      const double hi = spec.max_ms / 2;
      return lo + (hi - lo) * rng.uniform01();
    }
    case LatencyModel::kLognormal:
      return spec.median_ms / 2 * std::exp(spec.sigma * rng.normal());
    case LatencyModel::kConstant:
    case LatencyModel::kMatrix:
    case LatencyModel::kCoordinates:
      break;
  }
  return spec.ms / 2;
}

double access_rate_Bps(const NetworkSection& net, std::uint64_t seed, std::size_t host_index) {
  double mbps = net.bandwidth_mbps;
  if (net.bandwidth_max_mbps) {
    Rng rng = Rng::derive(seed, "platform.bandwidth", host_index);
    mbps += (*net.bandwidth_max_mbps - net.bandwidth_mbps) * rng.uniform01();
  }
  return mbps * 1e6 / 8;
}

std::variant<std::vector<SyscoordNode>, std::string> read_syscoord_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return path + ": cannot open the file";
  std::vector<SyscoordNode> nodes;
  std::unordered_map<std::uint64_t, std::size_t> first_line_of_id;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (is_blank_or_comment(line)) continue;
    std::uint64_t id = 0;
    SyscoordNode node;
    if (auto err = parse_syscoord_line(line, &id, &node); !err.empty()) {
      return at_line(path, number, err);
    }
    if (auto [it, fresh] = first_line_of_id.try_emplace(id, number); !fresh) {
      return at_line(
          path, number,
          "ID " + std::to_string(id) + " already used on line " + std::to_string(it->second));
    }
    if (nodes.size() == kSyscoordNodesMax) {
      return at_line(path, number, "more than " + std::to_string(kSyscoordNodesMax) + " nodes");
    }
    nodes.push_back(node);
  }
  if (in.bad()) return path + ": read error";
  if (nodes.empty()) return path + ": no `ID X Y h HEIGHT` line in the file";
  return nodes;
}

std::variant<LatencyMatrix, std::string> read_latency_matrix_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return path + ": cannot open the file";
  LatencyMatrix m;
  std::vector<double> row;
  std::size_t rows = 0;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (is_blank_or_comment(line)) continue;
    if (auto err = parse_matrix_row(line, &row); !err.empty()) return at_line(path, number, err);
    if (rows == 0) {
      if (row.size() > kMatrixNodesMax) {
        return at_line(path, number, "more than " + std::to_string(kMatrixNodesMax) + " columns");
      }
      m.n = row.size();
      m.one_way_ms.reserve(m.n * m.n);
    } else if (row.size() != m.n) {
      return at_line(path, number,
                     "row has " + std::to_string(row.size()) + " fields, the first row has " +
                         std::to_string(m.n));
    }
    if (rows == m.n) {
      return at_line(
          path, number,
          "more rows than the " + std::to_string(m.n) + " columns: the matrix must be square");
    }
    for (std::size_t j = 0; j < row.size(); ++j) {
      if (j != rows && row[j] < 0) {
        return at_line(path, number,
                       "field " + std::to_string(j + 1) + " is negative: latencies are >= 0 ms");
      }
      m.one_way_ms.push_back(j == rows ? 0.0F : static_cast<float>(row[j]));
    }
    ++rows;
  }
  if (in.bad()) return path + ": read error";
  if (rows == 0) return path + ": the file holds no matrix row";
  if (rows != m.n) {
    return path + ": " + std::to_string(rows) + " rows but " + std::to_string(m.n) +
           " columns: the matrix must be square";
  }
  return m;
}

}  // namespace kittengrad::sim
