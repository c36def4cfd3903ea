// Helpers for the coordination API's integration tests: the backend a test runs on
// (embedded, or etcd with a real etcd of its own), a node started with a short test
// policy (and optionally the SutazAI fleet), typed calls of /v1/sessions, /v1/locks,
// /v1/elections, /v1/barriers and /v1/proposals, the node's recent events, calls run on
// a thread of their own (for requests that block), and a Server-Sent Events reader over
// a raw socket.
// Owned by the integration tests. CoordClient and the free functions are thread-safe;
// one thread owns each CoordNode and SseReader.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agentmesh/client/http_client.h"

#include "integration/node_api.h"
#include "testing/etcd_server.h"
#include "testing/node_process.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace agentmesh::testing {

inline constexpr char kSutazaiFleet[] = AGENTMESH_SOURCE_DIR "/examples/sutazai/fleet.yaml";

// The policy most coordination tests run with: no health checks, sessions may be as
// short as 1 s.
inline constexpr char kCoordPolicy[] = R"(node:
  tick_interval: 100ms
health:
  check_interval: 10m
consensus:
  session_ttl_min: 1s
)";

// The coordination backend a test's node serves from (storage.coordination.backend).
enum class CoordBackend { kEmbedded, kEtcd };

// "Embedded" or "Etcd", for test names.
inline std::string BackendName(CoordBackend backend) {
  return backend == CoordBackend::kEtcd ? "Etcd" : "Embedded";
}

// How gtest prints the parameter in failure messages.
inline void PrintTo(CoordBackend backend, std::ostream* os) { *os << BackendName(backend); }

// The name generator of INSTANTIATE_TEST_SUITE_P over CoordBackend.
inline std::string BackendParamName(const ::testing::TestParamInfo<CoordBackend>& info) {
  return BackendName(info.param);
}

// Both backends, for INSTANTIATE_TEST_SUITE_P(Backends, X, BothBackends(), BackendParamName).
inline auto BothBackends() {
  return ::testing::Values(CoordBackend::kEmbedded, CoordBackend::kEtcd);
}

// The policy block that moves coordination to the etcd at `endpoint`.
inline std::string EtcdCoordinationYaml(const std::string& endpoint) {
  return "storage:\n  coordination:\n    backend: etcd\n    endpoints: [\"" + endpoint +
         "\"]\n    prefix: /agentmesh\n";
}

// A node of the real binary on one backend, with data in a temp dir of its own; on etcd
// also a fresh etcd (testing::EtcdServer) that it owns, started with the node.
// Start() writes the policy (plus, on etcd, the storage.coordination block) to
// DIR/policy.yaml and runs `serve --listen 127.0.0.1:PORT --data-dir DIR/data --config
// DIR/policy.yaml [--fleet examples/sutazai/fleet.yaml]`; StartAgain() runs the same
// command after Kill9Node(). An empty policy on the embedded backend means no --config.
class CoordNode {
 public:
  explicit CoordNode(CoordBackend backend) : backend_(backend) {}

  // Starts etcd (on kEtcd, the first time), then the node on `port` (0: any). Returns ""
  // when the node is ready, else why not.
  std::string Start(const std::string& policy = kCoordPolicy, bool with_fleet = false,
                    int port = 0) {
    if (dir_.path().empty()) {
      return "cannot create a temp dir";
    }
    args_ = {"serve", "--data-dir", dir_.Sub("data")};
    std::string yaml = policy;
    if (backend_ == CoordBackend::kEtcd) {
      if (etcd_ == nullptr) {
        if (!EtcdServer::Installed()) {
          return std::string(EtcdServer::kBinary) + " is missing: install etcd-server";
        }
        etcd_ = std::make_unique<EtcdServer>();
        if (std::string why = etcd_->Start(); !why.empty()) {
          return "etcd: " + why;
        }
      }
      yaml += EtcdCoordinationYaml(etcd_->endpoint());
    }
    if (!yaml.empty()) {
      args_.push_back("--config");
      args_.push_back(WriteFile(dir_.Sub("policy.yaml"), yaml));
    }
    if (with_fleet) {
      args_.push_back("--fleet");
      args_.push_back(kSutazaiFleet);
    }
    return StartAgain(port);
  }

  // Starts the node again as Start() did, on `port` (0: any).
  std::string StartAgain(int port = 0) {
    std::vector<std::string> args = args_;
    args.push_back("--listen");
    args.push_back("127.0.0.1:" + std::to_string(port));
    return process_.Start(AGENTMESH_BINARY, args, dir_.Sub("node.log"));
  }

  // A crash of the node: SIGKILL; its data dir (and etcd) stay.
  void Kill9Node() { process_.Kill9(); }

  // kill -9 of the node, then StartAgain() on any port.
  std::string RestartNode() {
    Kill9Node();
    return StartAgain();
  }

  // A crash of etcd (kEtcd only): SIGKILL; Restart() brings it back on the same ports
  // and data dir, while the node keeps running.
  void Kill9Etcd() {
    if (etcd_ != nullptr) {
      etcd_->Kill9();
    }
  }
  std::string RestartEtcd() {
    return etcd_ != nullptr ? etcd_->Restart() : "no etcd on the embedded backend";
  }

  CoordBackend backend() const { return backend_; }
  bool on_etcd() const { return backend_ == CoordBackend::kEtcd; }
  std::string url() const { return process_.base_url(); }
  int port() const { return process_.port(); }
  const TempDir& dir() const { return dir_; }
  // The etcd this node uses (nullptr on the embedded backend or before Start()).
  EtcdServer* etcd() const { return etcd_.get(); }
  // "http://127.0.0.1:PORT" of that etcd, or "".
  std::string etcd_endpoint() const { return etcd_ != nullptr ? etcd_->endpoint() : ""; }

 private:
  const CoordBackend backend_;
  std::unique_ptr<EtcdServer> etcd_;  // declared first: it outlives the node
  TempDir dir_;
  NodeProcess process_;
  std::vector<std::string> args_;
};

// A coordination name as a path segment: '/' becomes %2F.
inline std::string PathName(std::string_view name) {
  std::string out;
  for (char c : name) {
    out += c == '/' ? std::string("%2F") : std::string(1, c);
  }
  return out;
}

// The error.code of an API error answer, or "".
inline std::string ErrorCodeOf(const JsonReply& r) {
  if (!r.body.is_object()) {
    return "";
  }
  const boost::json::value* error = r.body.as_object().if_contains("error");
  return error != nullptr ? Str(*error, "code") : "";
}

// obj[key] as an unsigned number (tokens, terms), or 0 when missing.
inline unsigned long long Uint(const boost::json::value& obj, std::string_view key) {
  const long long v = Int(obj, key);
  return v < 0 ? 0 : static_cast<unsigned long long>(v);
}

// The strings of obj[key] (an array), or {} when it is not one.
inline std::vector<std::string> Strings(const boost::json::value& obj, std::string_view key) {
  std::vector<std::string> out;
  if (!obj.is_object()) {
    return out;
  }
  const boost::json::value* v = obj.as_object().if_contains(key);
  if (v == nullptr || !v->is_array()) {
    return out;
  }
  for (const boost::json::value& item : v->as_array()) {
    out.push_back(item.is_string() ? std::string(item.as_string()) : "");
  }
  return out;
}

// A reply and when it arrived.
struct TimedReply {
  JsonReply reply;
  std::chrono::steady_clock::time_point at;
};

// Runs `call` on a thread of its own (for requests that block, such as acquire with
// wait_ms); the future holds its reply and the time it arrived.
inline std::future<TimedReply> Async(std::function<JsonReply()> call) {
  return std::async(std::launch::async, [call = std::move(call)] {
    JsonReply reply = call();
    return TimedReply{std::move(reply), std::chrono::steady_clock::now()};
  });
}

// Milliseconds from `from` to `to`.
inline long long MillisBetween(std::chrono::steady_clock::time_point from,
                               std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// Calls of the coordination API of the node at `base_url`.
class CoordClient {
 public:
  explicit CoordClient(std::string base_url) : base_(std::move(base_url)) {}

  const std::string& base() const { return base_; }

  // Sends `body` (raw text) with header X-Agent-ID = `agent_id` when not empty.
  JsonReply Send(const std::string& method, const std::string& target, const std::string& body,
                 const std::string& agent_id = "") const {
    client::HttpRequest req(method, target, body);
    if (!agent_id.empty()) {
      req.headers.emplace_back("X-Agent-ID", agent_id);
    }
    return FetchJson(base_, std::move(req));
  }

  JsonReply Post(const std::string& target, const boost::json::object& body,
                 const std::string& agent_id = "") const {
    return Send("POST", target, boost::json::serialize(body), agent_id);
  }

  JsonReply Get(const std::string& target) const { return Send("GET", target, ""); }

  JsonReply CreateSession(const std::string& agent, const std::string& ttl = "") const {
    boost::json::object body{{"agent", agent}};
    if (!ttl.empty()) {
      body["ttl"] = ttl;
    }
    return Post("/v1/sessions", body);
  }

  // Creates a session of `agent`; returns its id, or "" when that failed.
  std::string Session(const std::string& agent, const std::string& ttl = "30s") const {
    const JsonReply r = CreateSession(agent, ttl);
    return r.status == 201 ? Str(r.body, "id") : "";
  }

  JsonReply GetSession(const std::string& id) const { return Get("/v1/sessions/" + id); }

  JsonReply RenewSession(const std::string& id) const {
    return Send("PUT", "/v1/sessions/" + id + "/renew", "");
  }

  JsonReply Acquire(const std::string& name, const std::string& session, long long wait_ms = 0,
                    const std::string& mode = "exclusive") const {
    return Post("/v1/locks/" + PathName(name) + "/acquire",
                {{"session", session}, {"mode", mode}, {"wait_ms", wait_ms}});
  }

  JsonReply AcquireSet(const std::vector<std::string>& names, const std::string& session,
                       long long wait_ms = 0) const {
    boost::json::array list;
    for (const std::string& n : names) {
      list.emplace_back(n);
    }
    return Post("/v1/lock-sets/acquire",
                {{"session", session}, {"names", std::move(list)}, {"wait_ms", wait_ms}});
  }

  JsonReply Release(const std::string& name, const std::string& session) const {
    return Post("/v1/locks/" + PathName(name) + "/release", {{"session", session}});
  }

  JsonReply RenewLock(const std::string& name, const std::string& session) const {
    return Post("/v1/locks/" + PathName(name) + "/renew", {{"session", session}});
  }

  JsonReply GetLock(const std::string& name) const { return Get("/v1/locks/" + PathName(name)); }

  // The holders of lock `name` as GET shows them (empty when none or on error).
  std::vector<boost::json::object> Holders(const std::string& name) const {
    std::vector<boost::json::object> out;
    const JsonReply r = GetLock(name);
    if (r.status == 200 && r.body.is_object()) {
      if (const auto* holders = r.body.as_object().if_contains("holders");
          holders != nullptr && holders->is_array()) {
        for (const boost::json::value& h : holders->as_array()) {
          out.push_back(h.as_object());
        }
      }
    }
    return out;
  }

  JsonReply Campaign(const std::string& name, const std::string& session, long long wait_ms = 0,
                     const std::string& value = "") const {
    return Post("/v1/elections/" + PathName(name) + "/campaign",
                {{"session", session}, {"value", value}, {"wait_ms", wait_ms}});
  }

  JsonReply Resign(const std::string& name, const std::string& session,
                   const std::string& successor = "") const {
    boost::json::object body{{"session", session}};
    if (!successor.empty()) {
      body["successor"] = successor;
    }
    return Post("/v1/elections/" + PathName(name) + "/resign", body);
  }

  JsonReply GetElection(const std::string& name) const {
    return Get("/v1/elections/" + PathName(name));
  }

  JsonReply Arrive(const std::string& barrier, const std::string& participant,
                   long long wait_ms = 0) const {
    return Post("/v1/barriers/" + PathName(barrier) + "/arrive",
                {{"participant", participant}, {"wait_ms", wait_ms}});
  }

  JsonReply GetBarrier(const std::string& name) const {
    return Get("/v1/barriers/" + PathName(name));
  }

  // Votes as `voter`, naming `as_agent` in X-Agent-ID ("" = no header).
  JsonReply Vote(const std::string& proposal, const std::string& voter, bool approve,
                 const std::string& as_agent) const {
    return Post("/v1/proposals/" + proposal + "/votes", {{"voter", voter}, {"approve", approve}},
                as_agent);
  }

  // The node's recent events of `type` (oldest first).
  std::vector<boost::json::object> Events(std::string_view type) const {
    std::vector<boost::json::object> out;
    const JsonReply r = Get("/debug/events?limit=1000");
    if (r.status != 200 || !r.body.is_object()) {
      return out;
    }
    const auto* events = r.body.as_object().if_contains("events");
    if (events == nullptr || !events->is_array()) {
      return out;
    }
    for (const boost::json::value& e : events->as_array()) {
      if (Str(e, "event_type") == type) {
        out.push_back(e.as_object());
      }
    }
    return out;
  }

  // Whether an event of `type` whose data[key] == value is among the recent ones.
  bool HasEvent(std::string_view type, std::string_view key, std::string_view value) const {
    for (const boost::json::object& e : Events(type)) {
      if (const auto* data = e.if_contains("data"); data != nullptr && Str(*data, key) == value) {
        return true;
      }
    }
    return false;
  }

  // Polls until HasEvent(type, key, value) or `timeout` passed.
  bool WaitForEvent(std::string_view type, std::string_view key, std::string_view value,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    return WaitFor([&] { return HasEvent(type, key, value); }, timeout);
  }

 private:
  std::string base_;
};

// Reads a Server-Sent Events stream (GET on a raw socket, the response read as it
// arrives, every read bounded by a timeout).
class SseReader {
 public:
  SseReader() = default;
  ~SseReader() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  SseReader(const SseReader&) = delete;
  SseReader& operator=(const SseReader&) = delete;

  // Connects to 127.0.0.1:`port` and sends GET `target`; "" when the response head
  // said 200 within `timeout`, else why not.
  std::string Open(int port, const std::string& target, std::chrono::milliseconds timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return "connect failed";
    }
    const std::string request =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return "send failed";
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t end = std::string::npos;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadSome(deadline)) {
        return "no response head (got '" + buffer_ + "')";
      }
    }
    const std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    if (head.rfind("HTTP/1.1 200", 0) != 0 || head.find("text/event-stream") == std::string::npos) {
      return "not an event stream: " + head;
    }
    return "";
  }

  // The data of the next event named `event` (comments and other events skipped), or
  // nullopt when none arrived within `timeout` or the data is not JSON.
  std::optional<boost::json::value> Next(std::chrono::milliseconds timeout,
                                         std::string_view event = "leader") {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::size_t end;
      while ((end = buffer_.find("\n\n")) == std::string::npos) {
        if (!ReadSome(deadline)) {
          return std::nullopt;
        }
      }
      const std::string frame = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      std::string name;
      std::string data;
      std::size_t start = 0;
      while (start <= frame.size()) {
        std::size_t nl = frame.find('\n', start);
        if (nl == std::string::npos) {
          nl = frame.size();
        }
        const std::string_view line(frame.data() + start, nl - start);
        if (line.starts_with("event: ")) {
          name = line.substr(7);
        } else if (line.starts_with("data: ")) {
          data += line.substr(6);
        }
        start = nl + 1;
      }
      if (name != event) {
        continue;
      }
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(data, ec);
      if (ec) {
        return std::nullopt;
      }
      return v;
    }
  }

 private:
  // Appends what arrives before `deadline` to buffer_; false on timeout or close.
  bool ReadSome(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      return false;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

// A node of its own per test on the backend the test is instantiated for, data in a
// fresh temp dir (and a fresh etcd), and a client for it.
class CoordFixture : public ::testing::TestWithParam<CoordBackend> {
 protected:
  void Start(const std::string& policy = kCoordPolicy, bool with_fleet = false) {
    ASSERT_EQ(node_.Start(policy, with_fleet), "");
    api_ = CoordClient(node_.url());
  }
  bool OnEtcd() const { return node_.on_etcd(); }

  CoordNode node_{GetParam()};
  CoordClient api_{""};
};

}  // namespace agentmesh::testing
