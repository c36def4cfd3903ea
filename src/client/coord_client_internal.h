// The machinery behind CoordClient's handles: the client core (IO thread, callback
// thread, JSON calls), a cancellable background loop, and the shared state of sessions,
// locks and elections. Shared with the loops' coroutines, so it outlives a moved-from or
// destroyed handle while a loop unwinds. Owned by the client module.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/object.hpp>

#include "agentmesh/client/coord_client.h"
#include "agentmesh/client/http_client.h"

namespace agentmesh::client::internal {

// Returns `name` with every character outside [A-Za-z0-9._:-] percent-encoded.
std::string EncodePath(std::string_view name);
// Checks a lock, election or barrier name the way the node does (1..200 characters of
// [A-Za-z0-9._:/-]). Errors: kInvalidArgument "invalid_name".
core::Status CheckName(std::string_view name);
// Returns the body of a 2xx answer as an object, else the node's or the transport's error.
core::Result<boost::json::object> ParseAnswer(const core::Result<HttpResponse>& response);
std::string GetString(const boost::json::object& o, std::string_view key);
std::uint64_t GetUint(const boost::json::object& o, std::string_view key);
// Parses an election view ({"name","leader":{...},"term"}); session "" when no leader.
LeaderInfo ParseLeader(const boost::json::object& o);
// Returns the leader from a GET /v1/elections/{name} answer; kNotFound "unknown_election"
// when nobody leads.
core::Result<LeaderInfo> ToLeader(core::Result<boost::json::object> answer, std::string_view name);

// The loops' coroutines take `self`, a shared_ptr to their state, to keep it alive until
// they return.

// A background coroutine on its own strand that can be stopped from any thread: Stop
// cancels its sleep and closes its connection, so a long poll ends at once.
class Loop {
 public:
  Loop(boost::asio::any_io_executor executor, const BaseUrl& base);

  // Runs `body` on the strand. Requires: no body running (a stopped loop may be respawned).
  void Spawn(boost::asio::awaitable<void> body);
  // Asks the loop to end; returns at once. Thread-safe.
  void Stop();
  // Stop, then blocks until the loop's coroutine has returned.
  void StopAndWait();
  // Ends the current Sleep early (it returns true). Thread-safe.
  void Wake();
  bool stopping() const { return parts_->stopping.load(); }

  // Strand only: waits `d`; false when the loop is stopping.
  boost::asio::awaitable<bool> Sleep(core::Duration d);
  // Strand only: one request on the loop's keep-alive connection.
  boost::asio::awaitable<core::Result<boost::json::object>> Call(HttpRequest req,
                                                                 core::Duration timeout);

 private:
  // Shared with the handlers Stop and Wake post, which may run after the Loop is gone.
  struct Parts {
    Parts(boost::asio::any_io_executor executor, const BaseUrl& base);
    boost::asio::strand<boost::asio::any_io_executor> strand;
    boost::asio::steady_timer timer;
    HttpConnection connection;
    std::string prefix;
    std::atomic<bool> stopping{false};
  };
  std::shared_ptr<Parts> parts_;
  std::future<void> finished_;
  bool spawned_ = false;
};

class CoordCore {
 public:
  explicit CoordCore(CoordClientOptions options);
  // Requires: Shutdown ran.
  ~CoordCore();
  // Lets the IO thread finish the loops' remaining work and joins both threads.
  void Shutdown();

  const CoordClientOptions& options() const { return options_; }
  const BaseUrl& base() const { return base_; }
  boost::asio::any_io_executor executor() { return ioc_.get_executor(); }

  // Sends one request and blocks for the answer (deadline request_timeout + wait).
  core::Result<boost::json::object> Call(HttpRequest req,
                                         core::Duration wait = core::Duration::zero());
  // Runs `fn` on the callback thread, after the callbacks posted before it.
  void PostCallback(std::function<void()> fn);
  bool OnCallbackThread() const { return std::this_thread::get_id() == callback_thread_.get_id(); }

  // Live handles; the client checks there are none when it goes away.
  std::atomic<int> handles{0};

 private:
  void RunCallbacks();

  const CoordClientOptions options_;
  const core::Status validation_;
  BaseUrl base_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread io_thread_;

  std::mutex callback_mu_;
  std::condition_variable callback_cv_;
  std::deque<std::function<void()>> callbacks_;
  bool callbacks_closed_ = false;
  std::thread callback_thread_;
};

// User callbacks of one handle: run on the callback thread until the handle closes them;
// Close waits for a running callback unless called from one.
class Notifier {
 public:
  void Post(CoordCore& core, std::function<void()> fn);
  void Close(CoordCore& core);

 private:
  struct Shared {
    std::mutex mu;
    bool closed = false;
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

class SessionState : public std::enable_shared_from_this<SessionState> {
 public:
  SessionState(std::shared_ptr<CoordCore> core, SessionOptions options, std::string id,
               core::Duration ttl);

  void Start();
  core::Status Destroy();
  // Marks the session gone on the node: stops renewing, tells the owner and listeners.
  void MarkLost();
  // Registers `fn`, run on the IO thread when the session is lost.
  void OnLost(std::function<void()> fn);

  CoordCore& core() { return *core_; }
  const std::shared_ptr<CoordCore>& core_ptr() const { return core_; }
  const std::string& id() const { return id_; }
  core::Duration ttl() const { return ttl_; }
  bool lost() const { return lost_.load(); }
  std::uint64_t renewals() const { return renewals_.load(); }

 private:
  boost::asio::awaitable<void> RenewLoop(std::shared_ptr<SessionState> self);

  std::shared_ptr<CoordCore> core_;
  const SessionOptions options_;
  const std::string id_;
  const core::Duration ttl_;
  Loop loop_;
  Notifier notifier_;
  std::atomic<bool> lost_{false};
  std::atomic<bool> destroyed_{false};
  std::atomic<std::uint64_t> renewals_{0};
  std::mutex listeners_mu_;
  std::vector<std::function<void()>> listeners_;
};

class LockState : public std::enable_shared_from_this<LockState> {
 public:
  LockState(std::shared_ptr<SessionState> session, LockOptions options,
            std::map<std::string, std::uint64_t> tokens, core::Duration expires_in);

  void Start();
  core::Status Release();
  bool held() const;
  const std::map<std::string, std::uint64_t>& tokens() const { return tokens_; }
  CoordCore& core() { return session_->core(); }

 private:
  boost::asio::awaitable<void> RenewLoop(std::shared_ptr<LockState> self);
  void SetExpiry(core::Duration expires_in);
  void MarkLost();

  std::shared_ptr<SessionState> session_;
  const LockOptions options_;
  const std::map<std::string, std::uint64_t> tokens_;
  Loop loop_;
  Notifier notifier_;
  std::atomic<bool> released_{false};
  std::atomic<bool> lost_{false};
  std::atomic<std::int64_t> expires_at_ns_{0};  // steady clock
};

class ElectionState : public std::enable_shared_from_this<ElectionState> {
 public:
  ElectionState(std::shared_ptr<SessionState> session, std::string name, std::string value,
                ElectionCallbacks callbacks, ElectionOptions options);

  void Start();
  core::Status Resign(std::string_view successor);
  // Stops the loop and resigns when leading, without calling back.
  void Close();
  core::Result<LeaderInfo> Leader() const;

  CoordCore& core() { return session_->core(); }
  const std::string& name() const { return name_; }
  bool leading() const { return leading_.load(); }
  std::uint64_t term() const { return term_.load(); }
  core::Status status() const;

 private:
  boost::asio::awaitable<void> Run(std::shared_ptr<ElectionState> self);
  // Waits for the backoff after `failures` failures; false when stopping.
  boost::asio::awaitable<bool> BackOff(int failures);
  // Confirms leadership every check_interval; returns when it ended or on stop.
  boost::asio::awaitable<void> HoldLeadership();
  boost::asio::awaitable<core::Result<LeaderInfo>> Fetch();
  void BecomeLeader(std::uint64_t term);
  void EndLeadership();
  void Finish(core::Status status);
  void StartLoop();

  std::shared_ptr<SessionState> session_;
  const std::string name_;
  const std::string value_;
  const ElectionCallbacks callbacks_;
  const ElectionOptions options_;
  Loop loop_;  // respawned when a Resign fails while leading
  Notifier notifier_;
  core::Random random_;  // loop only
  std::atomic<bool> leading_{false};
  std::atomic<std::uint64_t> term_{0};
  mutable std::mutex status_mu_;
  core::Status status_;
};

}  // namespace agentmesh::client::internal
