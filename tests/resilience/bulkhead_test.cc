#include "agentmesh/resilience/bulkhead.h"

#include <gtest/gtest.h>

namespace agentmesh::resilience {
namespace {

using Verdict = Bulkhead::Verdict;

// Two slots and a queue of ten: low may queue below 5, normal below 9, high up to 10.
const BulkheadOptions kSmall{.max_concurrent = 2, .max_queue = 10};

class BulkheadTest : public ::testing::Test {
 protected:
  Bulkhead::Admission Enter(Priority priority) { return bulkhead_.TryEnter(next_++, priority); }
  void Fill(int count, Priority priority) {
    for (int i = 0; i < count; ++i) {
      ASSERT_EQ(Enter(priority).verdict, Verdict::kQueued);
    }
  }

  Bulkhead bulkhead_{kSmall};
  std::uint64_t next_ = 1;
};

TEST_F(BulkheadTest, RunsWhileSlotsAreFree) {
  EXPECT_EQ(Enter(Priority::kLow).verdict, Verdict::kRun);
  EXPECT_EQ(Enter(Priority::kNormal).verdict, Verdict::kRun);
  EXPECT_EQ(bulkhead_.running(), 2);
  EXPECT_EQ(Enter(Priority::kNormal).verdict, Verdict::kQueued);
  EXPECT_EQ(bulkhead_.queued(), 1);
  EXPECT_EQ(bulkhead_.queued(Priority::kNormal), 1);
}

TEST_F(BulkheadTest, LowIsShedOnceTheQueueIsHalfFull) {
  Enter(Priority::kNormal);
  Enter(Priority::kNormal);
  Fill(5, Priority::kLow);
  const auto admission = Enter(Priority::kLow);
  EXPECT_EQ(admission.verdict, Verdict::kShed);
  EXPECT_FALSE(admission.evicted);
  EXPECT_EQ(Enter(Priority::kNormal).verdict, Verdict::kQueued);
}

TEST_F(BulkheadTest, NormalIsShedAtNinetyPercentAndHighFillsTheQueue) {
  Enter(Priority::kHigh);
  Enter(Priority::kHigh);
  Fill(9, Priority::kNormal);
  EXPECT_EQ(Enter(Priority::kNormal).verdict, Verdict::kShed);
  EXPECT_EQ(Enter(Priority::kHigh).verdict, Verdict::kQueued);
  EXPECT_EQ(bulkhead_.queued(), 10);
}

TEST_F(BulkheadTest, FullQueueWithNothingLowerIsFull) {
  Enter(Priority::kHigh);
  Enter(Priority::kHigh);
  Fill(10, Priority::kHigh);
  const auto admission = Enter(Priority::kHigh);
  EXPECT_EQ(admission.verdict, Verdict::kFull);
  EXPECT_FALSE(admission.evicted);
  EXPECT_EQ(bulkhead_.queued(), 10);
}

TEST_F(BulkheadTest, FullQueueEvictsTheNewestLowerPriorityCall) {
  Enter(Priority::kHigh);
  Enter(Priority::kHigh);
  Fill(3, Priority::kLow);  // tickets 3, 4, 5
  Fill(6, Priority::kNormal);
  Fill(1, Priority::kHigh);
  ASSERT_EQ(bulkhead_.queued(), 10);

  auto admission = Enter(Priority::kNormal);
  EXPECT_EQ(admission.verdict, Verdict::kQueued);
  EXPECT_EQ(admission.evicted, std::optional<std::uint64_t>(5));
  admission = Enter(Priority::kHigh);
  EXPECT_EQ(admission.verdict, Verdict::kQueued);
  EXPECT_EQ(admission.evicted, std::optional<std::uint64_t>(4));
  EXPECT_EQ(bulkhead_.queued(), 10);
  EXPECT_EQ(bulkhead_.queued(Priority::kLow), 1);
  EXPECT_EQ(bulkhead_.queued(Priority::kNormal), 7);
  EXPECT_EQ(bulkhead_.queued(Priority::kHigh), 2);
}

TEST_F(BulkheadTest, HighEvictsLowBeforeNormal) {
  Enter(Priority::kHigh);
  Enter(Priority::kHigh);
  Fill(2, Priority::kLow);     // 3, 4
  Fill(7, Priority::kNormal);  // 5..11
  Fill(1, Priority::kHigh);    // 12
  const auto admission = Enter(Priority::kHigh);
  EXPECT_EQ(admission.evicted, std::optional<std::uint64_t>(4));
}

TEST_F(BulkheadTest, NormalNeverEvictsNormalOrHigh) {
  Enter(Priority::kHigh);
  Enter(Priority::kHigh);
  Fill(9, Priority::kNormal);
  Fill(1, Priority::kHigh);
  const auto admission = Enter(Priority::kNormal);
  EXPECT_EQ(admission.verdict, Verdict::kFull);
  EXPECT_FALSE(admission.evicted);
}

TEST_F(BulkheadTest, ExitHandsTheSlotOverByPriorityThenFifo) {
  Enter(Priority::kNormal);  // 1 runs
  Enter(Priority::kNormal);  // 2 runs
  Enter(Priority::kLow);     // 3
  Enter(Priority::kNormal);  // 4
  Enter(Priority::kHigh);    // 5
  Enter(Priority::kNormal);  // 6
  Enter(Priority::kHigh);    // 7
  const std::uint64_t expected[] = {5, 7, 4, 6, 3};
  for (std::uint64_t ticket : expected) {
    EXPECT_EQ(bulkhead_.Exit(), std::optional<std::uint64_t>(ticket));
    EXPECT_EQ(bulkhead_.running(), 2);
  }
  EXPECT_EQ(bulkhead_.queued(), 0);
  EXPECT_EQ(bulkhead_.Exit(), std::nullopt);
  EXPECT_EQ(bulkhead_.running(), 1);
  EXPECT_EQ(bulkhead_.Exit(), std::nullopt);
  EXPECT_EQ(bulkhead_.running(), 0);
  EXPECT_EQ(Enter(Priority::kLow).verdict, Verdict::kRun);
}

TEST_F(BulkheadTest, CancelRemovesOnlyQueuedTickets) {
  Enter(Priority::kNormal);  // 1 runs
  Enter(Priority::kNormal);  // 2 runs
  Enter(Priority::kNormal);  // 3
  Enter(Priority::kNormal);  // 4
  EXPECT_FALSE(bulkhead_.Cancel(1));
  EXPECT_FALSE(bulkhead_.Cancel(99));
  EXPECT_TRUE(bulkhead_.Cancel(3));
  EXPECT_FALSE(bulkhead_.Cancel(3));
  EXPECT_EQ(bulkhead_.queued(), 1);
  EXPECT_EQ(bulkhead_.running(), 2);
  EXPECT_EQ(bulkhead_.Exit(), std::optional<std::uint64_t>(4));
}

TEST_F(BulkheadTest, CancelMakesRoomForAnotherCall) {
  Enter(Priority::kHigh);
  Enter(Priority::kHigh);
  Fill(10, Priority::kHigh);  // 3..12
  ASSERT_EQ(Enter(Priority::kHigh).verdict, Verdict::kFull);
  ASSERT_TRUE(bulkhead_.Cancel(7));
  EXPECT_EQ(Enter(Priority::kHigh).verdict, Verdict::kQueued);
}

TEST_F(BulkheadTest, ZeroQueueRunsOrRejects) {
  Bulkhead bulkhead({.max_concurrent = 1, .max_queue = 0});
  EXPECT_EQ(bulkhead.TryEnter(1, Priority::kHigh).verdict, Verdict::kRun);
  EXPECT_EQ(bulkhead.TryEnter(2, Priority::kHigh).verdict, Verdict::kFull);
  EXPECT_EQ(bulkhead.TryEnter(3, Priority::kLow).verdict, Verdict::kShed);
}

TEST(PriorityTest, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(ParsePriority("high"), Priority::kHigh);
  EXPECT_EQ(ParsePriority("HIGH"), Priority::kHigh);
  EXPECT_EQ(ParsePriority("Normal"), Priority::kNormal);
  EXPECT_EQ(ParsePriority("low"), Priority::kLow);
  EXPECT_EQ(ParsePriority(""), Priority::kNormal);
  EXPECT_EQ(ParsePriority("urgent"), std::nullopt);
  EXPECT_EQ(ParsePriority("hig"), std::nullopt);
  EXPECT_EQ(PriorityName(Priority::kHigh), "high");
  EXPECT_EQ(PriorityName(Priority::kNormal), "normal");
  EXPECT_EQ(PriorityName(Priority::kLow), "low");
}

TEST(BulkheadOptionsTest, DefaultsAreValid) {
  const BulkheadOptions options;
  EXPECT_EQ(options.max_concurrent, 64);
  EXPECT_EQ(options.max_queue, 1000);
  EXPECT_TRUE(Validate(options).ok());
}

TEST(BulkheadOptionsTest, ValidateNamesTheBadField) {
  const auto check = [](BulkheadOptions options, std::string_view field) {
    const core::Status status = Validate(options);
    EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.reason(), "invalid_bulkhead_options");
    EXPECT_NE(status.message().find(field), std::string::npos) << status.ToString();
  };
  check({.max_concurrent = 0}, "max_concurrent");
  check({.max_queue = -1}, "max_queue");
  check({.low_shed_fraction = 1.5}, "low_shed_fraction");
  check({.normal_shed_fraction = -0.5}, "normal_shed_fraction");
  check({.low_shed_fraction = 0.95}, "low_shed_fraction");
}

}  // namespace
}  // namespace agentmesh::resilience
