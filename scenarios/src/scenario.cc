// scenario.cc — names of the enums as scenario files write them, the defaults Scenario works
// out (snapshot times), error messages, and the small text helpers the reader, the validator
// and the writer share.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "scenario_internal.h"

namespace kittengrad {
namespace {

// Indexed by the enum's value; the static_asserts keep the tables and the enums in step.
constexpr std::array<const char*, 5> kLatencyModelNames = {"constant", "uniform", "lognormal",
                                                           "matrix", "coordinates"};
constexpr std::array<const char*, 2> kNetworkModelNames = {"queue", "flow"};
constexpr std::array<const char*, 4> kChurnModelNames = {"none", "exponential", "weibull",
                                                         "pareto"};
constexpr std::array<const char*, 7> kFailureKindNames = {"crash",     "recover", "leave", "join",
                                                          "partition", "heal",    "loss"};
constexpr std::array<const char*, 2> kBootstrapNames = {"instant", "join"};

static_assert(static_cast<std::size_t>(LatencyModel::kCoordinates) + 1 ==
              kLatencyModelNames.size());
static_assert(static_cast<std::size_t>(NetworkModel::kFlow) + 1 == kNetworkModelNames.size());
static_assert(static_cast<std::size_t>(ChurnModel::kPareto) + 1 == kChurnModelNames.size());
static_assert(static_cast<std::size_t>(FailureKind::kLoss) + 1 == kFailureKindNames.size());
static_assert(static_cast<std::size_t>(Bootstrap::kJoin) + 1 == kBootstrapNames.size());

template <typename E, std::size_t N>
const char* name_of(const std::array<const char*, N>& names, E e) {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : "?";
}

}  // namespace

const char* latency_model_name(LatencyModel m) { return name_of(kLatencyModelNames, m); }
const char* network_model_name(NetworkModel m) { return name_of(kNetworkModelNames, m); }
const char* churn_model_name(ChurnModel m) { return name_of(kChurnModelNames, m); }
const char* failure_kind_name(FailureKind k) { return name_of(kFailureKindNames, k); }
const char* bootstrap_name(Bootstrap b) { return name_of(kBootstrapNames, b); }

bool Scenario::same_settings(const Scenario& other) const {
  if (failures.size() != other.failures.size()) return false;
  for (std::size_t i = 0; i < failures.size(); ++i) {
    FailureEvent a = failures[i];
    FailureEvent b = other.failures[i];
    a.line = b.line = 0;  // where the table was written is not a setting
    if (!(a == b)) return false;
  }
  return run == other.run && overlay == other.overlay && network == other.network &&
         churn == other.churn && workload == other.workload;
}

std::vector<double> Scenario::snapshot_times_s() const {
  std::vector<double> times = run.snapshot_times_s;
  if (times.empty()) {
    const double d = run.duration_s;
    times = {d / 4, d / 2, d * 3 / 4, d};
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  return times;
}

std::string ScenarioError::message() const {
  std::string out;
  if (!setting.empty()) out += "--set " + setting + ": ";
  if (!file.empty()) {
    out += file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
  } else if (line > 0) {
    out += "line " + std::to_string(line) + ": ";
  }
  if (!key.empty()) out += key + ": ";
  return out + what;
}

std::string resolve_data_path(const std::string& base_dir, const std::string& file) {
  namespace fs = std::filesystem;
  fs::path p(file);
  if (p.is_relative()) p = fs::path(base_dir.empty() ? "." : base_dir) / p;
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  return (ec ? p : abs).lexically_normal().string();
}

namespace internal {

Origin Origin::sub(std::string_view name) const {
  return Origin{key + "." + std::string(name), lines};
}

void Origin::record(int line) const {
  if (lines != nullptr) (*lines)[key] = line;
}

int Origin::line_of(const toml::node& n) const {
  return lines != nullptr ? static_cast<int>(n.source().begin.line) : 0;
}

std::span<const char* const> latency_model_names() { return kLatencyModelNames; }
std::span<const char* const> network_model_names() { return kNetworkModelNames; }
std::span<const char* const> churn_model_names() { return kChurnModelNames; }
std::span<const char* const> failure_kind_names() { return kFailureKindNames; }
std::span<const char* const> bootstrap_names() { return kBootstrapNames; }

std::string quoted_list(std::span<const char* const> names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (i + 1 == names.size()) ? " or " : ", ";
    out += "\"" + std::string(names[i]) + "\"";
  }
  return out;
}

std::optional<std::size_t> find_name(std::span<const char* const> names, std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (name == names[i]) return i;
  }
  return std::nullopt;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::array<char, 32> buf{};
  // Shortest round-trip form: parsing the text gives back exactly v.
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf.data(), end);
}

std::string toml_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      std::array<char, 8> esc{};
      std::snprintf(esc.data(), esc.size(), "\\u%04x", static_cast<unsigned>(u));
      out += esc.data();
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace internal
}  // namespace kittengrad
