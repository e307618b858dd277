// live_metrics.h — the optional Prometheus text endpoint of a peer (`metrics_listen`).
//
// The daemon's loop is single-threaded; the HTTP server (cpp-httplib) runs on a thread of
// its own and serves the last snapshot the loop published (once a second), so that a
// scrape never touches the core's state.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kittengrad/real/live_admin.h"
#include "kittengrad/result.h"

namespace httplib {
class Server;
}

namespace kittengrad::live {

class MetricsServer {
 public:
  // Listens on "HOST:PORT" (GET /metrics); kBadRequest names the address when it cannot.
  [[nodiscard]] static Result<std::unique_ptr<MetricsServer>> start(const std::string& host_port);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void publish(std::string text);
  [[nodiscard]] int port() const { return port_; }

 private:
  MetricsServer();
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::string text_;
  int port_ = 0;
};

// The stats items in Prometheus' text format: numbers only, `kittengrad_` + the path with
// `/` as `_`; an item under `ns/NAME/` carries the label ns="NAME" instead.
[[nodiscard]] std::string prometheus_text(const std::vector<admin::Item>& items);

}  // namespace kittengrad::live
