// runs/src/finish_run.cc — see kittengrad/runs/finish_run.h.
#include "kittengrad/runs/finish_run.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "kittengrad/runs/summary.h"
#include "kittengrad/scenario_loader.h"

namespace kittengrad::runs {

void finish_run_tables(const Scenario& scenario, RunTables& tables) {
  tables.scenario_toml = to_toml(scenario);
  tables.seed = scenario.run.seed;
  tables.duration_s = scenario.run.duration_s;
  tables.peers = scenario.overlay.peers;
  tables.summary = compute_summary(tables);
}

void sort_rows_by_issue(RunTables& t) {
  // Rows were appended as ops completed; readers expect them in the order they were issued.
  auto order_of = [](const std::vector<double>& key) {
    std::vector<std::size_t> idx(key.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return key[a] < key[b]; });
    return idx;
  };
  auto permute = [](auto& column, const std::vector<std::size_t>& idx) {
    auto copy = column;
    for (std::size_t i = 0; i < idx.size(); ++i) column[i] = copy[idx[i]];
  };
  const auto lk = order_of(t.lookups.t_issue_s);
  permute(t.lookups.t_issue_s, lk);
  permute(t.lookups.t_done_s, lk);
  permute(t.lookups.hops, lk);
  permute(t.lookups.ok, lk);
  permute(t.lookups.correct, lk);
  const auto op = order_of(t.ops.t_issue_s);
  permute(t.ops.kind, op);
  permute(t.ops.t_issue_s, op);
  permute(t.ops.t_ack_s, op);
  permute(t.ops.ok, op);
  permute(t.ops.error, op);
  permute(t.ops.entries, op);
}

}  // namespace kittengrad::runs
