// live_metrics.cc — the Prometheus endpoint on its own thread (see live_metrics.h).
#include "live_metrics.h"

#include <httplib.h>

#include <cctype>
#include <chrono>

#include "kittengrad/real/live_address.h"

namespace kittengrad::live {

MetricsServer::MetricsServer() : server_(std::make_unique<httplib::Server>()) {}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& host_port) {
  auto ep = parse_host_port(host_port);
  if (!ep) return Error{ErrorCode::kBadRequest, "metrics_listen: " + ep.error().detail};
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->server_->Get("/metrics", [raw = m.get()](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(raw->mutex_);
    res.set_content(raw->text_, "text/plain; version=0.0.4");
  });
  const std::string host = ep->address().to_string();
  if (!m->server_->bind_to_port(host, ep->port())) {
    return Error{ErrorCode::kBadRequest, "metrics_listen: cannot listen on TCP " + host_port};
  }
  m->port_ = ep->port();
  m->thread_ = std::thread([raw = m.get()] { raw->server_->listen_after_bind(); });
  // cpp-httplib's stop() does nothing until the thread is inside listen: wait for it, so
  // that a daemon stopping right after start does not hang in the destructor's join.
  for (int i = 0; i < 2000 && !m->server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return m;
}

void MetricsServer::publish(std::string text) {
  std::lock_guard<std::mutex> lock(mutex_);
  text_ = std::move(text);
}

std::string prometheus_text(const std::vector<admin::Item>& items) {
  std::string out;
  for (const admin::Item& i : items) {
    const auto* v = std::get_if<std::uint64_t>(&i.value);
    if (v == nullptr) continue;
    std::string path = i.name;
    std::string labels;
    if (path.rfind("ns/", 0) == 0) {
      const std::size_t slash = path.find('/', 3);
      if (slash == std::string::npos) continue;
      std::string ns;
      for (char c : path.substr(3, slash - 3)) {
        if (c == '"' || c == '\\') ns += '\\';
        ns += c;
      }
      labels = "{ns=\"" + ns + "\"}";
      path = path.substr(slash + 1);
    }
    std::string name = "kittengrad_";
    for (char c : path) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    out += name + labels + " " + std::to_string(*v) + "\n";
  }
  return out;
}

}  // namespace kittengrad::live
