// scenario_reader.cc — TOML nodes into Scenario fields, for files and for `--set` values.
//
// Each table of the file is a Section: a list of Fields, each a name and a function that
// reads one node into the scenario. The same Field reads `overlay.peers` from a file and
// from `--set overlay.peers=2048`, so both accept exactly the same values. Keys are read
// in file order, so the first error reported is the first one in the file. Only types and
// names are checked here (an integer where a float is expected is fine, a float where an
// integer is expected is not); ranges and relations are validate()'s.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "scenario_internal.h"

namespace kittengrad::internal {
namespace {

ScenarioError error_at(const Origin& o, int line, std::string what) {
  return ScenarioError{
      .key = o.key, .file = "", .line = line, .what = std::move(what), .setting = ""};
}

ScenarioError error_at(const Origin& o, const toml::node& n, std::string what) {
  return error_at(o, o.line_of(n), std::move(what));
}

int key_line(const Origin& o, const toml::key& k) {
  return o.lines != nullptr ? static_cast<int>(k.source().begin.line) : 0;
}

std::string type_phrase(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// The entries of a table in the order they were written (toml::table sorts by name).
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& t) {
  std::vector<std::pair<const toml::key*, const toml::node*>> out;
  for (auto&& [k, v] : t) out.emplace_back(&k, &v);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto& sa = a.first->source().begin;
    const auto& sb = b.first->source().begin;
    return sa.line != sb.line ? sa.line < sb.line : sa.column < sb.column;
  });
  return out;
}

// ---- values ----

Problem read_value(const toml::node& n, const Origin& o, double& out) {
  if (const auto* f = n.as_floating_point()) {
    if (!std::isfinite(f->get())) {
      return error_at(o, n, "must be a finite number (got " + format_number(f->get()) + ")");
    }
    out = f->get();
    return {};
  }
  if (const auto* i = n.as_integer()) {
    out = static_cast<double>(i->get());
    return {};
  }
  return error_at(o, n, "must be a number (got " + type_phrase(n) + ")");
}

Problem read_value(const toml::node& n, const Origin& o, std::int64_t& out) {
  if (const auto* i = n.as_integer()) {
    out = i->get();
    return {};
  }
  if (const auto* f = n.as_floating_point()) {
    return error_at(o, n, "must be an integer (got the float " + format_number(f->get()) + ")");
  }
  return error_at(o, n, "must be an integer (got " + type_phrase(n) + ")");
}

Problem read_value(const toml::node& n, const Origin& o, std::uint64_t& out) {
  std::int64_t v = 0;
  if (auto p = read_value(n, o, v)) return p;
  if (v < 0) return error_at(o, n, "must be an integer >= 0 (got " + std::to_string(v) + ")");
  out = static_cast<std::uint64_t>(v);
  return {};
}

Problem read_value(const toml::node& n, const Origin& o, bool& out) {
  if (const auto* b = n.as_boolean()) {
    out = b->get();
    return {};
  }
  return error_at(o, n, "must be true or false (got " + type_phrase(n) + ")");
}

Problem read_value(const toml::node& n, const Origin& o, std::string& out) {
  if (const auto* s = n.as_string()) {
    out = s->get();
    return {};
  }
  return error_at(o, n, "must be a string (got " + type_phrase(n) + ")");
}

template <typename T>
Problem read_value(const toml::node& n, const Origin& o, std::optional<T>& out) {
  T v{};
  if (auto p = read_value(n, o, v)) return p;
  out = v;
  return {};
}

template <typename E>
Problem read_enum(const toml::node& n, const Origin& o, std::span<const char* const> names,
                  E& out) {
  std::string s;
  if (auto p = read_value(n, o, s)) {
    p->what = "must be one of " + quoted_list(names) + " (got " + type_phrase(n) + ")";
    return p;
  }
  const auto i = find_name(names, s);
  if (!i) return error_at(o, n, "must be one of " + quoted_list(names) + " (got \"" + s + "\")");
  out = static_cast<E>(*i);
  return {};
}

// ---- fields ----

// Reads one node into the scenario. `o.key` is the field's dotted key.
using ReadFn = Problem (*)(Scenario&, const toml::node&, const Origin&);

struct Field {
  std::string_view name;
  ReadFn read;
};

struct Section {
  std::string_view name;
  std::span<const Field> fields;
};

// A field that is a plain member of a section: Part is &Scenario::run, Member &RunSection::x.
template <auto Part, auto Member>
Problem plain(Scenario& sc, const toml::node& n, const Origin& o) {
  return read_value(n, o, (sc.*Part).*Member);
}

Problem read_namespaces(Scenario& sc, const toml::node& n, const Origin& o) {
  const auto* arr = n.as_array();
  if (arr == nullptr) {
    return error_at(
        o, n, "must be an array of strings such as [\"default\"] (got " + type_phrase(n) + ")");
  }
  std::vector<std::string> names;
  for (const toml::node& el : *arr) {
    const auto* s = el.as_string();
    if (s == nullptr) {
      return error_at(o, el, "must be an array of strings (got " + type_phrase(el) + " in it)");
    }
    names.push_back(s->get());
  }
  sc.overlay.namespaces = std::move(names);
  return {};
}

// run.snapshot_times_s = [60, 600]: numbers (integers or floats), any number of them here;
// their ranges and count are validate()'s.
Problem read_snapshot_times(Scenario& sc, const toml::node& n, const Origin& o) {
  const auto* arr = n.as_array();
  if (arr == nullptr) {
    return error_at(o, n,
                    "must be an array of seconds such as [60, 600] (got " + type_phrase(n) + ")");
  }
  std::vector<double> times;
  times.reserve(arr->size());
  for (const toml::node& el : *arr) {
    double t = 0;
    if (read_value(el, o, t)) {
      const auto* f = el.as_floating_point();
      return error_at(o, el,
                      "must be an array of finite numbers (got " +
                          (f != nullptr ? format_number(f->get()) : type_phrase(el)) + " in it)");
    }
    times.push_back(t);
  }
  sc.run.snapshot_times_s = std::move(times);
  return {};
}

Problem read_bootstrap(Scenario& sc, const toml::node& n, const Origin& o) {
  return read_enum(n, o, bootstrap_names(), sc.overlay.bootstrap);
}

Problem read_network_model(Scenario& sc, const toml::node& n, const Origin& o) {
  return read_enum(n, o, network_model_names(), sc.network.model);
}

// A number, or a range { min = LO, max = HI } (both keys required; their order is
// validate()'s): `lo` takes the number or min, `hi` is reset or takes max. T is double or
// std::int64_t, as read_value reads it.
template <typename T>
Problem read_number_or_range(const toml::node& n, const Origin& o, T& lo, std::optional<T>& hi,
                             const char* example) {
  const auto* t = n.as_table();
  if (t == nullptr) {
    if (n.is_number()) {
      if (auto p = read_value(n, o, lo)) return p;
      hi.reset();
      return {};
    }
    return error_at(o, n,
                    std::string("must be a number or a range such as ") + example + " (got " +
                        type_phrase(n) + ")");
  }
  T min{}, max{};
  for (const auto& [k, v] : in_file_order(*t)) {
    const Origin ko = o.sub(k->str());
    ko.record(key_line(o, *k));
    if (k->str() == "min") {
      if (auto p = read_value(*v, ko, min)) return p;
    } else if (k->str() == "max") {
      if (auto p = read_value(*v, ko, max)) return p;
    } else {
      return error_at(ko, key_line(o, *k),
                      std::string("unknown key (a range takes min and max, as in ") + example +
                          ")");
    }
  }
  for (const char* key : {"min", "max"}) {
    if (!t->contains(key)) {
      return error_at(o.sub(key), n,
                      std::string("is missing; a range needs both min and max, as in ") + example);
    }
  }
  lo = min;
  hi = max;
  return {};
}

Problem read_bandwidth(Scenario& sc, const toml::node& n, const Origin& o) {
  return read_number_or_range(n, o, sc.network.bandwidth_mbps, sc.network.bandwidth_max_mbps,
                              "{ min = 10, max = 20 }");
}

Problem read_record_bytes(Scenario& sc, const toml::node& n, const Origin& o) {
  return read_number_or_range(n, o, sc.workload.record_bytes, sc.workload.record_bytes_max,
                              "{ min = 512, max = 2048 }");
}

Problem read_churn_model(Scenario& sc, const toml::node& n, const Origin& o) {
  return read_enum(n, o, churn_model_names(), sc.churn.model);
}

// "uniform" or "zipf:S" with S > 0 (stored as zipf_s; 0 stands for "uniform").
Problem read_key_popularity(Scenario& sc, const toml::node& n, const Origin& o) {
  const std::string allowed = "must be \"uniform\" or \"zipf:S\" with a number S > 0";
  std::string s;
  if (read_value(n, o, s)) return error_at(o, n, allowed + " (got " + type_phrase(n) + ")");
  if (s == "uniform") {
    sc.workload.zipf_s = 0;
    return {};
  }
  constexpr std::string_view kZipf = "zipf:";
  if (s.starts_with(kZipf)) {
    const char* first = s.data() + kZipf.size();
    const char* last = s.data() + s.size();
    double v = 0;
    auto [end, ec] = std::from_chars(first, last, v);
    if (ec == std::errc() && end == last && first != last && std::isfinite(v) && v > 0) {
      sc.workload.zipf_s = v;
      return {};
    }
  }
  return error_at(o, n, allowed + " (got \"" + s + "\")");
}

// ---- network.latency ----

// The keys each latency model takes besides `model`.
std::span<const std::string_view> latency_keys(LatencyModel m) {
  static constexpr std::array<std::string_view, 1> kConstant = {"ms"};
  static constexpr std::array<std::string_view, 2> kUniform = {"min_ms", "max_ms"};
  static constexpr std::array<std::string_view, 2> kLognormal = {"median_ms", "sigma"};
  static constexpr std::array<std::string_view, 1> kFile = {"file"};
  switch (m) {
    case LatencyModel::kConstant:
      return kConstant;
    case LatencyModel::kUniform:
      return kUniform;
    case LatencyModel::kLognormal:
      return kLognormal;
    case LatencyModel::kMatrix:
    case LatencyModel::kCoordinates:
      return kFile;
  }
  return {};
}

std::string join(std::span<const std::string_view> names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (i + 1 == names.size()) ? " and " : ", ";
    out += names[i];
  }
  return out;
}

bool model_takes_file(LatencyModel m) {
  return m == LatencyModel::kMatrix || m == LatencyModel::kCoordinates;
}

// Sets one model parameter; `o.key` is "network.latency.<name>".
Problem read_latency_key(Scenario& sc, std::string_view name, const toml::node& n,
                         const Origin& o) {
  LatencySpec& spec = sc.network.latency;
  const auto keys = latency_keys(spec.model);
  if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
    return error_at(o, n,
                    "is not a key of latency model \"" +
                        std::string(latency_model_name(spec.model)) + "\", which takes model and " +
                        join(keys));
  }
  if (name == "ms") return read_value(n, o, spec.ms);
  if (name == "min_ms") return read_value(n, o, spec.min_ms);
  if (name == "max_ms") return read_value(n, o, spec.max_ms);
  if (name == "median_ms") return read_value(n, o, spec.median_ms);
  if (name == "sigma") return read_value(n, o, spec.sigma);
  if (auto p = read_value(n, o, spec.file)) return p;
  spec.path = resolve_data_path(sc.base_dir, spec.file);
  return {};
}

// Replaces the latency model: the named model with its defaults.
Problem read_latency_model(Scenario& sc, const toml::node& n, const Origin& o) {
  LatencySpec spec;
  if (auto p = read_enum(n, o, latency_model_names(), spec.model)) return p;
  sc.network.latency = spec;
  return {};
}

// network.latency = { model = "...", <its keys> }: replaces the whole latency model.
Problem read_latency(Scenario& sc, const toml::node& n, const Origin& o) {
  const auto* t = n.as_table();
  if (t == nullptr) {
    return error_at(
        o, n,
        "must be a table such as { model = \"constant\", ms = 20 } (got " + type_phrase(n) + ")");
  }
  const toml::node* model = t->get("model");
  if (model == nullptr) {
    return error_at(o.sub("model"), n,
                    "is missing; give one of " + quoted_list(latency_model_names()));
  }
  for (const auto& [k, v] : in_file_order(*t)) o.sub(k->str()).record(key_line(o, *k));
  if (auto p = read_latency_model(sc, *model, o.sub("model"))) return p;
  for (const auto& [k, v] : in_file_order(*t)) {
    if (k->str() == "model") continue;
    if (auto p = read_latency_key(sc, k->str(), *v, o.sub(k->str()))) return p;
  }
  const LatencySpec& spec = sc.network.latency;
  if (model_takes_file(spec.model) && spec.file.empty()) {
    return error_at(o.sub("file"), n,
                    "is missing; latency model \"" + std::string(latency_model_name(spec.model)) +
                        "\" needs file = \"PATH\" (relative to the scenario file's folder)");
  }
  return {};
}

constexpr std::array<Field, 4> kRunFields = {{
    {"duration_s", plain<&Scenario::run, &RunSection::duration_s>},
    {"seed", plain<&Scenario::run, &RunSection::seed>},
    {"metrics_interval_s", plain<&Scenario::run, &RunSection::metrics_interval_s>},
    {"snapshot_times_s", read_snapshot_times},
}};

constexpr std::array<Field, 15> kOverlayFields = {{
    {"peers", plain<&Scenario::overlay, &OverlaySection::peers>},
    {"replication", plain<&Scenario::overlay, &OverlaySection::replication>},
    {"write_quorum", plain<&Scenario::overlay, &OverlaySection::write_quorum>},
    {"read_quorum", plain<&Scenario::overlay, &OverlaySection::read_quorum>},
    {"successors", plain<&Scenario::overlay, &OverlaySection::successors>},
    {"namespaces", read_namespaces},
    {"bootstrap", read_bootstrap},
    {"join_rate_per_s", plain<&Scenario::overlay, &OverlaySection::join_rate_per_s>},
    {"stabilize_interval_s", plain<&Scenario::overlay, &OverlaySection::stabilize_interval_s>},
    {"fix_fingers_interval_s", plain<&Scenario::overlay, &OverlaySection::fix_fingers_interval_s>},
    {"check_predecessor_interval_s",
     plain<&Scenario::overlay, &OverlaySection::check_predecessor_interval_s>},
    {"anti_entropy_interval_s",
     plain<&Scenario::overlay, &OverlaySection::anti_entropy_interval_s>},
    {"journal_block_interval_s",
     plain<&Scenario::overlay, &OverlaySection::journal_block_interval_s>},
    {"request_timeout_ms", plain<&Scenario::overlay, &OverlaySection::request_timeout_ms>},
    {"max_datagram_bytes", plain<&Scenario::overlay, &OverlaySection::max_datagram_bytes>},
}};

constexpr std::array<Field, 7> kNetworkFields = {{
    {"latency", read_latency},
    {"model", read_network_model},
    {"bandwidth_mbps", read_bandwidth},
    {"queue_bytes", plain<&Scenario::network, &NetworkSection::queue_bytes>},
    {"loss", plain<&Scenario::network, &NetworkSection::loss>},
    {"duplicate", plain<&Scenario::network, &NetworkSection::duplicate>},
    {"clock_skew_ms", plain<&Scenario::network, &NetworkSection::clock_skew_ms>},
}};

constexpr std::array<Field, 7> kChurnFields = {{
    {"model", read_churn_model},
    {"median_session_s", plain<&Scenario::churn, &ChurnSection::median_session_s>},
    {"shape", plain<&Scenario::churn, &ChurnSection::shape>},
    {"median_downtime_s", plain<&Scenario::churn, &ChurnSection::median_downtime_s>},
    {"permanent_fraction", plain<&Scenario::churn, &ChurnSection::permanent_fraction>},
    {"start_s", plain<&Scenario::churn, &ChurnSection::start_s>},
    {"end_s", plain<&Scenario::churn, &ChurnSection::end_s>},
}};

constexpr std::array<Field, 8> kWorkloadFields = {{
    {"inserts_per_s", plain<&Scenario::workload, &WorkloadSection::inserts_per_s>},
    {"updates_per_s", plain<&Scenario::workload, &WorkloadSection::updates_per_s>},
    {"lookups_per_s", plain<&Scenario::workload, &WorkloadSection::lookups_per_s>},
    {"key_popularity", read_key_popularity},
    {"record_bytes", read_record_bytes},
    {"start_s", plain<&Scenario::workload, &WorkloadSection::start_s>},
    {"end_s", plain<&Scenario::workload, &WorkloadSection::end_s>},
    {"writes_end_s", plain<&Scenario::workload, &WorkloadSection::writes_end_s>},
}};

constexpr std::array<Section, 5> kSections = {{
    {"run", kRunFields},
    {"overlay", kOverlayFields},
    {"network", kNetworkFields},
    {"churn", kChurnFields},
    {"workload", kWorkloadFields},
}};

constexpr std::string_view kTablesSentence =
    "the scenario file has the tables [run], [overlay], [network], [churn], [workload] and "
    "[[failure]]";

const Section* find_section(std::string_view name) {
  for (const Section& s : kSections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const Field* find_field(const Section& s, std::string_view name) {
  for (const Field& f : s.fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string field_list(const Section& s) {
  std::string out;
  for (const Field& f : s.fields) out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

ScenarioError unknown_key(const Origin& o, int line, const Section& s) {
  return error_at(o, line,
                  "unknown key ([" + std::string(s.name) + "] takes " + field_list(s) + ")");
}

Problem read_section(const Section& s, const toml::table& t, Scenario& sc) {
  for (const auto& [k, v] : in_file_order(t)) {
    const Origin o{std::string(s.name) + "." + std::string(k->str()), &sc.key_lines};
    o.record(key_line(o, *k));
    const Field* f = find_field(s, k->str());
    if (f == nullptr) return unknown_key(o, key_line(o, *k), s);
    if (auto p = f->read(sc, *v, o)) return p;
  }
  return {};
}

// ---- [[failure]] ----

constexpr std::array<const char*, 6> kFailureKeys = {"at_s",      "kind", "peers",
                                                     "disk_lost", "rate", "duration_s"};

bool kind_selects_peers(FailureKind k) {
  return k != FailureKind::kHeal && k != FailureKind::kLoss;
}

// Why `kind` does not take `key`, or "" when it does.
std::string key_refused_by_kind(std::string_view key, FailureKind kind) {
  const std::string got = std::string(" (got kind = \"") + failure_kind_name(kind) + "\")";
  if (key == "peers" && !kind_selects_peers(kind)) {
    return "kind = \"" + std::string(failure_kind_name(kind)) +
           "\" takes no peers key (only crash, recover, leave, join and partition select peers)";
  }
  if (key == "disk_lost" && kind != FailureKind::kCrash) {
    return "only kind = \"crash\" takes disk_lost" + got;
  }
  if ((key == "rate" || key == "duration_s") && kind != FailureKind::kLoss) {
    return "only kind = \"loss\" takes " + std::string(key) + got;
  }
  return "";
}

Problem read_selector(const toml::node& n, const Origin& o, PeerSelector& sel) {
  const auto* t = n.as_table();
  if (t == nullptr) {
    return error_at(o, n,
                    "must be a table: { count = N }, { fraction = F }, { adjacent = N } or "
                    "{ all = true } (got " +
                        type_phrase(n) + ")");
  }
  sel = PeerSelector{};
  for (const auto& [k, v] : in_file_order(*t)) {
    const Origin ko = o.sub(k->str());
    ko.record(key_line(o, *k));
    Problem p;
    if (k->str() == "count") {
      p = read_value(*v, ko, sel.count);
    } else if (k->str() == "fraction") {
      p = read_value(*v, ko, sel.fraction);
    } else if (k->str() == "adjacent") {
      p = read_value(*v, ko, sel.adjacent);
    } else if (k->str() == "all") {
      p = read_value(*v, ko, sel.all);
      if (!p && !sel.all) p = error_at(ko, *v, "must be true: { all = true } selects every peer");
    } else {
      p = error_at(ko, key_line(o, *k),
                   "unknown key (peers takes one of count, fraction, adjacent or all)");
    }
    if (p) return p;
  }
  return {};
}

Problem read_failure_key(std::string_view key, const toml::node& v, const Origin& ko,
                         FailureEvent& ev) {
  if (key == "at_s") return read_value(v, ko, ev.at_s);
  if (key == "kind") return read_enum(v, ko, failure_kind_names(), ev.kind);
  if (key == "peers") return read_selector(v, ko, ev.peers);
  if (key == "disk_lost") return read_value(v, ko, ev.disk_lost);
  if (key == "rate") return read_value(v, ko, ev.rate);
  return read_value(v, ko, ev.duration_s);
}

// One [[failure]] table (or one inline table of a `failure=[...]` override).
Problem read_failure(const toml::node& n, const Origin& o, FailureEvent& ev) {
  const auto* t = n.as_table();
  if (t == nullptr) return error_at(o, n, "must be a table (got " + type_phrase(n) + ")");
  ev = FailureEvent{};
  ev.line = o.line_of(n);
  o.record(ev.line);
  for (const auto& [k, v] : in_file_order(*t)) {
    const Origin ko = o.sub(k->str());
    ko.record(key_line(o, *k));
    if (!find_name(kFailureKeys, k->str())) {
      return error_at(ko, key_line(o, *k),
                      "unknown key (a [[failure]] takes at_s, kind, peers, disk_lost, rate and "
                      "duration_s)");
    }
    if (auto p = read_failure_key(k->str(), *v, ko, ev)) return p;
  }
  if (!t->contains("kind")) {
    return error_at(
        o.sub("kind"), ev.line,
        "is missing; every [[failure]] needs kind = one of " + quoted_list(failure_kind_names()));
  }
  if (!t->contains("at_s")) {
    return error_at(o.sub("at_s"), ev.line, "is missing; every [[failure]] needs at_s = SECONDS");
  }
  for (const auto& [k, v] : in_file_order(*t)) {
    const std::string why = key_refused_by_kind(k->str(), ev.kind);
    if (!why.empty()) return error_at(o.sub(k->str()), key_line(o, *k), why);
  }
  return {};
}

// The whole list of failures; replaces sc.failures. Keys are "failure[i]", i from 1.
Problem read_failures(Scenario& sc, const toml::node& n, std::map<std::string, int>* lines) {
  const Origin o{"failure", lines};
  const auto* arr = n.as_array();
  if (arr == nullptr) {
    return error_at(
        o, n,
        "must be an array of tables: write each event as [[failure]] (got " + type_phrase(n) + ")");
  }
  std::vector<FailureEvent> events(arr->size());
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const Origin fo{"failure[" + std::to_string(i + 1) + "]", lines};
    if (auto p = read_failure(*arr->get(i), fo, events[i])) return p;
  }
  sc.failures = std::move(events);
  return {};
}

}  // namespace

Problem read_document(const toml::table& doc, Scenario& sc) {
  for (const auto& [k, v] : in_file_order(doc)) {
    const Origin o{std::string(k->str()), &sc.key_lines};
    o.record(key_line(o, *k));
    if (k->str() == "failure") {
      if (auto p = read_failures(sc, *v, &sc.key_lines)) return p;
      continue;
    }
    const Section* s = find_section(k->str());
    if (s == nullptr)
      return error_at(o, key_line(o, *k), "unknown key (" + std::string(kTablesSentence) + ")");
    const auto* t = v->as_table();
    if (t == nullptr) {
      return error_at(
          o, *v,
          "must be a table: write [" + std::string(k->str()) + "] (got " + type_phrase(*v) + ")");
    }
    if (auto p = read_section(*s, *t, sc)) return p;
  }
  return {};
}

Problem apply_value(Scenario& sc, std::string_view dotted_key, const toml::node& value,
                    std::string& replaced_prefix) {
  const Origin o{std::string(dotted_key), nullptr};
  replaced_prefix = dotted_key;
  const auto dot = dotted_key.find('.');
  const std::string_view head = dotted_key.substr(0, dot);
  const std::string_view rest = dot == std::string_view::npos ? "" : dotted_key.substr(dot + 1);
  if (dotted_key == "failure") return read_failures(sc, value, nullptr);
  if (head.starts_with("failure")) {
    return error_at(o, 0,
                    "single failures cannot be set; replace them all with "
                    "failure=[{at_s=600, kind=\"crash\", peers={count=5}}, ...] or remove them "
                    "with failure=[]");
  }
  const Section* s = find_section(head);
  if (s == nullptr) {
    return error_at(o, 0,
                    "unknown key (keys start with run., overlay., network., churn., "
                    "workload. or are failure)");
  }
  if (rest.empty()) {
    return error_at(o, 0, "is a table; set one of its keys (" + field_list(*s) + ")");
  }
  constexpr std::string_view kLatency = "latency.";
  if (head == "network" && rest.starts_with(kLatency)) {
    const std::string_view name = rest.substr(kLatency.size());
    if (name != "model") return read_latency_key(sc, name, value, o);
    replaced_prefix = "network.latency";
    return read_latency_model(sc, value, o);
  }
  const Field* f = find_field(*s, rest);
  if (f == nullptr) return unknown_key(o, 0, *s);
  return f->read(sc, value, o);
}

}  // namespace kittengrad::internal
