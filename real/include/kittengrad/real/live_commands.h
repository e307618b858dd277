// kittengrad/real/live_commands.h — the live subcommands of the one `kittengrad` binary:
//   kittengrad peer --config PEER.toml [--leave-timeout S]
//   kittengrad stats --peer HOST:PORT [--json] [--timeout-ms MS]
//   kittengrad health --peer HOST:PORT [--json] [--timeout-ms MS]
//   kittengrad insert|update|lookup|route ... --peer HOST:PORT (live_client.h)
//
//   CLI::App app{...};
//   kittengrad::live::LiveCommands live(app);      // adds the subcommands
//   app.parse(argc, argv);
//   if (auto status = live.run()) return *status;  // one of them was chosen
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace kittengrad::live {

class LiveCommands {
 public:
  explicit LiveCommands(CLI::App& app);
  ~LiveCommands();
  LiveCommands(const LiveCommands&) = delete;
  LiveCommands& operator=(const LiveCommands&) = delete;

  // The exit status of the live subcommand that was parsed, or nullopt if none was.
  [[nodiscard]] std::optional<int> run() const;

 private:
  void add_client_commands(CLI::App& app);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kittengrad::live
