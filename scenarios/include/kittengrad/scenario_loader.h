// kittengrad/scenario_loader.h — load, override, validate and write scenarios.
//
// The one way into a Scenario from outside: a TOML file (docs: DESIGN.md, "Scenario file"),
// `--set key=value` overrides on top of it, and the cross-field checks that every path runs.
// Nothing here throws: toml++ exceptions are caught inside, and every refusal comes back as
// a ScenarioError that names the dotted key, and the file and line where there is one.
//
//   auto sc = load_scenario_file("scenarios/churn-1k.toml");
//   if (!sc) { std::cerr << sc.error().message() << "\n"; return 2; }
//   if (auto r = apply_override(*sc, "overlay.peers=2048"); !r) { ...r.error()... }
//   std::string effective = to_toml(*sc);   // parse_scenario(effective, ...) gives it back
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "kittengrad/scenario.h"

namespace kittengrad {

// Why a scenario was refused. message() is the line a user sees.
struct ScenarioError {
  std::string key;      // dotted key: "overlay.peers", "failure[2].kind" (1-based, as a user
                        // counts the [[failure]] tables), "network.latency.model"; "" for a
                        // TOML syntax error or an unreadable file
  std::string file;     // "" for overrides and text parsed without a name
  int line = 0;         // 1-based line in `file`; 0 when unknown
  std::string what;     // one sentence saying what is allowed: "must be >= 1 (got 0)"
  std::string setting;  // the `--set` assignment that caused the error ("" for files)

  // "scenarios/x.toml:12: overlay.peers: must be >= 1 (got 0)", or for an override
  // "--set overlay.peers=0: overlay.peers: must be >= 1 (got 0)".
  [[nodiscard]] std::string message() const;

  bool operator==(const ScenarioError&) const = default;
};

// A value or a ScenarioError; the same shape as protocol's Result<T>, kept apart so that
// scenarios/ does not depend on protocol/.
template <typename T>
class [[nodiscard]] ScenarioResult {
 public:
  ScenarioResult(T value) : v_(std::move(value)) {}              // NOLINT: implicit by design
  ScenarioResult(ScenarioError error) : v_(std::move(error)) {}  // NOLINT

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // REQUIRES: !ok().
  const ScenarioError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ScenarioError> v_;
};

// Reads, parses and validates the file at `path`; data files it names (latency matrices,
// coordinates) resolve against the file's folder.
[[nodiscard]] ScenarioResult<Scenario> load_scenario_file(const std::string& path);

// Parses and validates TOML text. `source_name` is used in errors and kept in
// Scenario::source; `base_dir` is where relative data paths resolve ("" = current folder).
[[nodiscard]] ScenarioResult<Scenario> parse_scenario(std::string_view toml_text,
                                                      const std::string& source_name,
                                                      const std::string& base_dir);

// Applies one `--set` assignment, "KEY=VALUE": KEY is a dotted scenario key
// ("overlay.peers", "network.latency", "network.latency.ms", "run.seed"), VALUE a TOML
// value ("run.snapshot_times_s=[60, 600]"); a bare word that is not valid TOML is taken as
// a string ("churn.model=none", "workload.key_popularity=zipf:1.1"). Setting
// "network.latency" (or its "model") replaces the whole latency model.
// "failure=[{at_s=600, kind=\"crash\", peers={count=5}}, ...]" replaces every [[failure]]
// table ("failure=[]" removes them); single failures cannot be set. The whole scenario is
// validated afterwards; on error `sc` is left unchanged.
[[nodiscard]] ScenarioResult<bool> apply_override(Scenario& sc, std::string_view assignment);

// Range and cross-field checks (W <= r <= peers, files exist, selectors fit their kind...).
// Returns the first problem, with the file and line of the key when sc was parsed from one.
[[nodiscard]] ScenarioResult<bool> validate(const Scenario& sc);

// The effective scenario as TOML: every key, defaults included, in the order of DESIGN.md.
// For a valid scenario, parse_scenario(to_toml(sc), ..., sc.base_dir) gives back a
// scenario with same_settings(). Unset end times are written as comments (their default
// follows run.duration_s, or for workload.writes_end_s the workload's end).
[[nodiscard]] std::string to_toml(const Scenario& sc);

// The protocol keys of [overlay] (replication, quorums, successors, intervals, timeout,
// datagram size) as a TOML table, without the keys of a simulated population (peers,
// namespaces, bootstrap, join_rate_per_s): the [overlay] table of a live peer's config,
// which `kittengrad live` writes for the peers it starts.
[[nodiscard]] std::string overlay_protocol_toml(const OverlaySection& o);
// network.latency as a TOML inline table; a model's file is written as its resolved path,
// so the text means the same from any folder.
[[nodiscard]] std::string latency_toml(const LatencySpec& l);

// Where a data file named in a scenario lives: `file` itself when absolute, else
// base_dir/file; made absolute and normalized.
[[nodiscard]] std::string resolve_data_path(const std::string& base_dir, const std::string& file);

}  // namespace kittengrad
