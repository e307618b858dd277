// runs/src/finish_run.cc — see kittengrad/runs/finish_run.h.
#include "kittengrad/runs/finish_run.h"

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

}  // namespace kittengrad::runs
