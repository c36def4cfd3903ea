// Session, LockGuard and LockSet: RAII handles whose state renews itself on the client's
// IO thread (see coord_client_internal.h).
#include <algorithm>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "agentmesh/client/coord_client.h"
#include "agentmesh/core/check.h"

#include "client/coord_client_internal.h"

namespace agentmesh::client {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

long long Millis(core::Duration d) {
  return std::chrono::ceil<std::chrono::milliseconds>(d).count();
}

std::string_view ModeName(LockMode mode) {
  return mode == LockMode::kShared ? "shared" : "exclusive";
}

core::Status ValidateLockOptions(const LockOptions& options) {
  if (options.renew_interval <= core::Duration::zero() || options.max_renewals < 0) {
    return core::InvalidArgument("invalid_option",
                                 "lock renew_interval must be positive, max_renewals >= 0");
  }
  return core::OkStatus();
}

std::int64_t NowNs() { return core::SystemClock::Instance().Now().time_since_epoch().count(); }

// Sends an acquire request (one lock or a set) and builds the guarded state.
core::Result<std::shared_ptr<internal::LockState>> AcquireState(
    const std::shared_ptr<internal::SessionState>& session, HttpRequest req, core::Duration wait,
    LockOptions options) {
  if (core::Status s = ValidateLockOptions(options); !s.ok()) {
    return core::Err(std::move(s));
  }
  auto r = session->core().Call(std::move(req), wait);
  if (!r) {
    return core::Err(r.error());
  }
  std::map<std::string, std::uint64_t> tokens;
  if (const json::value* set = r->if_contains("tokens"); set != nullptr && set->is_object()) {
    for (const auto& [name, token] : set->get_object()) {
      json::object one{{"token", token}};
      tokens[std::string(name)] = internal::GetUint(one, "token");
    }
  } else {
    tokens[internal::GetString(*r, "name")] = internal::GetUint(*r, "token");
  }
  const core::Duration expires_in =
      std::chrono::milliseconds(internal::GetUint(*r, "expires_in_ms"));
  auto state = std::make_shared<internal::LockState>(session, std::move(options), std::move(tokens),
                                                     expires_in);
  state->Start();
  return state;
}

}  // namespace

namespace internal {

SessionState::SessionState(std::shared_ptr<CoordCore> core, SessionOptions options, std::string id,
                           core::Duration ttl)
    : core_(std::move(core)),
      options_(std::move(options)),
      id_(std::move(id)),
      ttl_(ttl),
      loop_(core_->executor(), core_->base()) {}

void SessionState::Start() { loop_.Spawn(RenewLoop(shared_from_this())); }

asio::awaitable<void> SessionState::RenewLoop([[maybe_unused]] std::shared_ptr<SessionState> self) {
  const std::string target = "/v1/sessions/" + EncodePath(id_) + "/renew";
  core::Duration next = options_.renew_interval;
  while (co_await loop_.Sleep(next)) {
    auto r = co_await loop_.Call(HttpRequest("PUT", target), core_->options().request_timeout);
    if (loop_.stopping()) {
      break;
    }
    if (r) {
      renewals_.fetch_add(1);
      next = options_.renew_interval;
    } else if (r.error().code() == core::StatusCode::kNotFound) {
      MarkLost();
      break;
    } else {
      next = options_.renew_retry;
    }
  }
}

void SessionState::MarkLost() {
  if (lost_.exchange(true)) {
    return;
  }
  loop_.Stop();
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard lock(listeners_mu_);
    listeners.swap(listeners_);
  }
  for (auto& fn : listeners) {
    fn();
  }
  notifier_.Post(*core_, options_.on_lost);
}

void SessionState::OnLost(std::function<void()> fn) {
  {
    std::lock_guard lock(listeners_mu_);
    if (!lost_.load()) {
      listeners_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

core::Status SessionState::Destroy() {
  loop_.StopAndWait();
  notifier_.Close(*core_);
  if (destroyed_.exchange(true) || lost_.load()) {
    return core::OkStatus();
  }
  auto r = core_->Call(HttpRequest("DELETE", "/v1/sessions/" + EncodePath(id_)));
  return r ? core::OkStatus() : r.error();
}

LockState::LockState(std::shared_ptr<SessionState> session, LockOptions options,
                     std::map<std::string, std::uint64_t> tokens, core::Duration expires_in)
    : session_(std::move(session)),
      options_(std::move(options)),
      tokens_(std::move(tokens)),
      loop_(session_->core().executor(), session_->core().base()) {
  SetExpiry(expires_in);
}

void LockState::Start() {
  if (options_.max_renewals > 0) {
    loop_.Spawn(RenewLoop(shared_from_this()));
  }
}

void LockState::SetExpiry(core::Duration expires_in) {
  expires_at_ns_.store(NowNs() + expires_in.count());
}

bool LockState::held() const {
  return !released_.load() && !lost_.load() && NowNs() < expires_at_ns_.load();
}

void LockState::MarkLost() {
  if (!lost_.exchange(true)) {
    notifier_.Post(session_->core(), options_.on_lost);
  }
}

asio::awaitable<void> LockState::RenewLoop([[maybe_unused]] std::shared_ptr<LockState> self) {
  const json::object body{{"session", session_->id()}};
  const std::string serialized = json::serialize(body);
  const core::Duration timeout = session_->core().options().request_timeout;
  for (int renewal = 0; renewal < options_.max_renewals; ++renewal) {
    if (!co_await loop_.Sleep(options_.renew_interval)) {
      co_return;
    }
    core::Duration expires_in = core::Duration::max();
    bool all_renewed = true;
    for (const auto& [name, token] : tokens_) {
      auto r = co_await loop_.Call(
          HttpRequest("POST", "/v1/locks/" + EncodePath(name) + "/renew", serialized), timeout);
      if (loop_.stopping()) {
        co_return;
      }
      if (r) {
        expires_in = std::min<core::Duration>(
            expires_in, std::chrono::milliseconds(GetUint(*r, "expires_in_ms")));
        continue;
      }
      const core::StatusCode code = r.error().code();
      if (code == core::StatusCode::kFailedPrecondition || code == core::StatusCode::kNotFound) {
        MarkLost();
        co_return;
      }
      all_renewed = false;  // no answer: the expiry we knew still stands
    }
    if (all_renewed) {
      SetExpiry(expires_in);
    }
  }
}

core::Status LockState::Release() {
  loop_.StopAndWait();
  notifier_.Close(session_->core());
  if (released_.exchange(true)) {
    return core::OkStatus();
  }
  const std::string body = json::serialize(json::object{{"session", session_->id()}});
  core::Status first;
  // Release in the reverse of the canonical (sorted) acquisition order.
  for (auto it = tokens_.rbegin(); it != tokens_.rend(); ++it) {
    auto r = session_->core().Call(
        HttpRequest("POST", "/v1/locks/" + EncodePath(it->first) + "/release", body));
    if (!r && first.ok()) {
      first = r.error();
    }
  }
  return first;
}

}  // namespace internal

Session::Session(std::shared_ptr<internal::SessionState> state) : state_(std::move(state)) {
  state_->core().handles.fetch_add(1);
}

Session::Session(Session&& other) noexcept : state_(std::move(other.state_)) {}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    Session gone(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

Session::~Session() {
  if (state_) {
    (void)state_->Destroy();
    state_->core().handles.fetch_sub(1);
  }
}

core::Status Session::Destroy() { return state_->Destroy(); }

const std::string& Session::id() const { return state_->id(); }

core::Duration Session::ttl() const { return state_->ttl(); }

bool Session::lost() const { return state_->lost(); }

std::uint64_t Session::renewals() const { return state_->renewals(); }

core::Result<LockGuard> LockGuard::Acquire(Session& session, std::string_view name, LockMode mode,
                                           core::Duration wait, LockOptions options) {
  if (core::Status s = internal::CheckName(name); !s.ok()) {
    return core::Err(std::move(s));
  }
  const json::object body{
      {"session", session.id()}, {"mode", ModeName(mode)}, {"wait_ms", Millis(wait)}};
  HttpRequest req("POST", "/v1/locks/" + internal::EncodePath(name) + "/acquire",
                  json::serialize(body));
  auto state = AcquireState(session.state_, std::move(req), wait, std::move(options));
  if (!state) {
    return core::Err(state.error());
  }
  return LockGuard(std::move(*state));
}

LockGuard::LockGuard(std::shared_ptr<internal::LockState> state) : state_(std::move(state)) {
  AM_CHECK(state_->tokens().size() == 1);
  state_->core().handles.fetch_add(1);
}

LockGuard::LockGuard(LockGuard&& other) noexcept : state_(std::move(other.state_)) {}

LockGuard& LockGuard::operator=(LockGuard&& other) noexcept {
  if (this != &other) {
    LockGuard gone(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

LockGuard::~LockGuard() {
  if (state_) {
    (void)state_->Release();
    state_->core().handles.fetch_sub(1);
  }
}

core::Status LockGuard::Release() { return state_->Release(); }

const std::string& LockGuard::name() const { return state_->tokens().begin()->first; }

std::uint64_t LockGuard::token() const { return state_->tokens().begin()->second; }

bool LockGuard::held() const { return state_->held(); }

core::Result<LockSet> LockSet::Acquire(Session& session, const std::vector<std::string>& names,
                                       LockMode mode, core::Duration wait, LockOptions options) {
  if (names.empty()) {
    return core::Err(core::InvalidArgument("invalid_field", "a lock set needs at least one name"));
  }
  for (const std::string& name : names) {
    if (core::Status s = internal::CheckName(name); !s.ok()) {
      return core::Err(std::move(s));
    }
  }
  const json::object body{{"session", session.id()},
                          {"names", json::array(names.begin(), names.end())},
                          {"mode", ModeName(mode)},
                          {"wait_ms", Millis(wait)}};
  HttpRequest req("POST", "/v1/lock-sets/acquire", json::serialize(body));
  auto state = AcquireState(session.state_, std::move(req), wait, std::move(options));
  if (!state) {
    return core::Err(state.error());
  }
  return LockSet(std::move(*state));
}

LockSet::LockSet(std::shared_ptr<internal::LockState> state) : state_(std::move(state)) {
  state_->core().handles.fetch_add(1);
}

LockSet::LockSet(LockSet&& other) noexcept : state_(std::move(other.state_)) {}

LockSet& LockSet::operator=(LockSet&& other) noexcept {
  if (this != &other) {
    LockSet gone(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

LockSet::~LockSet() {
  if (state_) {
    (void)state_->Release();
    state_->core().handles.fetch_sub(1);
  }
}

core::Status LockSet::Release() { return state_->Release(); }

const std::map<std::string, std::uint64_t>& LockSet::tokens() const { return state_->tokens(); }

bool LockSet::held() const { return state_->held(); }

}  // namespace agentmesh::client
