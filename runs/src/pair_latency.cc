// runs/src/pair_latency.cc — per-pair latencies and access rates of a run (see
// kittengrad/runs/pair_latency.h): the latency files' readers and the access-latency draws.
#include "kittengrad/runs/pair_latency.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "kittengrad/rng.h"

namespace kittengrad::runs {
namespace {

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

std::string check_nonneg(const char* key, double v) {
  if (std::isfinite(v) && v >= 0) return "";
  return std::string(key) + ": must be a finite number >= 0, got " + std::to_string(v);
}

// Checks the numbers the latency model uses; returns "" or the error naming the key.
std::string check_latency(const LatencySpec& l) {
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

}  // namespace

std::variant<PairLatency, std::string> build_pair_latency(const NetworkSection& net,
                                                          std::size_t hosts, std::uint64_t seed) {
  const LatencySpec& spec = net.latency;
  if (auto err = check_latency(spec); !err.empty()) return err;
  if (spec.model == LatencyModel::kMatrix) {
    auto read = read_latency_matrix_file(spec.path);
    if (auto* err = std::get_if<std::string>(&read)) return "network.latency.file: " + *err;
    auto matrix = std::make_shared<const LatencyMatrix>(std::move(std::get<LatencyMatrix>(read)));
    return PairLatency(std::move(matrix));
  }
  std::vector<SyscoordNode> nodes;
  if (spec.model == LatencyModel::kCoordinates) {
    auto read = read_syscoord_file(spec.path);
    if (auto* err = std::get_if<std::string>(&read)) return "network.latency.file: " + *err;
    nodes = std::move(std::get<std::vector<SyscoordNode>>(read));
  }
  std::vector<SyscoordNode> coords;
  coords.reserve(hosts);
  for (std::size_t k = 0; k < hosts; ++k) {
    coords.push_back(nodes.empty() ? SyscoordNode{0, 0, access_latency_ms(spec, seed, k)}
                                   : nodes[k % nodes.size()]);
  }
  return PairLatency(std::move(coords));
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

}  // namespace kittengrad::runs
