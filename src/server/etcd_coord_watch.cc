// EtcdCoordService: waiting calls, the node's watch stream over the prefix, election
// watchers and the ticker (see etcd_coord_service.h).
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include "agentmesh/core/log.h"
#include "agentmesh/server/etcd_coord_service.h"

#include "server/etcd_coord_internal.h"

namespace agentmesh::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A wait re-reads at least this often, so that a broken watch stream only slows it.
constexpr auto kRecheck = std::chrono::seconds(1);
// Pause before the watch stream is opened again after it broke.
constexpr auto kReconnectDelay = std::chrono::milliseconds(200);
constexpr auto kTickInterval = std::chrono::seconds(1);

// Marks `loops` one fewer when the coroutine that owns it ends, however it ends.
class LoopExit {
 public:
  explicit LoopExit(std::shared_ptr<void> shared, std::mutex& mu, int& loops,
                    std::condition_variable& done)
      : shared_(std::move(shared)), mu_(mu), loops_(loops), done_(done) {}
  ~LoopExit() {
    std::lock_guard lock(mu_);
    --loops_;
    done_.notify_all();
  }

 private:
  std::shared_ptr<void> shared_;
  std::mutex& mu_;
  int& loops_;
  std::condition_variable& done_;
};

}  // namespace

std::shared_ptr<EtcdCoordService::Waiter> EtcdCoordService::AddWaiter(const std::string& dir,
                                                                      asio::any_io_executor ex) {
  auto waiter = std::make_shared<Waiter>(dir, std::move(ex));
  std::lock_guard lock(shared_->mu);
  waiter->woken = shared_->stopped;
  shared_->waiters.emplace(dir, waiter);
  return waiter;
}

void EtcdCoordService::RemoveWaiter(const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(shared_->mu);
  auto [begin, end] = shared_->waiters.equal_range(waiter->dir);
  for (auto it = begin; it != end; ++it) {
    if (it->second == waiter) {
      shared_->waiters.erase(it);
      return;
    }
  }
}

asio::awaitable<bool> EtcdCoordService::WaitFor(Waiter& waiter, core::TimePoint deadline) {
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->stopped) {
      co_return false;
    }
    if (waiter.woken) {
      waiter.woken = false;
      co_return clock_.Now() < deadline;
    }
    // Wakers post the cancel to this executor, so it cannot run before the wait starts.
    waiter.timer.expires_at(std::min(deadline, clock_.Now() + kRecheck));
  }
  co_await waiter.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  {
    std::lock_guard lock(shared_->mu);
    waiter.woken = false;
  }
  co_return clock_.Now() < deadline;
}

std::unique_ptr<CoordBackend::Subscription> EtcdCoordService::WatchElection(
    std::string name, std::function<void(const json::object&)> on_change) {
  auto watch = std::make_unique<Watch>(shared_, name, std::move(on_change));
  {
    std::lock_guard lock(shared_->mu);
    shared_->watches.emplace(name, watch.get());
  }
  // The state now, for this watch (the others have heard it already); changes that
  // land meanwhile are read by the watch stream's notifications after this one.
  asio::co_spawn(ex_, NotifyElection(name), asio::detached);
  return watch;
}

void EtcdCoordService::Dispatch(const std::vector<etcd::WatchEvent>& events,
                                std::set<std::string>& elections) {
  const std::string sessions = Key("sessions", "");
  const std::string locks = Key("locks", "");
  const std::string elections_dir = Key("elections", "");
  const std::string barriers = Key("barriers", "");
  // Leases whose session key was deleted in this batch, by the deletion's revision: the
  // keys etcd deleted with them went at the same revision.
  std::map<std::int64_t, std::set<std::string>> ended;
  std::vector<json::object> reports;
  {
    std::lock_guard lock(shared_->mu);
    for (const etcd::WatchEvent& e : events) {
      const std::string& key = e.kv.key;
      for (auto& [dir, waiter] : shared_->waiters) {
        if (key.starts_with(dir) && !waiter->woken) {
          waiter->woken = true;
          asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
        }
      }
      if (key.starts_with(elections_dir)) {
        const std::string_view rest = std::string_view(key).substr(elections_dir.size());
        const auto slash = rest.rfind('/');
        if (slash != std::string_view::npos) {
          const std::string name(rest.substr(0, slash));
          if (shared_->watches.contains(name)) {
            elections.insert(name);
          }
        }
      }
      if (e.type != etcd::WatchEvent::Type::kDelete) {
        continue;
      }
      shared_->grants.erase(key);
      if (key.starts_with(sessions)) {
        const std::string id = key.substr(sessions.size());
        const auto lease = etcd_coord::ParseLeaseHex(id);
        if (lease) {
          shared_->sessions.erase(*lease);
        }
        if (lease && shared_->revoked.erase(*lease) == 0) {
          ended[e.kv.mod_revision].insert(id);
          reports.push_back({{"type", "session.expired"}, {"session", id}});
        }
      } else if (key.starts_with(barriers)) {
        reports.push_back({{"type", "barrier.expired"}, {"name", key.substr(barriers.size())}});
      }
    }
  }
  // What the expiry of a session took with it.
  for (const etcd::WatchEvent& e : events) {
    if (e.type != etcd::WatchEvent::Type::kDelete) {
      continue;
    }
    auto it = ended.find(e.kv.mod_revision);
    const std::string& key = e.kv.key;
    const auto slash = key.rfind('/');
    if (it == ended.end() || slash == std::string::npos ||
        !it->second.contains(key.substr(slash + 1))) {
      continue;
    }
    const std::string session = key.substr(slash + 1);
    if (key.starts_with(locks)) {
      reports.push_back({{"type", "lock.released"},
                         {"name", key.substr(locks.size(), slash - locks.size())},
                         {"session", session},
                         {"reason", "session_ended"}});
    } else if (key.starts_with(elections_dir)) {
      reports.push_back({{"type", "election.lost"},
                         {"name", key.substr(elections_dir.size(), slash - elections_dir.size())},
                         {"session", session}});
    }
  }
  for (json::object& r : reports) {
    std::string type(r["type"].as_string());
    r.erase("type");
    Emit(std::move(type), std::move(r));
  }
}

asio::awaitable<void> EtcdCoordService::NotifyElection(std::string name) {
  auto view = co_await ElectionView(name);
  json::object state;
  if (view) {
    state = std::move(*view);
  } else if (view.error().code() == core::StatusCode::kNotFound) {
    state = json::object{{"name", name}, {"leader", nullptr}};
  } else {
    co_return;  // etcd unreachable: the next change tells
  }
  // Watchers hear of leadership changes (leader, term, value), not of candidates
  // joining or leaving, as on the embedded backend.
  const json::value* leader = state.if_contains("leader");
  const json::value* term = state.if_contains("term");
  const std::string text = json::serialize(json::array{leader != nullptr ? *leader : json::value(),
                                                       term != nullptr ? *term : json::value()});
  std::lock_guard lock(shared_->mu);
  auto [begin, end] = shared_->watches.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    it->second->Notify(state, text);
  }
}

asio::awaitable<void> EtcdCoordService::WatchLoop() {
  auto shared = shared_;
  LoopExit exit(shared, shared->mu, shared->loops, shared->loops_done);
  const std::string dir = options_.prefix + "/";
  const std::string end = etcd::PrefixEnd(dir);
  std::int64_t next = 0;  // 0: from now on
  asio::steady_timer pause(ex_);
  for (;;) {
    auto stream = std::make_shared<etcd::EtcdWatch>(ex_, client_);
    {
      std::lock_guard lock(shared->mu);
      if (shared->stopped) {
        co_return;
      }
      shared->stream = stream;
    }
    core::Status started = co_await stream->Start(dir, end, next);
    if (started.ok()) {
      // Whatever happened while no stream was open is in it from `next` on; waiters
      // re-read anyway, in case `next` was 0.
      std::vector<etcd::WatchEvent> none;
      std::set<std::string> ignored;
      Dispatch(none, ignored);
      for (;;) {
        auto batch = co_await stream->Next();
        if (!batch) {
          if (batch.error().reason() == "compacted") {
            next = 0;
          }
          if (batch.error().code() != core::StatusCode::kCancelled) {
            core::log::Warn("etcd watch stream ended; reopening",
                            {{"error", batch.error().ToString()}});
          }
          break;
        }
        std::set<std::string> elections;
        for (const etcd::WatchEvent& e : batch->events) {
          next = std::max(next, e.kv.mod_revision + 1);
        }
        Dispatch(batch->events, elections);
        for (const std::string& name : elections) {
          co_await NotifyElection(name);
        }
      }
    } else if (started.code() != core::StatusCode::kCancelled) {
      core::log::Warn("cannot open the etcd watch stream", {{"error", started.ToString()}});
      if (started.reason() == "compacted") {
        next = 0;
      }
    }
    {
      std::lock_guard lock(shared->mu);
      shared->stream.reset();
      if (shared->stopped) {
        co_return;
      }
      // Every waiter re-reads: the stream may have missed changes.
      for (auto& [d, waiter] : shared->waiters) {
        waiter->woken = true;
        asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
      }
    }
    pause.expires_after(kReconnectDelay);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> EtcdCoordService::TickLoop() {
  auto shared = shared_;
  LoopExit exit(shared, shared->mu, shared->loops, shared->loops_done);
  auto timer = std::make_shared<asio::steady_timer>(ex_);
  for (;;) {
    {
      std::lock_guard lock(shared->mu);
      if (shared->stopped) {
        co_return;
      }
      shared->tick_timer = timer;
    }
    timer->expires_after(kTickInterval);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    {
      std::lock_guard lock(shared->mu);
      if (shared->stopped) {
        co_return;
      }
    }
    co_await ExpireLockHolds();
    co_await ExpireProposals();
  }
}

}  // namespace agentmesh::server
