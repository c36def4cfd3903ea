// The gateway pipeline for one request: admission (rate limit, call budget, bulkhead),
// instance choice, upstream attempts with retries, the response relay and the span.
// Upstream wire handling lives in gateway_relay.cc.
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agentmesh/core/duration.h"
#include "agentmesh/core/random.h"
#include "agentmesh/observe/trace_context.h"
#include "agentmesh/routing/consistent_hash_ring.h"

#include "server/gateway_relay.h"

namespace agentmesh::server::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

core::Random& ThreadRandom() {
  thread_local core::Random random(std::random_device{}() ^
                                   (static_cast<std::uint64_t>(std::random_device{}()) << 32));
  return random;
}

// A caller parked in a bulkhead queue; Wake runs under the route's lock, possibly on
// another thread, and resumes the caller on its own executor.
struct QueueWaiter final : BulkheadWaiter, std::enable_shared_from_this<QueueWaiter> {
  explicit QueueWaiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
  void Wake(bool ok) override {
    decided = true;
    granted = ok;
    asio::post(timer.get_executor(), [self = shared_from_this()] { self->timer.cancel(); });
  }
  asio::steady_timer timer;
  bool decided = false;  // guarded by the route's lock
  bool granted = false;  // guarded by the route's lock
};

struct Rejected {
  Rejection reason;
  core::Status status;
  core::Duration retry_after{};
};

Rejected ShedRejection(resilience::Priority priority) {
  return {Rejection::kShed,
          core::Unavailable("shed", "The gateway is overloaded and shed this " +
                                        std::string(resilience::PriorityName(priority)) +
                                        " priority call.")};
}

const std::string& ClientAddress(Connection& conn) {
  if (conn.peer.empty()) {
    boost::system::error_code ec;
    const auto ep = conn.stream.socket().remote_endpoint(ec);
    conn.peer = ec ? std::string("unknown") : ep.address().to_string();
  }
  return conn.peer;
}

// The request headers the gateway acts on, found in one pass over the fields: a lookup
// by name costs a hash of the name and a tree search, and a call made ten of them.
// As with fields[name], the first occurrence of a header counts.
struct CallHeaders {
  std::string_view correlation_id;
  std::string_view traceparent;
  std::string_view tracestate;
  std::string_view priority;
  std::string_view operation_type;
  std::string_view agent_id;
  std::string_view deadline;
  std::string_view depth;
  std::string_view idempotency_key;
  std::string_view hash_key;  // the header named by gateway.hash_header
};

CallHeaders ScanHeaders(const RequestParser::value_type& req, std::string_view hash_header) {
  CallHeaders h;
  const auto keep = [](std::string_view& slot, std::string_view value) {
    if (slot.data() == nullptr) {
      slot = value;
    }
  };
  for (const auto& f : req) {
    const std::string_view name = f.name_string();
    const std::string_view value = f.value();
    if (beast::iequals(name, hash_header)) {
      keep(h.hash_key, value);
    }
    if (f.name() != http::field::unknown) {
      continue;  // none of the others is a header Beast knows by name
    }
    if (beast::iequals(name, "x-correlation-id")) {
      keep(h.correlation_id, value);
    } else if (beast::iequals(name, "traceparent")) {
      keep(h.traceparent, value);
    } else if (beast::iequals(name, "tracestate")) {
      keep(h.tracestate, value);
    } else if (beast::iequals(name, "x-priority")) {
      keep(h.priority, value);
    } else if (beast::iequals(name, "x-operation-type")) {
      keep(h.operation_type, value);
    } else if (beast::iequals(name, "x-agent-id")) {
      keep(h.agent_id, value);
    } else if (beast::iequals(name, resilience::kDeadlineHeader)) {
      keep(h.deadline, value);
    } else if (beast::iequals(name, resilience::kCallDepthHeader)) {
      keep(h.depth, value);
    } else if (beast::iequals(name, "idempotency-key")) {
      keep(h.idempotency_key, value);
    }
  }
  return h;
}

Rejection RejectionOf(PickFailure f) {
  return f == PickFailure::kCircuitOpen ? Rejection::kCircuitOpen : Rejection::kNoHealthyInstance;
}

core::Status PickStatus(PickFailure f, std::string_view agent) {
  if (f == PickFailure::kCircuitOpen) {
    return core::Unavailable("circuit_open", "Every healthy instance of '" + std::string(agent) +
                                                 "' has an open circuit breaker; retry later.");
  }
  return core::Unavailable("no_healthy_instance",
                           "No healthy instance of '" + std::string(agent) + "' is available.");
}

// Whether any instance of `route` could take a call now (route lock held).
bool HasCandidate(const AgentRoute& route, core::TimePoint now) {
  for (const auto& u : route.instances) {
    if (u.health_factor > 0 && u.breaker.WouldAllow(now)) {
      return true;
    }
  }
  return false;
}

UpstreamInstance* FindInstance(AgentRoute& route, int index, const std::string& id) {
  if (index >= 0 && static_cast<std::size_t>(index) < route.instances.size() &&
      route.instances[static_cast<std::size_t>(index)].id == id) {
    return &route.instances[static_cast<std::size_t>(index)];
  }
  for (auto& u : route.instances) {
    if (u.id == id) {
      return &u;
    }
  }
  return nullptr;
}

// Records an attempt's verdict on the instance's breaker (route lock held).
void RecordOutcomeLocked(GatewayState& g, AgentRoute& route, int index, const std::string& id,
                         AttemptOutcome outcome, core::TimePoint now) {
  UpstreamInstance* u = FindInstance(route, index, id);
  if (u == nullptr) {
    return;
  }
  --u->in_flight;
  const resilience::CircuitState before = u->breaker.state();
  switch (outcome) {
    case AttemptOutcome::kSuccess:
      u->breaker.OnSuccess(now);
      break;
    case AttemptOutcome::kFailure:
      ++u->failures;
      u->breaker.OnFailure(now);
      break;
    case AttemptOutcome::kAbandoned:
      u->breaker.OnCancel();
      break;
  }
  g.OnBreakerTransition(route.name, *u, before);
}

// Leaves the bulkhead and hands the slot to the next queued caller (route lock held).
void ExitBulkheadLocked(AgentRoute& route) {
  if (auto next = route.bulkhead.Exit()) {
    if (auto it = route.waiters.find(*next); it != route.waiters.end()) {
      it->second->Wake(true);
      route.waiters.erase(it);
    }
  }
}

void ExitBulkhead(AgentRoute& route) {
  std::lock_guard lock(route.mu);
  ExitBulkheadLocked(route);
}

// Picks an instance for attempt `attempt` (route lock held): the named instance when the
// call names one, else the balancer's choice.
Pick PickLocked(AgentRoute& route, core::TimePoint now, const std::string& instance_only,
                std::uint64_t hash, const std::vector<std::string>& tried) {
  if (instance_only.empty()) {
    return PickInstance(route, now, hash, tried);
  }
  Pick pick;
  pick.failure = PickFailure::kNoHealthy;
  for (std::size_t i = 0; i < route.instances.size(); ++i) {
    UpstreamInstance& u = route.instances[i];
    if (u.id != instance_only || u.health_factor <= 0) {
      continue;
    }
    if (!u.breaker.Allow(now)) {
      pick.failure = PickFailure::kCircuitOpen;
      break;
    }
    ++u.in_flight;
    ++u.calls;
    return {static_cast<int>(i), PickFailure::kNone};
  }
  return pick;
}

// What admission decided about a call.
struct Admission {
  std::optional<Rejected> rejected;
  std::shared_ptr<AgentRoute> route;
  std::string instance_only;            // the call named an instance id
  std::shared_ptr<QueueWaiter> waiter;  // set when the call waits in the bulkhead queue
  std::uint64_t ticket = 0;
  bool in_bulkhead = false;
};

// Fills `call` from the request header and runs the checks that need no waiting: rate
// limit, call budget, route lookup and the bulkhead's verdict. A plain function, so that
// its locals stay off the (recycled, size-limited) coroutine frame of the caller.
Admission Admit(GatewayState& g, ServerState& s, Connection& conn, const RequestParser& parser,
                CallContext& call) {
  Admission out;
  std::optional<Rejected>& rejected = out.rejected;
  std::string& instance_only = out.instance_only;
  std::shared_ptr<AgentRoute>& route = out.route;
  const GatewayOptions& o = g.options;
  call.start = g.clock.Now();
  const auto& req = parser.get();
  call.keep_alive = parser.keep_alive() && !s.stopping.load(std::memory_order_relaxed);
  call.http10 = req.version() == 10;
  call.method = req.method_string();
  ParseGatewayTarget(req.target(), call);
  const CallHeaders headers = ScanHeaders(req, o.hash_header);
  call.idempotency_key = !headers.idempotency_key.empty();
  call.hash_key = headers.hash_key;

  char generated_id[24];
  const std::string_view given_id = headers.correlation_id;
  const std::string_view id =
      UsableCorrelationId(given_id) ? given_id : NewCorrelationId(generated_id);
  call.correlation_id.assign(id.data(), id.size());

  // Trace context: continue the caller's trace or start one (rules 10.1).
  core::Random& random = ThreadRandom();
  const auto parent = observe::ParseTraceparent(headers.traceparent);
  if (parent) {
    call.trace_id = parent->trace_id;
    call.parent_span = parent->parent_id;
    call.tracestate = observe::SanitizeTracestate(headers.tracestate);
  } else {
    call.trace_id = observe::NewTraceId(random);
  }
  call.span_id = observe::NewSpanId(random);
  call.head_sampled = g.sampler.SampleHead(parent, call.trace_id);

  const auto priority = resilience::ParsePriority(headers.priority);
  call.priority = priority.value_or(resilience::Priority::kNormal);
  call.operation_type = headers.operation_type;
  call.heavy = IsHeavyRoute(o, TargetPath(req.target()));
  if (call.operation_type.empty()) {
    call.operation_type = call.heavy ? "heavy" : "sync";
  }
  call.critical = call.priority == resilience::Priority::kHigh || call.operation_type == "critical";
  const std::string_view agent_header = headers.agent_id;
  call.caller = agent_header.empty() ? ClientAddress(conn) : std::string(agent_header);

  // Admission, cheapest checks first; nothing reaches an upstream before all pass.
  const auto length = parser.content_length();
  call.streamed = parser.chunked() || (length && *length > o.buffer_limit);
  std::vector<std::shared_ptr<AgentRoute>> candidates;  // agents offering a capability
  if (call.name.empty()) {
    rejected = Rejected{Rejection::kUnknownAgent,
                        core::NotFound(call.by_capability ? "unknown_capability" : "unknown_agent",
                                       "The gateway path names no agent or capability.")};
  } else if (length && *length > o.max_body_bytes) {
    rejected = Rejected{Rejection::kBadRequest,
                        core::ResourceExhausted("body_too_large",
                                                "The request body is larger than the gateway "
                                                "forwards (" +
                                                    std::to_string(o.max_body_bytes) + " bytes).")};
  } else if (!priority) {
    rejected = Rejected{
        Rejection::kBadRequest,
        core::InvalidArgument("invalid_priority", "X-Priority must be high, normal or low.")};
  } else if (auto decision = g.limiter.Decide(call.caller, call.start); !decision.allowed) {
    rejected = Rejected{
        Rejection::kRateLimited,
        core::ResourceExhausted(
            "rate_limited", "Caller '" + call.caller + "' exceeded its rate limit; retry later."),
        decision.retry_after};
  } else if (auto budget = resilience::ComputeCallBudget(
                 o.deadline, call.heavy ? o.heavy_timeout : o.request_timeout, headers.deadline,
                 headers.depth);
             !budget) {
    const std::string& reason = budget.error().reason();
    rejected = Rejected{reason == "call_depth_exceeded" ? Rejection::kCallDepthExceeded
                        : reason == "deadline_exceeded" ? Rejection::kDeadlineExceeded
                                                        : Rejection::kBadRequest,
                        budget.error()};
  } else {
    call.budget = *budget;
    call.deadline = call.start + call.budget.timeout;
    if (call.by_capability) {
      candidates = g.table.FindCapability(call.name, call.start);
      if (!candidates.empty()) {
        route = candidates.front();
      }
    } else {
      route = g.table.FindAgent(call.name, &instance_only, call.start);
    }
    if (route == nullptr) {
      rejected = Rejected{
          Rejection::kUnknownAgent,
          call.by_capability
              ? core::NotFound("unknown_capability",
                               "No registered agent offers capability '" + call.name + "'.")
              : core::NotFound("unknown_agent",
                               "No agent or instance named '" + call.name + "' is registered.")};
    }
  }

  // Bulkhead of the chosen agent type (rules 9.1): run, queue by priority, or refuse.
  if (!rejected) {
    if (candidates.size() > 1) {
      for (const auto& c : candidates) {
        std::lock_guard lock(c->mu);
        if (HasCandidate(*c, call.start)) {
          route = c;
          break;
        }
      }
    }
    call.agent = route->name;
    {
      std::lock_guard lock(route->mu);
      out.ticket = route->next_ticket++;
      const auto admission = route->bulkhead.TryEnter(out.ticket, call.priority);
      if (admission.evicted) {
        if (auto it = route->waiters.find(*admission.evicted); it != route->waiters.end()) {
          it->second->Wake(false);
          route->waiters.erase(it);
        }
      }
      switch (admission.verdict) {
        case resilience::Bulkhead::Verdict::kRun:
          out.in_bulkhead = true;
          break;
        case resilience::Bulkhead::Verdict::kQueued:
          out.waiter = std::make_shared<QueueWaiter>(conn.stream.get_executor());
          route->waiters.emplace(out.ticket, out.waiter.get());
          break;
        case resilience::Bulkhead::Verdict::kFull:
          rejected = Rejected{
              Rejection::kBulkheadFull,
              core::Unavailable("bulkhead_full", "Agent '" + route->name +
                                                     "' has no free call slot or queue place.")};
          break;
        case resilience::Bulkhead::Verdict::kShed:
          rejected = ShedRejection(call.priority);
          break;
      }
    }
  }
  return out;
}

// Waits `delay` on the connection's thread. A helper so that the timer is no part of
// RunAttempts' frame, which every call allocates (see Exchange on frame sizes).
asio::awaitable<void> Pause(Connection& conn, core::Duration delay) {
  asio::steady_timer pause(conn.stream.get_executor(), delay);
  co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Runs the attempts of an admitted call whose body is ready (or streams), leaving the
// last answer in `result` (as default-constructed on entry). Sets `first_failure` when
// not even a first attempt found an instance.
asio::awaitable<void> RunAttempts(GatewayState& g, Connection& conn, beast::flat_buffer& buffer,
                                  RequestParser& parser, CallContext& call, AgentRoute& route,
                                  const std::string& instance_only, PickFailure* first_failure,
                                  UpstreamResult& result) {
  const GatewayOptions& o = g.options;
  const bool may_retry =
      !call.streamed && (resilience::IsIdempotentMethod(call.method) || call.idempotency_key);
  std::uint64_t hash = 0;
  if (route.kind == BalancerKind::kConsistentHash) {
    const std::string_view key = call.hash_key;
    hash = routing::HashKey(
        key.empty() ? std::string_view(call.correlation_id.data(), call.correlation_id.size())
                    : key);
  }
  core::Random& random = ThreadRandom();
  route.budget.OnRequestStart();
  std::vector<std::string> tried;
  bool retry_held = false;  // a retry slot of the agent's budget is taken
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) {
      const core::Duration delay = resilience::BackoffDelay(o.retry, attempt - 1, random);
      if (g.clock.Now() + delay >= call.deadline) {
        break;
      }
      co_await Pause(conn, delay);
    }
    Pick pick;
    std::shared_ptr<const UpstreamTarget> target;
    {
      std::lock_guard lock(route.mu);
      pick =
          PickLocked(route, attempt == 1 ? call.start : g.clock.Now(), instance_only, hash, tried);
      if (pick.index >= 0) {
        target = route.instances[static_cast<std::size_t>(pick.index)].target;
      }
    }
    if (pick.index < 0) {
      if (attempt == 1) {
        *first_failure = pick.failure;
      }
      break;  // with an earlier attempt, answer with its result
    }
    call.instance = target->id;
    call.phase = target->phase;
    call.attempts = attempt;
    const core::TimePoint sent = g.clock.Now();
    if (attempt > 1) {
      result = UpstreamResult();  // the earlier answer was kept only for want of a retry
    }
    result.target = std::move(target);  // moved: no reference count traffic
    co_await Exchange(g, conn, buffer, parser, call, sent, result);
    const core::TimePoint answered = g.clock.Now();
    g.metrics.upstream_duration.Observe(core::ToSeconds(answered - sent));
    if (retry_held) {
      route.budget.OnRetryEnd();
      retry_held = false;
    }
    const bool retryable =
        result.retryable && may_retry && attempt < o.retry.max_attempts && answered < call.deadline;
    if (!retryable || !route.budget.TryStartRetry()) {
      // The last attempt: its verdict is recorded when the call ends (RecordLastAttempt).
      result.outcome_pending = true;
      result.pick_index = pick.index;
      result.answered = answered;
      break;
    }
    {
      std::lock_guard lock(route.mu);
      RecordOutcomeLocked(g, route, pick.index, result.target->id, result.outcome, answered);
    }
    retry_held = true;
    g.metrics.retries.WithLabels({route.name}).Inc();
    tried.push_back(result.target->id);
    // Keep the failed answer (body buffered, connection released) in case no retry
    // can go out after all; it is then what the caller gets.
    co_await BufferForRetry(g, result);
  }
  if (retry_held) {
    route.budget.OnRetryEnd();
  }
  route.budget.OnRequestEnd();
}

}  // namespace

asio::awaitable<bool> ServeGatewayRequest(GatewayState& g, ServerState& s, Connection& conn,
                                          beast::flat_buffer& buffer, RequestParser& parser) {
  // The call's state lives with the connection: it keeps this frame small enough for
  // Asio's frame recycler (which takes frames up to about 1 KiB) and costs no allocation.
  CallContext& call = NewCall(conn);
  Admission admitted = Admit(g, s, conn, parser, call);
  std::optional<Rejected>& rejected = admitted.rejected;
  std::shared_ptr<AgentRoute>& route = admitted.route;
  if (admitted.waiter != nullptr) {
    QueueWaiter& waiter = *admitted.waiter;
    waiter.timer.expires_at(call.deadline);
    co_await waiter.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    std::lock_guard lock(route->mu);
    if (!waiter.decided) {
      route->bulkhead.Cancel(admitted.ticket);
      route->waiters.erase(admitted.ticket);
      rejected = Rejected{Rejection::kDeadlineExceeded,
                          core::DeadlineExceeded("deadline_exceeded",
                                                 "The call's deadline passed while it waited "
                                                 "for a free slot of '" +
                                                     route->name + "'.")};
    } else if (waiter.granted) {
      admitted.in_bulkhead = true;
    } else {
      rejected = ShedRejection(call.priority);
    }
  }
  if (rejected) {
    if (admitted.in_bulkhead) {
      ExitBulkhead(*route);
    }
    g.Reject(rejected->reason);
    co_return co_await AnswerRejection(g, s, conn, buffer, parser, call, rejected->status,
                                       rejected->retry_after, route.get());
  }

  // The body: buffered when small (and so retryable), else streamed on the first attempt.
  if (!call.streamed && parser.is_done()) {
    conn.phase = Connection::Phase::kHandling;  // no body, or all of it already parsed
  } else if (!call.streamed) {
    parser.body_limit(g.options.buffer_limit);
    const boost::system::error_code ec = co_await ReadBody(conn, buffer, parser);
    if (ec) {
      ExitBulkhead(*route);
      if (!IsDisconnect(ec)) {
        g.Reject(Rejection::kBadRequest);
        call.keep_alive = false;
        co_await AnswerError(g, s, conn, call, ParseFailure(ec).status, {}, route.get());
      }
      co_return false;
    }
  }
  PickFailure first_failure = PickFailure::kNone;
  UpstreamResult result;
  co_await RunAttempts(g, conn, buffer, parser, call, *route, admitted.instance_only,
                       &first_failure, result);
  if (first_failure != PickFailure::kNone) {
    ExitBulkhead(*route);
    g.Reject(RejectionOf(first_failure));
    co_return co_await AnswerRejection(g, s, conn, buffer, parser, call,
                                       PickStatus(first_failure, route->name), {}, route.get());
  }
  const bool keep = co_await FinishExchange(g, s, conn, call, result, route.get());
  // One lock section ends the call: the last attempt's breaker verdict (a failure when
  // the upstream broke off mid-body, even though its header looked fine) and the exit
  // from the bulkhead.
  std::lock_guard lock(route->mu);
  if (result.outcome_pending && result.target != nullptr) {
    RecordOutcomeLocked(g, *route, result.pick_index, result.target->id,
                        result.failed_mid_body ? AttemptOutcome::kFailure : result.outcome,
                        result.answered);
  }
  ExitBulkheadLocked(*route);
  co_return keep;
}

}  // namespace agentmesh::server::internal
