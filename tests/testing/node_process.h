// NodeProcess: runs the real `agentmesh` binary for integration tests.
//
// Start() forks and execs the binary with the given arguments, pipes its stdout and
// waits (at most 10 s) for the readiness line "agentmesh listening on http://HOST:PORT",
// from which it takes the port. Kill9() simulates a crash, Terminate() a graceful stop
// (SIGTERM, then the exit code); the destructor kills a process still running.
// TempDir is a fresh directory under the system temp dir, removed on destruction.
// Not thread-safe; one test owns each object.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace agentmesh::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agentmesh-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) {
      path_ = tmpl;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class NodeProcess {
 public:
  static constexpr std::chrono::seconds kReadyTimeout{10};
  static constexpr std::chrono::seconds kExitTimeout{15};

  NodeProcess() = default;
  ~NodeProcess() { Kill9(); }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts `binary` with `args` (argv[1..]); stderr goes to `log_path` (appended) when
  // non-empty. Returns an empty string when the node printed its ready line, else why not.
  std::string Start(const std::string& binary, const std::vector<std::string>& args,
                    const std::string& log_path = "") {
    int fds[2];
    if (::pipe(fds) != 0) {
      return "pipe failed";
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      return "fork failed";
    }
    if (pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      if (!log_path.empty()) {
        const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) {
          ::dup2(log, STDERR_FILENO);
          ::close(log);
        }
      }
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
      }
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    pid_ = pid;
    stdout_fd_ = fds[0];
    return WaitReady();
  }

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  const std::string& ready_line() const { return ready_line_; }

  // Sends SIGKILL and reaps the process (a crash).
  void Kill9() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    CloseStdout();
  }

  // Sends SIGTERM and returns the exit code (128 + signal when killed by one, -1 when it
  // did not exit within kExitTimeout, after which it is killed).
  int Terminate() {
    if (pid_ <= 0) {
      return -1;
    }
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + kExitTimeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        CloseStdout();
        if (WIFEXITED(status)) {
          return WEXITSTATUS(status);
        }
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill9();
    return -1;
  }

 private:
  std::string WaitReady() {
    static constexpr std::string_view kPrefix = "agentmesh listening on http://";
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    std::string line;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return "no ready line within 10 s (got '" + line + "')";
      }
      pollfd p{stdout_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        continue;
      }
      char c = 0;
      if (::read(stdout_fd_, &c, 1) != 1) {
        return "the node exited before it was ready (stdout: '" + line + "')";
      }
      if (c != '\n') {
        line += c;
        continue;
      }
      if (line.rfind(kPrefix, 0) != 0) {
        line.clear();
        continue;
      }
      ready_line_ = line;
      const std::size_t colon = line.rfind(':');
      port_ = std::atoi(line.c_str() + colon + 1);
      return port_ > 0 ? "" : "bad ready line '" + line + "'";
    }
  }

  void CloseStdout() {
    if (stdout_fd_ >= 0) {
      ::close(stdout_fd_);
      stdout_fd_ = -1;
    }
  }

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int port_ = 0;
  std::string ready_line_;
};

}  // namespace agentmesh::testing
