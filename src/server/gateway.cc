// Gateway: options, shared state, metrics, breaker reporting and /v1/circuits.
#include "agentmesh/server/gateway.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "agentmesh/core/duration.h"
#include "agentmesh/core/log.h"
#include "agentmesh/server/errors.h"
#include "agentmesh/server/otlp_exporter.h"

#include "server/gateway_internal.h"

namespace agentmesh::server {
namespace {

using internal::Rejection;

constexpr std::string_view kRejectionNames[] = {
    "rate_limited",
    "call_depth_exceeded",
    "deadline_exceeded",
    "bulkhead_full",
    "shed",
    "circuit_open",
    "no_healthy_instance",
    "unknown_agent",
    "upstream_failed",
    "upstream_timeout",
    "bad_request",
};
static_assert(std::size(kRejectionNames) == static_cast<std::size_t>(Rejection::kCount));

core::Status Invalid(std::string_view field, std::string_view why) {
  return core::InvalidArgument("invalid_gateway_options",
                               "gateway option " + std::string(field) + " " + std::string(why));
}

}  // namespace

std::string_view BalancerKindName(BalancerKind kind) {
  switch (kind) {
    case BalancerKind::kWeightedRoundRobin:
      return "weighted_round_robin";
    case BalancerKind::kLeastConnections:
      return "least_connections";
    case BalancerKind::kConsistentHash:
      return "consistent_hashing";
  }
  return "weighted_round_robin";
}

core::Status Validate(const GatewayOptions& o) {
  for (const core::Status& s : {resilience::Validate(o.breaker), resilience::Validate(o.retry),
                                resilience::Validate(o.deadline), resilience::Validate(o.bulkhead),
                                resilience::Validate(o.rate_limit), routing::Validate(o.load),
                                observe::Validate(o.sampling)}) {
    if (!s.ok()) {
      return s;
    }
  }
  if (o.virtual_nodes < 1) {
    return Invalid("virtual_nodes", "must be at least 1");
  }
  if (o.connect_timeout <= core::Duration::zero() || o.request_timeout <= core::Duration::zero() ||
      o.heavy_timeout <= core::Duration::zero() || o.idle_timeout <= core::Duration::zero() ||
      o.refresh_interval <= core::Duration::zero()) {
    return Invalid("timeouts", "must be positive");
  }
  if (o.buffer_limit == 0 || o.max_body_bytes == 0) {
    return Invalid("buffer_limit/max_body_bytes", "must be positive");
  }
  return core::OkStatus();
}

namespace internal {

GatewayMetrics::GatewayMetrics(observe::Registry& r)
    : requests(r.AddCounter("agentmesh_gateway_requests_total",
                            "Calls through the gateway, by agent and status.",
                            {"agent", "status"})),
      duration(r.AddHistogram("agentmesh_gateway_request_duration_seconds",
                              "Calls through the gateway, from header to response.", {},
                              {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                               2.5, 5, 10, 30})
                   .WithLabels({})),
      upstream_duration(r.AddHistogram("agentmesh_gateway_upstream_duration_seconds",
                                       "Upstream attempts, from send to response header.", {},
                                       {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5, 1, 2.5, 5, 10, 30})
                            .WithLabels({})),
      retries(r.AddCounter("agentmesh_gateway_retries_total",
                           "Retried upstream attempts, by agent.", {"agent"})),
      transitions(r.AddCounter("agentmesh_gateway_circuit_transitions_total",
                               "Circuit breaker transitions, by agent and new state.",
                               {"agent", "to"})),
      spans_kept(r.AddCounter("agentmesh_gateway_spans_kept_total",
                              "Gateway spans kept (sampled, error, slow or critical).")
                     .WithLabels({})),
      upstream_connects(r.AddCounter("agentmesh_gateway_upstream_connections_total",
                                     "Upstream connections opened.")
                            .WithLabels({})) {
  auto& rejected = r.AddCounter("agentmesh_gateway_rejections_total",
                                "Calls the gateway answered itself, by reason.", {"reason"});
  for (std::size_t i = 0; i < rejections.size(); ++i) {
    rejections[i] = &rejected.WithLabels({std::string(kRejectionNames[i])});
  }
}

observe::Counter& GatewayMetrics::Requests(const std::string& agent, int status) {
  return requests.WithLabels({agent, std::to_string(status)});
}

GatewayState::GatewayState(GatewayOptions o, MembershipService& membership, core::Clock& c,
                           observe::Registry& registry, observe::TraceStore* trace_store,
                           OtlpExporter* otlp, core::EventSink* sink)
    : options(std::move(o)),
      clock(c),
      table(options, membership, c),
      limiter(options.rate_limit),
      sampler(options.sampling),
      traces(trace_store),
      exporter(otlp),
      events(sink),
      metrics(registry) {
  registry.AddCallback(
      "agentmesh_gateway_circuit_state",
      "Circuit breakers by agent, instance and state (1 = the breaker is in that state).",
      observe::MetricType::kGauge, {"agent", "instance", "state"}, [this] {
        std::vector<observe::Sample> out;
        const core::TimePoint now = clock.Now();
        for (const auto& route : table.All()) {
          std::lock_guard lock(route->mu);
          for (const auto& u : route->instances) {
            out.push_back({{route->name, u.id,
                            std::string(resilience::CircuitStateName(u.breaker.state(now)))},
                           1.0});
          }
        }
        return out;
      });
}

void GatewayState::OnBreakerTransition(const std::string& agent, const UpstreamInstance& u,
                                       resilience::CircuitState from) {
  const resilience::CircuitState to = u.breaker.state();
  if (to == from) {
    return;
  }
  const std::string to_name(resilience::CircuitStateName(to));
  metrics.transitions.WithLabels({agent, to_name}).Inc();
  core::log::Warn("circuit breaker changed state",
                  {{"agent", agent},
                   {"instance", u.id},
                   {"from", std::string(resilience::CircuitStateName(from))},
                   {"to", to_name},
                   {"consecutive_failures", u.breaker.consecutive_failures()}});
  if (events != nullptr) {
    core::Event e;
    e.type = "circuit." + to_name;
    e.timestamp = clock.WallNow();
    e.agent_id = u.id;
    e.data = {{"agent", agent},
              {"from", std::string(resilience::CircuitStateName(from))},
              {"to", to_name}};
    events->Emit(std::move(e));
  }
}

}  // namespace internal

Gateway::Gateway(GatewayOptions options, MembershipService& membership, core::Clock& clock,
                 observe::Registry& metrics, observe::TraceStore* traces, OtlpExporter* exporter,
                 core::EventSink* events)
    : state_(std::make_unique<internal::GatewayState>(std::move(options), membership, clock,
                                                      metrics, traces, exporter, events)) {}

Gateway::~Gateway() = default;

bool Gateway::Serves(std::string_view path) {
  return path.starts_with("/agents/") || path.starts_with("/api/v1/");
}

boost::json::object Gateway::CircuitsJson() const {
  boost::json::array circuits;
  const core::TimePoint now = state_->clock.Now();
  for (const auto& route : state_->table.All()) {
    std::lock_guard lock(route->mu);
    for (const auto& u : route->instances) {
      boost::json::object c;
      c["agent"] = route->name;
      c["instance"] = u.id;
      c["state"] = resilience::CircuitStateName(u.breaker.state(now));
      c["consecutive_failures"] = u.breaker.consecutive_failures();
      c["in_flight"] = u.in_flight;
      c["calls"] = u.calls;
      c["failures"] = u.failures;
      c["balancer"] = BalancerKindName(route->kind);
      c["weight"] = u.weight;
      if (u.breaker.state() != resilience::CircuitState::kClosed) {
        const auto retry_in = u.breaker.opened_at() + u.breaker.options().recovery_timeout - now;
        c["half_open_in"] = core::FormatDuration(std::max(retry_in, core::Duration::zero()));
      }
      circuits.push_back(std::move(c));
    }
  }
  boost::json::object out;
  out["count"] = circuits.size();
  out["circuits"] = std::move(circuits);
  return out;
}

void AddGatewayRoutes(Router& router, const Gateway& gateway) {
  router.Add(Method::kGet, "/v1/circuits",
             [&gateway](const Request&) { return JsonResponse(gateway.CircuitsJson()); });
}

}  // namespace agentmesh::server
