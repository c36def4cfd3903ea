// etcd's own tools and agentmesh on the same names (issue 4: lock NAME is etcd lock
// {prefix}/locks/NAME, election NAME is etcd election {prefix}/elections/NAME): `etcdctl
// lock` waits for agentmesh's holder and agentmesh waits for etcdctl's, and `etcdctl elect`
// observes agentmesh's leader and takes over once it resigns. Runs Debian's etcdctl
// (etcd-client) with ETCDCTL_API=3 against the node's etcd; every wait is bounded and every
// etcdctl (with the command it runs) is killed when its test ends.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "integration/coord_api.h"
#include "integration/node_api.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::ErrorCodeOf;
using testing::Int;
using testing::JsonReply;
using testing::Str;
using testing::Uint;
using testing::WaitFor;
namespace json = boost::json;

constexpr char kEtcdctl[] = "/usr/bin/etcdctl";

// Long enough that etcdctl would have gone ahead wrongly by then.
constexpr auto kStillWaiting = 1s;
constexpr auto kBound = 10s;

// Reads the whole file at `path` ("" when missing).
std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// One etcdctl run in the background, in a process group of its own, with stdout and
// stderr in a file; the destructor kills the group (etcdctl and the command it runs).
class Etcdctl {
 public:
  Etcdctl(const std::string& endpoint, const std::vector<std::string>& args,
          const std::string& output_path)
      : output_path_(output_path) {
    std::vector<std::string> argv = {kEtcdctl, "--endpoints", endpoint};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (const std::string& a : argv) {
      raw.push_back(const_cast<char*>(a.c_str()));
    }
    raw.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::setenv("ETCDCTL_API", "3", 1);
      const int null_fd = ::open("/dev/null", O_RDONLY);
      const int out_fd = ::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(out_fd, STDOUT_FILENO);
      ::dup2(out_fd, STDERR_FILENO);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    if (pid_ > 0) {
      ::setpgid(pid_, pid_);
    }
  }
  ~Etcdctl() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(-pid_, SIGKILL);
    if (!exited_) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  Etcdctl(const Etcdctl&) = delete;
  Etcdctl& operator=(const Etcdctl&) = delete;

  bool started() const { return pid_ > 0; }
  std::string output() const { return ReadAll(output_path_); }

  // Waits at most `timeout` for it to exit; returns its exit code, or -1 when it is
  // still running.
  int WaitExit(std::chrono::milliseconds timeout) {
    WaitFor(
        [&] {
          int status = 0;
          if (!exited_ && ::waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          }
          return exited_;
        },
        timeout, 20ms);
    return exited_ ? exit_code_ : -1;
  }
  bool running() { return WaitExit(0ms) == -1; }

 private:
  std::string output_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

class CoordEtcdInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(kEtcdctl, X_OK), 0) << kEtcdctl << " is missing: install etcd-client";
    ASSERT_EQ(node_.Start(), "");
    api_ = testing::CoordClient(node_.url());
  }

  // Starts `etcdctl ARGS` against the node's etcd, output in DIR/`name`.out.
  std::unique_ptr<Etcdctl> Run(const std::vector<std::string>& args, const std::string& name) {
    auto run = std::make_unique<Etcdctl>(node_.etcd_endpoint(), args, Path(name + ".out"));
    EXPECT_TRUE(run->started());
    return run;
  }

  std::string Path(const std::string& name) const { return node_.dir().Sub(name); }

  testing::CoordNode node_{testing::CoordBackend::kEtcd};
  testing::CoordClient api_{""};
};

TEST_F(CoordEtcdInteropTest, EtcdctlLockWaitsForTheAgentmeshHolder) {
  const std::string s = api_.Session("alpha");
  const JsonReply held = api_.Acquire("db", s);
  ASSERT_EQ(held.status, 200) << held.raw;

  const std::string ran = Path("ran");
  auto lock = Run({"lock", "/agentmesh/locks/db", "--", "/bin/touch", ran}, "lock");
  std::this_thread::sleep_for(kStillWaiting);
  EXPECT_FALSE(Exists(ran)) << "etcdctl ran its command while agentmesh held the lock";
  EXPECT_TRUE(lock->running()) << lock->output();

  ASSERT_EQ(api_.Release("db", s).status, 200);
  EXPECT_EQ(lock->WaitExit(kBound), 0) << lock->output();
  EXPECT_TRUE(Exists(ran));
  EXPECT_TRUE(WaitFor([&] { return api_.Holders("db").empty(); }, kBound))
      << "etcdctl's key stayed after it unlocked";
}

TEST_F(CoordEtcdInteropTest, AgentmeshWaitsForTheEtcdctlHolder) {
  // The command etcdctl runs while it holds the lock: it notes its key and revision, then
  // holds until the test creates `stop`.
  const std::string holding = Path("holding");
  const std::string stop = Path("stop");
  const std::string script = "echo \"$ETCD_LOCK_KEY $ETCD_LOCK_REV\" > " + holding + ".tmp && mv " +
                             holding + ".tmp " + holding + "; while [ ! -e " + stop +
                             " ]; do sleep 0.05; done";
  auto lock = Run({"lock", "/agentmesh/locks/db", "--", "/bin/sh", "-c", script}, "lock");
  ASSERT_TRUE(WaitFor([&] { return Exists(holding); }, kBound)) << lock->output();
  std::istringstream noted(ReadAll(holding));
  std::string key;
  unsigned long long revision = 0;
  noted >> key >> revision;
  ASSERT_EQ(key.rfind("/agentmesh/locks/db/", 0), 0u) << key;

  const std::string s = api_.Session("alpha");
  const auto before = std::chrono::steady_clock::now();
  const JsonReply refused = api_.Acquire("db", s, 200);
  EXPECT_EQ(refused.status, 409) << refused.raw;
  EXPECT_EQ(ErrorCodeOf(refused), "lock_held") << refused.raw;
  EXPECT_GE(testing::MillisBetween(before, std::chrono::steady_clock::now()), 190);

  const JsonReply view = api_.GetLock("db");
  ASSERT_EQ(view.status, 200) << view.raw;
  const auto holders = api_.Holders("db");
  ASSERT_EQ(holders.size(), 1u) << view.raw;
  EXPECT_EQ("/agentmesh/locks/db/" + Str(holders[0], "session"), key) << view.raw;
  EXPECT_EQ(Str(holders[0], "mode"), "exclusive") << view.raw;
  EXPECT_EQ(Uint(holders[0], "token"), revision) << view.raw;
  EXPECT_TRUE(holders[0].at("agent").is_null()) << view.raw;
  EXPECT_TRUE(holders[0].at("expires_in_ms").is_null()) << view.raw;

  auto waiter = testing::Async([&] { return api_.Acquire("db", s, 8000); });
  EXPECT_EQ(waiter.wait_for(300ms), std::future_status::timeout) << "granted while held";
  testing::WriteFile(stop, "");
  EXPECT_EQ(lock->WaitExit(kBound), 0) << lock->output();
  const JsonReply granted = waiter.get().reply;
  ASSERT_EQ(granted.status, 200) << granted.raw;
  EXPECT_GT(Uint(granted.body, "token"), revision);
  EXPECT_EQ(Str(granted.body, "session"), s);
}

TEST_F(CoordEtcdInteropTest, EtcdctlElectObservesAndSucceedsTheAgentmeshLeader) {
  const std::string s = api_.Session("alpha");
  const JsonReply led = api_.Campaign("ldr", s, 0, "http://alpha:8080");
  ASSERT_EQ(led.status, 200) << led.raw;

  {
    auto observer = Run({"elect", "-l", "/agentmesh/elections/ldr"}, "observe");
    EXPECT_TRUE(WaitFor(
        [&] { return observer->output().find("http://alpha:8080") != std::string::npos; }, kBound))
        << observer->output();
  }

  auto candidate = Run({"elect", "/agentmesh/elections/ldr", "v2"}, "elect");
  ASSERT_TRUE(WaitFor([&] { return Int(api_.GetElection("ldr").body, "candidates") == 1; }, kBound))
      << api_.GetElection("ldr").raw;
  std::this_thread::sleep_for(kStillWaiting);
  EXPECT_EQ(candidate->output().find("v2"), std::string::npos)
      << "etcdctl was elected while agentmesh led: " << candidate->output();
  EXPECT_EQ(Str(api_.GetElection("ldr").body.at("leader"), "session"), s);

  ASSERT_EQ(api_.Resign("ldr", s).status, 200);
  ASSERT_TRUE(WaitFor([&] { return candidate->output().find("v2") != std::string::npos; }, kBound))
      << candidate->output();
  const JsonReply view = api_.GetElection("ldr");
  ASSERT_EQ(view.status, 200) << view.raw;
  EXPECT_EQ(Str(view.body.at("leader"), "value"), "v2") << view.raw;
  EXPECT_TRUE(view.body.at("leader").at("agent").is_null()) << view.raw;
  EXPECT_GT(Uint(view.body, "term"), Uint(led.body, "term"));
  EXPECT_EQ(Int(view.body, "candidates"), 0) << view.raw;

  // agentmesh now waits behind etcdctl's leader.
  const JsonReply refused = api_.Campaign("ldr", s, 200);
  EXPECT_EQ(ErrorCodeOf(refused), "not_elected") << refused.raw;
}

}  // namespace
}  // namespace agentmesh
