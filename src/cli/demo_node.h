// DemoNode: the node process `agentmesh demo` runs, as a child `agentmesh serve`.
//
// Start() forks and execs the binary with the given flags, its stdout on a pipe and
// its stderr appended to a log file, and waits for the readiness line
// "agentmesh listening on http://HOST:PORT". The child gets its own process group, so
// a terminal Ctrl-C reaches only the demo, which stops the node with SIGTERM; it also
// receives SIGTERM if the demo dies. Owned by the demo command; not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

#include <sys/types.h>

namespace agentmesh::cli {

struct DemoNodeOptions {
  // The agentmesh binary to run.
  std::string executable = "/proc/self/exe";
  // Arguments after the executable, e.g. {"serve", "--listen", "127.0.0.1:7700", ...}.
  std::vector<std::string> args;
  // The child's stderr (its JSON log) is appended here.
  std::string log_path;
  // How long to wait for the readiness line.
  core::Duration ready_timeout = std::chrono::seconds(20);
};

class DemoNode {
 public:
  // Starts the node and waits until it is ready, `cancelled()` turns true, or the
  // timeout passes. Errors: kUnavailable "node_start_failed" (exec failed or the child
  // exited), kDeadlineExceeded "node_not_ready", kCancelled "cancelled".
  static core::Result<std::unique_ptr<DemoNode>> Start(const DemoNodeOptions& options,
                                                       const std::function<bool()>& cancelled);
  // Stops the node (as Stop) if it still runs.
  ~DemoNode();
  DemoNode(const DemoNode&) = delete;
  DemoNode& operator=(const DemoNode&) = delete;

  // Returns the base URL from the readiness line, e.g. "http://127.0.0.1:7700".
  const std::string& url() const { return url_; }
  pid_t pid() const { return pid_; }
  // Returns true while the child has not exited.
  bool Running();
  // Sends SIGTERM, waits up to `grace`, then SIGKILL. Returns the exit status text,
  // e.g. "exit 0" or "signal 9".
  std::string Stop(core::Duration grace);

 private:
  DemoNode(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  // Reads stdout until EOF and throws it away, so the child never blocks on the pipe.
  void DrainStdout();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int wait_status_ = 0;
  bool exited_ = false;
  std::string url_;
  std::thread drain_;
};

// Returns the last `max_lines` lines of the file at `path` ("" if unreadable).
std::string TailOfFile(const std::string& path, int max_lines);

}  // namespace agentmesh::cli
