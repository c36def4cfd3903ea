#include "agentmesh/coord/types.h"

#include <string>

#include <gtest/gtest.h>

namespace agentmesh::coord {
namespace {

TEST(ValidateNameTest, AcceptsPathLikeNames) {
  EXPECT_TRUE(ValidateName("a").ok());
  EXPECT_TRUE(ValidateName("coordinator/global").ok());
  EXPECT_TRUE(ValidateName("db:orders.v2_lock-1").ok());
  EXPECT_TRUE(ValidateName(std::string(200, 'x')).ok());
}

TEST(ValidateNameTest, RejectsEmptyLongOddCharactersAndBadSlashes) {
  for (const std::string& bad :
       {std::string(), std::string(201, 'x'), std::string("a b"), std::string("/a"),
        std::string("a/"), std::string("a//b"), std::string("a?b"), std::string("é")}) {
    const core::Status s = ValidateName(bad);
    EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.reason(), "invalid_name") << bad;
  }
}

TEST(SequencerTest, TokensStrictlyIncreaseAndTheCeilingMovesByBlocks) {
  Sequencer seq;
  EXPECT_EQ(seq.Next(), 1u);
  EXPECT_TRUE(seq.NeedsCeiling());
  EXPECT_EQ(seq.ceiling(), Sequencer::kBlock);
  seq.MarkCeilingPersisted();
  for (std::uint64_t i = 2; i <= Sequencer::kBlock; ++i) {
    EXPECT_EQ(seq.Next(), i);
    EXPECT_FALSE(seq.NeedsCeiling());
  }
  EXPECT_EQ(seq.Next(), Sequencer::kBlock + 1);
  EXPECT_TRUE(seq.NeedsCeiling());
  EXPECT_EQ(seq.ceiling(), 2 * Sequencer::kBlock);
}

TEST(SequencerTest, AfterARestartTokensResumeAboveEverythingHandedOut) {
  Sequencer before;
  std::uint64_t last = 0;
  for (int i = 0; i < 1500; ++i) {
    last = before.Next();
  }
  // Only the ceiling is durable; a restart resumes above it.
  Sequencer after;
  after.Restore(before.ceiling());
  EXPECT_GT(after.Next(), last);
  EXPECT_FALSE(after.NeedsCeiling() && after.ceiling() <= before.ceiling());
}

TEST(EffectsTest, DirtyObjectsAreDeduplicated) {
  Effects a;
  a.MarkDirty(ObjectKind::kLock, "x");
  a.MarkDirty(ObjectKind::kLock, "x");
  Effects b;
  b.MarkDirty(ObjectKind::kLock, "x");
  b.MarkDirty(ObjectKind::kElection, "x");
  a.Append(std::move(b));
  EXPECT_EQ(a.dirty.size(), 2u);
}

}  // namespace
}  // namespace agentmesh::coord
