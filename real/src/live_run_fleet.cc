// live_run_fleet.cc — starting, crashing and stopping the peer processes of a live run.
#include "live_run_fleet.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "kittengrad/real/identity_file.h"
#include "kittengrad/real/live_control.h"
#include "kittengrad/rng.h"

namespace kittengrad::live {

namespace fs = std::filesystem;

std::array<std::uint8_t, 32> run_identity_seed(std::uint64_t seed, std::uint32_t identity) {
  // keypair_from_u64's derivation, so that identity i has the simulator's key for i.
  const std::uint64_t u = Rng::derive(seed, "peer-key", identity).next_u64();
  return Sha256().update("kittengrad-key").update_u64(u).finish();
}

Fleet::Fleet(FleetOptions options, std::size_t hosts, std::size_t initial)
    : options_(std::move(options)) {
  slots_.resize(hosts);
  for (std::size_t h = 0; h < hosts; ++h) {
    PeerSlot& s = slots_[h];
    s.host = h;
    s.endpoint = asio::ip::udp::endpoint(run_host_address(h), options_.port);
    if (h < initial) new_identity(s);
  }
}

Fleet::~Fleet() { stop_all(); }

void Fleet::new_identity(PeerSlot& s) {
  s.identity = static_cast<std::uint32_t>(identities_.size());
  s.keys = keypair_from_seed(run_identity_seed(options_.seed, s.identity));
  identities_.push_back(IdentityInfo{s.host, s.keys.public_key});
}

std::string Fleet::identity_dir(std::uint32_t identity) const {
  return (fs::path(options_.dir) / ("peer-" + std::to_string(identity))).string();
}

std::string Fleet::database_of(std::uint32_t identity) const {
  return (fs::path(identity_dir(identity)) / "data" / "kittengrad.sqlite").string();
}

std::string Fleet::log_of(std::size_t host) const {
  const PeerSlot& s = slots_[host];
  return (fs::path(identity_dir(s.identity)) / ("log-" + std::to_string(s.starts) + ".jsonl"))
      .string();
}

std::string Fleet::listen_text(std::size_t host) const {
  const PeerSlot& s = slots_[host];
  return s.endpoint.address().to_string() + ":" + std::to_string(s.endpoint.port());
}

Result<bool> Fleet::write_files(const PeerSlot& s, const std::string& members_file,
                                const std::vector<std::string>& bootstrap) const {
  const fs::path dir = identity_dir(s.identity);
  std::error_code ec;
  fs::create_directories(dir / "data", ec);
  if (ec) return Error{ErrorCode::kBadRequest, "cannot create " + dir.string() + ": " + ec.message()};
  const fs::path key = dir / "peer.key";
  if (!fs::exists(key)) {
    const std::string text = identity_file_text(run_identity_seed(options_.seed, s.identity));
    const int fd = ::open(key.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Error{ErrorCode::kBadRequest, "cannot create " + key.string() + ": " + std::strerror(errno)};
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) return Error{ErrorCode::kBadRequest, "cannot write " + key.string()};
  }
  auto quoted = [](const std::string& v) { return "\"" + v + "\""; };
  std::string boot = "[";
  for (std::size_t i = 0; i < bootstrap.size(); ++i) boot += (i ? ", " : "") + quoted(bootstrap[i]);
  boot += "]";
  std::string names = "[";
  for (std::size_t i = 0; i < options_.namespaces.size(); ++i) {
    names += (i ? ", " : "") + quoted(options_.namespaces[i]);
  }
  names += "]";
  std::string text = "# written by kittengrad live\n";
  text += "listen = " + quoted(listen_text(s.host)) + "\n";
  text += "identity = \"peer.key\"\ndata_dir = \"data\"\n";
  text += "namespaces = " + names + "\n";
  text += "bootstrap = " + boot + "\n";
  // Durable across kill -9, which is the crash a live run makes; a power loss is not one.
  text += "sync = \"normal\"\nlog_level = \"info\"\n";
  std::string tail = options_.config_tail;
  if (!members_file.empty()) {
    // The [runner] table is last in config_tail: the member list joins it.
    tail += "members = " + quoted(members_file) + "\n";
  }
  text += tail;
  std::ofstream out(dir / "peer.toml", std::ios::trunc);
  out << text;
  if (!out.flush()) return Error{ErrorCode::kBadRequest, "cannot write " + (dir / "peer.toml").string()};
  return true;
}

Result<bool> Fleet::start(std::size_t host, const std::string& members_file,
                          const std::vector<std::string>& bootstrap) {
  PeerSlot& s = slots_[host];
  if (Result<bool> ok = write_files(s, members_file, bootstrap); !ok) return ok;
  ++s.starts;
  const std::string config = (fs::path(identity_dir(s.identity)) / "peer.toml").string();
  const std::string log = log_of(host);
  const std::string leave = std::to_string(options_.leave_timeout_s);
  // Everything the child needs is made before fork: after it, only exec-safe calls.
  std::vector<std::string> args = {options_.binary, "peer", "--config", config, "--leave-timeout", leave};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return Error{ErrorCode::kBadRequest, "cannot create " + log + ": " + std::strerror(errno)};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return Error{ErrorCode::kOverloaded, std::string("fork: ") + std::strerror(errno)};
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);   // the peer dies with its runner
    if (::getppid() != parent) _exit(1);  // the runner died before prctl took effect
    ::setpgid(0, 0);                      // a Ctrl-C at the terminal reaches the runner only
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(log_fd);
  s.pid = pid;
  s.state = SlotState::kUp;
  return true;
}

void Fleet::crash(std::size_t host) {
  PeerSlot& s = slots_[host];
  if (s.pid > 0) {
    ::kill(s.pid, SIGKILL);
    int status = 0;
    ::waitpid(s.pid, &status, 0);
    s.pid = -1;
  }
  s.state = SlotState::kDown;
}

void Fleet::terminate(std::size_t host) {
  PeerSlot& s = slots_[host];
  if (s.pid > 0) ::kill(s.pid, SIGTERM);
  s.state = SlotState::kDown;  // leaving: no longer part of the ring; reap() collects it
}

void Fleet::wipe(std::size_t host) {
  if (slots_[host].identity == PeerSlot::kNoIdentity) return;
  std::error_code ec;
  fs::remove_all(fs::path(identity_dir(slots_[host].identity)) / "data", ec);
}

void Fleet::replace(std::size_t host) {
  wipe(host);
  new_identity(slots_[host]);
}

std::vector<std::string> Fleet::reap() {
  std::vector<std::string> notes;
  for (PeerSlot& s : slots_) {
    if (s.pid <= 0) continue;
    int status = 0;
    if (::waitpid(s.pid, &status, WNOHANG) != s.pid) continue;
    s.pid = -1;
    if (s.state == SlotState::kUp) {
      s.state = SlotState::kDown;
      notes.push_back("peer " + std::to_string(s.identity) + " (host " + std::to_string(s.host) +
                      ") exited unasked (status " + std::to_string(status) + "); log: " +
                      log_of(s.host));
    }
  }
  return notes;
}

void Fleet::stop_all() {
  for (PeerSlot& s : slots_) {
    if (s.pid > 0) ::kill(s.pid, SIGKILL);
  }
  for (PeerSlot& s : slots_) {
    if (s.pid <= 0) continue;
    int status = 0;
    ::waitpid(s.pid, &status, 0);
    s.pid = -1;
    if (s.state == SlotState::kUp) s.state = SlotState::kDown;
  }
}

}  // namespace kittengrad::live
