// The gateway's wire work: one call's context, the upstream exchange, the response relay
// and the call's accounting (metrics and span). Not a public API.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/static_string/static_string.hpp>

#include "agentmesh/core/status.h"
#include "agentmesh/observe/trace_context.h"
#include "agentmesh/resilience/bulkhead.h"
#include "agentmesh/resilience/deadline.h"

#include "server/gateway_internal.h"
#include "server/http_internal.h"

namespace agentmesh::server::internal {

// An upstream response's parser, made per attempt: its own storage comes from the
// thread's block cache too. The gateway needs the response's header fields only as the
// text it relays, so they go straight into that text (hop-by-hop and gateway-set fields
// left out) instead of into the message's field container, which costs an allocation
// and a tree insertion per field. get() holds the status line and the body, no fields.
class ResponseParser
    : public boost::beast::http::response_parser<boost::beast::http::string_body, HeaderAllocator> {
 public:
  static void* operator new(std::size_t bytes) { return core::ThreadCacheAllocate(bytes); }
  static void operator delete(void* p, std::size_t bytes) { core::ThreadCacheDeallocate(p, bytes); }

  // "Name: value\r\n" for every field to relay, in the order received.
  std::string_view relayed_fields() const { return {fields_.data(), fields_.size()}; }

 private:
  using Text = std::basic_string<char, std::char_traits<char>, HeaderAllocator>;

  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::system::error_code& ec) override;
  void on_header_impl(boost::system::error_code& ec) override;

  Text fields_;
  Text connection_;  // the Connection header's options: they name more hop-by-hop fields
};

// Everything the stages of one call share.
struct CallContext {
  core::TimePoint start;
  core::TimePoint deadline;
  bool keep_alive = true;  // the client connection may serve another request
  bool http10 = false;
  std::string_view method;
  bool by_capability = false;
  std::string name;                          // agent name, instance id or capability
  std::string upstream_target;               // path and query sent upstream
  boost::static_string<128> correlation_id;  // inline: no allocation per call
  observe::TraceId trace_id;
  observe::SpanId span_id;
  observe::SpanId parent_span;
  bool head_sampled = false;
  std::string tracestate;
  resilience::Priority priority = resilience::Priority::kNormal;
  std::string_view operation_type;
  bool heavy = false;
  bool critical = false;
  std::string caller;
  bool streamed = false;         // the request body streams instead of being buffered
  bool idempotency_key = false;  // the request carries a non-empty Idempotency-Key
  std::string_view hash_key;     // the consistent-hash header's value, if any
  resilience::CallBudget budget{};
  std::string agent;
  std::string instance;
  int phase = 0;
  int attempts = 0;
};

// Resets and returns `conn`'s call state for a new gateway call; created on first use.
CallContext& NewCall(Connection& conn);

// An attempt's verdict for the instance's circuit breaker.
enum class AttemptOutcome { kSuccess, kFailure, kAbandoned };

struct UpstreamResult {
  AttemptOutcome outcome = AttemptOutcome::kFailure;
  bool retryable = false;
  std::shared_ptr<const UpstreamTarget> target;
  std::shared_ptr<UpstreamConnection> upstream;  // held while the response is relayed
  std::unique_ptr<ResponseParser> response;      // header parsed; null when none came
  bool buffered = false;                         // the whole body is in response
  core::Status error;                            // what to answer when response is null
  bool failed_mid_body = false;  // the upstream failed after its header: a breaker failure
  // The attempt's breaker verdict is still to be recorded (with the bulkhead exit, under
  // one lock of the route), for the instance at `pick_index` of the route, as of `answered`.
  bool outcome_pending = false;
  int pick_index = -1;
  core::TimePoint answered{};
};

// Splits /agents/{name}/rest or /api/v1/{capability}/rest into call.name and
// call.upstream_target ("/rest?query").
void ParseGatewayTarget(std::string_view target, CallContext& call);
// Whether `path` starts with one of the configured heavy routes.
bool IsHeavyRoute(const GatewayOptions& options, std::string_view path);

// One attempt, starting at `now`: sends the request to `target` and reads the response header.
boost::asio::awaitable<UpstreamResult> Exchange(GatewayState& g, Connection& conn,
                                                boost::beast::flat_buffer& buffer,
                                                RequestParser& parser, CallContext& call,
                                                const std::shared_ptr<const UpstreamTarget>& target,
                                                core::TimePoint now);
// Reads a retryable answer's body into memory (releasing the upstream connection) so
// that it can still be relayed if no retry goes out; a body too large to keep is dropped
// and the answer becomes a 502.
boost::asio::awaitable<void> BufferForRetry(GatewayState& g, UpstreamResult& result);
// Relays `result` to the client and accounts for the call. Returns keep-alive.
boost::asio::awaitable<bool> FinishExchange(GatewayState& g, ServerState& s, Connection& conn,
                                            CallContext& call, UpstreamResult& result,
                                            AgentRoute* route);
// Answers the call with `status` in the API error format (Retry-After when given) and
// accounts for it. Returns keep-alive.
boost::asio::awaitable<bool> AnswerError(GatewayState& g, ServerState& s, Connection& conn,
                                         CallContext& call, const core::Status& status,
                                         core::Duration retry_after, AgentRoute* route);
// Like AnswerError for a call refused before its body was read: reads and drops a small
// body so the connection stays usable, else closes it after answering.
boost::asio::awaitable<bool> AnswerRejection(GatewayState& g, ServerState& s, Connection& conn,
                                             boost::beast::flat_buffer& buffer,
                                             RequestParser& parser, CallContext& call,
                                             const core::Status& status, core::Duration retry_after,
                                             AgentRoute* route);

}  // namespace agentmesh::server::internal
