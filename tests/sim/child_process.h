// child_process.h — runs one SimGrid simulation per forked child process.
//
// SimGrid 3.32 keeps global state across Engine instances: a second Engine in the same
// process starts with the first one's clock (we measured t = 2 for a 1 s sleep in the
// second engine). So every test case that needs an engine runs its simulation in a child
// (fork), and the child reports plain numbers back through a pipe; the assertions run in
// the parent, where GoogleTest sees them. Each test case thus gets a fresh SimGrid,
// whether the binary runs all cases in one process or ctest runs them one by one.
//
//   std::vector<double> out = run_in_child([] {
//     simgrid::s4u::Engine e(...); ...; e.run();
//     return std::vector<double>{simgrid::s4u::Engine::get_clock()};
//   });
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <vector>

namespace kittengrad::sim::testing {

// Runs body() in a child process; returns what it returned. A child that crashes or exits
// non-zero fails the current test (and yields what it wrote before, usually nothing).
inline std::vector<double> run_in_child(const std::function<std::vector<double>()>& body) {
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe() failed";
    return {};
  }
  std::fflush(nullptr);  // do not let the child flush the parent's buffered output twice
  const pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork() failed";
    return {};
  }
  if (pid == 0) {
    close(fds[0]);
    const std::vector<double> out = body();
    const auto* p = reinterpret_cast<const char*>(out.data());
    std::size_t left = out.size() * sizeof(double);
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0 && errno != EINTR) _exit(3);
      if (n > 0) {
        p += n;
        left -= static_cast<std::size_t>(n);
      }
    }
    std::fflush(nullptr);
    _exit(0);  // skip the parent's atexit handlers and GoogleTest's teardown
  }
  close(fds[1]);
  std::vector<char> bytes;
  char buf[65536];
  while (true) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    bytes.insert(bytes.end(), buf, buf + n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the simulation's child process failed (status " << status << ")";
  std::vector<double> out(bytes.size() / sizeof(double));
  std::copy_n(bytes.data(), out.size() * sizeof(double), reinterpret_cast<char*>(out.data()));
  return out;
}

}  // namespace kittengrad::sim::testing
