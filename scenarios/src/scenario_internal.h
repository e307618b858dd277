// scenario_internal.h — what the loader's source files share; not a public header.
//
// The reader (scenario_reader.cc) turns TOML nodes into Scenario fields and is used twice:
// for whole files and for single `--set` values, so that a key is read the same way in both.
// It checks types and names; ranges and relations between keys are validate()'s job
// (scenario_validate.cc), so a scenario built in code gets the same checks.
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "kittengrad/scenario.h"
#include "kittengrad/scenario_loader.h"

namespace kittengrad::internal {

// A refusal found while reading, or nothing.
using Problem = std::optional<ScenarioError>;

// The dotted key of a value being read, and where to record the lines of the keys read
// (nullptr for overrides, which have no file lines).
struct Origin {
  std::string key;
  std::map<std::string, int>* lines = nullptr;

  [[nodiscard]] Origin sub(std::string_view name) const;
  void record(int line) const;
  // The node's line when reading a file, else 0.
  [[nodiscard]] int line_of(const toml::node& n) const;
};

// ---- names (scenario.cc) ----
[[nodiscard]] std::span<const char* const> latency_model_names();
[[nodiscard]] std::span<const char* const> network_model_names();
[[nodiscard]] std::span<const char* const> churn_model_names();
[[nodiscard]] std::span<const char* const> failure_kind_names();
[[nodiscard]] std::span<const char* const> bootstrap_names();
// `"a", "b" or "c"`.
[[nodiscard]] std::string quoted_list(std::span<const char* const> names);
// The index of `name` in `names`, if it is there.
[[nodiscard]] std::optional<std::size_t> find_name(std::span<const char* const> names,
                                                   std::string_view name);
// The shortest text that reads back as the same double ("0.1", "3600", "1e+21").
[[nodiscard]] std::string format_number(double v);
// A TOML basic string, quotes included, with escapes where needed.
[[nodiscard]] std::string toml_quote(std::string_view s);

// ---- reading (scenario_reader.cc) ----
// Reads every table of a parsed file into `sc` (whose base_dir must be set), recording
// key lines in sc.key_lines. Types and names only; the caller runs validate().
[[nodiscard]] Problem read_document(const toml::table& doc, Scenario& sc);
// Sets one dotted key from an override value. On success, `replaced_prefix` is the key
// whose file lines (its own and its sub keys') the new value has made stale.
[[nodiscard]] Problem apply_value(Scenario& sc, std::string_view dotted_key,
                                  const toml::node& value, std::string& replaced_prefix);

}  // namespace kittengrad::internal
