// run_file_test.cc — the HDF5 run file (write, read back, determinism, bad files) and the
// summary computed from hand-made tables. (`kittengrad report`: tests/sim/report_test.cc.)
#include "kittengrad/runs/run_file.h"

#include <gtest/gtest.h>
#include <hdf5.h>  // to break valid files on purpose
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "kittengrad/runs/finish_run.h"
#include "kittengrad/runs/summary.h"
#include "kittengrad/scenario_loader.h"
#include "sample_run.h"

namespace kittengrad::runs {
namespace {

namespace fs = std::filesystem;
using testing::kNaN;
using testing::populated;
using testing::TempDirTest;

// Equal, with NaN equal to NaN (a NaN must survive the round trip as a NaN).
bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

::testing::AssertionResult same_doubles(const std::vector<double>& a,
                                        const std::vector<double>& b) {
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure() << "sizes " << a.size() << " vs " << b.size();
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same(a[i], b[i])) {
      return ::testing::AssertionFailure() << "row " << i << ": " << a[i] << " vs " << b[i];
    }
  }
  return ::testing::AssertionSuccess();
}

void expect_same_summary(const Summary& a, const Summary& b) {
  EXPECT_TRUE(same(a.convergence_time_s, b.convergence_time_s));
  EXPECT_EQ(a.lost_updates, b.lost_updates);
  EXPECT_EQ(a.under_replicated_keys, b.under_replicated_keys);
  EXPECT_EQ(a.divergent_keys, b.divergent_keys);
  EXPECT_EQ(a.writes, b.writes);
  EXPECT_TRUE(same(a.write_success, b.write_success));
  EXPECT_EQ(a.lookups, b.lookups);
  EXPECT_TRUE(same(a.lookup_success, b.lookup_success));
  EXPECT_TRUE(same(a.lookup_correct, b.lookup_correct));
  EXPECT_TRUE(same(a.lookup_p50_ms, b.lookup_p50_ms));
  EXPECT_TRUE(same(a.lookup_p99_ms, b.lookup_p99_ms));
  EXPECT_TRUE(same(a.mean_hops, b.mean_hops));
  EXPECT_TRUE(same(a.msgs_per_peer_s, b.msgs_per_peer_s));
  EXPECT_TRUE(same(a.bytes_per_peer_s, b.bytes_per_peer_s));
  EXPECT_EQ(a.history_lost, b.history_lost);
  EXPECT_EQ(a.history_phantoms, b.history_phantoms);
  EXPECT_EQ(a.history_checked, b.history_checked);
}

void expect_same_tables(const RunTables& a, const RunTables& b) {
  EXPECT_EQ(a.scenario_toml, b.scenario_toml);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.version, b.version);
  EXPECT_TRUE(same(a.wall_time_s, b.wall_time_s));
  EXPECT_TRUE(same(a.duration_s, b.duration_s));
  EXPECT_EQ(a.peers, b.peers);

  const TimeseriesTable &ta = a.timeseries, &tb = b.timeseries;
  EXPECT_TRUE(same_doubles(ta.t_s, tb.t_s));
  EXPECT_EQ(ta.peers_alive, tb.peers_alive);
  EXPECT_EQ(ta.keys, tb.keys);
  EXPECT_EQ(ta.replicas_min, tb.replicas_min);
  EXPECT_TRUE(same_doubles(ta.replicas_mean, tb.replicas_mean));
  EXPECT_EQ(ta.under_replicated_keys, tb.under_replicated_keys);
  EXPECT_EQ(ta.divergent_keys, tb.divergent_keys);
  EXPECT_EQ(ta.lost_updates, tb.lost_updates);
  EXPECT_EQ(ta.msgs_sent, tb.msgs_sent);
  EXPECT_EQ(ta.bytes_sent, tb.bytes_sent);
  EXPECT_EQ(ta.msgs_by_kind, tb.msgs_by_kind);
  EXPECT_EQ(ta.bytes_by_kind, tb.bytes_by_kind);

  EXPECT_TRUE(same_doubles(a.lookups.t_issue_s, b.lookups.t_issue_s));
  EXPECT_TRUE(same_doubles(a.lookups.t_done_s, b.lookups.t_done_s));
  EXPECT_EQ(a.lookups.hops, b.lookups.hops);
  EXPECT_EQ(a.lookups.ok, b.lookups.ok);
  EXPECT_EQ(a.lookups.correct, b.lookups.correct);

  EXPECT_EQ(a.ops.kind, b.ops.kind);
  EXPECT_TRUE(same_doubles(a.ops.t_issue_s, b.ops.t_issue_s));
  EXPECT_TRUE(same_doubles(a.ops.t_ack_s, b.ops.t_ack_s));
  EXPECT_EQ(a.ops.ok, b.ops.ok);
  EXPECT_EQ(a.ops.error, b.ops.error);
  EXPECT_EQ(a.ops.entries, b.ops.entries);

  EXPECT_TRUE(same_doubles(a.events.t_s, b.events.t_s));
  EXPECT_EQ(a.events.kind, b.events.kind);
  EXPECT_EQ(a.events.peer, b.events.peer);
  EXPECT_EQ(a.events.lost_updates, b.events.lost_updates);

  EXPECT_EQ(a.final_peers.peer, b.final_peers.peer);
  EXPECT_EQ(a.final_peers.alive, b.final_peers.alive);
  EXPECT_EQ(a.final_peers.keys, b.final_peers.keys);
  EXPECT_EQ(a.final_peers.entries, b.final_peers.entries);
  EXPECT_EQ(a.final_peers.msgs_sent, b.final_peers.msgs_sent);
  EXPECT_EQ(a.final_peers.bytes_sent, b.final_peers.bytes_sent);

  EXPECT_EQ(a.final_keys.key, b.final_keys.key);
  EXPECT_EQ(a.final_keys.acked_updates, b.final_keys.acked_updates);
  EXPECT_EQ(a.final_keys.replicas, b.final_keys.replicas);
  EXPECT_EQ(a.final_keys.holders, b.final_keys.holders);
  EXPECT_EQ(a.final_keys.lost_updates, b.final_keys.lost_updates);

  ASSERT_EQ(a.snapshots.size(), b.snapshots.size());
  for (std::size_t i = 0; i < a.snapshots.size(); ++i) {
    const analysis::OverlayGraphStats &sa = a.snapshots[i].stats, &sb = b.snapshots[i].stats;
    EXPECT_TRUE(same(a.snapshots[i].t_s, b.snapshots[i].t_s));
    EXPECT_EQ(sa.nodes, sb.nodes);
    EXPECT_EQ(sa.edges, sb.edges);
    EXPECT_EQ(sa.strongly_connected_components, sb.strongly_connected_components);
    EXPECT_EQ(sa.largest_component, sb.largest_component);
    EXPECT_EQ(sa.hop_diameter, sb.hop_diameter);
    EXPECT_EQ(sa.sampled_sources, sb.sampled_sources);
    EXPECT_EQ(sa.in_degree_histogram, sb.in_degree_histogram);
  }
  expect_same_summary(a.summary, b.summary);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs a shell command, returns its exit status and stdout (tests only).
int run_command(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class RunFileTest : public TempDirTest {};

// ---- Round trips ----

TEST_F(RunFileTest, PopulatedTablesReadBackEqual) {
  const RunTables t = populated();
  const std::string p = path("run.h5");
  ASSERT_EQ(write_run_file(p, t), "");
  EXPECT_TRUE(fs::exists(p));
  EXPECT_FALSE(fs::exists(p + ".part"));
  const ReadResult r = read_run_file(p);
  ASSERT_TRUE(r.ok()) << r.error;
  expect_same_tables(t, r.tables);
  EXPECT_TRUE(std::isnan(r.tables.timeseries.replicas_mean[3]));
  EXPECT_TRUE(r.tables.summary.history_checked);
}

TEST_F(RunFileTest, EmptyTablesReadBackEmpty) {
  RunTables t;  // every table has 0 rows, yet every column is written
  t.summary = compute_summary(t);
  const std::string p = path("empty.h5");
  ASSERT_EQ(write_run_file(p, t), "");
  const ReadResult r = read_run_file(p);
  ASSERT_TRUE(r.ok()) << r.error;
  expect_same_tables(t, r.tables);
  EXPECT_TRUE(std::isnan(r.tables.summary.lookup_success));
  EXPECT_TRUE(std::isnan(r.tables.summary.convergence_time_s));
}

TEST_F(RunFileTest, LongColumnsAreCompressedAndReadBackEqual) {
  RunTables t = populated();
  constexpr std::size_t kRows = 200000;
  LookupsTable& l = t.lookups;
  l = LookupsTable{};
  for (std::size_t i = 0; i < kRows; ++i) {
    l.t_issue_s.push_back(static_cast<double>(i) * 0.01);
    l.t_done_s.push_back(static_cast<double>(i) * 0.01 + 0.05 + static_cast<double>(i % 7) * 1e-3);
    l.hops.push_back(static_cast<std::int64_t>(i % 5));
    l.ok.push_back(i % 100 == 0 ? 0 : 1);
    l.correct.push_back(i % 50 == 0 ? 0 : 1);
  }
  t.summary = compute_summary(t);
  const std::string p = path("long.h5");
  ASSERT_EQ(write_run_file(p, t), "");
  // 200k rows of 8+8+8+1+1 bytes raw; compression must take a good part of it.
  EXPECT_LT(fs::file_size(p), kRows * 26 / 2);
  const ReadResult r = read_run_file(p);
  ASSERT_TRUE(r.ok()) << r.error;
  expect_same_tables(t, r.tables);
}

TEST_F(RunFileTest, StoredSummaryIsComputedFromTheTables) {
  RunTables t = populated();
  t.summary.lookups = 999;  // stale: the writer recomputes, keeping the history fields
  const std::string p = path("run.h5");
  ASSERT_EQ(write_run_file(p, t), "");
  const ReadResult r = read_run_file(p);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.tables.summary.lookups, 4);
  EXPECT_EQ(r.tables.summary.history_lost, 1);
  EXPECT_EQ(r.tables.summary.history_phantoms, 2);
}

// ---- Determinism ----

TEST_F(RunFileTest, SameTablesGiveIdenticalBytes) {
  const RunTables t = populated();
  ASSERT_EQ(write_run_file(path("a.h5"), t), "");
  // Past a second boundary: a timestamp anywhere in the file would now differ.
  ::usleep(1100 * 1000);
  ASSERT_EQ(write_run_file(path("b.h5"), t), "");
  const std::string a = slurp(path("a.h5")), b = slurp(path("b.h5"));
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "files differ: " << a.size() << " and " << b.size() << " bytes";
  // Writing over an existing file gives the same bytes again.
  ASSERT_EQ(write_run_file(path("a.h5"), t), "");
  EXPECT_TRUE(slurp(path("a.h5")) == b);
}

// ---- Errors ----

TEST_F(RunFileTest, WriteErrorsNameThePathAndLeaveNothing) {
  const std::string p = path("no/such/folder/run.h5");
  const std::string err = write_run_file(p, populated());
  EXPECT_NE(err.find(p), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(p + ".part"));
}

TEST_F(RunFileTest, ColumnsOfDifferentLengthsAreRefused) {
  RunTables t = populated();
  t.ops.entries.pop_back();
  std::string err = write_run_file(path("bad.h5"), t);
  EXPECT_NE(err.find("/ops/entries"), std::string::npos) << err;
  t = populated();
  t.timeseries.msgs_by_kind["ping"].push_back(1);
  err = write_run_file(path("bad.h5"), t);
  EXPECT_NE(err.find("msgs_ping"), std::string::npos) << err;
  t = populated();
  t.timeseries.msgs_by_kind["sent"] = t.timeseries.msgs_sent;  // would shadow msgs_sent
  EXPECT_NE(write_run_file(path("bad.h5"), t), "");
  EXPECT_FALSE(fs::exists(path("bad.h5")));
}

TEST_F(RunFileTest, MissingFileIsAnError) {
  const std::string p = path("missing.h5");
  const ReadResult r = read_run_file(p);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find(p), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("no such file"), std::string::npos) << r.error;
  EXPECT_FALSE(read_run_file(dir_.string()).ok());  // a folder
}

TEST_F(RunFileTest, NotHdf5IsAnError) {
  std::ofstream(path("text.h5")) << "[run]\nduration_s = 60\n";
  const ReadResult r = read_run_file(path("text.h5"));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("not an HDF5 file"), std::string::npos) << r.error;
  std::ofstream(path("empty.h5")).flush();
  EXPECT_FALSE(read_run_file(path("empty.h5")).ok());
}

TEST_F(RunFileTest, TruncatedFileIsAnError) {
  ASSERT_EQ(write_run_file(path("run.h5"), populated()), "");
  const std::string bytes = slurp(path("run.h5"));
  for (std::size_t keep : {bytes.size() / 2, bytes.size() - 100, std::size_t{600}}) {
    std::ofstream(path("cut.h5"), std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(keep));
    EXPECT_FALSE(read_run_file(path("cut.h5")).ok()) << "kept " << keep << " bytes";
  }
}

// Opens a valid run file for editing with HDF5 directly, to break it on purpose.
class Hdf5Edit {
 public:
  explicit Hdf5Edit(const std::string& p) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    file_ = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  }
  ~Hdf5Edit() {
    if (file_ >= 0) H5Fclose(file_);
  }
  hid_t file() const { return file_; }

 private:
  hid_t file_ = -1;
};

TEST_F(RunFileTest, Hdf5WithoutTheGroupsIsAnError) {
  const std::string p = path("plain.h5");
  {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    H5Fclose(f);
  }
  ReadResult r = read_run_file(p);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("not a kittengrad run file"), std::string::npos) << r.error;

  ASSERT_EQ(write_run_file(p, populated()), "");
  {
    Hdf5Edit e(p);
    ASSERT_GE(e.file(), 0);
    ASSERT_GE(H5Ldelete(e.file(), "/ops", H5P_DEFAULT), 0);
  }
  r = read_run_file(p);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("no group /ops"), std::string::npos) << r.error;
}

TEST_F(RunFileTest, MissingOrMistypedColumnIsAnError) {
  const std::string p = path("run.h5");
  ASSERT_EQ(write_run_file(p, populated()), "");
  {
    Hdf5Edit e(p);
    ASSERT_GE(H5Ldelete(e.file(), "/lookups/hops", H5P_DEFAULT), 0);
  }
  ReadResult r = read_run_file(p);
  EXPECT_NE(r.error.find("no column /lookups/hops"), std::string::npos) << r.error;

  ASSERT_EQ(write_run_file(p, populated()), "");
  {
    // /events/peer becomes a column of strings.
    Hdf5Edit e(p);
    ASSERT_GE(H5Ldelete(e.file(), "/events/peer", H5P_DEFAULT), 0);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 4);
    const hsize_t dims[1] = {2};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t ds =
        H5Dcreate2(e.file(), "/events/peer", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(ds, 0);
    H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(type);
  }
  r = read_run_file(p);
  EXPECT_NE(r.error.find("/events/peer holds strings"), std::string::npos) << r.error;

  ASSERT_EQ(write_run_file(p, populated()), "");
  {
    // /events/t_s gets a third row.
    Hdf5Edit e(p);
    ASSERT_GE(H5Ldelete(e.file(), "/events/t_s", H5P_DEFAULT), 0);
    const hsize_t dims[1] = {3};
    const double v[3] = {1, 2, 3};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t ds = H5Dcreate2(e.file(), "/events/t_s", H5T_IEEE_F64LE, space, H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(ds, 0);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(space);
  }
  r = read_run_file(p);
  EXPECT_NE(r.error.find("/events/kind has 2 rows"), std::string::npos) << r.error;
}

TEST_F(RunFileTest, LaterLayoutIsRefused) {
  const std::string p = path("run.h5");
  ASSERT_EQ(write_run_file(p, populated()), "");
  {
    Hdf5Edit e(p);
    const hid_t a = H5Aopen_by_name(e.file(), "/", "layout", H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(a, 0);
    const std::int64_t later = kRunFileLayout + 1;
    H5Awrite(a, H5T_NATIVE_INT64, &later);
    H5Aclose(a);
  }
  const ReadResult r = read_run_file(p);
  EXPECT_NE(r.error.find("newer kittengrad"), std::string::npos) << r.error;
}

// ---- Python reads it ----

TEST_F(RunFileTest, PandasReadsEveryTable) {
  std::string out;
  // make test installs python3-h5py and python3-pandas: their absence is a failure here.
  ASSERT_EQ(run_command("/usr/bin/python3 -c 'import h5py, pandas' 2>/dev/null", out), 0)
      << "/usr/bin/python3 with h5py and pandas is needed (apt-get install python3-h5py "
         "python3-pandas)";
  const std::string p = path("run.h5");
  ASSERT_EQ(write_run_file(p, populated()), "");
  const std::string script =
      "import sys, h5py, pandas\n"
      "f = h5py.File(sys.argv[1], 'r')\n"
      "for name in ['timeseries', 'lookups', 'ops', 'events', 'final/peers', 'final/keys',\n"
      "             'overlay', 'overlay_in_degree']:\n"
      "    g = f[name]\n"
      "    df = pandas.DataFrame({c: g[c][()] for c in g})\n"
      "    print(name, len(df), len(df.columns), list(df.columns)[0])\n"
      "print('summary', len(f['summary'].attrs), f['summary'].attrs['lookups'])\n"
      "print('seed', f.attrs['seed'], f.attrs['backend'])\n";
  std::ofstream(path("check.py")) << script;
  ASSERT_EQ(run_command("/usr/bin/python3 " + path("check.py") + " " + p, out), 0) << out;
  EXPECT_NE(out.find("timeseries 6 14 t_s\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lookups 4 5 t_issue_s\n"), std::string::npos) << out;
  EXPECT_NE(out.find("ops 3 6 kind\n"), std::string::npos) << out;
  EXPECT_NE(out.find("events 2 4 t_s\n"), std::string::npos) << out;
  EXPECT_NE(out.find("final/peers 4 6 peer\n"), std::string::npos) << out;
  EXPECT_NE(out.find("final/keys 4 5 key\n"), std::string::npos) << out;
  EXPECT_NE(out.find("overlay 2 7 t_s\n"), std::string::npos) << out;
  EXPECT_NE(out.find("overlay_in_degree 7 3 snapshot\n"), std::string::npos) << out;
  EXPECT_NE(out.find("summary 17 4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("seed 18446744073709551601 sim\n"), std::string::npos) << out;
}

// ---- Summary ----

RunTables timeseries_rows(std::vector<std::int64_t> under, std::vector<std::int64_t> divergent) {
  RunTables t;
  t.duration_s = 10.0 * static_cast<double>(under.size());
  for (std::size_t i = 0; i < under.size(); ++i) {
    t.timeseries.t_s.push_back(10.0 * static_cast<double>(i));
    t.timeseries.peers_alive.push_back(10);
    t.timeseries.keys.push_back(5);
    t.timeseries.replicas_min.push_back(3);
    t.timeseries.replicas_mean.push_back(3);
    t.timeseries.lost_updates.push_back(0);
    t.timeseries.msgs_sent.push_back(0);
    t.timeseries.bytes_sent.push_back(0);
  }
  t.timeseries.under_replicated_keys = std::move(under);
  t.timeseries.divergent_keys = std::move(divergent);
  return t;
}

TEST(SummaryTest, EmptyRunIsNaNWhereNothingWasMeasured) {
  RunTables t;
  t.summary.history_lost = 7;  // the simulator's, kept
  const Summary s = compute_summary(t);
  EXPECT_EQ(s.lookups, 0);
  EXPECT_TRUE(std::isnan(s.lookup_success));
  EXPECT_TRUE(std::isnan(s.lookup_correct));
  EXPECT_TRUE(std::isnan(s.lookup_p50_ms));
  EXPECT_TRUE(std::isnan(s.lookup_p99_ms));
  EXPECT_TRUE(std::isnan(s.mean_hops));
  EXPECT_EQ(s.writes, 0);
  EXPECT_TRUE(std::isnan(s.write_success));
  EXPECT_TRUE(std::isnan(s.msgs_per_peer_s));
  EXPECT_TRUE(std::isnan(s.bytes_per_peer_s));
  EXPECT_TRUE(std::isnan(s.convergence_time_s));
  EXPECT_EQ(s.lost_updates, 0);
  EXPECT_EQ(s.history_lost, 7);
}

TEST(SummaryTest, LookupPercentilesAreNearestRankOverAnsweredLookups) {
  RunTables t;
  // 100 answered lookups of 1..100 ms, in scrambled order, then 10 failed ones of 5 s.
  for (int i = 0; i < 110; ++i) {
    const bool ok = i < 100;
    const double ms = ok ? static_cast<double>((i * 37) % 100 + 1) : 5000.0;
    t.lookups.t_issue_s.push_back(100.0 + i);
    t.lookups.t_done_s.push_back(100.0 + i + ms / 1000.0);
    t.lookups.hops.push_back(ok ? (i % 2 == 0 ? 2 : 4) : 50);
    t.lookups.ok.push_back(ok ? 1 : 0);
    t.lookups.correct.push_back(i < 88 ? 1 : 0);
  }
  const Summary s = compute_summary(t);
  EXPECT_EQ(s.lookups, 110);
  EXPECT_DOUBLE_EQ(s.lookup_success, 100.0 / 110.0);
  EXPECT_DOUBLE_EQ(s.lookup_correct, 88.0 / 110.0);
  EXPECT_NEAR(s.lookup_p50_ms, 50.0, 1e-6);
  EXPECT_NEAR(s.lookup_p99_ms, 99.0, 1e-6);
  EXPECT_DOUBLE_EQ(s.mean_hops, 3.0);

  // Nearest rank on few samples: p50 of 3 is the 2nd, p99 of 3 the 3rd, p of 1 the one.
  t.lookups = LookupsTable{{0, 0, 0}, {0.030, 0.010, 0.020}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}};
  Summary s3 = compute_summary(t);
  EXPECT_NEAR(s3.lookup_p50_ms, 20.0, 1e-9);
  EXPECT_NEAR(s3.lookup_p99_ms, 30.0, 1e-9);
  t.lookups = LookupsTable{{1}, {1.5}, {2}, {1}, {0}};
  s3 = compute_summary(t);
  EXPECT_NEAR(s3.lookup_p50_ms, 500.0, 1e-9);
  EXPECT_NEAR(s3.lookup_p99_ms, 500.0, 1e-9);
  EXPECT_DOUBLE_EQ(s3.lookup_correct, 0.0);

  // No lookup answered: the fractions are 0, latency and hops unknown.
  t.lookups = LookupsTable{{1, 2}, {kNaN, kNaN}, {0, 0}, {0, 0}, {0, 0}};
  s3 = compute_summary(t);
  EXPECT_DOUBLE_EQ(s3.lookup_success, 0.0);
  EXPECT_TRUE(std::isnan(s3.lookup_p50_ms));
  EXPECT_TRUE(std::isnan(s3.mean_hops));
}

TEST(SummaryTest, WritesAndTraffic) {
  RunTables t = timeseries_rows({0, 0, 0}, {0, 0, 0});
  t.duration_s = 30;
  t.timeseries.msgs_sent = {100, 200, 300};
  t.timeseries.bytes_sent = {1000, 2000, 3000};
  t.timeseries.peers_alive = {10, 10, 40};  // mean 20
  t.timeseries.lost_updates = {0, 2, 3};
  t.ops.kind = {"insert", "update", "update", "update"};
  t.ops.t_issue_s = {1, 2, 3, 4};
  t.ops.t_ack_s = {1.1, kNaN, 3.1, 4.1};
  t.ops.ok = {1, 0, 1, 1};
  t.ops.error = {"", "timeout", "", ""};
  t.ops.entries = {1, 1, 1, 1};
  const Summary s = compute_summary(t);
  EXPECT_EQ(s.writes, 4);
  EXPECT_DOUBLE_EQ(s.write_success, 0.75);
  EXPECT_DOUBLE_EQ(s.msgs_per_peer_s, 600.0 / 20.0 / 30.0);
  EXPECT_DOUBLE_EQ(s.bytes_per_peer_s, 6000.0 / 20.0 / 30.0);
  EXPECT_EQ(s.lost_updates, 3);
}

TEST(SummaryTest, ConvergenceIsFromTheLastPerturbationToTheQuietTail) {
  // Rows every 10 s; quiet from t = 60 on.
  RunTables t =
      timeseries_rows({0, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0});
  t.events.t_s = {12, 25};
  t.events.kind = {"crash", "recover"};
  t.events.peer = {1, 1};
  t.events.lost_updates = {0, 0};
  t.ops.kind = {"insert"};
  t.ops.t_issue_s = {33};
  t.ops.t_ack_s = {33.1};
  t.ops.ok = {1};
  t.ops.error = {""};
  t.ops.entries = {1};
  EXPECT_DOUBLE_EQ(last_perturbation_s(t), 33.0);
  EXPECT_DOUBLE_EQ(compute_summary(t).convergence_time_s, 60.0 - 33.0);

  // An event after the last op moves the start.
  t.events.t_s = {12, 45};
  EXPECT_DOUBLE_EQ(compute_summary(t).convergence_time_s, 60.0 - 45.0);

  // Quiet all along: the first row at or after the perturbation.
  t.timeseries.under_replicated_keys.assign(11, 0);
  t.timeseries.divergent_keys.assign(11, 0);
  EXPECT_DOUBLE_EQ(compute_summary(t).convergence_time_s, 50.0 - 45.0);

  // Divergent at the end: never converged.
  t.timeseries.divergent_keys.back() = 1;
  EXPECT_TRUE(std::isnan(compute_summary(t).convergence_time_s));

  // No row after the last perturbation: unknown, hence NaN.
  t.timeseries.divergent_keys.back() = 0;
  t.events.t_s = {12, 101};
  EXPECT_TRUE(std::isnan(compute_summary(t).convergence_time_s));
}

TEST(SummaryTest, NoPerturbationCountsFromZero) {
  RunTables t = timeseries_rows({2, 0, 0}, {0, 0, 0});
  EXPECT_DOUBLE_EQ(last_perturbation_s(t), 0.0);
  EXPECT_DOUBLE_EQ(compute_summary(t).convergence_time_s, 10.0);
  t = timeseries_rows({0, 0, 0}, {0, 0, 0});
  EXPECT_DOUBLE_EQ(compute_summary(t).convergence_time_s, 0.0);
}

TEST(SummaryTest, PrintedSummarySaysWhatIsUnknown) {
  RunTables t = timeseries_rows({0, 0, 4}, {0, 0, 0});
  t.peers = 10;
  t.seed = 42;
  std::ostringstream out;
  print_summary(out, t);
  const std::string text = out.str();
  EXPECT_NE(text.find("never converged"), std::string::npos) << text;
  EXPECT_NE(text.find("no lookups"), std::string::npos) << text;
  EXPECT_NE(text.find("no writes"), std::string::npos) << text;
  EXPECT_NE(text.find("seed 42"), std::string::npos) << text;
  EXPECT_EQ(text.find("history check"), std::string::npos) << text;
  EXPECT_EQ(text.find("nan"), std::string::npos) << text;
  EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 12) << text;
}

TEST(SummaryTest, PrintedSummaryHasUnits) {
  const RunTables t = populated();
  std::ostringstream out;
  print_summary(out, t);
  const std::string text = out.str();
  for (const char* unit : {" ms", " s after", "msgs/peer/s", "B/peer/s", "%", "hops", "seed"}) {
    EXPECT_NE(text.find(unit), std::string::npos) << unit << " in\n" << text;
  }
  EXPECT_NE(text.find("history check   FAIL: 1 acknowledged entries lost, 2 phantom"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("nan"), std::string::npos) << text;
}

// ---- finish_run_tables ----

TEST(FinishRunTest, FillsWhatComesFromTheScenarioAndTheSummaryOnly) {
  Scenario sc;
  ASSERT_TRUE(apply_override(sc, "run.seed=77"));
  ASSERT_TRUE(apply_override(sc, "run.duration_s=120"));
  ASSERT_TRUE(apply_override(sc, "overlay.peers=64"));
  RunTables t = populated();
  t.backend = "live";
  t.version = "9.9.9";
  t.wall_time_s = 3.5;
  t.summary.lookups = 999;  // stale
  finish_run_tables(sc, t);
  EXPECT_EQ(t.scenario_toml, to_toml(sc));
  EXPECT_EQ(t.seed, 77U);
  EXPECT_EQ(t.duration_s, 120);
  EXPECT_EQ(t.peers, 64);
  EXPECT_EQ(t.summary.lookups, 4);  // recomputed from the tables
  EXPECT_EQ(t.summary.history_lost, 1);  // kept: only the backend knows it
  EXPECT_EQ(t.backend, "live");
  EXPECT_EQ(t.version, "9.9.9");
  EXPECT_EQ(t.wall_time_s, 3.5);
}

}  // namespace
}  // namespace kittengrad::runs
