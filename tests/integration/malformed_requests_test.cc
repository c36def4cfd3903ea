// Malformed requests against the real binary: each gets its specific 4xx and error
// code, and none of them changes the registry or takes the node down.
#include <chrono>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "agentmesh/client/http_client.h"

#include "testing/node_process.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace agentmesh {
namespace {

using namespace std::chrono_literals;

struct RawResponse {
  int status = 0;
  std::string body;
};

// Sends `data` on a fresh TCP connection and reads until the server closes it.
RawResponse SendRaw(int port, const std::string& data) {
  RawResponse out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return out;
  }
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      break;  // the server may answer and close before reading everything
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buf[16384];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) {
      break;
    }
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (reply.rfind("HTTP/1.1 ", 0) == 0 && reply.size() > 12) {
    out.status = std::stoi(reply.substr(9, 3));
  }
  const std::size_t split = reply.find("\r\n\r\n");
  if (split != std::string::npos) {
    out.body = reply.substr(split + 4);
  }
  return out;
}

std::string ErrorCode(const std::string& body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) {
    return "<no error body: " + body.substr(0, 200) + ">";
  }
  return std::string(v.at("error").at("code").as_string());
}

struct Case {
  std::string name;
  std::string method;
  std::string target;
  std::string body;
  std::string content_type;  // "" = the client's default
  int status;
  std::string code;
};

std::string Repeat(const std::string& item, int n, const std::string& sep) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += (i ? sep : "") + item + std::to_string(i) + (item == "\"k" ? "\":\"v\"" : "\"");
  }
  return out;
}

class MalformedRequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = node_.Start(
        AGENTMESH_BINARY, {"serve", "--listen", "127.0.0.1:0", "--data-dir", dir_.Sub("data")},
        dir_.Sub("node.log"));
    ASSERT_EQ(error, "");
  }

  client::HttpResponse Fetch(const std::string& method, const std::string& target,
                             const std::string& body = "", const std::string& content_type = "") {
    client::HttpRequest req;
    req.method = method;
    req.target = target;
    req.body = body;
    if (!content_type.empty()) {
      req.headers.emplace_back("Content-Type", content_type);
    }
    auto r = client::FetchBlocking(node_.base_url(), std::move(req), 10s);
    EXPECT_TRUE(r.has_value()) << method << " " << target << ": " << r.error().ToString();
    return r.value_or(client::HttpResponse{});
  }

  // A stable summary of the registry: ids, states and registration fields.
  std::string Registry() {
    auto r = Fetch("GET", "/v1/agents");
    auto v = boost::json::parse(r.body);
    std::string out;
    for (const auto& a : v.at("agents").as_array()) {
      const auto& o = a.as_object();
      out += boost::json::serialize(boost::json::object{{"id", o.at("id")},
                                                        {"agent", o.at("agent")},
                                                        {"phase", o.at("phase")},
                                                        {"status", o.at("status")},
                                                        {"capabilities", o.at("capabilities")},
                                                        {"metadata", o.at("metadata")},
                                                        {"weight", o.at("weight")},
                                                        {"address", o.at("address")}}) +
             "\n";
    }
    return out;
  }

  testing::TempDir dir_;
  testing::NodeProcess node_;
};

TEST_F(MalformedRequestsTest, EachGetsItsSpecificErrorAndNothingChanges) {
  ASSERT_EQ(Fetch("PUT", "/v1/agents/orch-1",
                  R"({"agent":"ai-agent-orchestrator","phase":1,"capabilities":["planning"]})")
                .status,
            201);
  ASSERT_EQ(Fetch("PUT", "/v1/agents/gone-1", R"({"agent":"ai-agent-tester","phase":3})").status,
            201);
  ASSERT_EQ(Fetch("DELETE", "/v1/agents/gone-1").status, 200);
  const std::string before = Registry();

  const std::string caps = "[" + Repeat("\"c", 65, ",") + "]";
  const std::string meta = "{" + Repeat("\"k", 65, ",") + "}";
  const std::vector<Case> cases = {
      {"empty body", "PUT", "/v1/agents/orch-1", "", "", 400, "missing_body"},
      {"truncated json", "PUT", "/v1/agents/orch-1", "{\"agent\":", "", 400, "malformed_json"},
      {"array body", "PUT", "/v1/agents/orch-1", "[]", "", 400, "malformed_json"},
      {"missing phase", "PUT", "/v1/agents/orch-1", R"({"agent":"x"})", "", 400, "missing_field"},
      {"missing agent", "PUT", "/v1/agents/orch-1", R"({"phase":1})", "", 400, "missing_field"},
      {"agent not string", "PUT", "/v1/agents/orch-1", R"({"agent":5,"phase":1})", "", 400,
       "invalid_field"},
      {"phase as string", "PUT", "/v1/agents/orch-1", R"({"agent":"x","phase":"1"})", "", 400,
       "invalid_field"},
      {"phase zero", "PUT", "/v1/agents/orch-1", R"({"agent":"x","phase":0})", "", 400,
       "phase_out_of_range"},
      {"phase four", "PUT", "/v1/agents/orch-1", R"({"agent":"x","phase":4})", "", 400,
       "phase_out_of_range"},
      {"weight zero", "PUT", "/v1/agents/orch-1", R"({"agent":"x","phase":1,"weight":0})", "", 400,
       "weight_out_of_range"},
      {"unknown field", "PUT", "/v1/agents/orch-1", R"({"agent":"x","phase":1,"color":"red"})", "",
       400, "unknown_field"},
      {"capabilities not list", "PUT", "/v1/agents/orch-1",
       R"({"agent":"x","phase":1,"capabilities":"c"})", "", 400, "invalid_field"},
      {"too many capabilities", "PUT", "/v1/agents/orch-1",
       R"({"agent":"x","phase":1,"capabilities":)" + caps + "}", "", 400, "too_many_capabilities"},
      {"metadata value not string", "PUT", "/v1/agents/orch-1",
       R"({"agent":"x","phase":1,"metadata":{"k":1}})", "", 400, "invalid_field"},
      {"too many metadata", "PUT", "/v1/agents/orch-1",
       R"({"agent":"x","phase":1,"metadata":)" + meta + "}", "", 400, "too_many_metadata"},
      {"bad address", "PUT", "/v1/agents/orch-1", R"({"agent":"x","phase":1,"address":"nope"})", "",
       400, "invalid_address"},
      {"bad id", "PUT", "/v1/agents/-x", R"({"agent":"x","phase":1})", "", 400, "invalid_id"},
      {"encoded id", "PUT", "/v1/agents/a%20b", R"({"agent":"x","phase":1})", "", 400,
       "invalid_id"},
      {"not json content type", "PUT", "/v1/agents/orch-1", R"({"agent":"x","phase":1})",
       "text/plain", 415, "unsupported_media_type"},
      {"heartbeat unknown", "PUT", "/v1/agents/ghost/heartbeat", "", "", 404, "unknown_instance"},
      {"heartbeat left", "PUT", "/v1/agents/gone-1/heartbeat", "", "", 409, "instance_left"},
      {"heartbeat cpu range", "PUT", "/v1/agents/orch-1/heartbeat", R"({"cpu":2})", "", 400,
       "value_out_of_range"},
      {"heartbeat cpu type", "PUT", "/v1/agents/orch-1/heartbeat", R"({"cpu":"x"})", "", 400,
       "invalid_field"},
      {"heartbeat bad json", "PUT", "/v1/agents/orch-1/heartbeat", "{cpu:1}", "", 400,
       "malformed_json"},
      {"heartbeat unknown field", "PUT", "/v1/agents/orch-1/heartbeat", R"({"gpu":0.1})", "", 400,
       "unknown_field"},
      {"observation empty", "POST", "/v1/agents/orch-1/observations", "", "", 400, "missing_body"},
      {"observation bool type", "POST", "/v1/agents/orch-1/observations",
       R"({"observer":"peer-1","healthy":"yes"})", "", 400, "invalid_field"},
      {"observation left", "POST", "/v1/agents/gone-1/observations",
       R"({"observer":"orch-1","healthy":false})", "", 409, "instance_left"},
      {"query phase text", "GET", "/v1/agents?phase=abc", "", "", 400, "invalid_field"},
      {"query phase range", "GET", "/v1/agents?phase=9", "", "", 400, "phase_out_of_range"},
      {"query status", "GET", "/v1/agents?status=zombie", "", "", 400, "invalid_status"},
      {"query unknown", "GET", "/v1/agents?color=red", "", "", 400, "unknown_parameter"},
      {"unknown route", "GET", "/v2/agents", "", "", 404, "unknown_route"},
      {"wrong method", "POST", "/v1/agents", "", "", 405, "method_not_allowed"},
      {"unrouted method", "PATCH", "/v1/agents/orch-1", "", "", 405, "method_not_allowed"},
      {"get unknown", "GET", "/v1/agents/ghost", "", "", 404, "unknown_instance"},
      {"delete unknown", "DELETE", "/v1/agents/ghost", "", "", 404, "unknown_instance"},
      {"history unknown", "GET", "/v1/agents/ghost/history", "", "", 404, "unknown_instance"},
      {"events limit", "GET", "/debug/events?limit=0", "", "", 400, "invalid_field"},
  };
  for (const Case& c : cases) {
    client::HttpResponse r = Fetch(c.method, c.target, c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(ErrorCode(r.body), c.code) << c.name;
    EXPECT_FALSE(r.Header("X-Correlation-ID").empty()) << c.name;
  }
  auto wrong = Fetch("POST", "/v1/agents");
  EXPECT_EQ(wrong.Header("Allow"), "GET");

  const int port = node_.port();
  const struct {
    std::string name;
    std::string data;
    int status;
    std::string code;
  } raw[] = {
      {"bad request line", "GARBAGE\r\n\r\n", 400, "malformed_request_line"},
      {"bad version", "GET /health HTTP/3.7\r\n\r\n", 400, "malformed_request_line"},
      {"huge header",
       "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n", 431,
       "headers_too_large"},
      {"body over 1 MiB",
       "PUT /v1/agents/orch-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       "Content-Length: 2000000\r\n\r\n" +
           std::string(2000000, ' '),
       413, "body_too_large"},
      {"bad chunked encoding",
       "PUT /v1/agents/orch-1/heartbeat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "zz\r\nabc\r\n0\r\n\r\n",
       400, "bad_chunked_encoding"},
      {"bad content length",
       "PUT /v1/agents/orch-1 HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n", 400,
       "malformed_request"},
      {"bad header line", "GET /health HTTP/1.1\r\nHost: x\r\nNo Colon Here\r\n\r\n", 400,
       "malformed_request"},
  };
  for (const auto& c : raw) {
    RawResponse r = SendRaw(port, c.data);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(ErrorCode(r.body), c.code) << c.name;
  }

  EXPECT_EQ(Fetch("GET", "/health").status, 200);
  EXPECT_EQ(Registry(), before);
  EXPECT_EQ(node_.Terminate(), 0);
}

TEST_F(MalformedRequestsTest, EchoesOrGeneratesCorrelationId) {
  client::HttpRequest req;
  req.target = "/health";
  req.headers.emplace_back("X-Correlation-ID", "req-42");
  auto echoed = client::FetchBlocking(node_.base_url(), req, 10s);
  ASSERT_TRUE(echoed.has_value());
  EXPECT_EQ(echoed->Header("X-Correlation-ID"), "req-42");
  auto generated = client::FetchBlocking(node_.base_url(), client::HttpRequest{}, 10s);
  ASSERT_TRUE(generated.has_value());
  EXPECT_EQ(generated->status, 404);
  EXPECT_FALSE(generated->Header("X-Correlation-ID").empty());
}

}  // namespace
}  // namespace agentmesh
