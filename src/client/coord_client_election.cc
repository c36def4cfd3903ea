// Election: the campaign loop (long-poll campaign, backoff, leadership checks) on the
// client's IO thread, and its handle.
#include <algorithm>
#include <functional>
#include <utility>

#include <boost/json/serialize.hpp>

#include "agentmesh/client/coord_client.h"

#include "client/coord_client_internal.h"

namespace agentmesh::client {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

core::TimePoint Now() { return core::SystemClock::Instance().Now(); }

// Errors that another attempt cannot fix: the loop ends.
bool IsPermanent(const core::Status& s) {
  switch (s.code()) {
    case core::StatusCode::kInvalidArgument:
    case core::StatusCode::kNotFound:
    case core::StatusCode::kPermissionDenied:
    case core::StatusCode::kUnauthenticated:
    case core::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

std::uint64_t DeriveSeed(const std::string& session, const std::string& name) {
  const std::uint64_t seed = std::hash<std::string>{}(session + "\n" + name);
  return seed != 0 ? seed : 1;
}

}  // namespace

namespace internal {

ElectionState::ElectionState(std::shared_ptr<SessionState> session, std::string name,
                             std::string value, ElectionCallbacks callbacks,
                             ElectionOptions options)
    : session_(std::move(session)),
      name_(std::move(name)),
      value_(std::move(value)),
      callbacks_(std::move(callbacks)),
      options_(std::move(options)),
      loop_(session_->core().executor(), session_->core().base()),
      random_(options_.seed != 0 ? options_.seed : DeriveSeed(session_->id(), name_)) {}

void ElectionState::Start() {
  session_->OnLost([weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->loop_.Wake();
    }
  });
  StartLoop();
}

void ElectionState::StartLoop() { loop_.Spawn(Run(shared_from_this())); }

core::Status ElectionState::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

void ElectionState::Finish(core::Status status) {
  std::lock_guard lock(status_mu_);
  status_ = std::move(status);
}

void ElectionState::BecomeLeader(std::uint64_t term) {
  const std::uint64_t before = term_.exchange(term);
  if (!leading_.exchange(true) || before != term) {
    if (callbacks_.on_elected) {
      notifier_.Post(session_->core(), [fn = callbacks_.on_elected, term] { fn(term); });
    }
  }
}

void ElectionState::EndLeadership() {
  if (leading_.exchange(false)) {
    notifier_.Post(session_->core(), callbacks_.on_lost);
  }
}

asio::awaitable<core::Result<LeaderInfo>> ElectionState::Fetch() {
  auto r = co_await loop_.Call(HttpRequest("GET", "/v1/elections/" + EncodePath(name_)),
                               session_->core().options().request_timeout);
  co_return ToLeader(std::move(r), name_);
}

asio::awaitable<void> ElectionState::Run([[maybe_unused]] std::shared_ptr<ElectionState> self) {
  const std::string target = "/v1/elections/" + EncodePath(name_) + "/campaign";
  const json::object body{
      {"session", session_->id()},
      {"value", value_},
      {"wait_ms", std::chrono::ceil<std::chrono::milliseconds>(options_.campaign_wait).count()}};
  const std::string serialized = json::serialize(body);
  const core::Duration timeout =
      session_->core().options().request_timeout + options_.campaign_wait;
  int failures = 0;
  while (!loop_.stopping()) {
    if (session_->lost()) {
      EndLeadership();
      Finish(core::NotFound("unknown_session", "Session '" + session_->id() + "' was lost."));
      co_return;
    }
    auto r = co_await loop_.Call(HttpRequest("POST", target, serialized), timeout);
    if (loop_.stopping()) {
      co_return;
    }
    if (r) {
      const LeaderInfo info = ParseLeader(*r);
      if (info.session == session_->id()) {
        failures = 0;
        BecomeLeader(info.term);
        co_await HoldLeadership();
        continue;
      }
    } else if (IsPermanent(r.error())) {
      if (r.error().reason() == "unknown_session") {
        session_->MarkLost();
      }
      EndLeadership();
      Finish(r.error());
      co_return;
    }
    if (!co_await BackOff(++failures)) {
      co_return;
    }
  }
}

asio::awaitable<bool> ElectionState::BackOff(int failures) {
  const core::TimePoint deadline = Now() + options_.backoff.Next(failures, random_);
  while (true) {
    const core::Duration left = deadline - Now();
    if (left <= core::Duration::zero()) {
      co_return !loop_.stopping();
    }
    if (!co_await loop_.Sleep(std::min(left, options_.check_interval))) {
      co_return false;
    }
    if (session_->lost() || Now() >= deadline) {
      co_return true;
    }
    // A vacant election is worth a campaign now: waiting longer only delays failover.
    auto leader = co_await Fetch();
    if (loop_.stopping()) {
      co_return false;
    }
    if (!leader && leader.error().reason() == "unknown_election") {
      co_return true;
    }
  }
}

asio::awaitable<void> ElectionState::HoldLeadership() {
  core::TimePoint confirmed = Now();
  while (co_await loop_.Sleep(options_.check_interval)) {
    if (session_->lost()) {
      EndLeadership();
      co_return;
    }
    const core::TimePoint asked = Now();
    auto leader = co_await Fetch();
    if (loop_.stopping()) {
      co_return;
    }
    if (leader) {
      if (leader->session == session_->id() && leader->term == term_.load()) {
        confirmed = asked;
        continue;
      }
      EndLeadership();
      co_return;
    }
    // Unreachable for a whole TTL: the node has expired the session by now.
    if (leader.error().code() == core::StatusCode::kNotFound ||
        Now() - confirmed >= session_->ttl()) {
      EndLeadership();
      co_return;
    }
  }
}

core::Status ElectionState::Resign(std::string_view successor) {
  loop_.StopAndWait();
  if (!leading_.load()) {
    return core::OkStatus();
  }
  json::object body{{"session", session_->id()}};
  if (!successor.empty()) {
    body["successor"] = successor;
  }
  auto r = session_->core().Call(
      HttpRequest("POST", "/v1/elections/" + EncodePath(name_) + "/resign", json::serialize(body)));
  if (r || r.error().reason() == "not_leader" || r.error().reason() == "unknown_session") {
    EndLeadership();
    return core::OkStatus();
  }
  StartLoop();  // still leader: keep confirming it
  return r.error();
}

void ElectionState::Close() {
  loop_.StopAndWait();
  notifier_.Close(session_->core());
  if (leading_.exchange(false)) {
    const json::object body{{"session", session_->id()}};
    (void)session_->core().Call(HttpRequest(
        "POST", "/v1/elections/" + EncodePath(name_) + "/resign", json::serialize(body)));
  }
}

core::Result<LeaderInfo> ElectionState::Leader() const {
  return ToLeader(session_->core().Call(HttpRequest("GET", "/v1/elections/" + EncodePath(name_))),
                  name_);
}

}  // namespace internal

core::Result<Election> Election::Campaign(Session& session, std::string_view name,
                                          std::string_view value, ElectionCallbacks callbacks,
                                          ElectionOptions options) {
  if (core::Status s = internal::CheckName(name); !s.ok()) {
    return core::Err(std::move(s));
  }
  if (core::Status s = Validate(options); !s.ok()) {
    return core::Err(std::move(s));
  }
  if (session.lost()) {
    return core::Err(core::NotFound("unknown_session", "Session '" + session.id() + "' was lost."));
  }
  auto state = std::make_shared<internal::ElectionState>(session.state_, std::string(name),
                                                         std::string(value), std::move(callbacks),
                                                         std::move(options));
  state->Start();
  return Election(std::move(state));
}

Election::Election(std::shared_ptr<internal::ElectionState> state) : state_(std::move(state)) {
  state_->core().handles.fetch_add(1);
}

Election::Election(Election&& other) noexcept : state_(std::move(other.state_)) {}

Election& Election::operator=(Election&& other) noexcept {
  if (this != &other) {
    Election gone(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

Election::~Election() {
  if (state_) {
    state_->Close();
    state_->core().handles.fetch_sub(1);
  }
}

core::Status Election::Resign(std::string_view successor) { return state_->Resign(successor); }

core::Result<LeaderInfo> Election::Leader() const { return state_->Leader(); }

const std::string& Election::name() const { return state_->name(); }

bool Election::leading() const { return state_->leading(); }

std::uint64_t Election::term() const { return state_->term(); }

core::Status Election::status() const { return state_->status(); }

}  // namespace agentmesh::client
