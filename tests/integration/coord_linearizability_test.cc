// Linearizability of the real node's locks and elections (issue 4): client threads with
// their own sessions run seeded random acquire/release or campaign/resign/get calls with
// random delays, the history is recorded (testing/history_recorder.h) and checked against
// the models (testing/coord_models.h) with testing/linearizability.h, on both coordination
// backends; some runs SIGKILL and restart the node mid-history, and on etcd some SIGKILL
// and restart etcd under the running node. A double-granting in-test fake proves the
// harness can fail. The workload drives the small CoordClient interface.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/random.h"
#include "agentmesh/core/status.h"

#include "integration/coord_api.h"
#include "integration/node_api.h"
#include "testing/coord_models.h"
#include "testing/history_recorder.h"
#include "testing/linearizability.h"
#include "testing/node_process.h"

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::CoordBackend;
using testing::ElectionInput;
using testing::ElectionModel;
using testing::ElectionOutput;
using testing::JsonReply;
using testing::LockInput;
using testing::LockMode;
using testing::LockModel;
using testing::LockOutput;
using testing::Op;
using testing::Str;
namespace json = boost::json;

constexpr auto kCheckBudget = 10s;

// What one call answered: `output` when the API gave a known answer; nullopt when the
// outcome is unknown (transport error: the node may have died mid-call; a 5xx: etcd may
// have died mid-call). `unexpected`
// describes an answer the API does not allow here; the run then fails.
template <typename Output>
struct Answer {
  std::optional<Output> output;
  std::string unexpected;
};
using LockAnswer = Answer<LockOutput>;
using ElectionAnswer = Answer<ElectionOutput>;

// The coordination calls the workloads make. Thread-safe: every client thread calls it.
// Session calls fail with kUnavailable when the outcome is unknown and kNotFound when the
// session ended.
class CoordClient {
 public:
  virtual ~CoordClient() = default;
  virtual core::Result<std::string> OpenSession(const std::string& agent,
                                                std::chrono::seconds ttl) = 0;
  virtual core::Status RenewSession(const std::string& session) = 0;
  virtual core::Status CloseSession(const std::string& session) = 0;
  virtual LockAnswer Acquire(const std::string& name, const std::string& session, LockMode mode,
                             std::chrono::milliseconds wait) = 0;
  virtual LockAnswer Release(const std::string& name, const std::string& session) = 0;
  virtual ElectionAnswer Campaign(const std::string& name, const std::string& session,
                                  std::chrono::milliseconds wait) = 0;
  virtual ElectionAnswer Resign(const std::string& name, const std::string& session) = 0;
  virtual ElectionAnswer Get(const std::string& name) = 0;
};

// CoordClient over the node's HTTP API; SetBaseUrl() follows a node restarted elsewhere.
// A 5xx answer is an unknown outcome (the node could not reach etcd); server_errors()
// counts them, so that runs without an etcd outage can expect none.
class HttpCoordClient final : public CoordClient {
 public:
  explicit HttpCoordClient(std::string base_url) : base_url_(std::move(base_url)) {}

  void SetBaseUrl(std::string base_url) {
    std::lock_guard lock(mu_);
    base_url_ = std::move(base_url);
  }
  int server_errors() const { return server_errors_; }
  // The first and the last 5xx answer ("" when none).
  std::string first_server_error() const {
    std::lock_guard lock(mu_);
    return first_server_error_;
  }
  std::string last_server_error() const {
    std::lock_guard lock(mu_);
    return last_server_error_;
  }

  core::Result<std::string> OpenSession(const std::string& agent,
                                        std::chrono::seconds ttl) override {
    const JsonReply r = Call("POST", "/v1/sessions",
                             {{"agent", agent}, {"ttl", std::to_string(ttl.count()) + "s"}});
    if (r.status != 201 || Str(r.body, "id").empty()) {
      return core::Err(core::Unavailable("session_not_created", r.raw));
    }
    return Str(r.body, "id");
  }
  core::Status RenewSession(const std::string& session) override {
    return SessionStatus(Call("PUT", "/v1/sessions/" + session + "/renew", {}));
  }
  core::Status CloseSession(const std::string& session) override {
    return SessionStatus(CallRaw("DELETE", "/v1/sessions/" + session, "", 5s));
  }

  LockAnswer Acquire(const std::string& name, const std::string& session, LockMode mode,
                     std::chrono::milliseconds wait) override {
    const char* mode_name = mode == LockMode::kShared ? "shared" : "exclusive";
    const JsonReply r =
        Call("POST", "/v1/locks/" + PathName(name) + "/acquire",
             {{"session", session}, {"mode", mode_name}, {"wait_ms", wait.count()}}, wait);
    if (r.status == 200 && testing::Int(r.body, "token") > 0) {
      return {LockOutput::Granted(static_cast<std::uint64_t>(testing::Int(r.body, "token")))};
    }
    return Classify<LockOutput>(r, {{409, "lock_held", LockOutput::Refused()}});
  }
  LockAnswer Release(const std::string& name, const std::string& session) override {
    const JsonReply r =
        Call("POST", "/v1/locks/" + PathName(name) + "/release", {{"session", session}});
    return Classify<LockOutput>(
        r, {{200, "", LockOutput::Ok()}, {409, "not_holder", LockOutput::NotHolder()}});
  }

  ElectionAnswer Campaign(const std::string& name, const std::string& session,
                          std::chrono::milliseconds wait) override {
    const JsonReply r = Call("POST", "/v1/elections/" + PathName(name) + "/campaign",
                             {{"session", session}, {"wait_ms", wait.count()}}, wait);
    if (r.status == 200 && LeaderSession(r.body) == session && testing::Int(r.body, "term") > 0) {
      return {ElectionOutput::Elected(static_cast<std::uint64_t>(testing::Int(r.body, "term")))};
    }
    return Classify<ElectionOutput>(r, {{409, "not_elected", ElectionOutput::NotElected()}});
  }
  ElectionAnswer Resign(const std::string& name, const std::string& session) override {
    const JsonReply r =
        Call("POST", "/v1/elections/" + PathName(name) + "/resign", {{"session", session}});
    // Nobody leads an election that does not exist, so its 404 is a not_leader too.
    return Classify<ElectionOutput>(r, {{200, "", ElectionOutput::Ok()},
                                        {409, "not_leader", ElectionOutput::NotLeader()},
                                        {404, "unknown_election", ElectionOutput::NotLeader()}});
  }
  ElectionAnswer Get(const std::string& name) override {
    const JsonReply r = CallRaw("GET", "/v1/elections/" + PathName(name), "", 5s);
    if (r.status == 200 && !LeaderSession(r.body).empty() && testing::Int(r.body, "term") > 0) {
      return {ElectionOutput::Leader(LeaderSession(r.body),
                                     static_cast<std::uint64_t>(testing::Int(r.body, "term")))};
    }
    return Classify<ElectionOutput>(r, {{404, "unknown_election", ElectionOutput::None()}});
  }

 private:
  template <typename Output>
  struct Expected {
    int status;
    const char* code;  // "" for a 2xx
    Output output;
  };

  // Names may contain '/', which a path segment carries as %2F.
  static std::string PathName(const std::string& name) {
    std::string out;
    for (char ch : name) {
      out += ch == '/' ? std::string("%2F") : std::string(1, ch);
    }
    return out;
  }
  template <typename Output>
  Answer<Output> Classify(const JsonReply& r, std::vector<Expected<Output>> expected) {
    if (r.status == 0) {
      return {};
    }
    if (r.status >= 500) {
      NoteServerError(r);
      return {};
    }
    for (const Expected<Output>& e : expected) {
      if (r.status == e.status && ErrorCode(r) == e.code) {
        return {e.output};
      }
    }
    return {std::nullopt, "HTTP " + std::to_string(r.status) + " " + r.raw};
  }
  static std::string ErrorCode(const JsonReply& r) {
    return r.body.is_object() && r.body.as_object().contains("error")
               ? Str(r.body.as_object().at("error"), "code")
               : "";
  }
  static std::string LeaderSession(const json::value& body) {
    return body.is_object() && body.as_object().contains("leader")
               ? Str(body.as_object().at("leader"), "session")
               : "";
  }
  core::Status SessionStatus(const JsonReply& r) {
    if (r.status == 200) {
      return core::OkStatus();
    }
    if (r.status == 404) {
      return core::NotFound("unknown_session", r.raw);
    }
    if (r.status >= 500) {
      NoteServerError(r);
    }
    return r.status == 0 || r.status >= 500 ? core::Unavailable("transport", r.raw)
                                            : core::Internal("unexpected_answer", r.raw);
  }

  JsonReply Call(const std::string& method, const std::string& target, const json::object& body,
                 std::chrono::milliseconds wait = 0ms) {
    return CallRaw(method, target, json::serialize(body), wait + 5s);
  }
  JsonReply CallRaw(const std::string& method, const std::string& target, const std::string& body,
                    std::chrono::milliseconds timeout) {
    std::string base;
    {
      std::lock_guard lock(mu_);
      base = base_url_;
    }
    return testing::CallJson(base, method, target, body, timeout);
  }

  void NoteServerError(const JsonReply& r) {
    std::lock_guard lock(mu_);
    (server_errors_++ == 0 ? first_server_error_ : last_server_error_) =
        "HTTP " + std::to_string(r.status) + " " + r.raw;
  }

  mutable std::mutex mu_;
  std::string base_url_;
  std::string first_server_error_;
  std::string last_server_error_;
  std::atomic<int> server_errors_ = 0;
};

// A lock server that forgets to look at the holders: it grants every acquire at once, so
// exclusive holders overlap. Elections are not served.
class DoubleGrantingLockServer final : public CoordClient {
 public:
  core::Result<std::string> OpenSession(const std::string& agent, std::chrono::seconds) override {
    return "fake-" + agent;
  }
  core::Status RenewSession(const std::string&) override { return core::OkStatus(); }
  core::Status CloseSession(const std::string& session) override {
    std::lock_guard lock(mu_);
    for (auto& [name, sessions] : holders_) {
      sessions.erase(session);
    }
    return core::OkStatus();
  }
  LockAnswer Acquire(const std::string& name, const std::string& session, LockMode,
                     std::chrono::milliseconds) override {
    std::lock_guard lock(mu_);
    holders_[name].insert(session);
    return {LockOutput::Granted(++last_token_)};
  }
  LockAnswer Release(const std::string& name, const std::string& session) override {
    std::lock_guard lock(mu_);
    return {holders_[name].erase(session) == 1 ? LockOutput::Ok() : LockOutput::NotHolder()};
  }
  ElectionAnswer Campaign(const std::string&, const std::string&,
                          std::chrono::milliseconds) override {
    return {std::nullopt, "elections are not served"};
  }
  ElectionAnswer Resign(const std::string&, const std::string&) override {
    return {std::nullopt, "elections are not served"};
  }
  ElectionAnswer Get(const std::string&) override {
    return {std::nullopt, "elections are not served"};
  }

 private:
  std::mutex mu_;
  std::uint64_t last_token_ = 0;
  std::map<std::string, std::set<std::string>> holders_;
};

struct WorkloadOptions {
  int clients = 8;
  int ops = 1500;                           // in total, split evenly over the clients
  std::vector<std::string> names;           // the lock or election names
  std::chrono::milliseconds max_wait{200};  // wait_ms: 0 a quarter of the time, else uniform
  int max_think_ms = 3;                     // a random pause before each call
  int shared_percent = 25;                  // locks: the share of shared acquires
  std::chrono::seconds session_ttl{5};
  std::uint64_t seed = 1;
};

// Runs client threads against a CoordClient, each with its own session (renewed in the
// background and closed at the end, which the history records as an expiry), and records
// their calls. SetPaused() holds clients back between calls while the node restarts.
class Workload {
 public:
  Workload(CoordClient& client, WorkloadOptions options)
      : client_(client), options_(std::move(options)) {}

  std::vector<Op<LockModel>> RunLocks() {
    return Run<LockModel>(
        [this](int c, const std::string& s, auto& rec) { LockClient(c, s, rec); });
  }
  std::vector<Op<ElectionModel>> RunElections() {
    return Run<ElectionModel>(
        [this](int c, const std::string& s, auto& rec) { ElectionClient(c, s, rec); });
  }

  void SetPaused(bool paused) { paused_ = paused; }
  int done() const { return done_; }
  bool finished() const { return finished_; }
  // Returns "" or how many problems the run had and the first few.
  std::string problems() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (std::size_t i = 0; i < std::min<std::size_t>(problems_.size(), 3); ++i) {
      out += (i == 0 ? std::to_string(problems_.size()) + " problems: " : "; ") + problems_[i];
    }
    return out;
  }

 private:
  template <typename Model, typename Body>
  std::vector<Op<Model>> Run(Body body) {
    testing::HistoryRecorder<Model> rec;
    std::vector<std::string> sessions;
    for (int c = 0; c < options_.clients; ++c) {
      auto id = client_.OpenSession("linearizability-" + std::to_string(c), options_.session_ttl);
      if (!id) {
        Problem("cannot open a session: " + id.error().ToString());
        finished_ = true;
        return {};
      }
      sessions.push_back(*id);
    }
    std::atomic<bool> stop = false;
    std::thread renewer([&] {
      while (!stop) {
        for (int i = 0; i < 20 && !stop; ++i) {
          std::this_thread::sleep_for(
              std::chrono::duration_cast<std::chrono::milliseconds>(options_.session_ttl) / 100);
        }
        for (const std::string& s : sessions) {
          if (core::Status st = client_.RenewSession(s); st.code() == core::StatusCode::kNotFound) {
            Problem("session " + s + " ended during the run: " + st.ToString());
          }
        }
      }
    });
    std::vector<std::thread> threads;
    for (int c = 0; c < options_.clients; ++c) {
      threads.emplace_back([&, c] { body(c, sessions[c], rec); });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    finished_ = true;
    stop = true;
    renewer.join();
    for (int c = 0; c < options_.clients; ++c) {
      const auto h = rec.Begin(c, Model::Input::Expire("", sessions[c]));
      if (core::Status st = client_.CloseSession(sessions[c]); st.ok()) {
        rec.End(h, Model::Output::Ok());
      } else if (st.code() != core::StatusCode::kUnavailable) {
        Problem("closing session " + sessions[c] + ": " + st.ToString());
      }
    }
    return rec.Take();
  }

  enum class Hold { kNo, kYes, kMaybe };  // what a client knows of its lock or leadership

  void LockClient(int c, const std::string& session, testing::HistoryRecorder<LockModel>& rec) {
    core::Random rng(options_.seed * 1000 + c);
    std::map<std::string, Hold> holds;
    for (int i = 0; i < options_.ops / options_.clients; ++i) {
      Between(rng);
      std::string name = options_.names[rng.Below(options_.names.size())];
      auto held = std::find_if(holds.begin(), holds.end(),
                               [](const auto& h) { return h.second != Hold::kNo; });
      if (held != holds.end() && rng.Below(2) == 0) {
        name = held->first;
      }
      if (holds[name] != Hold::kNo) {
        const auto h = rec.Begin(c, LockInput::Release(name, session));
        holds[name] = Finish(rec, h, client_.Release(name, session)) ? Hold::kNo : Hold::kMaybe;
      } else {
        const LockMode mode = static_cast<int>(rng.Below(100)) < options_.shared_percent
                                  ? LockMode::kShared
                                  : LockMode::kExclusive;
        const auto h = rec.Begin(c, LockInput::Acquire(name, session, mode));
        const LockAnswer a = client_.Acquire(name, session, mode, Wait(rng));
        holds[name] = !Finish(rec, h, a)                             ? Hold::kMaybe
                      : a.output->kind == LockOutput::Kind::kGranted ? Hold::kYes
                                                                     : Hold::kNo;
      }
      ++done_;
    }
  }

  void ElectionClient(int c, const std::string& session,
                      testing::HistoryRecorder<ElectionModel>& rec) {
    core::Random rng(options_.seed * 1000 + c);
    std::map<std::string, Hold> leads;
    for (int i = 0; i < options_.ops / options_.clients; ++i) {
      Between(rng);
      const std::string& name = options_.names[rng.Below(options_.names.size())];
      const bool leads_it = leads[name] != Hold::kNo;
      const auto dice = rng.Below(20);
      if (leads_it && dice < 12) {
        const auto h = rec.Begin(c, ElectionInput::Resign(name, session));
        leads[name] = Finish(rec, h, client_.Resign(name, session)) ? Hold::kNo : Hold::kMaybe;
      } else if (dice < (leads_it ? 15 : 14)) {
        const auto h = rec.Begin(c, ElectionInput::Campaign(name, session));
        const ElectionAnswer a = client_.Campaign(name, session, Wait(rng));
        leads[name] = !Finish(rec, h, a)                                 ? Hold::kMaybe
                      : a.output->kind == ElectionOutput::Kind::kElected ? Hold::kYes
                                                                         : Hold::kNo;
      } else {
        const auto h = rec.Begin(c, ElectionInput::Get(name));
        Finish(rec, h, client_.Get(name));
      }
      ++done_;
    }
  }

  // Records the answer; returns whether it is known.
  template <typename Model>
  bool Finish(testing::HistoryRecorder<Model>& rec, std::size_t handle,
              const Answer<typename Model::Output>& answer) {
    if (answer.output) {
      rec.End(handle, *answer.output);
      return true;
    }
    if (!answer.unexpected.empty()) {
      Problem("unexpected answer: " + answer.unexpected);
    }
    std::this_thread::sleep_for(20ms);  // the node is probably down: do not hammer it
    return false;
  }

  void Between(core::Random& rng) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rng.Below(options_.max_think_ms + 1)));
    while (paused_) {
      std::this_thread::sleep_for(2ms);
    }
  }
  std::chrono::milliseconds Wait(core::Random& rng) {
    return rng.Below(4) == 0 ? 0ms
                             : std::chrono::milliseconds(rng.Below(options_.max_wait.count() + 1));
  }
  void Problem(std::string what) {
    std::lock_guard lock(mu_);
    problems_.push_back(std::move(what));
  }

  CoordClient& client_;
  const WorkloadOptions options_;
  std::atomic<bool> paused_ = false;
  std::atomic<bool> finished_ = false;
  std::atomic<int> done_ = 0;
  mutable std::mutex mu_;
  std::vector<std::string> problems_;
};

// The node under test on a backend (default policy); Kill9AndRestart() keeps its data dir
// (and etcd) and, when it is free, its port; Kill9EtcdAndRestart() crashes etcd under it.
class Node {
 public:
  explicit Node(CoordBackend backend) : node_(backend) {}

  std::string Start() {
    std::string why = node_.Start("");
    port_ = node_.port();
    return why;
  }
  std::string Kill9AndRestart() {
    node_.Kill9Node();
    if (node_.StartAgain(port_).empty()) {
      return "";
    }
    node_.Kill9Node();
    return node_.StartAgain(0);
  }
  // SIGKILLs etcd, lets clients run into the outage for `outage` (their calls fail with
  // 5xx), calls `pause`, restarts etcd and waits until the node answers from it again.
  std::string Kill9EtcdAndRestart(std::chrono::milliseconds outage,
                                  const std::function<void()>& pause) {
    node_.Kill9Etcd();
    std::this_thread::sleep_for(outage);
    pause();
    if (std::string why = node_.RestartEtcd(); !why.empty()) {
      return why;
    }
    const bool back = testing::WaitFor(
        [&] {
          return testing::CallJson(base_url(), "GET", "/v1/locks/probe", "", 2s).status == 200;
        },
        10s);
    return back ? "" : "the node does not answer from the restarted etcd";
  }
  std::string base_url() const { return node_.url(); }
  bool on_etcd() const { return node_.on_etcd(); }

 private:
  testing::CoordNode node_;
  int port_ = 0;
};

// What a disruption crashes with SIGKILL and restarts.
enum class Crash { kNode, kEtcd };

// When the node or etcd was killed and when the node answered again, for each disruption.
struct Disruptions {
  std::vector<core::TimePoint> killed;
  std::vector<core::TimePoint> restarted;
  std::string problem;
};

// Kills and restarts `crash` each time the workload has done one of `at` calls. Clients
// are held back from new calls while the node restarts (calls in flight at the kill stay
// unknown); when etcd is killed they keep calling for 100 ms of the outage first. The
// thread ends once `run_over` is set: an etcd it restarted dies with it (EtcdServer uses
// PR_SET_PDEATHSIG, which follows the forking thread).
std::thread DisruptAt(std::vector<int> at, Crash crash, Node& node, HttpCoordClient& client,
                      Workload& workload, Disruptions& out, const std::atomic<bool>& run_over) {
  return std::thread([at, crash, &node, &client, &workload, &out, &run_over] {
    const core::Clock& clock = core::SystemClock::Instance();
    for (int target : at) {
      while (workload.done() < target && !workload.finished()) {
        std::this_thread::sleep_for(1ms);
      }
      std::string why;
      if (crash == Crash::kEtcd) {
        out.killed.push_back(clock.Now());
        why = node.Kill9EtcdAndRestart(100ms, [&] { workload.SetPaused(true); });
      } else {
        workload.SetPaused(true);
        out.killed.push_back(clock.Now());
        why = node.Kill9AndRestart();
      }
      if (!why.empty()) {
        out.problem = "restart failed: " + why;
        workload.SetPaused(false);
        return;
      }
      client.SetBaseUrl(node.base_url());
      out.restarted.push_back(clock.Now());
      workload.SetPaused(false);
    }
    while (!run_over) {
      std::this_thread::sleep_for(5ms);
    }
  });
}

// Returns "" when every grant's token exceeds those of all grants that returned before it
// was called (fencing tokens grow in real time, across restarts too), else the first pair
// that breaks it.
std::string CheckTokensGrowInRealTime(const std::vector<Op<LockModel>>& history) {
  std::vector<const Op<LockModel>*> by_call;
  for (const Op<LockModel>& op : history) {
    if (op.ret && op.output.kind == LockOutput::Kind::kGranted) {
      by_call.push_back(&op);
    }
  }
  std::vector<const Op<LockModel>*> by_ret = by_call;
  std::sort(by_call.begin(), by_call.end(), [](auto* a, auto* b) { return a->call < b->call; });
  std::sort(by_ret.begin(), by_ret.end(), [](auto* a, auto* b) { return *a->ret < *b->ret; });
  const Op<LockModel>* highest = nullptr;
  std::size_t returned = 0;
  for (const Op<LockModel>* op : by_call) {
    for (; returned < by_ret.size() && *by_ret[returned]->ret < op->call; ++returned) {
      if (highest == nullptr || by_ret[returned]->output.token > highest->output.token) {
        highest = by_ret[returned];
      }
    }
    if (highest != nullptr && op->output.token <= highest->output.token) {
      return "token " + std::to_string(op->output.token) + " of " + op->input.lock + " for " +
             op->input.session + " after token " + std::to_string(highest->output.token) + " of " +
             highest->input.lock + " had been granted to " + highest->input.session;
    }
  }
  return "";
}

// Checks `history` key by key, prints what it held and how long the check took, and expects
// it to be linearizable.
template <typename Model, typename KeyFn>
void ExpectLinearizable(const std::string& what, const std::vector<Op<Model>>& history,
                        KeyFn key_of) {
  ASSERT_FALSE(history.empty());
  const auto start = std::chrono::steady_clock::now();
  const testing::CheckResult result =
      testing::CheckPartitioned(Model{}, history, key_of, kCheckBudget);
  const auto took = std::chrono::steady_clock::now() - start;
  std::map<std::string, int> by_output;
  for (const Op<Model>& op : history) {
    const std::string output = op.ret ? Model{}.DescribeOutput(op.output) : "unknown";
    ++by_output[output.substr(0, output.find('('))];
  }
  std::cout << what << ": " << history.size() << " ops;";
  for (const auto& [output, n] : by_output) {
    std::cout << " " << output << " " << n;
  }
  std::cout << "; checked in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms"
            << std::endl;
  EXPECT_TRUE(result.ok()) << result;
}

// Prints how many calls answered 5xx (unknown outcomes); expects none unless etcd was
// killed during the run.
void ExpectServerErrorsOnlyInOutages(const HttpCoordClient& client, bool etcd_outage) {
  if (client.server_errors() == 0) {
    return;
  }
  std::cout << client.server_errors() << " answers 5xx; the first: " << client.first_server_error()
            << "; the last: " << client.last_server_error() << std::endl;
  EXPECT_TRUE(etcd_outage) << "5xx answers without an etcd outage";
}

std::vector<Op<LockModel>> RunLocksOnNode(CoordBackend backend, Crash crash,
                                          const std::vector<int>& kill_at,
                                          Disruptions& disruptions) {
  Node node(backend);
  const std::string why = node.Start();
  EXPECT_EQ(why, "");
  if (!why.empty()) {
    return {};
  }
  HttpCoordClient client(node.base_url());
  Workload workload(client, {.names = {"lin/a", "lin/b", "lin/c"}, .seed = 11});
  std::atomic<bool> run_over = false;
  std::thread disruptor = DisruptAt(kill_at, crash, node, client, workload, disruptions, run_over);
  std::vector<Op<LockModel>> history = workload.RunLocks();
  run_over = true;
  disruptor.join();
  EXPECT_EQ(disruptions.problem, "");
  EXPECT_EQ(workload.problems(), "");
  ExpectServerErrorsOnlyInOutages(client, crash == Crash::kEtcd && !kill_at.empty());
  return history;
}

// Expects the run's locks history to be linearizable with tokens growing in real time,
// and each life of the node (or etcd) between disruptions to have granted locks.
void ExpectLocksAcrossLives(const std::string& what, const std::vector<Op<LockModel>>& history,
                            const Disruptions& disruptions, std::size_t lives) {
  ASSERT_EQ(disruptions.restarted.size() + 1, lives);
  ExpectLinearizable(what, history, testing::LockKey);
  EXPECT_EQ(CheckTokensGrowInRealTime(history), "");
  // Each life granted locks, so tokens were compared across them.
  std::vector<core::TimePoint> starts = {history.front().call};
  starts.insert(starts.end(), disruptions.restarted.begin(), disruptions.restarted.end());
  for (std::size_t life = 0; life < starts.size(); ++life) {
    const auto grants = std::count_if(history.begin(), history.end(), [&](const auto& op) {
      return op.ret && op.output.kind == LockOutput::Kind::kGranted && op.call >= starts[life] &&
             (life + 1 == starts.size() || op.call < disruptions.killed[life]);
    });
    const auto unknown = std::count_if(history.begin(), history.end(), [&](const auto& op) {
      return !op.ret && op.call >= starts[life] &&
             (life + 1 == starts.size() || op.call < disruptions.killed[life]);
    });
    std::cout << what << ": life " << life << " granted " << grants << ", unknown " << unknown
              << std::endl;
    EXPECT_GT(grants, 50) << "life " << life;
  }
}

// Elections on `backend` with one disruption of `crash` half way.
void ExpectElectionsLinearizableAcross(CoordBackend backend, Crash crash, const std::string& what) {
  Node node(backend);
  ASSERT_EQ(node.Start(), "");
  HttpCoordClient client(node.base_url());
  Workload workload(client, {.clients = 6,
                             .ops = 900,
                             .names = {"lin/leader-a", "lin/leader-b"},
                             .max_wait = 300ms,
                             .max_think_ms = 5,
                             .seed = 23});
  Disruptions disruptions;
  std::atomic<bool> run_over = false;
  std::thread disruptor = DisruptAt({450}, crash, node, client, workload, disruptions, run_over);
  const std::vector<Op<ElectionModel>> history = workload.RunElections();
  run_over = true;
  disruptor.join();
  ASSERT_EQ(disruptions.problem, "");
  ASSERT_EQ(disruptions.restarted.size(), 1u);
  EXPECT_EQ(workload.problems(), "");
  ExpectServerErrorsOnlyInOutages(client, crash == Crash::kEtcd);
  const auto elected = std::count_if(history.begin(), history.end(), [](const auto& op) {
    return op.ret && op.output.kind == ElectionOutput::Kind::kElected;
  });
  EXPECT_GT(elected, 50);

  ExpectLinearizable(what, history, testing::ElectionKey);
}

class CoordLinearizabilityTest : public ::testing::TestWithParam<CoordBackend> {};

TEST_P(CoordLinearizabilityTest, ConcurrentLocksAreLinearizable) {
  Disruptions none;
  const std::vector<Op<LockModel>> history = RunLocksOnNode(GetParam(), Crash::kNode, {}, none);
  ASSERT_GE(history.size(), 1500u);
  ExpectLinearizable("locks", history, testing::LockKey);
  EXPECT_EQ(CheckTokensGrowInRealTime(history), "");
}

TEST_P(CoordLinearizabilityTest, LocksStayLinearizableAcrossKill9AndRestart) {
  Disruptions disruptions;
  const std::vector<Op<LockModel>> history =
      RunLocksOnNode(GetParam(), Crash::kNode, {500, 1000}, disruptions);
  ExpectLocksAcrossLives("locks with kill -9", history, disruptions, 3);
}

TEST_P(CoordLinearizabilityTest, ElectionsStayLinearizableAcrossKill9AndRestart) {
  ExpectElectionsLinearizableAcross(GetParam(), Crash::kNode, "elections with kill -9");
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordLinearizabilityTest, testing::BothBackends(),
                         testing::BackendParamName);

TEST(CoordLinearizabilityEtcdTest, LocksStayLinearizableAcrossEtcdKill9AndRestart) {
  Disruptions disruptions;
  const std::vector<Op<LockModel>> history =
      RunLocksOnNode(CoordBackend::kEtcd, Crash::kEtcd, {500, 1000}, disruptions);
  ExpectLocksAcrossLives("locks with etcd kill -9", history, disruptions, 3);
}

TEST(CoordLinearizabilityEtcdTest, ElectionsStayLinearizableAcrossEtcdKill9AndRestart) {
  ExpectElectionsLinearizableAcross(CoordBackend::kEtcd, Crash::kEtcd,
                                    "elections with etcd kill -9");
}

TEST(CoordLinearizabilityCheckerTest, DoubleGrantingLockServerIsCaught) {
  DoubleGrantingLockServer broken;
  Workload workload(broken, {.clients = 4, .ops = 400, .names = {"lin/a", "lin/b"}, .seed = 5});
  const std::vector<Op<LockModel>> history = workload.RunLocks();
  ASSERT_EQ(workload.problems(), "");
  const testing::CheckResult result =
      testing::CheckPartitioned(LockModel{}, history, testing::LockKey, kCheckBudget);
  EXPECT_EQ(result.kind, testing::CheckResult::Kind::kViolation) << result;
  EXPECT_NE(result.explanation.find("cannot place"), std::string::npos) << result;
}

}  // namespace
}  // namespace agentmesh
