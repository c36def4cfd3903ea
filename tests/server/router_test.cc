#include "agentmesh/server/router.h"

#include <gtest/gtest.h>

#include "agentmesh/server/errors.h"

namespace agentmesh::server {
namespace {

Response Text(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

Router MakeRouter() {
  Router router;
  router.Add(Method::kGet, "/v1/agents", [](const Request&) { return Text("list"); });
  router.Add(Method::kGet, "/v1/agents/{id}",
             [](const Request& r) { return Text("get " + std::string(r.param(0))); });
  router.Add(Method::kDelete, "/v1/agents/{id}", [](const Request&) { return Text("delete"); });
  router.Add(Method::kPut, "/v1/agents/{id}/heartbeat",
             [](const Request& r) { return Text("hb " + std::string(r.param(0))); });
  router.Add(Method::kGet, "/health", [](const Request&) { return Text("health"); });
  return router;
}

Response Dispatch(const Router& router, Method method, std::string_view path) {
  Request req;
  req.method = method;
  req.path = path;
  RouteMatch m = router.Match(method, path, &req);
  if (m.endpoint < 0) {
    return ErrorResponse(ApiError{m.error, {}}, m.allow);
  }
  return router.endpoints()[m.endpoint].sync(req);
}

TEST(RouterTest, MatchesLiteralAndCapturedSegments) {
  Router router = MakeRouter();
  EXPECT_EQ(Dispatch(router, Method::kGet, "/v1/agents").body, "list");
  EXPECT_EQ(Dispatch(router, Method::kGet, "/v1/agents/orch-1").body, "get orch-1");
  EXPECT_EQ(Dispatch(router, Method::kPut, "/v1/agents/a.b_c/heartbeat").body, "hb a.b_c");
  EXPECT_EQ(Dispatch(router, Method::kGet, "/health").body, "health");
}

TEST(RouterTest, ReportsRouteLabelAsPattern) {
  Router router = MakeRouter();
  Request req;
  RouteMatch m = router.Match(Method::kPut, "/v1/agents/x/heartbeat", &req);
  ASSERT_GE(m.endpoint, 0);
  EXPECT_EQ(router.endpoints()[m.endpoint].pattern, "/v1/agents/{id}/heartbeat");
}

TEST(RouterTest, UnknownPathIs404UnknownRoute) {
  Router router = MakeRouter();
  for (std::string_view path : {"/", "/v2/agents", "/v1/agents/x/unknown", "/v1/agents/",
                                "/v1/agents//heartbeat", "/healthz", "", "no-slash"}) {
    Response r = Dispatch(router, Method::kGet, path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_NE(r.body.find("\"unknown_route\""), std::string::npos) << path;
  }
}

TEST(RouterTest, KnownPathWithWrongMethodIs405WithAllow) {
  Router router = MakeRouter();
  Response r = Dispatch(router, Method::kPost, "/v1/agents/orch-1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, DELETE");
  EXPECT_NE(r.body.find("\"method_not_allowed\""), std::string::npos);
  EXPECT_EQ(Dispatch(router, Method::kOther, "/health").allow, "GET");
}

TEST(RouterTest, DeepPathsDoNotOverflow) {
  Router router = MakeRouter();
  std::string deep;
  for (int i = 0; i < 100; ++i) {
    deep += "/x";
  }
  EXPECT_EQ(Dispatch(router, Method::kGet, deep).status, 404);
}

TEST(RouterDeathTest, RejectsDuplicateRoute) {
  Router router = MakeRouter();
  EXPECT_DEATH(router.Add(Method::kGet, "/health", [](const Request&) { return Response{}; }),
               "route registered twice");
}

TEST(MethodTest, ParsesOnlyRoutedMethods) {
  EXPECT_EQ(ParseMethod("GET"), Method::kGet);
  EXPECT_EQ(ParseMethod("DELETE"), Method::kDelete);
  EXPECT_EQ(ParseMethod("get"), Method::kOther);
  EXPECT_EQ(ParseMethod("PATCH"), Method::kOther);
}

}  // namespace
}  // namespace agentmesh::server
