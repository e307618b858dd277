// kittengrad/real/live_log.h — structured logs: one JSON object a line on stderr,
//   {"ts":"2024-06-15T12:00:00.123Z","level":"info","event":"joined","ns":"default",...}
// filtered by level (the peer config's log_level).
//
//   JsonLog log(LogLevel::kInfo);
//   log.info("joined", {{"ns", "default"}, {"successors", 3}});
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace kittengrad::live {

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarn, kError };

[[nodiscard]] const char* log_level_name(LogLevel l);
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view name);

// A JSON value of a log field (or of command output): numbers stay numbers.
struct JsonValue {
  std::variant<std::int64_t, std::uint64_t, double, bool, std::string> v;
  JsonValue(int x) : v(static_cast<std::int64_t>(x)) {}                   // NOLINT
  JsonValue(long x) : v(static_cast<std::int64_t>(x)) {}                  // NOLINT
  JsonValue(long long x) : v(static_cast<std::int64_t>(x)) {}             // NOLINT
  JsonValue(unsigned x) : v(static_cast<std::uint64_t>(x)) {}             // NOLINT
  JsonValue(unsigned long x) : v(static_cast<std::uint64_t>(x)) {}        // NOLINT
  JsonValue(unsigned long long x) : v(static_cast<std::uint64_t>(x)) {}   // NOLINT
  JsonValue(double x) : v(x) {}                                           // NOLINT
  JsonValue(bool x) : v(x) {}                                             // NOLINT
  JsonValue(std::string x) : v(std::move(x)) {}                           // NOLINT
  JsonValue(const char* x) : v(std::string(x)) {}                         // NOLINT
  JsonValue(std::string_view x) : v(std::string(x)) {}                    // NOLINT
};

struct LogField {
  std::string_view name;
  JsonValue value;
};

// `s` as a JSON string, quotes included.
[[nodiscard]] std::string json_quote(std::string_view s);
[[nodiscard]] std::string json_value(const JsonValue& v);

class JsonLog {
 public:
  explicit JsonLog(LogLevel level, std::FILE* out = stderr) : level_(level), out_(out) {}

  void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
  void debug(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kDebug, e, f); }
  void info(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kInfo, e, f); }
  void warn(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kWarn, e, f); }
  void error(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kError, e, f); }
  [[nodiscard]] bool enabled(LogLevel level) const { return level >= level_; }

 private:
  LogLevel level_;
  std::FILE* out_;
};

}  // namespace kittengrad::live
