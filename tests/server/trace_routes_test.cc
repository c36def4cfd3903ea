#include "agentmesh/server/trace_routes.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "agentmesh/server/errors.h"

namespace agentmesh::server {
namespace {

using namespace std::chrono_literals;

observe::TraceId Trace(std::uint8_t n) {
  observe::TraceId id;
  id.bytes[15] = n;
  return id;
}

observe::Span MakeSpan(std::uint8_t trace, std::uint8_t span, std::uint8_t parent,
                       core::Duration offset, core::Duration duration) {
  observe::Span s;
  s.trace_id = Trace(trace);
  s.span_id.bytes[7] = span;
  if (parent != 0) {
    s.parent_id.bytes[7] = parent;
  }
  s.name = "GET /agents/{name}";
  s.start = core::WallTime(std::chrono::seconds(1'800'000'000)) +
            std::chrono::duration_cast<core::WallTime::duration>(offset);
  s.duration = duration;
  s.http_status = 200;
  return s;
}

class TraceRoutesTest : public ::testing::Test {
 protected:
  TraceRoutesTest() {
    observe::Span a = MakeSpan(1, 1, 0, 0ms, 300ms);
    a.attributes = {{"agent.id", "orch-1"}};
    observe::Span a_child = MakeSpan(1, 2, 1, 10ms, 100ms);
    a_child.attributes = {{"agent.id", "coder-1"}};
    observe::Span b = MakeSpan(2, 1, 0, 5ms, 50ms);
    b.attributes = {{"agent.name", "coder"}};
    b.error = true;
    b.http_status = 502;
    store_.Record(a_child);
    store_.Record(a);
    store_.Record(b);
    AddTraceRoutes(router_, store_);
  }

  Response Get(std::string_view target) {
    Request req;
    req.method = Method::kGet;
    const std::size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string_view::npos ? "" : target.substr(q + 1);
    RouteMatch m = router_.Match(req.method, req.path, &req);
    if (m.endpoint < 0) {
      return ErrorResponse(ApiError{m.error, {}}, m.allow);
    }
    return router_.endpoints()[m.endpoint].sync(req);
  }

  static boost::json::value Json(const Response& r) { return boost::json::parse(r.body); }

  static std::vector<std::string> Ids(const Response& r) {
    std::vector<std::string> ids;
    const boost::json::value body = Json(r);
    for (const auto& t : body.at("traces").as_array()) {
      ids.emplace_back(t.at("trace_id").as_string());
    }
    return ids;
  }

  static std::string ErrorCode(const Response& r) {
    return std::string(Json(r).at("error").at("code").as_string());
  }

  observe::TraceStore store_{observe::TraceStoreOptions{}};
  Router router_;
};

TEST_F(TraceRoutesTest, DebugTracesListsNewestFirst) {
  Response r = Get("/debug/traces");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(Json(r).at("count").as_int64(), 2);
  EXPECT_EQ(Ids(r), (std::vector<std::string>{Trace(2).Hex(), Trace(1).Hex()}));
  const boost::json::value body = Json(r);
  const auto& first = body.at("traces").as_array()[0];
  EXPECT_TRUE(first.at("error").as_bool());
  EXPECT_EQ(first.at("root").as_string(), "GET /agents/{name}");
}

TEST_F(TraceRoutesTest, DebugTracesAppliesFilters) {
  EXPECT_EQ(Ids(Get("/debug/traces?agent=coder-1")), std::vector<std::string>{Trace(1).Hex()});
  EXPECT_EQ(Ids(Get("/debug/traces?agent=coder")), std::vector<std::string>{Trace(2).Hex()});
  EXPECT_EQ(Ids(Get("/debug/traces?errors=true")), std::vector<std::string>{Trace(2).Hex()});
  EXPECT_EQ(Ids(Get("/debug/traces?errors=false")).size(), 2u);
  EXPECT_EQ(Ids(Get("/debug/traces?min_duration=250ms")), std::vector<std::string>{Trace(1).Hex()});
  EXPECT_EQ(Ids(Get("/debug/traces?limit=1")), std::vector<std::string>{Trace(2).Hex()});
  EXPECT_TRUE(Ids(Get("/debug/traces?agent=orch-1&errors=true")).empty());
  EXPECT_EQ(Ids(Get("/debug/traces?min_duration=1m")).size(), 0u);
}

TEST_F(TraceRoutesTest, DebugTracesRejectsBadParameters) {
  for (std::string_view target :
       {"/debug/traces?errors=yes", "/debug/traces?min_duration=abc",
        "/debug/traces?min_duration=-1s", "/debug/traces?limit=0", "/debug/traces?limit=1001",
        "/debug/traces?limit=ten", "/debug/traces?agent=bad%20id", "/debug/traces?agent="}) {
    Response r = Get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(ErrorCode(r), "invalid_field") << target;
  }
  Response field = Get("/debug/traces?limit=0");
  EXPECT_EQ(Json(field).at("error").at("details").at("field").as_string(), "limit");
  Response unknown = Get("/debug/traces?sort=asc");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(ErrorCode(unknown), "unknown_parameter");
  Response malformed = Get("/debug/traces?agent=%zz");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(ErrorCode(malformed), "malformed_query");
}

TEST_F(TraceRoutesTest, GetTraceReturnsSpanTree) {
  Response r = Get("/v1/traces/" + Trace(1).Hex());
  ASSERT_EQ(r.status, 200);
  const boost::json::value body = Json(r);
  EXPECT_EQ(body.at("trace_id").as_string(), Trace(1).Hex());
  const auto& roots = body.at("spans").as_array();
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0].at("span_id").as_string(), "0000000000000001");
  const auto& children = roots[0].at("children").as_array();
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].at("parent_id").as_string(), "0000000000000001");
  EXPECT_EQ(children[0].at("attributes").at("agent.id").as_string(), "coder-1");
}

TEST_F(TraceRoutesTest, GetUnknownTraceIs404) {
  Response r = Get("/v1/traces/" + Trace(9).Hex());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "unknown_trace");
  EXPECT_EQ(Json(r).at("error").at("details").at("trace_id").as_string(), Trace(9).Hex());
}

TEST_F(TraceRoutesTest, GetMalformedTraceIdIs400) {
  for (std::string_view id :
       {"4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f3577b34da6a3ce929d0e0e473",
        "4bf92f3577b34da6a3ce929d0e0e47360", "4bf92f3577b34da6a3ce929d0e0e473g",
        "00000000000000000000000000000000", "x"}) {
    Response r = Get("/v1/traces/" + std::string(id));
    EXPECT_EQ(r.status, 400) << id;
    EXPECT_EQ(ErrorCode(r), "invalid_trace_id") << id;
  }
}

}  // namespace
}  // namespace agentmesh::server
