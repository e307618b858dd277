// runs/src/run_file.cc — the HDF5 run file: writer and reader (run_file.h).
//
// Design. A table is a group with one 1-D dataset per column, so h5py + pandas read it
// without knowing this code. Everything goes through HDF5's C API behind small RAII
// handles; every failure becomes a message (errors as values) and HDF5's automatic error
// printing is silenced for the duration of a call, then restored.
//
// Determinism: object time tracking is off for the file, every group and every dataset,
// the format bounds are pinned to HDF5 1.8 (so a newer library does not pick newer
// structures), and the objects are always created in the same order; the same tables
// then give the same bytes. Groups track the creation order of their links and
// attributes, so readers that honour it (h5py) list columns in the order written here.
//
// Size: columns of at least kChunkRowsMin rows are chunked and compressed (shuffle +
// deflate, level 1: runs hold 10^5 to 10^7 lookup rows and a fast level already takes
// most of the gain on sorted times and small counts). Shorter columns stay contiguous.
#include "kittengrad/runs/run_file.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <span>
#include <type_traits>
#include <utility>
#include <variant>

#include "kittengrad/runs/summary.h"

namespace kittengrad::runs {
namespace {

constexpr hsize_t kChunkRowsMin = 4096;
constexpr hsize_t kChunkRows = 65536;
static_assert(kChunkRowsMin <= kChunkRows);
constexpr unsigned kDeflateLevel = 1;
// A histogram bin beyond this in-degree is a corrupt file, not an overlay.
constexpr std::int64_t kInDegreeMax = 1 << 24;

// ---- RAII handles ----

using CloseFn = herr_t (*)(hid_t);

// Owns one HDF5 identifier and closes it with the matching H5?close function.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, CloseFn close) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      close_ = o.close_;
    }
    return *this;
  }
  ~Handle() { reset(); }

  [[nodiscard]] hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  // Closes now and reports whether closing worked (closing a file flushes it).
  [[nodiscard]] bool close() {
    const herr_t status = id_ >= 0 ? close_(id_) : 0;
    id_ = H5I_INVALID_HID;
    return status >= 0;
  }

 private:
  void reset() {
    if (id_ >= 0) close_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  CloseFn close_ = nullptr;
};

// Silences HDF5's automatic error printing while it lives, then restores what was there.
class QuietHdf5Errors {
 public:
  QuietHdf5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  QuietHdf5Errors(const QuietHdf5Errors&) = delete;
  QuietHdf5Errors& operator=(const QuietHdf5Errors&) = delete;
  ~QuietHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

herr_t innermost_error(unsigned n, const H5E_error2_t* e, void* data) {
  if (n == 0 && e != nullptr && e->desc != nullptr) *static_cast<std::string*>(data) = e->desc;
  return 0;
}

// The most specific message on HDF5's error stack (e.g. the errno text of a failed
// open), as " (detail)", or "" when there is none. Clears the stack.
std::string hdf5_detail() {
  std::string desc;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &desc);
  H5Eclear2(H5E_DEFAULT);
  return desc.empty() ? "" : " (" + desc + ")";
}

// ---- Types ----

template <typename T>
struct H5Type;
template <>
struct H5Type<double> {
  static hid_t mem() { return H5T_NATIVE_DOUBLE; }
  static hid_t file() { return H5T_IEEE_F64LE; }
  static bool accepts(H5T_class_t c) { return c == H5T_FLOAT || c == H5T_INTEGER; }
  static constexpr const char* kName = "float64";
};
template <>
struct H5Type<std::int64_t> {
  static hid_t mem() { return H5T_NATIVE_INT64; }
  static hid_t file() { return H5T_STD_I64LE; }
  static bool accepts(H5T_class_t c) { return c == H5T_INTEGER; }
  static constexpr const char* kName = "int64";
};
template <>
struct H5Type<std::uint64_t> {
  static hid_t mem() { return H5T_NATIVE_UINT64; }
  static hid_t file() { return H5T_STD_U64LE; }
  static bool accepts(H5T_class_t c) { return c == H5T_INTEGER; }
  static constexpr const char* kName = "uint64";
};
template <>
struct H5Type<std::int8_t> {
  static hid_t mem() { return H5T_NATIVE_INT8; }
  static hid_t file() { return H5T_STD_I8LE; }
  static bool accepts(H5T_class_t c) { return c == H5T_INTEGER; }
  static constexpr const char* kName = "int8";
};

// Variable-length UTF-8 strings, in the file and in memory.
Handle utf8_string_type() {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose);
  if (!t || H5Tset_size(t.get(), H5T_VARIABLE) < 0 || H5Tset_cset(t.get(), H5T_CSET_UTF8) < 0) {
    return {};
  }
  return t;
}

std::string class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER:
      return "integers";
    case H5T_FLOAT:
      return "floats";
    case H5T_STRING:
      return "strings";
    case H5T_ENUM:
      return "enums (booleans?)";
    case H5T_COMPOUND:
      return "compound records";
    default:
      return "values of HDF5 type class " + std::to_string(static_cast<int>(c));
  }
}

// The fields of Summary, in order, as /summary attributes; the writer and the reader
// share this list so they cannot drift apart. history_checked is written separately.
struct SummaryField {
  const char* name;
  double Summary::*f64;
  std::int64_t Summary::*i64;
};
constexpr SummaryField kSummaryFields[] = {
    {"convergence_time_s", &Summary::convergence_time_s, nullptr},
    {"lost_updates", nullptr, &Summary::lost_updates},
    {"under_replicated_keys", nullptr, &Summary::under_replicated_keys},
    {"divergent_keys", nullptr, &Summary::divergent_keys},
    {"writes", nullptr, &Summary::writes},
    {"write_success", &Summary::write_success, nullptr},
    {"lookups", nullptr, &Summary::lookups},
    {"lookup_success", &Summary::lookup_success, nullptr},
    {"lookup_correct", &Summary::lookup_correct, nullptr},
    {"lookup_p50_ms", &Summary::lookup_p50_ms, nullptr},
    {"lookup_p99_ms", &Summary::lookup_p99_ms, nullptr},
    {"mean_hops", &Summary::mean_hops, nullptr},
    {"msgs_per_peer_s", &Summary::msgs_per_peer_s, nullptr},
    {"bytes_per_peer_s", &Summary::bytes_per_peer_s, nullptr},
    {"history_lost", nullptr, &Summary::history_lost},
    {"history_phantoms", nullptr, &Summary::history_phantoms},
};

// The by-kind column names of /timeseries: "msgs_<kind>", "bytes_<kind>".
constexpr std::string_view kMsgsPrefix = "msgs_";
constexpr std::string_view kBytesPrefix = "bytes_";
constexpr std::string_view kQueueDropsPrefix = "queue_drops_";

// ---- The tables' columns ----
//
// Each table is described once, as its columns in file order; the length check, the
// writer and the reader all walk these lists, so the three cannot drift apart. The first
// column of each list is the one its table's rows() counts.

template <typename Table>
using ColumnMember =
    std::variant<std::vector<double> Table::*, std::vector<std::int64_t> Table::*,
                 std::vector<std::int8_t> Table::*, std::vector<std::string> Table::*>;

template <typename Table>
struct Column {
  const char* name;
  ColumnMember<Table> member;
};

// A parameter type that does not take part in deduction (Table comes from the table).
template <typename Table>
using Columns = std::type_identity_t<std::span<const Column<Table>>>;

constexpr Column<TimeseriesTable> kTimeseriesColumns[] = {
    {"t_s", &TimeseriesTable::t_s},
    {"peers_alive", &TimeseriesTable::peers_alive},
    {"keys", &TimeseriesTable::keys},
    {"replicas_min", &TimeseriesTable::replicas_min},
    {"replicas_mean", &TimeseriesTable::replicas_mean},
    {"under_replicated_keys", &TimeseriesTable::under_replicated_keys},
    {"divergent_keys", &TimeseriesTable::divergent_keys},
    {"lost_updates", &TimeseriesTable::lost_updates},
    {"msgs_sent", &TimeseriesTable::msgs_sent},
    {"bytes_sent", &TimeseriesTable::bytes_sent},
};

constexpr Column<LookupsTable> kLookupsColumns[] = {
    {"t_issue_s", &LookupsTable::t_issue_s}, {"t_done_s", &LookupsTable::t_done_s},
    {"hops", &LookupsTable::hops},           {"ok", &LookupsTable::ok},
    {"correct", &LookupsTable::correct},
};

constexpr Column<OpsTable> kOpsColumns[] = {
    {"kind", &OpsTable::kind}, {"t_issue_s", &OpsTable::t_issue_s}, {"t_ack_s", &OpsTable::t_ack_s},
    {"ok", &OpsTable::ok},     {"error", &OpsTable::error},         {"entries", &OpsTable::entries},
};

constexpr Column<EventsTable> kEventsColumns[] = {
    {"t_s", &EventsTable::t_s},
    {"kind", &EventsTable::kind},
    {"peer", &EventsTable::peer},
    {"lost_updates", &EventsTable::lost_updates},
};

constexpr Column<FinalPeersTable> kFinalPeersColumns[] = {
    {"peer", &FinalPeersTable::peer},           {"alive", &FinalPeersTable::alive},
    {"keys", &FinalPeersTable::keys},           {"entries", &FinalPeersTable::entries},
    {"msgs_sent", &FinalPeersTable::msgs_sent}, {"bytes_sent", &FinalPeersTable::bytes_sent},
};

constexpr Column<FinalKeysTable> kFinalKeysColumns[] = {
    {"key", &FinalKeysTable::key},
    {"acked_updates", &FinalKeysTable::acked_updates},
    {"replicas", &FinalKeysTable::replicas},
    {"holders", &FinalKeysTable::holders},
    {"lost_updates", &FinalKeysTable::lost_updates},
};

// The overlay snapshots flattened into two tables: /overlay, one row per snapshot, and
// /overlay_in_degree, every bin of every snapshot's in-degree histogram (zeros included,
// so that the histograms read back exactly).
struct OverlayTable {
  std::vector<double> t_s;
  std::vector<std::int64_t> nodes, edges, strongly_connected_components, largest_component,
      hop_diameter, sampled_sources;
};

struct InDegreeTable {
  std::vector<std::int64_t> snapshot, in_degree, nodes;
};

constexpr Column<OverlayTable> kOverlayColumns[] = {
    {"t_s", &OverlayTable::t_s},
    {"nodes", &OverlayTable::nodes},
    {"edges", &OverlayTable::edges},
    {"strongly_connected_components", &OverlayTable::strongly_connected_components},
    {"largest_component", &OverlayTable::largest_component},
    {"hop_diameter", &OverlayTable::hop_diameter},
    {"sampled_sources", &OverlayTable::sampled_sources},
};

constexpr Column<InDegreeTable> kInDegreeColumns[] = {
    {"snapshot", &InDegreeTable::snapshot},
    {"in_degree", &InDegreeTable::in_degree},
    {"nodes", &InDegreeTable::nodes},
};

template <typename Table>
std::size_t first_rows(const Table& t, Columns<Table> cols) {
  return std::visit([&](auto m) { return (t.*m).size(); }, cols.front().member);
}

void flatten(const std::vector<OverlaySnapshot>& snaps, OverlayTable& o, InDegreeTable& d) {
  for (std::size_t i = 0; i < snaps.size(); ++i) {
    const analysis::OverlayGraphStats& s = snaps[i].stats;
    o.t_s.push_back(snaps[i].t_s);
    o.nodes.push_back(s.nodes);
    o.edges.push_back(s.edges);
    o.strongly_connected_components.push_back(s.strongly_connected_components);
    o.largest_component.push_back(s.largest_component);
    o.hop_diameter.push_back(s.hop_diameter);
    o.sampled_sources.push_back(s.sampled_sources);
    for (std::size_t bin = 0; bin < s.in_degree_histogram.size(); ++bin) {
      d.snapshot.push_back(static_cast<std::int64_t>(i));
      d.in_degree.push_back(static_cast<std::int64_t>(bin));
      d.nodes.push_back(s.in_degree_histogram[bin]);
    }
  }
}

// The inverse of flatten, for tables of consistent lengths; "" or what is out of range.
std::string unflatten(const OverlayTable& o, const InDegreeTable& d,
                      std::vector<OverlaySnapshot>& snaps) {
  snaps.assign(o.t_s.size(), OverlaySnapshot{});
  for (std::size_t i = 0; i < snaps.size(); ++i) {
    snaps[i].t_s = o.t_s[i];
    analysis::OverlayGraphStats& s = snaps[i].stats;
    s.nodes = o.nodes[i];
    s.edges = o.edges[i];
    s.strongly_connected_components = o.strongly_connected_components[i];
    s.largest_component = o.largest_component[i];
    s.hop_diameter = o.hop_diameter[i];
    s.sampled_sources = o.sampled_sources[i];
  }
  for (std::size_t row = 0; row < d.snapshot.size(); ++row) {
    const std::int64_t i = d.snapshot[row], bin = d.in_degree[row];
    if (i < 0 || static_cast<std::size_t>(i) >= snaps.size() || bin < 0 || bin > kInDegreeMax) {
      return "/overlay_in_degree row " + std::to_string(row) + " has snapshot " +
             std::to_string(i) + " and in_degree " + std::to_string(bin) + ", out of range";
    }
    auto& hist = snaps[static_cast<std::size_t>(i)].stats.in_degree_histogram;
    const auto b = static_cast<std::size_t>(bin);
    if (hist.size() <= b) hist.resize(b + 1);
    hist[b] = d.nodes[row];
  }
  return "";
}

// ---- Checking the tables before writing ----

// Collects the first column whose length differs from its table's.
class LengthCheck {
 public:
  template <typename Table>
  void table(const std::string& path, const Table& t, Columns<Table> cols) {
    group_ = path;
    rows_ = first_rows(t, cols);
    for (const Column<Table>& col : cols) {
      std::visit([&](auto m) { column(col.name, t.*m); }, col.member);
    }
  }
  template <typename V>
  void column(const std::string& name, const V& v) {
    if (error_.empty() && v.size() != rows_) {
      error_ = "column " + group_ + "/" + name + " has " + std::to_string(v.size()) +
               " rows, the table has " + std::to_string(rows_);
    }
  }
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  std::string group_;
  std::size_t rows_ = 0;
  std::string error_;
};

void check_by_kind(LengthCheck& c, std::string_view prefix,
                   const std::map<std::string, std::vector<std::int64_t>>& by_kind) {
  for (const auto& [kind, v] : by_kind) {
    // "sent" would collide with msgs_sent; a '/' would make a path, not a name.
    if (kind.empty() || kind == "sent" || kind.find('/') != std::string::npos) {
      c.fail("message kind '" + kind + "' cannot be a column name");
    }
    c.column(std::string(prefix) + kind, v);
  }
}

std::string check_lengths(const RunTables& t) {
  LengthCheck c;
  c.table("/timeseries", t.timeseries, kTimeseriesColumns);
  check_by_kind(c, kMsgsPrefix, t.timeseries.msgs_by_kind);
  check_by_kind(c, kBytesPrefix, t.timeseries.bytes_by_kind);
  check_by_kind(c, kQueueDropsPrefix, t.timeseries.queue_drops_by_kind);
  for (const auto& [name, v] : t.timeseries.per_namespace_counts) c.column(name, v);
  for (const auto& [name, v] : t.timeseries.per_namespace_means) c.column(name, v);
  c.table("/lookups", t.lookups, kLookupsColumns);
  c.table("/ops", t.ops, kOpsColumns);
  c.table("/events", t.events, kEventsColumns);
  c.table("/final/peers", t.final_peers, kFinalPeersColumns);
  c.table("/final/keys", t.final_keys, kFinalKeysColumns);
  return c.error();
}

// ---- Writer ----

// Object creation properties shared by groups and the file: no timestamps (the file must
// not change with the clock), creation order kept for links and attributes.
bool set_object_plist(hid_t plist) {
  return H5Pset_obj_track_times(plist, false) >= 0 &&
         H5Pset_link_creation_order(plist, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0 &&
         H5Pset_attr_creation_order(plist, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0;
}

// Writes groups, columns and attributes; the first failure is kept in error() and every
// later call does nothing.
class Writer {
 public:
  Writer() : string_type_(utf8_string_type()), deflate_(H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    if (!string_type_) fail("cannot make the UTF-8 string type");
  }

  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }

  Handle group(hid_t parent, const std::string& path, const char* name) {
    if (!ok()) return {};
    Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
    if (!gcpl || !set_object_plist(gcpl.get())) {
      fail("cannot make group properties for " + path);
      return {};
    }
    Handle g(H5Gcreate2(parent, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
    if (!g) fail("cannot create group " + path);
    return g;
  }

  template <typename T>
  void column(hid_t g, const std::string& path, const std::string& name, const std::vector<T>& v) {
    dataset(g, path + "/" + name, name, H5Type<T>::file(), H5Type<T>::mem(), v.size(), v.data(),
            sizeof(T) > 1);
  }

  void column(hid_t g, const std::string& path, const std::string& name,
              const std::vector<std::string>& v) {
    if (!ok()) return;
    std::vector<const char*> ptrs(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) ptrs[i] = v[i].c_str();
    dataset(g, path + "/" + name, name, string_type_.get(), string_type_.get(), v.size(),
            ptrs.data(), false);
  }

  template <typename T>
  void attr(hid_t obj, const std::string& path, const char* name, const T& v) {
    attribute(obj, path, name, H5Type<T>::file(), H5Type<T>::mem(), &v);
  }

  void attr(hid_t obj, const std::string& path, const char* name, const std::string& v) {
    const char* p = v.c_str();
    attribute(obj, path, name, string_type_.get(), string_type_.get(), &p);
  }

  void fail(const std::string& what) {
    if (ok()) error_ = what + hdf5_detail();
  }

 private:
  void dataset(hid_t g, const std::string& where, const std::string& name, hid_t file_type,
               hid_t mem_type, std::size_t n, const void* data, bool shuffle) {
    if (!ok()) return;
    const hsize_t dims[1] = {static_cast<hsize_t>(n)};
    Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (!space || !dcpl || H5Pset_obj_track_times(dcpl.get(), false) < 0) {
      return fail("cannot make the dataspace or properties of " + where);
    }
    if (dims[0] >= kChunkRowsMin && deflate_) {
      const hsize_t chunk[1] = {std::min(dims[0], kChunkRows)};
      if (H5Pset_chunk(dcpl.get(), 1, chunk) < 0 || (shuffle && H5Pset_shuffle(dcpl.get()) < 0) ||
          H5Pset_deflate(dcpl.get(), kDeflateLevel) < 0) {
        return fail("cannot set chunking and compression for " + where);
      }
    }
    Handle ds(
        H5Dcreate2(g, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
        H5Dclose);
    if (!ds) return fail("cannot create dataset " + where);
    if (n > 0 && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
      return fail("cannot write dataset " + where);
    }
    if (!ds.close()) fail("cannot close dataset " + where);
  }

  void attribute(hid_t obj, const std::string& path, const char* name, hid_t file_type,
                 hid_t mem_type, const void* v) {
    if (!ok()) return;
    const std::string where = "attribute '" + std::string(name) + "' of " + path;
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    if (!space) return fail("cannot make the dataspace of " + where);
    Handle a(H5Acreate2(obj, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!a) return fail("cannot create " + where);
    if (H5Awrite(a.get(), mem_type, v) < 0) fail("cannot write " + where);
  }

  Handle string_type_;
  bool deflate_ = false;
  std::string error_;
};

void write_root_attrs(Writer& w, hid_t root, const RunTables& t) {
  w.attr(root, "/", "scenario", t.scenario_toml);
  w.attr(root, "/", "seed", t.seed);
  w.attr(root, "/", "backend", t.backend);
  w.attr(root, "/", "version", t.version);
  w.attr(root, "/", "wall_time_s", t.wall_time_s);
  w.attr(root, "/", "duration_s", t.duration_s);
  w.attr(root, "/", "peers", t.peers);
  w.attr(root, "/", "layout", kRunFileLayout);
}

// A group `name` under `parent` with one dataset per column of `t`; returns the group.
template <typename Table>
Handle write_table(Writer& w, hid_t parent, const std::string& path, const char* name,
                   const Table& t, Columns<Table> cols) {
  Handle g = w.group(parent, path, name);
  if (!g) return g;
  for (const Column<Table>& col : cols) {
    std::visit([&](auto m) { w.column(g.get(), path, col.name, t.*m); }, col.member);
  }
  return g;
}

void write_tables(Writer& w, hid_t root, const RunTables& t) {
  const TimeseriesTable& ts = t.timeseries;
  if (Handle g = write_table(w, root, "/timeseries", "timeseries", ts, kTimeseriesColumns)) {
    for (const auto& [kind, v] : ts.msgs_by_kind) {
      w.column(g.get(), "/timeseries", std::string(kMsgsPrefix) + kind, v);
    }
    for (const auto& [kind, v] : ts.bytes_by_kind) {
      w.column(g.get(), "/timeseries", std::string(kBytesPrefix) + kind, v);
    }
    for (const auto& [kind, v] : ts.queue_drops_by_kind) {
      w.column(g.get(), "/timeseries", std::string(kQueueDropsPrefix) + kind, v);
    }
    for (const auto& [name, v] : ts.per_namespace_counts) w.column(g.get(), "/timeseries", name, v);
    for (const auto& [name, v] : ts.per_namespace_means) w.column(g.get(), "/timeseries", name, v);
  }
  write_table(w, root, "/lookups", "lookups", t.lookups, kLookupsColumns);
  write_table(w, root, "/ops", "ops", t.ops, kOpsColumns);
  write_table(w, root, "/events", "events", t.events, kEventsColumns);
  if (Handle f = w.group(root, "/final", "final")) {
    write_table(w, f.get(), "/final/peers", "peers", t.final_peers, kFinalPeersColumns);
    write_table(w, f.get(), "/final/keys", "keys", t.final_keys, kFinalKeysColumns);
  }
  OverlayTable overlay;
  InDegreeTable in_degree;
  flatten(t.snapshots, overlay, in_degree);
  write_table(w, root, "/overlay", "overlay", overlay, kOverlayColumns);
  write_table(w, root, "/overlay_in_degree", "overlay_in_degree", in_degree, kInDegreeColumns);
}

void write_summary(Writer& w, hid_t root, const Summary& s) {
  const std::string p = "/summary";
  Handle g = w.group(root, p, "summary");
  if (!g) return;
  for (const SummaryField& f : kSummaryFields) {
    if (f.f64 != nullptr) {
      w.attr(g.get(), p, f.name, s.*f.f64);
    } else {
      w.attr(g.get(), p, f.name, s.*f.i64);
    }
  }
  w.attr(g.get(), p, "history_checked", static_cast<std::int8_t>(s.history_checked ? 1 : 0));
}

// Writes the whole file at `path` (the .part file). Returns "" or what failed.
std::string write_hdf5(const std::string& path, const RunTables& t) {
  Writer w;
  if (!w.ok()) return w.error();
  Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fcpl || !fapl || !set_object_plist(fcpl.get()) ||
      H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
    w.fail("cannot make the file properties");
    return w.error();
  }
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), H5Fclose);
  if (!file) {
    w.fail("cannot create " + path);
    return w.error();
  }
  {
    Handle root(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose);
    if (!root) {
      w.fail("cannot open the root group");
      return w.error();
    }
    write_root_attrs(w, root.get(), t);
    write_tables(w, root.get(), t);
    write_summary(w, root.get(), compute_summary(t));
  }
  if (!file.close()) w.fail("cannot flush and close " + path);
  return w.error();
}

// fsync(2) of a file or folder; "" or the error.
std::string sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return "cannot open " + path + " to sync it: " + std::strerror(errno);
  const int status = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (status != 0) return "cannot sync " + path + ": " + std::strerror(saved);
  return "";
}

// ---- Reader ----

// Reads groups, columns and attributes; the first failure is kept in error() and later
// calls do nothing.
class Reader {
 public:
  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  void fail(const std::string& what) {
    if (ok()) error_ = what + hdf5_detail();
  }

  Handle group(hid_t parent, const std::string& path, const char* name) {
    if (!ok()) return {};
    if (H5Lexists(parent, name, H5P_DEFAULT) <= 0) {
      fail("no group " + path + " (not a kittengrad run file, or a damaged one)");
      return {};
    }
    Handle g(H5Gopen2(parent, name, H5P_DEFAULT), H5Gclose);
    if (!g) fail(path + " is not a group");
    return g;
  }

  template <typename T>
  void column(hid_t g, const std::string& path, const std::string& name, std::vector<T>& out) {
    Handle ds = open_column(g, path, name);
    if (!ds) return;
    const std::string where = path + "/" + name;
    Handle type(H5Dget_type(ds.get()), H5Tclose);
    if (!type) return fail("cannot read the type of " + where);
    const H5T_class_t cls = H5Tget_class(type.get());
    if (!H5Type<T>::accepts(cls)) {
      return fail(where + " holds " + class_name(cls) + ", expected " + H5Type<T>::kName);
    }
    const hsize_t n = rows(ds.get(), where);
    if (!ok()) return;
    out.assign(n, T{});
    if (n > 0 &&
        H5Dread(ds.get(), H5Type<T>::mem(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
      fail("cannot read " + where);
    }
  }

  void column(hid_t g, const std::string& path, const std::string& name,
              std::vector<std::string>& out) {
    Handle ds = open_column(g, path, name);
    if (!ds) return;
    const std::string where = path + "/" + name;
    Handle type(H5Dget_type(ds.get()), H5Tclose);
    if (!type) return fail("cannot read the type of " + where);
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls != H5T_STRING) return fail(where + " holds " + class_name(cls) + ", expected strings");
    const hsize_t n = rows(ds.get(), where);
    if (!ok()) return;
    out.clear();
    out.reserve(n);
    if (n == 0) return;
    if (H5Tis_variable_str(type.get()) > 0) {
      read_vlen_strings(ds.get(), type.get(), where, n, out);
    } else {
      read_fixed_strings(ds.get(), type.get(), where, n, out);
    }
  }

  template <typename T>
  void attr(hid_t obj, const std::string& path, const char* name, T& out) {
    Handle a = open_attr(obj, path, name);
    if (!a) return;
    const H5T_class_t cls = attr_class(a.get());
    if (!H5Type<T>::accepts(cls)) {
      return fail("attribute '" + std::string(name) + "' of " + path + " holds " + class_name(cls) +
                  ", expected " + H5Type<T>::kName);
    }
    if (H5Aread(a.get(), H5Type<T>::mem(), &out) < 0) {
      fail("cannot read attribute '" + std::string(name) + "' of " + path);
    }
  }

  void attr(hid_t obj, const std::string& path, const char* name, std::string& out) {
    Handle a = open_attr(obj, path, name);
    if (!a) return;
    const std::string where = "attribute '" + std::string(name) + "' of " + path;
    Handle type(H5Aget_type(a.get()), H5Tclose);
    if (!type || H5Tget_class(type.get()) != H5T_STRING) {
      return fail(where + " is not a string");
    }
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    if (H5Tis_variable_str(type.get()) > 0) {
      char* p = nullptr;
      if (!mem || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 ||
          H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0 ||
          H5Aread(a.get(), mem.get(), &p) < 0) {
        return fail("cannot read " + where);
      }
      out = p != nullptr ? p : "";
      H5free_memory(p);
      return;
    }
    const std::size_t size = H5Tget_size(type.get());
    std::string buf(size + 1, '\0');
    if (!mem || H5Tset_size(mem.get(), size + 1) < 0 ||
        H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0 ||
        H5Aread(a.get(), mem.get(), buf.data()) < 0) {
      return fail("cannot read " + where);
    }
    out.assign(buf.c_str());
  }

  // The names of the links in a group, in name order.
  std::vector<std::string> names(hid_t g, const std::string& path) {
    std::vector<std::string> out;
    H5G_info_t info;
    if (!ok()) return out;
    if (H5Gget_info(g, &info) < 0) {
      fail("cannot list " + path);
      return out;
    }
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      const ssize_t len =
          H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
      if (len < 0) {
        fail("cannot list " + path);
        return out;
      }
      std::string name(static_cast<std::size_t>(len) + 1, '\0');
      H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                         H5P_DEFAULT);
      name.resize(static_cast<std::size_t>(len));
      out.push_back(std::move(name));
    }
    return out;
  }

  // Fails when column `name` of the table at `path` has not the rows of column `first`.
  void check_rows(const std::string& path, const char* first, std::size_t first_rows,
                  const char* name, std::size_t rows) {
    if (ok() && rows != first_rows) {
      fail(path + "/" + name + " has " + std::to_string(rows) + " rows but " + path + "/" + first +
           " has " + std::to_string(first_rows));
    }
  }

 private:
  Handle open_column(hid_t g, const std::string& path, const std::string& name) {
    if (!ok()) return {};
    const std::string where = path + "/" + name;
    if (H5Lexists(g, name.c_str(), H5P_DEFAULT) <= 0) {
      fail("no column " + where);
      return {};
    }
    Handle ds(H5Dopen2(g, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!ds) fail(where + " is not a dataset");
    return ds;
  }

  hsize_t rows(hid_t ds, const std::string& where) {
    Handle space(H5Dget_space(ds), H5Sclose);
    if (!space) {
      fail("cannot read the shape of " + where);
      return 0;
    }
    if (H5Sget_simple_extent_ndims(space.get()) != 1) {
      fail(where + " is not a 1-D column");
      return 0;
    }
    hsize_t dims[1] = {0};
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    return dims[0];
  }

  void read_vlen_strings(hid_t ds, hid_t type, const std::string& where, hsize_t n,
                         std::vector<std::string>& out) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    Handle space(H5Dget_space(ds), H5Sclose);
    if (!mem || !space || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 ||
        H5Tset_cset(mem.get(), H5Tget_cset(type)) < 0) {
      return fail("cannot make the string type to read " + where);
    }
    std::vector<char*> buf(n, nullptr);
    if (H5Dread(ds, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
      return fail("cannot read " + where);
    }
    // Frees HDF5's strings even if copying them throws.
    struct Reclaim {
      hid_t mem, space;
      std::vector<char*>& buf;
      ~Reclaim() {
#if H5_VERSION_GE(1, 12, 0)
        H5Treclaim(mem, space, H5P_DEFAULT, buf.data());
#else
        H5Dvlen_reclaim(mem, space, H5P_DEFAULT, buf.data());
#endif
      }
    } reclaim{mem.get(), space.get(), buf};
    for (const char* p : buf) out.emplace_back(p != nullptr ? p : "");
  }

  void read_fixed_strings(hid_t ds, hid_t type, const std::string& where, hsize_t n,
                          std::vector<std::string>& out) {
    const std::size_t size = H5Tget_size(type);
    Handle mem(H5Tcopy(type), H5Tclose);
    if (size == 0 || !mem) return fail("cannot make the string type to read " + where);
    std::vector<char> buf(n * size);
    if (H5Dread(ds, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
      return fail("cannot read " + where);
    }
    for (hsize_t i = 0; i < n; ++i) {
      const char* p = buf.data() + i * size;
      out.emplace_back(p, ::strnlen(p, size));
    }
  }

  Handle open_attr(hid_t obj, const std::string& path, const char* name) {
    if (!ok()) return {};
    if (H5Aexists(obj, name) <= 0) {
      fail("no attribute '" + std::string(name) + "' on " + path);
      return {};
    }
    Handle a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
    if (!a) fail("cannot open attribute '" + std::string(name) + "' of " + path);
    return a;
  }

  static H5T_class_t attr_class(hid_t a) {
    Handle type(H5Aget_type(a), H5Tclose);
    return type ? H5Tget_class(type.get()) : H5T_NO_CLASS;
  }

  std::string error_;
};

void read_root_attrs(Reader& r, hid_t root, RunTables& t) {
  std::int64_t layout = 0;
  r.attr(root, "/", "layout", layout);
  if (!r.ok()) return;
  if (layout < 1 || layout > kRunFileLayout) {
    return r.fail("its layout is version " + std::to_string(layout) + ", this kittengrad reads " +
                  "up to " + std::to_string(kRunFileLayout) + "; use a newer kittengrad");
  }
  r.attr(root, "/", "scenario", t.scenario_toml);
  r.attr(root, "/", "seed", t.seed);
  r.attr(root, "/", "backend", t.backend);
  r.attr(root, "/", "version", t.version);
  r.attr(root, "/", "wall_time_s", t.wall_time_s);
  r.attr(root, "/", "duration_s", t.duration_s);
  r.attr(root, "/", "peers", t.peers);
}

// Reads the group `name` under `parent` as a table of `cols` into `t`, checking that the
// columns have one length; returns the group.
template <typename Table>
Handle read_table(Reader& r, hid_t parent, const std::string& path, const char* name, Table& t,
                  Columns<Table> cols) {
  Handle g = r.group(parent, path, name);
  if (!g) return g;
  for (const Column<Table>& col : cols) {
    std::visit([&](auto m) { r.column(g.get(), path, col.name, t.*m); }, col.member);
  }
  const std::size_t rows = first_rows(t, cols);
  for (const Column<Table>& col : cols) {
    std::visit(
        [&](auto m) { r.check_rows(path, cols.front().name, rows, col.name, (t.*m).size()); },
        col.member);
  }
  return g;
}

// The msgs_<kind>, bytes_<kind> and queue_drops_<kind> columns of /timeseries, whatever
// kinds there are.
void read_by_kind(Reader& r, hid_t g, TimeseriesTable& ts) {
  const std::string p = "/timeseries";
  for (const std::string& name : r.names(g, p)) {
    std::vector<std::int64_t>* column = nullptr;
    if (name.starts_with(kMsgsPrefix) && name != "msgs_sent") {
      column = &ts.msgs_by_kind[name.substr(kMsgsPrefix.size())];
    } else if (name.starts_with(kBytesPrefix) && name != "bytes_sent") {
      column = &ts.bytes_by_kind[name.substr(kBytesPrefix.size())];
    } else if (name.starts_with(kQueueDropsPrefix)) {
      column = &ts.queue_drops_by_kind[name.substr(kQueueDropsPrefix.size())];
    }
    if (column == nullptr) continue;
    r.column(g, p, name, *column);
    r.check_rows(p, "t_s", ts.rows(), name.c_str(), column->size());
  }
}

void read_tables(Reader& r, hid_t root, RunTables& t) {
  if (Handle g =
          read_table(r, root, "/timeseries", "timeseries", t.timeseries, kTimeseriesColumns)) {
    read_by_kind(r, g.get(), t.timeseries);
  }
  read_table(r, root, "/lookups", "lookups", t.lookups, kLookupsColumns);
  read_table(r, root, "/ops", "ops", t.ops, kOpsColumns);
  read_table(r, root, "/events", "events", t.events, kEventsColumns);
  if (Handle f = r.group(root, "/final", "final")) {
    read_table(r, f.get(), "/final/peers", "peers", t.final_peers, kFinalPeersColumns);
    read_table(r, f.get(), "/final/keys", "keys", t.final_keys, kFinalKeysColumns);
  }
  OverlayTable overlay;
  InDegreeTable in_degree;
  read_table(r, root, "/overlay", "overlay", overlay, kOverlayColumns);
  read_table(r, root, "/overlay_in_degree", "overlay_in_degree", in_degree, kInDegreeColumns);
  if (!r.ok()) return;
  if (const std::string e = unflatten(overlay, in_degree, t.snapshots); !e.empty()) r.fail(e);
}

void read_summary(Reader& r, hid_t root, Summary& s) {
  const std::string p = "/summary";
  Handle g = r.group(root, p, "summary");
  if (!g) return;
  for (const SummaryField& f : kSummaryFields) {
    if (f.f64 != nullptr) {
      r.attr(g.get(), p, f.name, s.*f.f64);
    } else {
      r.attr(g.get(), p, f.name, s.*f.i64);
    }
  }
  std::int8_t checked = 0;
  r.attr(g.get(), p, "history_checked", checked);
  s.history_checked = checked != 0;
}

// Checks that `path` names an HDF5 file and opens it read-only; "" or what is wrong.
std::string open_for_reading(const std::string& path, Handle& file) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) return "no such file";
  if (std::filesystem::is_directory(status)) return "it is a directory, not a file";
#if H5_VERSION_GE(1, 12, 0)
  const htri_t is_hdf5 = H5Fis_accessible(path.c_str(), H5P_DEFAULT);
#else
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
#endif
  if (is_hdf5 == 0) return "not an HDF5 file (is it a run file written by kittengrad?)";
  if (is_hdf5 < 0) return "cannot open it" + hdf5_detail();
  file = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file) return "cannot open it" + hdf5_detail();
  return "";
}

ReadResult read_hdf5(const std::string& path) {
  ReadResult result;
  Handle file;
  if (std::string e = open_for_reading(path, file); !e.empty()) {
    result.error = e;
    return result;
  }
  Reader r;
  Handle root(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose);
  if (!root) r.fail("cannot open its root group");
  if (r.ok() && H5Aexists(root.get(), "layout") <= 0) {
    r.fail("it is an HDF5 file but not a kittengrad run file (no attribute 'layout' at /)");
  }
  RunTables& t = result.tables;
  if (r.ok()) read_root_attrs(r, root.get(), t);
  read_tables(r, root.get(), t);
  read_summary(r, root.get(), t.summary);
  if (!r.ok()) result = ReadResult{RunTables{}, r.error()};
  return result;
}

}  // namespace

std::string write_run_file(const std::string& path, const RunTables& t) {
  const std::string prefix = "cannot write run file '" + path + "': ";
  try {
    if (std::string e = check_lengths(t); !e.empty()) return prefix + e;
    const std::string part = path + ".part";
    std::string err;
    {
      QuietHdf5Errors quiet;
      err = write_hdf5(part, t);
    }
    if (err.empty()) err = sync_path(part, false);
    if (err.empty() && std::rename(part.c_str(), path.c_str()) != 0) {
      err = "cannot rename " + part + " to " + path + ": " + std::strerror(errno);
    }
    if (!err.empty()) {
      std::remove(part.c_str());
      return prefix + err;
    }
    // Make the rename itself durable; a failure here loses nothing already written.
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    (void)sync_path(parent.empty() ? "." : parent.string(), true);
    return "";
  } catch (const std::exception& e) {
    return prefix + e.what();
  }
}

ReadResult read_run_file(const std::string& path) {
  ReadResult result;
  try {
    QuietHdf5Errors quiet;
    result = read_hdf5(path);
  } catch (const std::exception& e) {
    result = ReadResult{RunTables{}, e.what()};
  }
  if (!result.ok()) result.error = "cannot read run file '" + path + "': " + result.error;
  return result;
}

}  // namespace kittengrad::runs
