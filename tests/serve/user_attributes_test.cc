#include "nudge/serve/user_attributes.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nudge::serve {
namespace {

using Values = std::vector<std::pair<std::string, std::string>>;
using Numbers = std::vector<std::pair<std::string, float>>;

TEST(UserAttributes, TopLevelScalarsAndArraysBecomeFeatures) {
  const FeatureDescription d = describe_user(
      R"({"segment":"s03","premium":true,"age":31.5,"interests":["jazz",7,false,{"x":1},2.5],"nested":{"a":"b"},)"
      R"("none":null,"huge":1e39})");
  EXPECT_EQ(
      d.values,
      (Values{
          {"interests", "jazz"}, {"interests", "7"}, {"interests", "false"}, {"premium", "true"}, {"segment", "s03"}}))
      << "object keys come sorted; nested objects, null and non-integer array numbers are left out";
  EXPECT_EQ(d.numbers, (Numbers{{"age", 31.5f}})) << "1e39 does not fit a float";
}

TEST(UserAttributes, AnythingButAnObjectDescribesNothing) {
  // 1e400 does not fit a double: the text is not JSON (PUT /v1/users refuses it with 400).
  for (const char* text : {"", "[]", "[1]", "\"s03\"", "3", "{\"a\":", "{\"a\":\"\xff\"}", "null", "{\"age\":1e400}"})
    EXPECT_TRUE(describe_user(text).empty()) << text;
}

TEST(UserAttributes, FeatureTableKeepsTheFirstKindOfAField) {
  const std::vector<FeatureDescription> users = {describe_user(R"({"segment":"s1","age":30})"),
                                                 describe_user(R"({"segment":["s2","s3"],"age":"old"})"),
                                                 describe_user("{}")};
  const FeatureTable t = user_feature_table(users);
  ASSERT_EQ(t.num_entities(), 3u);
  const auto segment = t.find_field("segment"), age = t.find_field("age");
  ASSERT_TRUE(segment && age);
  EXPECT_EQ(t.fields()[*segment].kind, FeatureKind::kMultiCategorical);
  EXPECT_EQ(t.fields()[*age].kind, FeatureKind::kNumeric);
  EXPECT_EQ(t.tokens(0).size(), 1u);
  EXPECT_EQ(t.tokens(1).size(), 2u) << "age=old is left out: age is numeric";
  EXPECT_TRUE(t.tokens(2).empty());
  EXPECT_FLOAT_EQ(t.numeric(0, *age), 30.f);
  EXPECT_TRUE(std::isnan(t.numeric(1, *age)));
}

}  // namespace
}  // namespace nudge::serve
