// Helpers for the integration tests that talk to a real node: JSON calls over HTTP,
// bounded polling, policy files and node start-up in a temp dir, timestamps of the API,
// and running a command with its output captured under a deadline.
// Owned by the integration tests. The free functions are thread-safe.
#pragma once

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "agentmesh/client/http_client.h"

#include "testing/node_process.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace agentmesh::testing {

struct JsonReply {
  int status = 0;           // 0 when the request failed in transport
  boost::json::value body;  // null when the body is not JSON
  std::string raw;          // the body as received, or the transport error
};

// Sends `req` to the node at `base_url` and parses its JSON answer.
inline JsonReply FetchJson(const std::string& base_url, client::HttpRequest req,
                           core::Duration timeout = std::chrono::seconds(10)) {
  JsonReply out;
  auto r = client::FetchBlocking(base_url, std::move(req), timeout);
  if (!r) {
    out.raw = r.error().ToString();
    return out;
  }
  out.status = r->status;
  out.raw = r->body;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r->body, ec);
  if (!ec) {
    out.body = std::move(v);
  }
  return out;
}

// Sends one request to the node at `base_url` and parses its JSON answer.
inline JsonReply CallJson(const std::string& base_url, const std::string& method,
                          const std::string& target, const std::string& body = "",
                          core::Duration timeout = std::chrono::seconds(10)) {
  return FetchJson(base_url, client::HttpRequest(method, target, body), timeout);
}

inline JsonReply CallJson(const std::string& base_url, const std::string& method,
                          const std::string& target, const boost::json::object& body,
                          core::Duration timeout = std::chrono::seconds(10)) {
  return CallJson(base_url, method, target, boost::json::serialize(body), timeout);
}

// Returns obj[key] as a string, or "" when it is missing or not a string.
inline std::string Str(const boost::json::value& obj, std::string_view key) {
  if (!obj.is_object()) {
    return "";
  }
  const boost::json::value* v = obj.as_object().if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

// Returns obj[key] as an integer, or -1 when it is missing or not a number.
inline long long Int(const boost::json::value& obj, std::string_view key) {
  if (!obj.is_object()) {
    return -1;
  }
  const boost::json::value* v = obj.as_object().if_contains(key);
  if (v == nullptr) {
    return -1;
  }
  if (v->is_int64()) {
    return v->as_int64();
  }
  return v->is_uint64() ? static_cast<long long>(v->as_uint64()) : -1;
}

// Polls `condition` every `period` until it holds or `timeout` passed; returns whether
// it held. Deadlines are generous: the tests run on a loaded machine.
template <typename Condition>
bool WaitFor(Condition&& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds period = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(period);
  }
}

// Writes `content` to `path`; returns `path`.
inline std::string WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  return path;
}

// Parses the API's timestamps ("2026-11-26T20:01:02.345Z") into Unix milliseconds;
// -1 when malformed.
inline long long TimestampMillis(std::string_view text) {
  std::tm tm{};
  int ms = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<long long>(::timegm(&tm)) * 1000 + ms;
}

// Starts `node` with `serve --listen 127.0.0.1:0 --data-dir DIR/data [--config FILE]`,
// logging to DIR/node.log. `policy_yaml` (when not empty) is written to DIR/policy.yaml.
// Returns "" when the node is ready, else why not.
inline std::string StartNode(NodeProcess& node, const TempDir& dir,
                             const std::string& policy_yaml = "") {
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--data-dir",
                                   dir.Sub("data")};
  if (!policy_yaml.empty()) {
    args.push_back("--config");
    args.push_back(WriteFile(dir.Sub("policy.yaml"), policy_yaml));
  }
  return node.Start(AGENTMESH_BINARY, args, dir.Sub("node.log"));
}

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed by one
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Returns the absolute path of `name` on PATH, or "" when it is not there.
inline std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
    const std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

// Runs `argv` (argv[0] an absolute path) in `cwd` (when not empty) with stdin from
// /dev/null, capturing stdout and stderr; kills it when `timeout` passes.
inline CommandResult RunCommand(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout, const std::string& cwd = "") {
  CommandResult result;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = "pipe failed";
    return result;
  }
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      ::_exit(126);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) {
      ::close(p.fd);
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace agentmesh::testing
