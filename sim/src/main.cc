// main.cc — the `kittengrad` command: subcommands like git (DESIGN.md, "Commands").
//
//   kittengrad sim SCENARIO.toml [--out RUN.h5] [--seed N] [--set key=value]... [--quiet]
//   kittengrad live SCENARIO.toml [--out RUN.h5] [--seed N] [--set key=value]... [--quiet]
//                   [--keep DIR]           (real peer processes on loopback: live_run.h)
//   kittengrad report RUN.h5 [--out DIR]
//   kittengrad peer|stats|health ...   (the live commands: real/live_commands.h)
//   kittengrad                 (no arguments) prints the usage and exits 2
//
// Exit status: 0 the run completed (whatever its metrics say), 2 bad usage or bad input,
// 1 an internal error.
#include <unistd.h>

#include <csignal>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "kittengrad/real/live_commands.h"
#include "kittengrad/real/live_run.h"
#include "kittengrad/runs/finish_run.h"
#include "kittengrad/runs/run_file.h"
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

// The scenario with its overrides; nullopt after printing why (exit status 2).
std::optional<kittengrad::Scenario> load_with_overrides(const char* command,
                                                        const std::string& scenario_path,
                                                        const std::vector<std::string>& sets,
                                                        std::optional<std::uint64_t> seed) {
  using namespace kittengrad;
  auto loaded = load_scenario_file(scenario_path);
  if (!loaded) {
    std::cerr << "kittengrad " << command << ": " << loaded.error().message() << "\n";
    return std::nullopt;
  }
  Scenario sc = std::move(loaded.value());
  std::vector<std::string> all = sets;
  if (seed) all.push_back("run.seed=" + std::to_string(*seed));
  for (const std::string& s : all) {
    auto applied = apply_override(sc, s);
    if (!applied) {
      std::cerr << "kittengrad " << command << ": " << applied.error().message() << "\n";
      return std::nullopt;
    }
  }
  return sc;
}

int cmd_sim(const std::string& scenario_path, std::string out, const std::vector<std::string>& sets,
            std::optional<std::uint64_t> seed, bool quiet) {
  using namespace kittengrad;
  std::optional<Scenario> loaded = load_with_overrides("sim", scenario_path, sets, seed);
  if (!loaded) return kBadInput;
  const Scenario& sc = *loaded;
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

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }

// The kittengrad executable itself: the peers of a live run are this very binary.
std::string own_executable() {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

int cmd_live(const std::string& scenario_path, std::string out, const std::vector<std::string>& sets,
             std::optional<std::uint64_t> seed, bool quiet, const std::string& keep) {
  using namespace kittengrad;
  std::optional<Scenario> loaded = load_with_overrides("live", scenario_path, sets, seed);
  if (!loaded) return kBadInput;
  const Scenario& sc = *loaded;
  if (out.empty()) out = default_run_path(scenario_path, sc.run.seed);
  live::LiveRunOptions options;
  options.binary = own_executable();
  options.progress = !quiet && isatty(STDERR_FILENO) != 0;
  options.log = quiet ? nullptr : &std::cerr;
  options.version = kVersion;
  options.keep_dir = keep;
  options.interrupted = &g_interrupted;
  // Ctrl-C and SIGTERM end the run early; every peer process is stopped on the way out.
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  if (!quiet) {
    std::cerr << "kittengrad live: " << scenario_path << ", " << sc.overlay.peers << " peer processes, "
              << sc.run.duration_s << " wall s, seed " << sc.run.seed << "\n";
  }
  live::LiveRunResult r = live::run_live(sc, options);
  if (!r.error.empty()) {
    std::cerr << "kittengrad live: " << r.error << "\n";
    return r.bad_input ? kBadInput : kInternal;
  }
  runs::finish_run_tables(sc, r.tables);
  if (const std::string err = runs::write_run_file(out, r.tables); !err.empty()) {
    std::cerr << "kittengrad live: " << err << "\n";
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

  std::string keep;
  CLI::App* live_run = app.add_subcommand("live", "run a scenario on real peer processes on loopback");
  live_run->add_option("scenario", scenario, "scenario file (TOML)")->required();
  live_run->add_option("--out", out, "run file to write (HDF5); default SCENARIO-seedN.h5");
  auto* live_seed_opt = live_run->add_option("--seed", seed_value, "root seed (same as --set run.seed=N)");
  live_run->add_option("--set", sets, "override a scenario key: --set overlay.peers=8")
      ->allow_extra_args(false);
  live_run->add_flag("--quiet", quiet, "no progress line and no notes");
  live_run->add_option("--keep", keep, "keep the peers' folders (configs, keys, data, logs) here");

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
    if (*live_run) {
      std::optional<std::uint64_t> seed;
      if (live_seed_opt->count() > 0) seed = seed_value;
      return cmd_live(scenario, out, sets, seed, quiet, keep);
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
