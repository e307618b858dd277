// scenario_loader.cc — the public entry points: files, text, `--set` overrides.
//
// toml++ reports syntax errors by throwing toml::parse_error; it is caught here and turned
// into a ScenarioError with its line. Any other exception (out of memory) is caught at the
// same boundary, so that no exception leaves the library.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "scenario_internal.h"

namespace kittengrad {
namespace {

// A scenario file is a few kilobytes; anything this large is not one.
constexpr std::uintmax_t kScenarioFileBytesMax = 16u << 20;

ScenarioError internal_error(const std::string& file, const std::exception& e) {
  return ScenarioError{.key = "",
                       .file = file,
                       .line = 0,
                       .what = std::string("internal error while reading: ") + e.what(),
                       .setting = ""};
}

ScenarioResult<Scenario> parse_checked(std::string_view text, const std::string& source_name,
                                       const std::string& base_dir) {
  toml::table doc;
  try {
    doc = toml::parse(text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    return ScenarioError{.key = "",
                         .file = source_name,
                         .line = static_cast<int>(e.source().begin.line),
                         .what = "TOML syntax error: " + std::string(e.description()),
                         .setting = ""};
  }
  Scenario sc;
  sc.source = source_name;
  sc.base_dir = base_dir;
  if (auto p = internal::read_document(doc, sc)) {
    p->file = source_name;
    return *p;
  }
  if (auto v = validate(sc); !v) return v.error();
  return sc;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// True iff `v` reads as one word that TOML would not take: `none`, `zipf:1.1`, `data/x.csv`.
bool bare_word(std::string_view v) {
  constexpr std::string_view kNotInWords = " \t\r\n\"'=[]{},#";
  return !v.empty() && v.find_first_of(kNotInWords) == std::string_view::npos;
}

// Forget the file lines of `prefix` and its sub keys: an override has replaced them.
void erase_lines(Scenario& sc, const std::string& prefix) {
  std::erase_if(sc.key_lines, [&](const auto& entry) {
    const std::string& k = entry.first;
    if (!k.starts_with(prefix)) return false;
    return k.size() == prefix.size() || k[prefix.size()] == '.' || k[prefix.size()] == '[';
  });
}

ScenarioResult<bool> apply_checked(Scenario& sc, std::string_view assignment) {
  const std::string setting(assignment);
  auto refuse = [&](std::string key, std::string what) {
    return ScenarioError{
        .key = std::move(key), .file = "", .line = 0, .what = std::move(what), .setting = setting};
  };
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    return refuse("", "must be KEY=VALUE, such as overlay.peers=2048");
  }
  const std::string key(trim(assignment.substr(0, eq)));
  const std::string value(trim(assignment.substr(eq + 1)));
  if (key.empty()) return refuse("", "must be KEY=VALUE; the key before '=' is empty");
  if (value.empty()) {
    return refuse(key, "needs a TOML value after '=' (write \"\" for an empty string)");
  }

  toml::table holder;
  try {
    holder = toml::parse("v = " + value);
  } catch (const toml::parse_error& e) {
    if (!bare_word(value)) {
      return refuse(key,
                    "the value must be a TOML value; quote strings that hold spaces or "
                    "symbols, as in 'churn.model=\"none\"' (parser: " +
                        std::string(e.description()) + ")");
    }
    holder = toml::table{{"v", value}};  // A bare word is a string.
  }
  if (holder.size() != 1 || !holder.contains("v")) {
    return refuse(key, "the value must be a single TOML value");
  }

  Scenario next = sc;
  std::string replaced;
  if (auto p = internal::apply_value(next, key, *holder.get("v"), replaced)) {
    p->setting = setting;
    return *p;
  }
  erase_lines(next, replaced);
  if (auto v = validate(next); !v) {
    ScenarioError e = v.error();
    e.setting = setting;
    return e;
  }
  sc = std::move(next);
  return true;
}

}  // namespace

ScenarioResult<Scenario> parse_scenario(std::string_view toml_text, const std::string& source_name,
                                        const std::string& base_dir) {
  try {
    return parse_checked(toml_text, source_name, base_dir);
  } catch (const std::exception& e) {
    return internal_error(source_name, e);
  }
}

ScenarioResult<Scenario> load_scenario_file(const std::string& path) {
  namespace fs = std::filesystem;
  try {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    auto refuse = [&](std::string what) {
      return ScenarioError{
          .key = "", .file = path, .line = 0, .what = std::move(what), .setting = ""};
    };
    if (ec || !fs::exists(status)) {
      return refuse("cannot read the scenario file: " +
                    (ec ? ec.message() : std::string("no such file")));
    }
    if (!fs::is_regular_file(status)) return refuse("is not a regular file");
    const std::uintmax_t bytes = fs::file_size(path, ec);
    if (ec) return refuse("cannot read the scenario file: " + ec.message());
    if (bytes > kScenarioFileBytesMax) {
      return refuse("is larger than 16 MiB, which no scenario file is");
    }
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) return refuse("cannot read the scenario file");
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    const fs::path abs = fs::absolute(dir, ec);
    return parse_checked(text, path, (ec ? dir : abs).lexically_normal().string());
  } catch (const std::exception& e) {
    return internal_error(path, e);
  }
}

ScenarioResult<bool> apply_override(Scenario& sc, std::string_view assignment) {
  try {
    return apply_checked(sc, assignment);
  } catch (const std::exception& e) {
    ScenarioError err = internal_error("", e);
    err.setting = std::string(assignment);
    return err;
  }
}

}  // namespace kittengrad
