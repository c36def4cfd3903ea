// The client core (IO and callback threads), the background Loop, the callback
// Notifier and the JSON helpers that CoordClient and its handles share.
#include <algorithm>
#include <cctype>
#include <exception>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include "agentmesh/client/api_status.h"
#include "agentmesh/core/check.h"

#include "client/coord_client_internal.h"

namespace agentmesh::client::internal {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::size_t kMaxNameLength = 200;

}  // namespace

std::string EncodePath(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '.' || c == '_' || c == ':' || c == '-') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

core::Status CheckName(std::string_view name) {
  const bool valid_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == ':' ||
           c == '/' || c == '-';
  });
  if (name.empty() || name.size() > kMaxNameLength || !valid_chars) {
    return core::InvalidArgument(
        "invalid_name",
        "Name '" + std::string(name) + "' must be 1 to 200 characters of [A-Za-z0-9._:/-].");
  }
  return core::OkStatus();
}

core::Result<json::object> ParseAnswer(const core::Result<HttpResponse>& response) {
  if (!response) {
    return core::Err(response.error());
  }
  if (core::Status status = StatusFromResponse(*response); !status.ok()) {
    return core::Err(std::move(status));
  }
  boost::system::error_code ec;
  json::value body = json::parse(response->body, ec);
  if (ec || !body.is_object()) {
    return core::Err(core::Unavailable(
        "bad_response",
        "the node answered " + std::to_string(response->status) + " without a JSON object"));
  }
  return std::move(body.as_object());
}

std::string GetString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::uint64_t GetUint(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    return 0;
  }
  if (v->is_uint64()) {
    return v->get_uint64();
  }
  return v->is_int64() && v->get_int64() > 0 ? static_cast<std::uint64_t>(v->get_int64()) : 0;
}

LeaderInfo ParseLeader(const json::object& o) {
  LeaderInfo info;
  info.name = GetString(o, "name");
  info.term = GetUint(o, "term");
  if (const json::value* leader = o.if_contains("leader");
      leader != nullptr && leader->is_object()) {
    info.session = GetString(leader->get_object(), "session");
    info.agent = GetString(leader->get_object(), "agent");
    info.value = GetString(leader->get_object(), "value");
  }
  return info;
}

core::Result<LeaderInfo> ToLeader(core::Result<json::object> answer, std::string_view name) {
  if (!answer) {
    return core::Err(answer.error());
  }
  LeaderInfo info = ParseLeader(*answer);
  if (info.session.empty()) {
    return core::Err(
        core::NotFound("unknown_election", "Election '" + std::string(name) + "' has no leader."));
  }
  return info;
}

Loop::Parts::Parts(asio::any_io_executor executor, const BaseUrl& base)
    : strand(asio::make_strand(std::move(executor))),
      timer(strand),
      connection(strand, base.host, base.port),
      prefix(base.path_prefix) {}

Loop::Loop(asio::any_io_executor executor, const BaseUrl& base)
    : parts_(std::make_shared<Parts>(std::move(executor), base)) {}

void Loop::Spawn(asio::awaitable<void> body) {
  AM_CHECK_MSG(!spawned_, "Loop::Spawn while a body is running");
  spawned_ = true;
  parts_->stopping.store(false);
  auto done = std::make_shared<std::promise<void>>();
  finished_ = done->get_future();
  asio::co_spawn(parts_->strand, std::move(body),
                 [done](std::exception_ptr) { done->set_value(); });
}

void Loop::Stop() {
  parts_->stopping.store(true);
  asio::post(parts_->strand, [parts = parts_] {
    parts->timer.cancel();
    parts->connection.Close();
  });
}

void Loop::StopAndWait() {
  Stop();
  if (spawned_) {
    finished_.wait();
    spawned_ = false;
  }
}

void Loop::Wake() {
  asio::post(parts_->strand, [parts = parts_] { parts->timer.cancel(); });
}

asio::awaitable<bool> Loop::Sleep(core::Duration d) {
  if (parts_->stopping.load()) {
    co_return false;
  }
  parts_->timer.expires_after(d);
  co_await parts_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !parts_->stopping.load();
}

asio::awaitable<core::Result<json::object>> Loop::Call(HttpRequest req, core::Duration timeout) {
  if (parts_->stopping.load()) {
    co_return core::Err(core::Status(core::StatusCode::kCancelled, "stopped", "loop stopped"));
  }
  req.target = parts_->prefix + req.target;
  auto response = co_await parts_->connection.Send(std::move(req), timeout);
  co_return ParseAnswer(response);
}

CoordCore::CoordCore(CoordClientOptions options)
    : options_(std::move(options)), validation_(Validate(options_)), work_(ioc_.get_executor()) {
  if (auto base = ParseBaseUrl(options_.node_url)) {
    base_ = std::move(*base);
  }
  io_thread_ = std::thread([this] { ioc_.run(); });
  callback_thread_ = std::thread([this] { RunCallbacks(); });
}

CoordCore::~CoordCore() { AM_CHECK(!io_thread_.joinable() && !callback_thread_.joinable()); }

void CoordCore::Shutdown() {
  work_.reset();
  io_thread_.join();
  {
    std::lock_guard lock(callback_mu_);
    callbacks_closed_ = true;
  }
  callback_cv_.notify_all();
  callback_thread_.join();
}

core::Result<json::object> CoordCore::Call(HttpRequest req, core::Duration wait) {
  if (!validation_.ok()) {
    return core::Err(validation_);
  }
  return ParseAnswer(
      FetchBlocking(options_.node_url, std::move(req), options_.request_timeout + wait));
}

void CoordCore::PostCallback(std::function<void()> fn) {
  {
    std::lock_guard lock(callback_mu_);
    callbacks_.push_back(std::move(fn));
  }
  callback_cv_.notify_one();
}

void CoordCore::RunCallbacks() {
  std::unique_lock lock(callback_mu_);
  while (true) {
    callback_cv_.wait(lock, [this] { return callbacks_closed_ || !callbacks_.empty(); });
    if (callbacks_.empty()) {
      return;
    }
    std::function<void()> fn = std::move(callbacks_.front());
    callbacks_.pop_front();
    lock.unlock();
    fn();
    lock.lock();
  }
}

void Notifier::Post(CoordCore& core, std::function<void()> fn) {
  if (!fn) {
    return;
  }
  core.PostCallback([shared = shared_, fn = std::move(fn)] {
    std::lock_guard lock(shared->mu);
    if (!shared->closed) {
      fn();
    }
  });
}

void Notifier::Close(CoordCore& core) {
  if (core.OnCallbackThread()) {
    shared_->closed = true;  // the running callback holds the mutex; we are inside it
    return;
  }
  std::lock_guard lock(shared_->mu);
  shared_->closed = true;
}

}  // namespace agentmesh::client::internal
