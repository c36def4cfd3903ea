#include "agentmesh/core/status.h"

#include <gtest/gtest.h>

namespace agentmesh::core {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s, OkStatus());
}

TEST(StatusTest, CarriesCodeReasonAndMessage) {
  Status s = InvalidArgument("phase_out_of_range", "phase must be 1, 2 or 3");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), "phase_out_of_range");
  EXPECT_EQ(s.message(), "phase must be 1, 2 or 3");
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT phase_out_of_range: phase must be 1, 2 or 3");
}

TEST(StatusTest, HelpersPickTheirCanonicalCodes) {
  EXPECT_EQ(NotFound("r", "m").code(), StatusCode::kNotFound);
  EXPECT_EQ(FailedPrecondition("r", "m").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Aborted("r", "m").code(), StatusCode::kAborted);
  EXPECT_EQ(Unavailable("r", "m").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ResourceExhausted("r", "m").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Internal("r", "m").code(), StatusCode::kInternal);
}

TEST(StatusTest, EqualityComparesCodeAndReasonNotMessage) {
  EXPECT_EQ(NotFound("unknown_instance", "one"), NotFound("unknown_instance", "two"));
  EXPECT_FALSE(NotFound("unknown_instance", "m") == NotFound("unknown_observer", "m"));
  EXPECT_FALSE(NotFound("x", "m") == Aborted("x", "m"));
}

TEST(StatusTest, EveryCodeHasAnUpperSnakeName) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
  EXPECT_EQ(StatusCodeName(StatusCode::kDeadlineExceeded), "DEADLINE_EXCEEDED");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnauthenticated), "UNAUTHENTICATED");
  for (int c = 0; c <= static_cast<int>(StatusCode::kUnauthenticated); ++c) {
    std::string_view name = StatusCodeName(static_cast<StatusCode>(c));
    EXPECT_FALSE(name.empty());
    for (char ch : name) {
      EXPECT_TRUE((ch >= 'A' && ch <= 'Z') || ch == '_') << name;
    }
  }
}

Result<int> Half(int v) {
  if (v % 2 != 0) {
    return Err(InvalidArgument("odd", "value must be even"));
  }
  return v / 2;
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> ok = Half(4);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 2);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().reason(), "odd");
}

}  // namespace
}  // namespace agentmesh::core
