#include "store/sqlite/instance_json.h"

#include <gtest/gtest.h>

#include "store_test_support.h"

namespace agentmesh::store::sqlite {
namespace {

TEST(InstanceJsonTest, EncodeThenDecodeGivesTheSameSpec) {
  const health::InstanceSpec spec = store::testing::MakeInstance("a-1").spec;
  auto decoded = DecodeInstanceSpec(EncodeInstanceSpec(spec));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, spec);
}

TEST(InstanceJsonTest, EmptyCollectionsRoundTrip) {
  health::InstanceSpec spec;
  spec.id = "b";
  auto decoded = DecodeInstanceSpec(EncodeInstanceSpec(spec));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, spec);
}

TEST(InstanceJsonTest, MalformedJsonIsDataLoss) {
  for (const char* text : {"", "not json", "[1,2]", R"({"id":"a"})",
                           R"({"id":"a","agent":"x","phase":"2","domain":"","address":"",
                               "weight":1,"capabilities":[],"metadata":{}})"}) {
    auto decoded = DecodeInstanceSpec(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code(), core::StatusCode::kDataLoss) << text;
    EXPECT_EQ(decoded.error().reason(), "store_corrupt");
  }
}

}  // namespace
}  // namespace agentmesh::store::sqlite
