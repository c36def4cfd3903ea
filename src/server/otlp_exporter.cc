#include "agentmesh/server/otlp_exporter.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "agentmesh/client/http_client.h"
#include "agentmesh/core/check.h"
#include "agentmesh/core/duration.h"
#include "agentmesh/core/log.h"
#include "agentmesh/observe/otlp.h"

namespace agentmesh::server {
namespace {

namespace asio = boost::asio;

// Path of the OTLP/HTTP traces endpoint when the URL has none.
constexpr std::string_view kDefaultTracesPath = "/v1/traces";
constexpr int kFirstSuccess = 200;
constexpr int kFirstNonSuccess = 300;

core::Status Invalid(std::string field, std::string rule) {
  return core::InvalidArgument("invalid_" + field, field + " " + rule);
}

core::TimePoint Now() { return core::SystemClock::Instance().Now(); }

}  // namespace

core::Status Validate(const OtlpExporterOptions& options) {
  if (!options.endpoint.empty() && !client::ParseBaseUrl(options.endpoint)) {
    return Invalid("endpoint",
                   "must be an http:// URL such as http://127.0.0.1:4318/v1/traces, "
                   "got '" +
                       options.endpoint + "'");
  }
  if (options.max_queue == 0) {
    return Invalid("max_queue", "must be at least 1");
  }
  if (options.max_batch == 0) {
    return Invalid("max_batch", "must be at least 1");
  }
  if (options.flush_interval <= core::Duration::zero()) {
    return Invalid("flush_interval",
                   "must be positive, got " + core::FormatDuration(options.flush_interval));
  }
  if (options.timeout <= core::Duration::zero()) {
    return Invalid("timeout", "must be positive, got " + core::FormatDuration(options.timeout));
  }
  if (options.service_name.empty()) {
    return Invalid("service_name", "must not be empty");
  }
  return core::OkStatus();
}

struct OtlpExporter::State {
  explicit State(OtlpExporterOptions o) : options(std::move(o)) {}

  // The exporter thread: waits for a full batch, the flush interval, a Flush or the
  // destructor, then sends batches until the queue is empty.
  void Run() {
    auto base = client::ParseBaseUrl(options.endpoint);
    AM_CHECK(base.has_value());
    const std::string target =
        base->path_prefix.empty() ? std::string(kDefaultTracesPath) : base->path_prefix;
    client::HttpConnection connection(ioc.get_executor(), base->host, base->port);

    std::unique_lock lock(mu);
    core::TimePoint next_flush = Now() + options.flush_interval;
    for (;;) {
      wake.wait_until(lock, next_flush, [&] {
        return stopping || flush_requested || queue.size() >= options.max_batch;
      });
      if (queue.empty()) {
        flush_requested = false;
        if (stopping) {
          return;
        }
        next_flush = Now() + options.flush_interval;
        continue;
      }
      const bool due =
          stopping || flush_requested || queue.size() >= options.max_batch || Now() >= next_flush;
      if (!due) {
        continue;
      }
      const std::size_t n = std::min(queue.size(), options.max_batch);
      std::vector<observe::Span> batch(std::make_move_iterator(queue.begin()),
                                       std::make_move_iterator(queue.begin() + n));
      queue.erase(queue.begin(), queue.begin() + n);
      core::Duration timeout = options.timeout;
      if (stopping) {
        timeout = std::min(timeout, shutdown_deadline - Now());
      }
      lock.unlock();
      const bool ok = timeout > core::Duration::zero() && Send(connection, target, batch, timeout);
      lock.lock();
      (ok ? exported : dropped) += n;
      settled += n;
      settled_changed.notify_all();
      if (queue.size() < options.max_batch) {
        next_flush = Now() + options.flush_interval;
      }
    }
  }

  // POSTs one batch; returns whether the collector accepted it.
  bool Send(client::HttpConnection& connection, const std::string& target,
            const std::vector<observe::Span>& batch, core::Duration timeout) {
    client::HttpRequest req("POST", target, observe::EncodeOtlpJson(batch, options.service_name));
    req.headers.emplace_back("Content-Type", "application/json");
    std::optional<core::Result<client::HttpResponse>> result;
    try {
      asio::co_spawn(
          ioc,
          [&]() -> asio::awaitable<void> {
            result = co_await connection.Send(std::move(req), timeout);
          },
          asio::detached);
      ioc.restart();
      ioc.run();
    } catch (const std::exception& e) {
      connection.Close();
      ReportFailure(e.what());
      return false;
    }
    if (!result || !result->has_value()) {
      ReportFailure(result ? result->error().ToString() : "request did not complete");
      return false;
    }
    const int status = (*result)->status;
    if (status < kFirstSuccess || status >= kFirstNonSuccess) {
      ReportFailure("collector answered HTTP " + std::to_string(status));
      return false;
    }
    if (failing) {
      failing = false;
      core::log::Info("otlp export recovered", {{"endpoint", options.endpoint}});
    }
    return true;
  }

  // Logs the first failure of a run of failures, so a dead collector logs once.
  void ReportFailure(const std::string& why) {
    if (!failing) {
      failing = true;
      core::log::Warn("otlp export failed; dropping spans until the collector answers",
                      {{"endpoint", options.endpoint}, {"error", why}});
    }
  }

  const OtlpExporterOptions options;
  asio::io_context ioc;  // used by the exporter thread only
  bool failing = false;  // exporter thread only

  mutable std::mutex mu;
  std::condition_variable wake;             // the exporter thread waits on it
  std::condition_variable settled_changed;  // Flush waits on it
  std::deque<observe::Span> queue;
  bool stopping = false;
  bool flush_requested = false;
  core::TimePoint shutdown_deadline;
  std::uint64_t accepted = 0;  // spans ever queued
  std::uint64_t settled = 0;   // queued spans exported or dropped since
  std::atomic<std::uint64_t> exported{0};
  std::atomic<std::uint64_t> dropped{0};
  std::thread thread;
};

OtlpExporter::OtlpExporter(OtlpExporterOptions options)
    : state_(std::make_unique<State>(std::move(options))) {
  AM_CHECK(Validate(state_->options).ok());
  if (!state_->options.endpoint.empty()) {
    state_->thread = std::thread([s = state_.get()] { s->Run(); });
  }
}

OtlpExporter::~OtlpExporter() {
  if (!state_->thread.joinable()) {
    return;
  }
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    state_->shutdown_deadline = Now() + state_->options.timeout;
  }
  state_->wake.notify_one();
  state_->thread.join();
}

void OtlpExporter::Enqueue(observe::Span span) {
  State& s = *state_;
  if (!s.thread.joinable()) {
    return;
  }
  bool batch_full = false;
  {
    std::lock_guard lock(s.mu);
    if (s.queue.size() >= s.options.max_queue) {
      s.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    s.queue.push_back(std::move(span));
    ++s.accepted;
    batch_full = s.queue.size() == s.options.max_batch;
  }
  if (batch_full) {
    s.wake.notify_one();
  }
}

bool OtlpExporter::Flush(core::Duration timeout) {
  State& s = *state_;
  if (!s.thread.joinable()) {
    return true;
  }
  std::unique_lock lock(s.mu);
  const std::uint64_t target = s.accepted;
  s.flush_requested = true;
  s.wake.notify_one();
  return s.settled_changed.wait_until(lock, Now() + timeout, [&] { return s.settled >= target; });
}

std::uint64_t OtlpExporter::exported() const { return state_->exported.load(); }

std::uint64_t OtlpExporter::dropped() const { return state_->dropped.load(); }

}  // namespace agentmesh::server
