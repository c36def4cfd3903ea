// /v1/sessions, /v1/elections, /v1/locks, /v1/lock-sets, /v1/barriers, /v1/proposals and
// /v1/coordinators: strict request parsing, then the CoordBackend (see coord_routes.h).
#include "agentmesh/server/coord_routes.h"

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "agentmesh/coord/types.h"
#include "agentmesh/core/duration.h"
#include "agentmesh/core/ids.h"
#include "agentmesh/server/errors.h"
#include "agentmesh/server/json_codec.h"

namespace agentmesh::server {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// A JSON object body read field by field; Finish() rejects fields nobody asked for.
class Body {
 public:
  static ApiResult<Body> Parse(const Request& req, bool required = true) {
    if (req.body.empty() && !required) {
      return Body(json::object());
    }
    if (auto ok = CheckJsonContentType(req.content_type, req.body); !ok) {
      return std::unexpected(ok.error());
    }
    if (req.body.empty()) {
      return ApiErr(
          core::InvalidArgument("missing_body", "This request needs a JSON object body."));
    }
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec || !v.is_object()) {
      return ApiErr(core::InvalidArgument("malformed_json",
                                          ec ? "The body is not valid JSON: " + ec.message() + "."
                                             : std::string("The body must be a JSON object.")));
    }
    return Body(std::move(v.as_object()));
  }

  const json::value* Find(std::string_view field) {
    seen_.insert(std::string(field));
    return object_.if_contains(field);
  }

  ApiResult<std::string> String(std::string_view field, bool required, std::string fallback = {}) {
    const json::value* v = Find(field);
    if (v == nullptr || v->is_null()) {
      if (required) {
        return FieldError("missing_field", field,
                          "Field '" + std::string(field) + "' is required.");
      }
      return fallback;
    }
    if (!v->is_string()) {
      return FieldError("invalid_field", field,
                        "Field '" + std::string(field) + "' must be a string.");
    }
    return std::string(v->get_string());
  }

  ApiResult<std::string> Id(std::string_view field, bool required = true) {
    auto s = String(field, required);
    if (!s || s->empty()) {
      return s;
    }
    if (core::Status st = core::ValidateId(*s, field); !st.ok()) {
      return ApiErr(std::move(st), json::object{{"field", field}});
    }
    return s;
  }

  // A duration given as a string such as "30s"; nullopt when absent.
  ApiResult<std::optional<core::Duration>> Duration(std::string_view field) {
    auto s = String(field, false);
    if (!s) {
      return std::unexpected(s.error());
    }
    if (s->empty()) {
      return std::optional<core::Duration>();
    }
    auto d = core::ParseDuration(*s);
    if (!d || *d <= core::Duration::zero()) {
      return FieldError("invalid_duration", field,
                        "Field '" + std::string(field) +
                            "' must be a positive duration such as \"30s\" or \"250ms\".");
    }
    return std::optional<core::Duration>(*d);
  }

  // wait_ms: a non-negative integer of milliseconds; 0 when absent (do not wait).
  ApiResult<core::Duration> WaitMs(core::Duration max) {
    const json::value* v = Find("wait_ms");
    if (v == nullptr || v->is_null()) {
      return core::Duration::zero();
    }
    if (!v->is_int64() || v->get_int64() < 0) {
      return FieldError("invalid_field", "wait_ms",
                        "Field 'wait_ms' must be a non-negative integer of milliseconds.");
    }
    const core::Duration wait = std::chrono::milliseconds(v->get_int64());
    if (wait > max) {
      return FieldError(
          "invalid_field", "wait_ms",
          "Field 'wait_ms' may be at most " +
              std::to_string(std::chrono::ceil<std::chrono::milliseconds>(max).count()) +
              " (consensus.max_wait).");
    }
    return wait;
  }

  ApiResult<coord::LockMode> Mode() {
    auto s = String("mode", false, "exclusive");
    if (!s) {
      return std::unexpected(s.error());
    }
    if (*s == "exclusive") {
      return coord::LockMode::kExclusive;
    }
    if (*s == "shared") {
      return coord::LockMode::kShared;
    }
    return FieldError("invalid_field", "mode", "Field 'mode' must be \"exclusive\" or \"shared\".");
  }

  ApiResult<std::vector<std::string>> Strings(std::string_view field) {
    const json::value* v = Find(field);
    if (v == nullptr || !v->is_array()) {
      return FieldError(v == nullptr ? "missing_field" : "invalid_field", field,
                        "Field '" + std::string(field) + "' must be a list of strings.");
    }
    std::vector<std::string> out;
    for (const json::value& item : v->get_array()) {
      if (!item.is_string()) {
        return FieldError("invalid_field", field,
                          "Field '" + std::string(field) + "' must be a list of strings.");
      }
      out.emplace_back(item.get_string());
    }
    return out;
  }

  // Rejects fields no getter asked for.
  ApiResult<void> Finish() const {
    for (const auto& [key, value] : object_) {
      if (!seen_.contains(std::string(key))) {
        return FieldError("unknown_field", key,
                          "Field '" + std::string(key) + "' is not part of this request.");
      }
    }
    return {};
  }

 private:
  explicit Body(json::object o) : object_(std::move(o)) {}
  json::object object_;
  std::set<std::string> seen_;
};

// Decodes a path segment (%2F for '/' in names such as coordinator%2Fglobal) and checks
// it as a coordination name.
ApiResult<std::string> NameParam(std::string_view raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      const auto hex = [](char c) -> int {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
      };
      const int hi = hex(raw[i + 1]);
      const int lo = hex(raw[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += raw[i];
  }
  if (core::Status s = coord::ValidateName(out); !s.ok()) {
    return ApiErr(std::move(s), json::object{{"name", out}});
  }
  return out;
}

Response Answer(const core::Result<json::object>& r, int ok_status = 200) {
  if (!r) {
    return ErrorResponse(r.error());
  }
  return JsonResponse(*r, ok_status);
}

// Binds `var` to `expr`'s value, or answers with its error.
#define AM_TRY(var, expr)                 \
  auto var = (expr);                      \
  if (!var) {                             \
    co_return ErrorResponse(var.error()); \
  }

asio::awaitable<Response> PostSession(CoordBackend& c, const Request& req) {
  AM_TRY(body, Body::Parse(req));
  AM_TRY(agent, body->Id("agent"));
  AM_TRY(ttl, body->Duration("ttl"));
  AM_TRY(done, body->Finish());
  auto r = co_await c.CreateSession(*agent, *ttl);
  co_return Answer(r, 201);
}

asio::awaitable<Response> RenewSession(CoordBackend& c, const Request& req) {
  std::string id(req.param(0));
  auto r = co_await c.RenewSession(id);
  co_return Answer(r);
}

asio::awaitable<Response> DeleteSession(CoordBackend& c, const Request& req) {
  std::string id(req.param(0));
  auto r = co_await c.DestroySession(id);
  co_return Answer(r);
}

asio::awaitable<Response> Campaign(CoordBackend& c, const Request& req) {
  AM_TRY(name, NameParam(req.param(0)));
  AM_TRY(body, Body::Parse(req));
  AM_TRY(session, body->String("session", true));
  AM_TRY(value, body->String("value", false));
  AM_TRY(wait, body->WaitMs(c.max_wait()));
  AM_TRY(done, body->Finish());
  auto r = co_await c.Campaign(*name, *session, *value, *wait);
  co_return Answer(r);
}

asio::awaitable<Response> Resign(CoordBackend& c, const Request& req) {
  AM_TRY(name, NameParam(req.param(0)));
  AM_TRY(body, Body::Parse(req));
  AM_TRY(session, body->String("session", true));
  AM_TRY(successor, body->String("successor", false));
  AM_TRY(done, body->Finish());
  auto r = co_await c.Resign(*name, *session, *successor);
  co_return Answer(r);
}

asio::awaitable<Response> AcquireLock(CoordBackend& c, const Request& req) {
  AM_TRY(name, NameParam(req.param(0)));
  AM_TRY(body, Body::Parse(req));
  AM_TRY(session, body->String("session", true));
  AM_TRY(mode, body->Mode());
  AM_TRY(wait, body->WaitMs(c.max_wait()));
  AM_TRY(done, body->Finish());
  auto r = co_await c.AcquireLock(*name, *session, *mode, *wait);
  co_return Answer(r);
}

asio::awaitable<Response> ReleaseOrRenewLock(CoordBackend& c, const Request& req, bool renew) {
  AM_TRY(name, NameParam(req.param(0)));
  AM_TRY(body, Body::Parse(req));
  AM_TRY(session, body->String("session", true));
  AM_TRY(done, body->Finish());
  core::Result<json::object> r;
  if (renew) {
    r = co_await c.RenewLock(*name, *session);
  } else {
    r = co_await c.ReleaseLock(*name, *session);
  }
  co_return Answer(r);
}

asio::awaitable<Response> AcquireLockSet(CoordBackend& c, const Request& req) {
  AM_TRY(body, Body::Parse(req));
  AM_TRY(session, body->String("session", true));
  AM_TRY(names, body->Strings("names"));
  AM_TRY(mode, body->Mode());
  AM_TRY(wait, body->WaitMs(c.max_wait()));
  AM_TRY(done, body->Finish());
  if (names->empty()) {
    co_return ErrorResponse(
        FieldError("invalid_field", "names", "Field 'names' must list at least one lock.").error());
  }
  for (const std::string& n : *names) {
    if (core::Status s = coord::ValidateName(n); !s.ok()) {
      co_return ErrorResponse(ApiError{std::move(s), json::object{{"name", n}}});
    }
  }
  auto r = co_await c.AcquireLockSet(*names, *session, *mode, *wait);
  co_return Answer(r);
}

asio::awaitable<Response> PostBarrier(CoordBackend& c, const Request& req) {
  AM_TRY(name, NameParam(req.param(0)));
  AM_TRY(body, Body::Parse(req));
  AM_TRY(participants, body->Strings("participants"));
  AM_TRY(ttl, body->Duration("ttl"));
  AM_TRY(done, body->Finish());
  auto r = co_await c.CreateBarrier(*name, *participants, *ttl);
  co_return Answer(r, 201);
}

asio::awaitable<Response> Arrive(CoordBackend& c, const Request& req) {
  AM_TRY(name, NameParam(req.param(0)));
  AM_TRY(body, Body::Parse(req));
  AM_TRY(participant, body->Id("participant"));
  AM_TRY(wait, body->WaitMs(c.max_wait()));
  AM_TRY(done, body->Finish());
  auto r = co_await c.Arrive(*name, *participant, *wait);
  co_return Answer(r);
}

asio::awaitable<Response> PostProposal(CoordBackend& c, const Request& req) {
  AM_TRY(body, Body::Parse(req));
  AM_TRY(kind, body->String("kind", true));
  AM_TRY(subject, body->String("subject", true));
  const json::value* payload = body->Find("payload");
  AM_TRY(deadline, body->Duration("deadline"));
  AM_TRY(done, body->Finish());
  if (!*deadline) {
    co_return ErrorResponse(
        FieldError("missing_field", "deadline",
                   "Field 'deadline' is required: how long voting stays open, e.g. \"10m\".")
            .error());
  }
  const json::value payload_value = payload != nullptr ? *payload : json::value();
  auto r = co_await c.CreateProposal(*kind, *subject, payload_value, **deadline);
  co_return Answer(r, 201);
}

asio::awaitable<Response> PostVote(CoordBackend& c, const Request& req) {
  std::string id(req.param(0));
  AM_TRY(body, Body::Parse(req));
  AM_TRY(voter, body->Id("voter"));
  const json::value* approve = body->Find("approve");
  AM_TRY(done, body->Finish());
  if (approve == nullptr || !approve->is_bool()) {
    co_return ErrorResponse(
        FieldError("invalid_field", "approve", "Field 'approve' must be true or false.").error());
  }
  // Agents vote with their own identity (rules 1.2): the caller names itself.
  if (req.agent_id.empty()) {
    co_return ErrorResponse(core::Status(
        core::StatusCode::kUnauthenticated, "identity_required",
        "Votes need the voter's identity: send X-Agent-ID with the voting agent's name."));
  }
  if (req.agent_id != *voter) {
    co_return ErrorResponse(core::Status(
        core::StatusCode::kPermissionDenied, "not_your_vote",
        "Agent '" + std::string(req.agent_id) + "' may not vote as '" + *voter + "'."));
  }
  auto r = co_await c.Vote(id, *voter, approve->get_bool());
  co_return Answer(r);
}

// GET of one object by the name in the path; `get` is a backend read.
asio::awaitable<Response> GetByName(const Request& req,
                                    std::function<CoordBackend::Reply(const std::string&)> get) {
  AM_TRY(name, NameParam(req.param(0)));
  auto r = co_await get(*name);
  co_return Answer(r);
}

asio::awaitable<Response> GetById(const Request& req,
                                  std::function<CoordBackend::Reply(const std::string&)> get) {
  const std::string id(req.param(0));
  auto r = co_await get(id);
  co_return Answer(r);
}

#undef AM_TRY

// GET /v1/elections/{name}/watch: Server-Sent Events, one "leader" event with the
// election's state now and after every change, and a comment every 15 s so that a gone
// client is noticed.
asio::awaitable<void> WatchElection(CoordBackend& c, const Request& req, ResponseStream& stream) {
  auto name = NameParam(req.param(0));
  if (!name) {
    co_await stream.Send("event: error\ndata: " + ErrorBody(name.error()) + "\n\n");
    co_return;
  }
  struct Queue {
    std::mutex mu;
    std::vector<std::string> events;
  };
  auto queue = std::make_shared<Queue>();
  const auto push = [queue, &stream](const json::object& state) {
    {
      std::lock_guard lock(queue->mu);
      queue->events.push_back(json::serialize(state));
    }
    stream.Wake();
  };
  auto watch = c.WatchElection(*name, push);  // pushes the state now, then every change
  for (;;) {
    std::vector<std::string> events;
    {
      std::lock_guard lock(queue->mu);
      events.swap(queue->events);
    }
    bool sent = true;
    for (const std::string& e : events) {
      const std::string frame = "event: leader\ndata: " + e + "\n\n";
      sent = co_await stream.Send(frame);
      if (!sent) {
        break;
      }
    }
    if (!sent) {
      co_return;
    }
    if (!co_await stream.Wait(std::chrono::seconds(15))) {
      co_return;
    }
    bool idle = false;
    {
      std::lock_guard lock(queue->mu);
      idle = queue->events.empty();
    }
    if (idle && !co_await stream.Send(": keepalive\n\n")) {
      co_return;
    }
  }
}

}  // namespace

void AddCoordRoutes(Router& router, CoordBackend& c) {
  router.AddAsync(Method::kPost, "/v1/sessions",
                  [&c](const Request& r) { return PostSession(c, r); });
  router.AddAsync(Method::kPut, "/v1/sessions/{id}/renew",
                  [&c](const Request& r) { return RenewSession(c, r); });
  router.AddAsync(Method::kDelete, "/v1/sessions/{id}",
                  [&c](const Request& r) { return DeleteSession(c, r); });
  router.AddAsync(Method::kGet, "/v1/sessions/{id}", [&c](const Request& r) {
    return GetById(r, [&c](const std::string& id) { return c.GetSession(id); });
  });

  router.AddAsync(Method::kPost, "/v1/elections/{name}/campaign",
                  [&c](const Request& r) { return Campaign(c, r); });
  router.AddAsync(Method::kPost, "/v1/elections/{name}/resign",
                  [&c](const Request& r) { return Resign(c, r); });
  router.AddAsync(Method::kGet, "/v1/elections/{name}", [&c](const Request& r) {
    return GetByName(r, [&c](const std::string& name) { return c.GetElection(name); });
  });
  router.AddStream(
      Method::kGet, "/v1/elections/{name}/watch",
      [&c](const Request& r, ResponseStream& stream) { return WatchElection(c, r, stream); });
  router.AddAsync(Method::kGet, "/v1/coordinators",
                  [&c](const Request&) -> asio::awaitable<Response> {
                    auto r = co_await c.Coordinators();
                    co_return Answer(r);
                  });

  router.AddAsync(Method::kPost, "/v1/locks/{name}/acquire",
                  [&c](const Request& r) { return AcquireLock(c, r); });
  router.AddAsync(Method::kPost, "/v1/locks/{name}/release",
                  [&c](const Request& r) { return ReleaseOrRenewLock(c, r, false); });
  router.AddAsync(Method::kPost, "/v1/locks/{name}/renew",
                  [&c](const Request& r) { return ReleaseOrRenewLock(c, r, true); });
  router.AddAsync(Method::kGet, "/v1/locks/{name}", [&c](const Request& r) {
    return GetByName(r, [&c](const std::string& name) { return c.GetLock(name); });
  });
  router.AddAsync(Method::kPost, "/v1/lock-sets/acquire",
                  [&c](const Request& r) { return AcquireLockSet(c, r); });

  router.AddAsync(Method::kPost, "/v1/barriers/{name}",
                  [&c](const Request& r) { return PostBarrier(c, r); });
  router.AddAsync(Method::kPost, "/v1/barriers/{name}/arrive",
                  [&c](const Request& r) { return Arrive(c, r); });
  router.AddAsync(Method::kGet, "/v1/barriers/{name}", [&c](const Request& r) {
    return GetByName(r, [&c](const std::string& name) { return c.GetBarrier(name); });
  });

  router.AddAsync(Method::kPost, "/v1/proposals",
                  [&c](const Request& r) { return PostProposal(c, r); });
  router.AddAsync(Method::kPost, "/v1/proposals/{id}/votes",
                  [&c](const Request& r) { return PostVote(c, r); });
  router.AddAsync(Method::kGet, "/v1/proposals/{id}", [&c](const Request& r) {
    return GetById(r, [&c](const std::string& id) { return c.GetProposal(id); });
  });
}

}  // namespace agentmesh::server
