// EtcdServer: runs a real single-member etcd (Debian's etcd-server, /usr/bin/etcd) on
// loopback for tests of the etcd backend and its benchmarks.
//
// Start() forks and execs etcd with free client and peer ports and a fresh data dir in
// its own TempDir, then waits (at most 15 s) until GET /health answers
// {"health":"true"}. Kill9() simulates a crash; Restart() starts it again on the same
// ports and data dir; the destructor stops it (SIGTERM, then SIGKILL). etcd gets SIGKILL
// when the thread that called Start() or Restart() ends (PR_SET_PDEATHSIG follows the
// forking thread), so call them from a thread that outlives the server's use. etcd's log goes
// to log_path(). EtcdPost() is a synchronous JSON call to its v3 gateway (keys and
// values are base64, int64 are strings: see Base64Encode/Base64Decode).
// Owned by the test tree. Not thread-safe; one test owns each EtcdServer. The free
// functions are thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "agentmesh/client/http_client.h"
#include "agentmesh/etcd/base64.h"

#include "testing/node_process.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace agentmesh::testing {

struct EtcdReply {
  int status = 0;           // 0 when the request failed in transport
  boost::json::value body;  // null when the body is not JSON
  std::string raw;          // the body as received, or the transport error
};

// Posts `body` (JSON) to `path` (like "/v3/lock/lock") at `endpoint` and parses the
// answer. etcd's gateway answers 200 with the message, or an error status with
// {"error", "message", "code"}.
inline EtcdReply EtcdPost(const std::string& endpoint, const std::string& path,
                          const boost::json::object& body,
                          core::Duration timeout = std::chrono::seconds(10)) {
  EtcdReply out;
  auto r = client::FetchBlocking(
      endpoint, client::HttpRequest("POST", path, boost::json::serialize(body)), timeout);
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

// Returns body[key] as a string (etcd writes int64 fields as strings), or "" when it is
// missing or not a string.
inline std::string EtcdField(const boost::json::value& body, std::string_view key) {
  if (!body.is_object()) {
    return "";
  }
  const boost::json::value* v = body.as_object().if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

using etcd::Base64Encode;

// Decodes standard base64; "" when it is not base64.
inline std::string Base64Decode(std::string_view in) { return etcd::Base64Decode(in).value_or(""); }

// Returns a loopback TCP port that was free a moment ago, or 0.
inline int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return 0;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

class EtcdServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/etcd";
  static constexpr std::chrono::seconds kReadyTimeout{15};
  static constexpr std::chrono::seconds kStopTimeout{10};

  EtcdServer() = default;
  ~EtcdServer() { Stop(); }
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Returns whether the etcd binary is installed (scripts/install-deps installs it).
  static bool Installed() { return ::access(kBinary, X_OK) == 0; }

  // Picks free ports and starts etcd on a fresh data dir. Returns "" once it is healthy,
  // else why not (with the end of its log).
  std::string Start() {
    client_port_ = FreeLoopbackPort();
    peer_port_ = FreeLoopbackPort();
    if (client_port_ == 0 || peer_port_ == 0 || client_port_ == peer_port_) {
      return "no free loopback ports";
    }
    return Launch();
  }

  // Starts etcd again on the same ports and data dir (after Kill9 or Stop).
  std::string Restart() {
    Stop();
    return Launch();
  }

  // Sends SIGKILL and reaps the process (a crash).
  void Kill9() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  // Sends SIGTERM and waits at most kStopTimeout, then SIGKILL.
  void Stop() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill9();
  }

  // "http://127.0.0.1:PORT", the client URL (also the v3 JSON gateway).
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  int client_port() const { return client_port_; }
  int peer_port() const { return peer_port_; }
  pid_t pid() const { return pid_; }
  std::string data_dir() const { return dir_.Sub("data"); }
  std::string log_path() const { return dir_.Sub("etcd.log"); }

  // Returns whether GET /health answers {"health":"true"}.
  bool Healthy() const {
    auto r = client::FetchBlocking(endpoint(), client::HttpRequest("GET", "/health"),
                                   std::chrono::seconds(1));
    if (!r || r->status != 200) {
      return false;
    }
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(r->body, ec);
    return !ec && EtcdField(v, "health") == "true";
  }

  // Returns the last `bytes` of etcd's log.
  std::string LogTail(std::size_t bytes = 2000) const {
    std::ifstream in(log_path());
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string all = ss.str();
    return all.size() > bytes ? all.substr(all.size() - bytes) : all;
  }

 private:
  std::vector<std::string> Args() const {
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    const std::string name = "agentmesh-test";
    return {kBinary,
            "--name=" + name,
            "--data-dir=" + data_dir(),
            "--listen-client-urls=" + endpoint(),
            "--advertise-client-urls=" + endpoint(),
            "--listen-peer-urls=" + peer,
            "--initial-advertise-peer-urls=" + peer,
            "--initial-cluster=" + name + "=" + peer,
            "--initial-cluster-state=new",
            "--initial-cluster-token=agentmesh-test-" + std::to_string(peer_port_),
            "--logger=zap",
            "--log-outputs=stderr",
            "--log-level=warn"};
  }

  std::string Launch() {
    if (dir_.path().empty()) {
      return "cannot create a temp dir";
    }
    const std::vector<std::string> args = Args();
    std::vector<char*> argv;
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    // ETCD_* variables would override or conflict with the flags.
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "ETCD_", 5) != 0) {
        envp.push_back(*e);
      }
    }
    envp.push_back(nullptr);
    const std::string log = log_path();
    const pid_t pid = ::fork();
    if (pid < 0) {
      return "fork failed";
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      const int null_fd = ::open("/dev/null", O_RDONLY);
      const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (null_fd >= 0) {
        ::dup2(null_fd, STDIN_FILENO);
      }
      if (log_fd >= 0) {
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
      }
      ::execve(kBinary, argv.data(), envp.data());
      ::_exit(127);
    }
    pid_ = pid;
    return WaitHealthy();
  }

  std::string WaitHealthy() {
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "etcd exited before it was healthy; log:\n" + LogTail();
      }
      if (Healthy()) {
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "etcd not healthy within 15 s; log:\n" + LogTail();
  }

  TempDir dir_;
  pid_t pid_ = -1;
  int client_port_ = 0;
  int peer_port_ = 0;
};

}  // namespace agentmesh::testing
