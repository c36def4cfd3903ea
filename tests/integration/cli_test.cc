// The agentmesh command line as a user runs it: config check/defaults, agents against a
// live node and a closed port, and a short demo run.
#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "integration/node_api.h"
#include "testing/node_process.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::CommandResult;
using testing::Str;
namespace json = boost::json;

constexpr auto kCommandTimeout = 30s;

CommandResult Agentmesh(std::vector<std::string> args,
                        std::chrono::milliseconds timeout = kCommandTimeout,
                        const std::string& cwd = "") {
  args.insert(args.begin(), AGENTMESH_BINARY);
  return testing::RunCommand(args, timeout, cwd);
}

std::string Source(const std::string& path) {
  return std::string(AGENTMESH_SOURCE_DIR) + "/" + path;
}

// A loopback port nothing listens on: bound once to pick it, then closed.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(ConfigCommandTest, CheckAcceptsTheSutazaiPolicy) {
  const std::string policy = Source("policies/sutazai.yaml");
  const CommandResult r = Agentmesh({"config", "check", policy});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok"), std::string::npos) << r.out;
}

TEST(ConfigCommandTest, CheckRejectsABadPolicyWithFileLineColumn) {
  testing::TempDir dir;
  const std::string file = testing::WriteFile(
      dir.Sub("bad.yaml"), "health:\n  check_interval: 10s\n  check_timeout: often\n");
  const CommandResult r = Agentmesh({"config", "check", file});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("bad\\.yaml:3:[0-9]+: "))) << "stderr: " << r.err;
}

TEST(ConfigCommandTest, DefaultsParseBackAsAValidPolicy) {
  testing::TempDir dir;
  const CommandResult defaults = Agentmesh({"config", "defaults"});
  ASSERT_EQ(defaults.exit_code, 0) << defaults.err;
  ASSERT_NE(defaults.out.find("check_interval: 10s"), std::string::npos) << defaults.out;
  const std::string file = testing::WriteFile(dir.Sub("defaults.yaml"), defaults.out);
  const CommandResult check = Agentmesh({"config", "check", file});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST(AgentsCommandTest, ListsRegisteredInstancesAsJsonAndTable) {
  testing::TempDir dir;
  testing::NodeProcess node;
  ASSERT_EQ(testing::StartNode(node, dir), "");
  const std::vector<std::string> ids = {"ai-agent-orchestrator-1", "data-pipeline-engineer-1",
                                        "mega-code-auditor-1"};
  const int phases[] = {1, 3, 1};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string agent = ids[i].substr(0, ids[i].size() - 2);
    const auto r = testing::CallJson(node.base_url(), "PUT", "/v1/agents/" + ids[i],
                                     json::object{{"agent", agent}, {"phase", phases[i]}});
    ASSERT_EQ(r.status, 201) << r.raw;
  }

  const CommandResult as_json = Agentmesh({"agents", "--addr", node.base_url(), "--json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  boost::system::error_code ec;
  const json::value listed = json::parse(as_json.out, ec);
  ASSERT_FALSE(ec) << as_json.out;
  EXPECT_EQ(testing::Int(listed, "count"), 3);
  std::vector<std::string> got;
  for (const json::value& v : listed.at("agents").as_array()) {
    got.push_back(Str(v, "id"));
  }
  EXPECT_EQ(got, ids);

  const CommandResult table = Agentmesh({"agents", "--addr", node.base_url()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  for (const std::string& id : ids) {
    EXPECT_NE(table.out.find(id), std::string::npos) << table.out;
  }
  const CommandResult phase3 = Agentmesh({"agents", "--addr", node.base_url(), "--phase", "3"});
  ASSERT_EQ(phase3.exit_code, 0) << phase3.err;
  EXPECT_NE(phase3.out.find("data-pipeline-engineer-1"), std::string::npos) << phase3.out;
  EXPECT_EQ(phase3.out.find("ai-agent-orchestrator-1"), std::string::npos) << phase3.out;
}

TEST(AgentsCommandTest, ClosedPortExitsOneWithAMessage) {
  const std::string addr = "http://127.0.0.1:" + std::to_string(ClosedPort());
  const CommandResult r = Agentmesh({"agents", "--addr", addr, "--timeout", "3s"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(addr), std::string::npos) << "stderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(DemoCommandTest, ShortRunPrintsUrlsAndPhaseSummaries) {
  testing::TempDir dir;
  const CommandResult r = Agentmesh(
      {"demo", "--listen", "127.0.0.1:0", "--duration", "6s", "--interval", "2s"}, 60s, dir.path());
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("http://127\\.0\\.0\\.1:[0-9]+/health")))
      << r.out;
  EXPECT_NE(r.out.find("/v1/agents"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/metrics"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("phase1 [0-9]+/[0-9]+ healthy"))) << r.out;
}

}  // namespace
}  // namespace agentmesh
