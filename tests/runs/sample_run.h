// sample_run.h — what the tests of run files share: a small run with something in every
// table, and a fixture that gives each test a temporary folder of its own.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "kittengrad/runs/run_tables.h"
#include "kittengrad/runs/summary.h"

namespace kittengrad::runs::testing {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A small run with something in every table and every awkward value: UTF-8, empty
// strings, NaN, by-kind columns, two overlay snapshots.
inline RunTables populated() {
  RunTables t;
  t.scenario_toml = "[run]\nduration_s = 60\n# naïve — ünïcode ✓\n";
  t.seed = 0xFFFFFFFFFFFFFFF1ull;  // above int64: the attribute is unsigned
  t.backend = "sim";
  t.version = "0.1.0";
  t.wall_time_s = 1.25;
  t.duration_s = 60;
  t.peers = 4;
  TimeseriesTable& ts = t.timeseries;
  ts.t_s = {10, 20, 30, 40, 50, 60};
  ts.peers_alive = {4, 4, 3, 3, 4, 4};
  ts.keys = {2, 3, 3, 4, 4, 4};
  ts.replicas_min = {3, 3, 2, 2, 3, 3};
  ts.replicas_mean = {3, 3, 2.5, kNaN, 3, 3};
  ts.under_replicated_keys = {0, 0, 2, 1, 0, 0};
  ts.divergent_keys = {0, 1, 1, 0, 0, 0};
  ts.lost_updates = {0, 0, 0, 0, 0, 0};
  ts.msgs_sent = {100, 120, 90, 95, 110, 100};
  ts.bytes_sent = {10000, 12000, 9000, 9500, 11000, 10000};
  ts.msgs_by_kind["ping"] = {50, 60, 45, 45, 55, 50};
  ts.msgs_by_kind["replicate"] = {50, 60, 45, 50, 55, 50};
  ts.bytes_by_kind["ping"] = {5000, 6000, 4500, 4500, 5500, 5000};
  ts.bytes_by_kind["replicate"] = {5000, 6000, 4500, 5000, 5500, 5000};
  t.lookups.t_issue_s = {1.0, 2.0, 3.0, 4.0};
  t.lookups.t_done_s = {1.05, 2.1, kNaN, 4.2};
  t.lookups.hops = {1, 2, 0, 3};
  t.lookups.ok = {1, 1, 0, 1};
  t.lookups.correct = {1, 0, 0, 1};
  t.ops.kind = {"insert", "update", "update"};
  t.ops.t_issue_s = {0.5, 1.5, 2.5};
  t.ops.t_ack_s = {0.6, kNaN, 2.7};
  t.ops.ok = {1, 0, 1};
  t.ops.error = {"", "timeout — no quorum", ""};
  t.ops.entries = {1, 1, 5};
  t.events.t_s = {25, 35};
  t.events.kind = {"crash", "recover"};
  t.events.peer = {2, 2};
  t.events.lost_updates = {1, 0};
  t.final_peers.peer = {0, 1, 2, 3};
  t.final_peers.alive = {1, 1, 0, 1};
  t.final_peers.keys = {3, 3, 0, 3};
  t.final_peers.entries = {5, 5, 0, 5};
  t.final_peers.msgs_sent = {200, 180, 50, 190};
  t.final_peers.bytes_sent = {20000, 18000, 5000, 19000};
  t.final_keys.key = {"00ab", "7fff", "c0de", "ffee"};
  t.final_keys.acked_updates = {1, 2, 0, 1};
  t.final_keys.replicas = {3, 3, 3, 3};
  t.final_keys.holders = {3, 3, 3, 3};
  t.final_keys.lost_updates = {0, 0, 0, 0};
  OverlaySnapshot s0;
  s0.t_s = 0;
  s0.stats = {4, 12, 1, 4, 2, 4, {0, 1, 3}};
  OverlaySnapshot s1;
  s1.t_s = 30;
  s1.stats = {3, 6, 1, 3, 2, 3, {0, 0, 3, 0}};  // zeros, trailing one included
  t.snapshots = {s0, s1};
  t.summary.history_checked = true;
  t.summary.history_lost = 1;
  t.summary.history_phantoms = 2;
  t.summary = compute_summary(t);
  return t;
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kg_run_file_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

}  // namespace kittengrad::runs::testing
