#include "agentmesh/server/errors.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace agentmesh::server {
namespace {

using core::Status;
using core::StatusCode;

TEST(HttpStatusForTest, MapsCodesToStatuses) {
  EXPECT_EQ(HttpStatusFor(core::InvalidArgument("invalid_id", "")), 400);
  EXPECT_EQ(HttpStatusFor(core::NotFound("unknown_instance", "")), 404);
  EXPECT_EQ(HttpStatusFor(core::FailedPrecondition("instance_left", "")), 409);
  EXPECT_EQ(HttpStatusFor(core::Aborted("conflict", "")), 409);
  EXPECT_EQ(HttpStatusFor(Status(StatusCode::kAlreadyExists, "exists", "")), 409);
  EXPECT_EQ(HttpStatusFor(core::ResourceExhausted("rate_limited", "")), 429);
  EXPECT_EQ(HttpStatusFor(core::Unavailable("store_unavailable", "")), 503);
  EXPECT_EQ(HttpStatusFor(Status(StatusCode::kDeadlineExceeded, "timeout", "")), 504);
  EXPECT_EQ(HttpStatusFor(core::Internal("internal", "")), 500);
  EXPECT_EQ(HttpStatusFor(Status(StatusCode::kDataLoss, "corrupt", "")), 500);
}

TEST(HttpStatusForTest, ReasonOverridesCode) {
  EXPECT_EQ(HttpStatusFor(core::ResourceExhausted("body_too_large", "")), 413);
  EXPECT_EQ(HttpStatusFor(core::InvalidArgument("unsupported_media_type", "")), 415);
  EXPECT_EQ(HttpStatusFor(core::InvalidArgument("method_not_allowed", "")), 405);
  EXPECT_EQ(HttpStatusFor(core::InvalidArgument("headers_too_large", "")), 431);
}

TEST(ErrorBodyTest, HasCodeMessageAndDetails) {
  auto err = FieldError("phase_out_of_range", "phase", "Field 'phase' must be 1, 2 or 3.");
  const auto body = boost::json::parse(ErrorBody(err.error())).as_object();
  const auto& e = body.at("error").as_object();
  EXPECT_EQ(e.at("code").as_string(), "phase_out_of_range");
  EXPECT_EQ(e.at("message").as_string(), "Field 'phase' must be 1, 2 or 3.");
  EXPECT_EQ(e.at("details").at("field").as_string(), "phase");
}

TEST(ErrorResponseTest, CarriesStatusAndAllow) {
  Response r =
      ErrorResponse(ApiError{core::InvalidArgument("method_not_allowed", "Use GET."), {}}, "GET");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET");
  EXPECT_EQ(r.content_type, "application/json");
  const auto body = boost::json::parse(r.body).as_object();
  EXPECT_TRUE(body.at("error").at("details").as_object().empty());
}

}  // namespace
}  // namespace agentmesh::server
