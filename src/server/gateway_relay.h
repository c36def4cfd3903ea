// The gateway's wire work: one call's context, the upstream exchange, the response relay
// and the call's accounting (metrics and span). Not a public API.
#pragma once

#include <memory>
#include <optional>
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
#include "server/response_head.h"

namespace agentmesh::server::internal {

// Beast's parser for an upstream response that is not plain (response_head.h), made per
// attempt; its own storage comes from the thread's block cache too. The gateway needs the
// response's header fields only as the text it relays, so they go straight into that text
// (fields that are not RoleOf kRelay left out) instead of into the message's field
// container, which costs an allocation and a tree insertion per field. get() holds the
// status line and the body, no fields.
class ResponseParser
    : public boost::beast::http::response_parser<boost::beast::http::string_body, HeaderAllocator> {
 public:
  static void* operator new(std::size_t bytes) { return core::ThreadCacheAllocate(bytes); }
  static void operator delete(void* p, std::size_t bytes) { core::ThreadCacheDeallocate(p, bytes); }

  // "Name: value\r\n" for every field to relay, in the order received.
  std::string_view relayed_fields() const { return {fields_.data(), fields_.size()}; }

 private:
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::system::error_code& ec) override;
  void on_header_impl(boost::system::error_code& ec) override;

  HeadText fields_;
  HeadText connection_;  // the Connection header's options: they name more hop-by-hop fields
};

// An upstream's answer to one attempt, read from the upstream connection's buffer. A plain
// head (response_head.h), which is what upstreams send almost always, is read by
// ScanPlainResponseHead and its body, at most `max_buffered` bytes, taken whole. Any other
// head, and every answer to HEAD, goes to a ResponseParser, which can also relay a body
// piece by piece.
class UpstreamResponse {
 public:
  static void* operator new(std::size_t bytes) { return core::ThreadCacheAllocate(bytes); }
  static void operator delete(void* p, std::size_t bytes) { core::ThreadCacheDeallocate(p, bytes); }

  UpstreamResponse(bool head_request, std::uint64_t max_buffered);

  enum class Until { kHeader, kMessage };
  // Takes in what `up.buffer` holds. Returns true when that settled the matter (the
  // response is read `until` there, or `ec` is set), false when more must be read.
  bool Parse(UpstreamConnection& up, Until until, boost::system::error_code& ec);
  // Takes in what one read of the upstream returned (`n` bytes, or `ec`) and returns the
  // read's error, if any. EOF ends a close-delimited body, and is an error when the
  // response is not read `until` there after it; EOF before any byte of the answer stays
  // an error (a pooled connection the upstream had closed).
  boost::system::error_code Received(UpstreamConnection& up, Until until,
                                     boost::system::error_code ec, std::size_t n);

  bool header_done() const { return plain_ || (parser_ != nullptr && parser_->is_header_done()); }
  bool done() const { return plain_ ? body_done_ : parser_ != nullptr && parser_->is_done(); }
  // The rest only once header_done().
  int status() const { return plain_ ? head_.status : parser_->get().result_int(); }
  // The reason phrase as received; may be empty.
  std::string_view reason() const;
  std::optional<std::uint64_t> content_length() const;
  // Whether the upstream connection may carry another exchange after this one.
  bool keep_alive() const { return plain_ ? head_.keep_alive : parser_->keep_alive(); }
  // "Name: value\r\n" for every field to relay, in the order received.
  std::string_view relayed_fields() const;
  // The whole body, once done().
  std::string_view body() const;
  // The Beast parser, for relaying a body piece by piece; null for a plain head, whose
  // body is always taken whole.
  ResponseParser* parser() { return parser_.get(); }

 private:
  bool Reached(Until until) const { return until == Until::kHeader ? header_done() : done(); }
  // Hands the bytes scanned so far to Beast.
  void UseParser();
  // Parse's work once the Beast parser reads the answer.
  bool ParseWithBeast(UpstreamConnection& up, Until until, boost::system::error_code& ec);

  const std::uint64_t max_buffered_;
  bool plain_ = false;  // head_ and text_ hold a plain head
  bool body_done_ = false;
  PlainHead head_;                // its reason is not kept: see text_
  HeadText text_;                 // the relayed field lines, then the reason phrase
  std::size_t relayed_size_ = 0;  // of the field lines in text_
  std::string body_;
  std::unique_ptr<ResponseParser> parser_;
};

// What the stages of one call share, but its strings (CallContext). A field added here
// is reset for each call by itself.
struct CallFields {
  core::TimePoint start;
  core::TimePoint deadline;
  bool keep_alive = true;  // the client connection may serve another request
  bool http10 = false;
  std::string_view method;
  bool by_capability = false;
  boost::static_string<128> correlation_id;  // inline: no allocation per call
  observe::TraceId trace_id;
  observe::SpanId span_id;
  observe::SpanId parent_span;
  bool head_sampled = false;
  resilience::Priority priority = resilience::Priority::kNormal;
  std::string_view operation_type;
  bool heavy = false;
  bool critical = false;
  bool streamed = false;         // the request body streams instead of being buffered
  bool idempotency_key = false;  // the request carries a non-empty Idempotency-Key
  std::string_view hash_key;     // the consistent-hash header's value, if any
  resilience::CallBudget budget{};
  int phase = 0;
  int attempts = 0;
};

// Everything the stages of one call share. A connection keeps one from call to call,
// and Reset keeps the strings' buffers, so that its calls allocate none for them.
struct CallContext : CallFields {
  std::string name;             // agent name, instance id or capability
  std::string upstream_target;  // path and query sent upstream
  std::string tracestate;
  std::string caller;
  std::string agent;
  std::string instance;

  // Back to the defaults for a new call. A string added above is cleared here too.
  void Reset() {
    static_cast<CallFields&>(*this) = CallFields();
    name.clear();
    upstream_target.clear();
    tracestate.clear();
    caller.clear();
    agent.clear();
    instance.clear();
  }
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
  std::unique_ptr<UpstreamResponse> response;    // header read; null when none came
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

// One attempt, starting at `now`: sends the request to `result.target` and reads the
// response header into `result`, which is otherwise as default-constructed (filled in
// place: a result returned by value would be moved and destroyed twice more per call).
boost::asio::awaitable<void> Exchange(GatewayState& g, Connection& conn,
                                      boost::beast::flat_buffer& buffer, RequestParser& parser,
                                      CallContext& call, core::TimePoint now,
                                      UpstreamResult& result);
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
