// sim/src/report.cc — `kittengrad report` (report.h): summary from C++, plots from Python.
//
// The plots are drawn by matplotlib in the Python package, which knows pandas and the
// figures; C++ only starts it. The interpreter is started with posix_spawn and an argument
// vector (no shell, so no quoting problems with odd paths), its stdout and stderr are
// captured through pipes (bounded, so a chatty child cannot grow us without limit), and
// its failure is turned into a message that says what to install or set.
#include "kittengrad/sim/report.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "kittengrad/runs/run_file.h"
#include "kittengrad/runs/summary.h"

extern char** environ;

#ifndef KG_ANALYSIS_DIR
#define KG_ANALYSIS_DIR ""
#endif

namespace kittengrad::sim {
namespace {

constexpr const char* kDefaultPython = "/usr/bin/python3";
constexpr const char* kInstallHint =
    "apt-get install python3-matplotlib python3-h5py python3-pandas";
// Output kept from the plotting process, per stream; the rest is read and dropped.
constexpr std::size_t kCapturedBytesMax = 1 << 20;

struct ChildResult {
  int spawn_errno = 0;  // posix_spawn failed (e.g. ENOENT: no such interpreter)
  int exit_code = -1;   // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// The current environment with PYTHONPATH led by `python_path`, and a non-interactive
// matplotlib backend unless the user chose one.
std::vector<std::string> child_environment(const std::string& python_path) {
  std::vector<std::string> env;
  std::string old_path;
  bool has_backend = false;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.starts_with("PYTHONPATH=")) {
      old_path = entry.substr(std::strlen("PYTHONPATH="));
      continue;
    }
    if (entry.starts_with("MPLBACKEND=")) has_backend = true;
    env.push_back(entry);
  }
  env.push_back("PYTHONPATH=" + python_path + (old_path.empty() ? "" : ":" + old_path));
  if (!has_backend) env.push_back("MPLBACKEND=Agg");
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads both pipes until both close, keeping at most kCapturedBytesMax of each.
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::string& sink = *sinks[i];
      const std::size_t room = kCapturedBytesMax - std::min(sink.size(), kCapturedBytesMax);
      sink.append(buf, std::min(room, static_cast<std::size_t>(n)));
    }
  }
}

// Runs argv[0] (looked up in PATH when it has no slash) with `env`, stdin from /dev/null,
// and captures stdout and stderr.
ChildResult run_captured(std::vector<std::string> argv, std::vector<std::string> env) {
  ChildResult r;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.spawn_errno = errno;
    return r;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.spawn_errno = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<char*> args = c_strings(argv);
  std::vector<char*> envp = c_strings(env);
  pid_t pid = -1;
  const int status = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (status != 0) {
    r.spawn_errno = status;
  } else {
    drain(out_pipe[0], err_pipe[0], r.out, r.err);
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(wstatus)) r.exit_code = WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) r.signal = WTERMSIG(wstatus);
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  return r;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// The Python package the child could not import, if that is why it failed: "matplotlib",
// "kittengrad.plots", ...; "" otherwise. An import inside the module quotes the name
// ("No module named 'matplotlib'"); `python -m` itself does not ("No module named x.y").
std::string missing_module(const std::string& err) {
  const std::string marker = "No module named ";
  const std::size_t at = err.rfind(marker);
  if (at == std::string::npos) return "";
  std::size_t from = at + marker.size();
  const bool quoted = from < err.size() && err[from] == '\'';
  if (quoted) ++from;
  const std::size_t to = err.find_first_of(quoted ? "'" : " \r\n", from);
  return err.substr(from, (to == std::string::npos ? err.size() : to) - from);
}

// Explains a failed plotting run on `err`; returns the exit status of the command (1).
int explain_failure(const ChildResult& r, const std::string& python,
                    const std::string& analysis_dir, std::ostream& err) {
  err << "kittengrad report: no plots made: ";
  if (r.spawn_errno != 0) {
    err << "cannot run the Python interpreter '" << python << "': " << std::strerror(r.spawn_errno)
        << ".\n  Install Python and the plotting "
        << "packages (" << kInstallHint << "), or set KG_PYTHON to an interpreter.\n";
    return 1;
  }
  const std::string module = missing_module(r.err);
  if (module == "kittengrad" || module.starts_with("kittengrad.")) {
    err << "Python cannot find the module '" << module << "' under '" << analysis_dir
        << "'.\n  Set KG_ANALYSIS_DIR to the analysis/ folder of the kittengrad sources.\n";
    return 1;
  }
  if (!module.empty()) {
    const std::string top = module.substr(0, module.find('.'));
    err << "the Python package '" << top << "' is missing.\n  Install the plotting "
        << "packages: " << kInstallHint << "\n";
    return 1;
  }
  if (r.signal != 0) {
    err << "the plotting process was killed by signal " << r.signal << ".\n";
  } else {
    err << "the plotting process (" << python << " -m kittengrad.plots) exited with status "
        << r.exit_code << ". Its messages:\n";
  }
  err << r.err;
  if (!r.err.empty() && r.err.back() != '\n') err << '\n';
  return 1;
}

}  // namespace

std::string default_report_dir(const std::string& run_path) {
  std::filesystem::path p(run_path);
  p.replace_extension();
  return p.string() + "-report";
}

int run_report(const std::string& run_path, const std::string& out_dir, std::ostream& out,
               std::ostream& err) {
  const runs::ReadResult run = runs::read_run_file(run_path);
  if (!run) {
    err << "kittengrad report: " << run.error << "\n";
    return 2;
  }
  runs::print_summary(out, run.tables);
  out.flush();

  const std::string dir = out_dir.empty() ? default_report_dir(run_path) : out_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    err << "kittengrad report: cannot create the output folder '" << dir
        << "': " << (ec ? ec.message() : "a file of that name is in the way")
        << ". Choose another with --out DIR.\n";
    return 2;
  }

  const std::string python = env_or("KG_PYTHON", kDefaultPython);
  const std::string analysis_dir = env_or("KG_ANALYSIS_DIR", KG_ANALYSIS_DIR);
  const ChildResult r = run_captured({python, "-m", "kittengrad.plots", run_path, dir},
                                     child_environment(analysis_dir));
  if (r.spawn_errno != 0 || r.exit_code != 0) {
    return explain_failure(r, python, analysis_dir, err);
  }
  const std::vector<std::string> files = lines(r.out);
  if (files.empty()) {
    out << "wrote: nothing (the plotting module made no plots)\n";
    return 0;
  }
  out << "wrote:\n";
  for (const std::string& f : files) out << "  " << f << "\n";
  return 0;
}

}  // namespace kittengrad::sim
