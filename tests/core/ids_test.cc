#include "agentmesh/core/ids.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace agentmesh::core {
namespace {

TEST(ValidateIdTest, AcceptsLettersDigitsDotsUnderscoresAndDashes) {
  EXPECT_TRUE(ValidateId("ai-agent-orchestrator", "agent").ok());
  EXPECT_TRUE(ValidateId("a", "agent").ok());
  EXPECT_TRUE(ValidateId("7", "agent").ok());
  EXPECT_TRUE(ValidateId("node_1.eu-west", "node_id").ok());
  EXPECT_TRUE(ValidateId(std::string(kMaxIdLength, 'x'), "agent").ok());
}

TEST(ValidateIdTest, RejectsEmptyWithReasonNamingTheField) {
  Status s = ValidateId("", "instance_id");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), "invalid_instance_id");
  EXPECT_NE(s.message().find("instance_id"), std::string::npos);
}

TEST(ValidateIdTest, RejectsTooLong) {
  EXPECT_EQ(ValidateId(std::string(kMaxIdLength + 1, 'x'), "agent").reason(), "invalid_agent");
}

TEST(ValidateIdTest, RejectsBadFirstCharacter) {
  for (const char* id : {"-a", ".a", "_a"}) {
    EXPECT_FALSE(ValidateId(id, "agent").ok()) << id;
  }
}

TEST(ValidateIdTest, RejectsCharactersOutsideTheAlphabet) {
  for (const char* id : {"a b", "a/b", "a:b", "a\nb", "ägent", "a@b", "a%2F"}) {
    EXPECT_FALSE(ValidateId(id, "agent").ok()) << id;
  }
  EXPECT_FALSE(ValidateId(std::string_view("a\0b", 3), "agent").ok());
}

TEST(NewRandomIdTest, ReturnsSixteenLowercaseHexCharacters) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = NewRandomId();
    ASSERT_EQ(id.size(), 16u);
    for (char c : id) {
      EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
    }
    EXPECT_TRUE(ValidateId(id, "node_id").ok());
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace agentmesh::core
