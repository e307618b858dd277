// main.cc — the `kittengrad` command: subcommands like git (DESIGN.md, "Commands").
//
//   kittengrad sim SCENARIO.toml [--out RUN.h5] [--seed N] [--set key=value]... [--quiet]
//   kittengrad report RUN.h5 [--out DIR]
//   kittengrad peer|stats|health ...   (the live commands: real/live_commands.h)
//   kittengrad                 (no arguments) prints the usage and exits 2
//
// Exit status: 0 the run completed (whatever its metrics say), 2 bad usage or bad input,
// 1 an internal error.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "kittengrad/real/live_commands.h"
#include "kittengrad/scenario_loader.h"
#include "kittengrad/runs/summary.h"
#include "kittengrad/sim/report.h"
#include "kittengrad/sim/simulation.h"

namespace {

constexpr int kBadInput = 2;
constexpr int kInternal = 1;
constexpr const char* kVersion = "0.2.0";

std::string default_run_path(const std::string& scenario, std::uint64_t seed) {
  return std::filesystem::path(scenario).stem().string() + "-seed" + std::to_string(seed) + ".h5";
}

int cmd_sim(const std::string& scenario_path, std::string out, const std::vector<std::string>& sets,
            std::optional<std::uint64_t> seed, bool quiet) {
  using namespace kittengrad;
  auto loaded = load_scenario_file(scenario_path);
  if (!loaded) {
    std::cerr << "kittengrad sim: " << loaded.error().message() << "\n";
    return kBadInput;
  }
  Scenario sc = std::move(loaded.value());
  for (const std::string& s : sets) {
    auto applied = apply_override(sc, s);
    if (!applied) {
      std::cerr << "kittengrad sim: " << applied.error().message() << "\n";
      return kBadInput;
    }
  }
  if (seed) {
    auto applied = apply_override(sc, "run.seed=" + std::to_string(*seed));
    if (!applied) {
      std::cerr << "kittengrad sim: " << applied.error().message() << "\n";
      return kBadInput;
    }
  }
  if (out.empty()) out = default_run_path(scenario_path, sc.run.seed);

  sim::SimOptions options;
  options.progress = !quiet && isatty(STDERR_FILENO) != 0;
  options.log = quiet ? nullptr : &std::cerr;
  options.version = kVersion;
  options.audit_oracle = std::getenv("KG_ORACLE_AUDIT") != nullptr;
  if (!quiet) {
    std::cerr << "kittengrad sim: " << scenario_path << ", " << sc.overlay.peers << " peers, "
              << sc.run.duration_s << " simulated s, seed " << sc.run.seed << "\n";
  }
  sim::SimResult r = sim::run_simulation(sc, options);
  if (!r.error.empty()) {
    std::cerr << "kittengrad sim: " << r.error << "\n";
    return kBadInput;
  }
  if (r.audit_mismatches > 0) {
    std::cerr << "kittengrad sim: internal error: the oracle's metrics differed from a full recount "
              << r.audit_mismatches << " times\n";
    return kInternal;
  }
  if (const std::string err = sim::write_finished_run(out, sc, r.tables); !err.empty()) {
    std::cerr << "kittengrad sim: " << err << "\n";
    return kBadInput;
  }
  runs::print_summary(std::cout, r.tables);
  std::cout << "run file: " << out << "  (kittengrad report " << out << " --out DIR for plots)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kittengrad: a replicated overlay for records, simulated and live", "kittengrad"};
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersion);

  std::string scenario, out, run_path, report_dir;
  std::vector<std::string> sets;
  std::uint64_t seed_value = 0;
  bool quiet = false;
  CLI::App* sim = app.add_subcommand("sim", "run a scenario in the simulator (SimGrid)");
  sim->add_option("scenario", scenario, "scenario file (TOML)")->required();
  sim->add_option("--out", out, "run file to write (HDF5); default SCENARIO-seedN.h5");
  auto* seed_opt = sim->add_option("--seed", seed_value, "root seed (same as --set run.seed=N)");
  sim->add_option("--set", sets, "override a scenario key: --set overlay.peers=2048")
      ->allow_extra_args(false);
  sim->add_flag("--quiet", quiet, "no progress line and no notes");

  CLI::App* report = app.add_subcommand("report", "summary and PNG plots of a run file");
  report->add_option("run", run_path, "run file (HDF5)")->required();
  report->add_option("--out", report_dir, "folder for the plots; default RUN-report/");

  const kittengrad::live::LiveCommands live(app);  // peer, stats, health

  // A bare `kittengrad` is someone asking what it does: the usage, not a one-line error.
  if (argc < 2) {
    std::cerr << app.help();
    return kBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kBadInput;
  }
  try {
    if (const auto status = live.run()) return *status;
    if (*sim) {
      std::optional<std::uint64_t> seed;
      if (seed_opt->count() > 0) seed = seed_value;
      return cmd_sim(scenario, out, sets, seed, quiet);
    }
    if (*report) {
      if (report_dir.empty()) {
        report_dir = std::filesystem::path(run_path).replace_extension("").string() + "-report";
      }
      return kittengrad::sim::run_report(run_path, report_dir, std::cout, std::cerr);
    }
  } catch (const std::exception& e) {
    std::cerr << "kittengrad: internal error: " << e.what() << "\n";
    return kInternal;
  }
  return kBadInput;
}
