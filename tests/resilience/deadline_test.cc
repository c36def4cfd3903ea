#include "agentmesh/resilience/deadline.h"

#include <gtest/gtest.h>

namespace agentmesh::resilience {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const DeadlineOptions kOptions;
constexpr core::Duration kPolicy = seconds(30);

core::StatusCode CodeOf(const core::Result<CallBudget>& result) {
  return result ? core::StatusCode::kOk : result.error().code();
}
std::string ReasonOf(const core::Result<CallBudget>& result) {
  return result ? "" : result.error().reason();
}

TEST(DeadlineTest, FirstCallGetsThePolicyTimeoutAndDepthOne) {
  const auto budget = ComputeCallBudget(kOptions, kPolicy, "", "");
  ASSERT_TRUE(budget) << budget.error().ToString();
  EXPECT_EQ(budget->timeout, kPolicy);
  EXPECT_EQ(budget->depth, 1);
}

TEST(DeadlineTest, ChildGetsRemainingMinusFiveSecondMargin) {
  const auto budget = ComputeCallBudget(kOptions, kPolicy, "20000", "2");
  ASSERT_TRUE(budget) << budget.error().ToString();
  EXPECT_EQ(budget->timeout, seconds(15));
  EXPECT_EQ(budget->depth, 3);
}

TEST(DeadlineTest, PolicyTimeoutCapsALargeRemainingBudget) {
  const auto budget = ComputeCallBudget(kOptions, kPolicy, "600000", "1");
  ASSERT_TRUE(budget);
  EXPECT_EQ(budget->timeout, kPolicy);
}

TEST(DeadlineTest, KeepsMillisecondPrecision) {
  const auto budget = ComputeCallBudget(kOptions, kPolicy, "5001", "0");
  ASSERT_TRUE(budget);
  EXPECT_EQ(budget->timeout, milliseconds(1));
  EXPECT_EQ(budget->depth, 1);
}

TEST(DeadlineTest, BudgetAtOrBelowTheMarginIsExceeded) {
  for (std::string_view header : {"5000", "4999", "0"}) {
    const auto budget = ComputeCallBudget(kOptions, kPolicy, header, "");
    EXPECT_EQ(CodeOf(budget), core::StatusCode::kDeadlineExceeded) << header;
    EXPECT_EQ(ReasonOf(budget), "deadline_exceeded") << header;
  }
}

TEST(DeadlineTest, NonPositivePolicyTimeoutIsExceeded) {
  const auto budget = ComputeCallBudget(kOptions, core::Duration::zero(), "", "");
  EXPECT_EQ(CodeOf(budget), core::StatusCode::kDeadlineExceeded);
}

TEST(DeadlineTest, DepthFiveIsAllowedAndSixRefused) {
  const auto five = ComputeCallBudget(kOptions, kPolicy, "", "4");
  ASSERT_TRUE(five);
  EXPECT_EQ(five->depth, 5);
  const auto six = ComputeCallBudget(kOptions, kPolicy, "", "5");
  EXPECT_EQ(CodeOf(six), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(six), "call_depth_exceeded");
}

TEST(DeadlineTest, MalformedDeadlineHeaderIsInvalid) {
  for (std::string_view header : {"-1", "+5", "1.5", "10s", "abc", "0x10", " ", "1 2",
                                  "99999999999999999999999", "31536000001"}) {
    const auto budget = ComputeCallBudget(kOptions, kPolicy, header, "");
    EXPECT_EQ(CodeOf(budget), core::StatusCode::kInvalidArgument) << "'" << header << "'";
    EXPECT_EQ(ReasonOf(budget), "bad_deadline_header") << "'" << header << "'";
  }
}

TEST(DeadlineTest, MalformedDepthHeaderIsInvalid) {
  for (std::string_view header : {"-1", "one", "2.0", "\t", "1000001", "18446744073709551616"}) {
    const auto budget = ComputeCallBudget(kOptions, kPolicy, "", header);
    EXPECT_EQ(CodeOf(budget), core::StatusCode::kInvalidArgument) << "'" << header << "'";
    EXPECT_EQ(ReasonOf(budget), "bad_call_depth_header") << "'" << header << "'";
  }
}

TEST(DeadlineTest, SurroundingWhitespaceIsIgnored) {
  const auto budget = ComputeCallBudget(kOptions, kPolicy, " 20000\t", " 1 ");
  ASSERT_TRUE(budget) << budget.error().ToString();
  EXPECT_EQ(budget->timeout, seconds(15));
  EXPECT_EQ(budget->depth, 2);
}

TEST(DeadlineTest, HeaderErrorsComeBeforeDepthAndDeadline) {
  EXPECT_EQ(ReasonOf(ComputeCallBudget(kOptions, kPolicy, "1", "x")), "bad_call_depth_header");
  EXPECT_EQ(ReasonOf(ComputeCallBudget(kOptions, kPolicy, "x", "9")), "bad_deadline_header");
  EXPECT_EQ(ReasonOf(ComputeCallBudget(kOptions, kPolicy, "1", "9")), "call_depth_exceeded");
}

TEST(DeadlineTest, CustomOptionsApply) {
  const DeadlineOptions options{.child_timeout_margin = milliseconds(100), .max_call_depth = 2};
  const auto budget = ComputeCallBudget(options, kPolicy, "1000", "1");
  ASSERT_TRUE(budget);
  EXPECT_EQ(budget->timeout, milliseconds(900));
  EXPECT_EQ(ReasonOf(ComputeCallBudget(options, kPolicy, "", "2")), "call_depth_exceeded");
}

TEST(DeadlineTest, FormatRoundsDownToWholeMillisecondsAndClampsAtZero) {
  EXPECT_EQ(FormatDeadlineMs(seconds(15)), "15000");
  EXPECT_EQ(FormatDeadlineMs(milliseconds(1500) + std::chrono::microseconds(999)), "1500");
  EXPECT_EQ(FormatDeadlineMs(std::chrono::microseconds(999)), "0");
  EXPECT_EQ(FormatDeadlineMs(-seconds(3)), "0");
  EXPECT_EQ(DeadlineHeaderMs(milliseconds(1500) + std::chrono::microseconds(999)), 1500u);
  EXPECT_EQ(DeadlineHeaderMs(-seconds(3)), 0u);
}

TEST(DeadlineTest, FormattedBudgetParsesBack) {
  const auto budget = ComputeCallBudget(kOptions, kPolicy, FormatDeadlineMs(seconds(25)), "");
  ASSERT_TRUE(budget);
  EXPECT_EQ(budget->timeout, seconds(20));
}

TEST(DeadlineOptionsTest, DefaultsMatchTheRules) {
  EXPECT_EQ(kOptions.child_timeout_margin, seconds(5));
  EXPECT_EQ(kOptions.max_call_depth, 5);
  EXPECT_TRUE(Validate(kOptions).ok());
}

TEST(DeadlineOptionsTest, ValidateNamesTheBadField) {
  const auto check = [](DeadlineOptions options, std::string_view field) {
    const core::Status status = Validate(options);
    EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.reason(), "invalid_deadline_options");
    EXPECT_NE(status.message().find(field), std::string::npos) << status.ToString();
  };
  check({.child_timeout_margin = -seconds(1)}, "child_timeout_margin");
  check({.max_call_depth = 0}, "max_call_depth");
}

}  // namespace
}  // namespace agentmesh::resilience
