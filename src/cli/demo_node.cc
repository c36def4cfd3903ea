#include "cli/demo_node.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace agentmesh::cli {
namespace {

constexpr std::string_view kReadyPrefix = "agentmesh listening on ";
constexpr int kPollSliceMs = 100;

core::Status StartFailed(std::string message) {
  return core::Unavailable("node_start_failed", std::move(message));
}

int Millis(core::Duration d) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return "exit " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return "signal " + std::to_string(WTERMSIG(status));
  }
  return "status " + std::to_string(status);
}

}  // namespace

core::Result<std::unique_ptr<DemoNode>> DemoNode::Start(const DemoNodeOptions& options,
                                                        const std::function<bool()>& cancelled) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    return core::Err(StartFailed(std::string("pipe: ") + std::strerror(errno)));
  }
  const int log_fd =
      open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    close(out[0]);
    close(out[1]);
    return core::Err(StartFailed("cannot open " + options.log_path + ": " + std::strerror(errno)));
  }
  std::vector<std::string> args = options.args;
  args.insert(args.begin(), options.executable);
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only until exec.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) {
      _exit(1);
    }
    dup2(out[1], STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(log_fd);
  if (pid < 0) {
    close(out[0]);
    return core::Err(StartFailed(std::string("fork: ") + std::strerror(errno)));
  }
  std::unique_ptr<DemoNode> node(new DemoNode(pid, out[0]));

  const core::TimePoint deadline = core::SystemClock::Instance().Now() + options.ready_timeout;
  std::string pending;
  char chunk[4096];
  while (node->url_.empty()) {
    if (cancelled()) {
      return core::Err(core::Status(core::StatusCode::kCancelled, "cancelled",
                                    "stopped before the node was ready"));
    }
    if (core::SystemClock::Instance().Now() >= deadline) {
      return core::Err(core::Status(core::StatusCode::kDeadlineExceeded, "node_not_ready",
                                    "the node did not print its listening line in time"));
    }
    pollfd pfd{node->stdout_fd_, POLLIN, 0};
    if (poll(&pfd, 1, kPollSliceMs) <= 0) {
      continue;
    }
    const ssize_t n = read(node->stdout_fd_, chunk, sizeof(chunk));
    if (n <= 0) {
      return core::Err(StartFailed("the node exited before it was ready"));
    }
    pending.append(chunk, static_cast<std::size_t>(n));
    for (std::size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
      std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      if (line.starts_with(kReadyPrefix)) {
        node->url_ = line.substr(kReadyPrefix.size());
        while (!node->url_.empty() && std::isspace(static_cast<unsigned char>(node->url_.back()))) {
          node->url_.pop_back();
        }
        break;
      }
    }
  }
  node->drain_ = std::thread([raw = node.get()] { raw->DrainStdout(); });
  return node;
}

DemoNode::~DemoNode() {
  if (!exited_) {
    Stop(std::chrono::seconds(5));
  }
  if (drain_.joinable()) {
    drain_.join();
  }
  close(stdout_fd_);
}

void DemoNode::DrainStdout() {
  char chunk[4096];
  while (read(stdout_fd_, chunk, sizeof(chunk)) > 0) {
  }
}

bool DemoNode::Running() {
  if (!exited_ && waitpid(pid_, &wait_status_, WNOHANG) == pid_) {
    exited_ = true;
  }
  return !exited_;
}

std::string DemoNode::Stop(core::Duration grace) {
  if (!Running()) {
    return DescribeWaitStatus(wait_status_);
  }
  kill(pid_, SIGTERM);
  // pidfd becomes readable when the child exits: a bounded wait without sleeping.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd pfd{pidfd, POLLIN, 0};
    if (poll(&pfd, 1, Millis(grace)) == 0) {
      kill(pid_, SIGKILL);
    }
    close(pidfd);
  }
  while (waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
  }
  exited_ = true;
  return DescribeWaitStatus(wait_status_);
}

std::string TailOfFile(const std::string& path, int max_lines) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (static_cast<int>(lines.size()) > max_lines) {
      lines.pop_front();
    }
  }
  std::string out;
  for (const auto& line : lines) {
    out += line + "\n";
  }
  return out;
}

}  // namespace agentmesh::cli
