#include "serve/query_string.h"

#include <gtest/gtest.h>

namespace nudge::serve {
namespace {

TEST(QueryString, SplitsAndDecodes) {
  std::string bad;
  auto q = parse_target("/v1/recommend?user=a%20b&k=5&&tag=x+y&flag", &bad);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->path, "/v1/recommend");
  ASSERT_EQ(q->params.size(), 4u);
  EXPECT_EQ(q->params[0], (std::pair<std::string, std::string>{"user", "a b"}));
  EXPECT_EQ(q->params[2].second, "x y");
  EXPECT_EQ(q->params[3], (std::pair<std::string, std::string>{"flag", ""}));
  auto path = parse_target("/v1/items/a%2Fb+c", &bad);
  ASSERT_TRUE(path);
  EXPECT_EQ(path->path, "/v1/items/a/b+c");  // '+' is literal in a path
}

TEST(QueryString, MalformedEscapesNameTheParameter) {
  std::string bad;
  EXPECT_FALSE(parse_target("/x?user=%zz", &bad));
  EXPECT_EQ(bad, "user");
  EXPECT_FALSE(parse_target("/x?k=1&item=%4", &bad));
  EXPECT_EQ(bad, "item");
  EXPECT_FALSE(percent_decode("%", false));
}

}  // namespace
}  // namespace nudge::serve
