#include "nudge/search_space.h"

#include <gtest/gtest.h>

#include "common/text.h"
#include "nudge/registry.h"
#include "test_util.h"

namespace nudge {
namespace {

TEST(SearchSpaceTest, ParsesIntegerRealAndChoiceRanges) {
  auto d = parse_dimension("factors=16..256:log");
  ASSERT_OK(d.status());
  EXPECT_EQ(d.value().key, "factors");
  EXPECT_EQ(d.value().kind, Dimension::Kind::kInteger);
  EXPECT_TRUE(d.value().log);
  EXPECT_EQ(d.value().range_text(), "16..256:log");
  auto r = parse_dimension(" id_dropout = 0.0..0.5 ");
  ASSERT_OK(r.status());
  EXPECT_EQ(r.value().kind, Dimension::Kind::kReal);
  EXPECT_FALSE(r.value().log);
  auto c = parse_dimension("similarity=cosine, bm25");
  ASSERT_OK(c.status());
  EXPECT_EQ(c.value().kind, Dimension::Kind::kChoice);
  EXPECT_EQ(c.value().choices, (std::vector<std::string>{"cosine", "bm25"}));
}

TEST(SearchSpaceTest, BadRangesAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"factors", "search range 'factors': expected key=low..high[:log] or key=a,b,c"},
      {"factors=", "search range 'factors=': no values after '='"},
      {"factors=256..16", "search range 'factors=256..16': low bound above high bound"},
      {"alpha=0..10:log", "search range 'alpha=0..10:log': a log range needs bounds above 0"},
      {"alpha=a..b", "search range 'alpha=a..b': bounds must be numbers"},
      {"alpha=1..nan", "search range 'alpha=1..nan': bounds must be numbers"},
      {"similarity=cosine,,bm25", "search range 'similarity=cosine,,bm25': an empty choice"},
  };
  for (const auto& [text, message] : cases) {
    auto d = parse_dimension(text);
    ASSERT_FALSE(d.is_ok()) << text;
    EXPECT_EQ(d.status().message(), message);
  }
}

TEST(SearchSpaceTest, SamplesStayInRangeAndFollowTheSeed) {
  const Dimension ints = parse_dimension("factors=16..256:log").value();
  const Dimension reals = parse_dimension("alpha=0.001..10:log").value();
  Rng a(7), b(7);
  bool low_half = false, high_half = false;
  for (int n = 0; n < 500; ++n) {
    const std::string f = ints.sample(a);
    EXPECT_EQ(f, ints.sample(b));
    const long v = std::stol(f);
    EXPECT_GE(v, 16);
    EXPECT_LE(v, 256);
    EXPECT_EQ(std::to_string(v), f);
    const double x = std::stod(reals.sample(a));
    reals.sample(b);
    EXPECT_GE(x, 0.001);
    EXPECT_LE(x, 10);
    // Log-uniform: as many draws below the geometric middle (0.1) as above it.
    (x < 0.1 ? low_half : high_half) = true;
  }
  EXPECT_TRUE(low_half && high_half);
}

// Every default range is one its model accepts, at both ends and for every choice.
TEST(SearchSpaceTest, EveryModelHasAnAcceptedDefaultSpace) {
  for (const std::string& model : registered_models()) {
    auto space = default_search_space(model);
    ASSERT_OK(space.status());
    EXPECT_FALSE(space.value().dimensions.empty()) << model;
    for (const Dimension& d : space.value().dimensions) {
      std::vector<std::string> values = d.choices;
      if (values.empty()) values = {fmt_number(d.low), fmt_number(d.high)};
      for (const std::string& v : values) {
        const std::string spec = model + ":" + d.key + "=" + v;
        EXPECT_TRUE(make_recommender_from_spec(spec).is_ok()) << spec;
      }
    }
  }
}

TEST(SearchSpaceTest, FixedParametersAreNotSearched) {
  const SearchSpace space = default_search_space("ials:alpha=2,threads=1").value();
  EXPECT_EQ(space.resource, "iterations");
  for (const Dimension& d : space.dimensions) EXPECT_NE(d.key, "alpha");
  EXPECT_EQ(space.dimensions.size(), 2u);
}

TEST(SearchSpaceTest, FusionSearchesItsComponentsUnderTheirNames) {
  const SearchSpace space = default_search_space("fusion:models=ials+itemknn,ials.factors=32").value();
  std::vector<std::string> keys;
  for (const Dimension& d : space.dimensions) keys.push_back(d.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"method", "normalise", "ials.regularization", "ials.alpha",
                                            "itemknn.neighbours", "itemknn.shrinkage", "itemknn.similarity"}));
  EXPECT_EQ(space.resource, "");
}

TEST(SearchSpaceTest, OverridesReplaceOrAddDimensions) {
  SearchSpace space = default_search_space("ials").value();
  ASSERT_OK(override_dimension(&space, "ials", "ials.factors=8..16"));
  ASSERT_OK(override_dimension(&space, "ials", "cg_steps=2,3"));
  EXPECT_EQ(space.dimensions.size(), 4u);
  EXPECT_EQ(space.dimensions[0].key, "factors");
  EXPECT_EQ(space.dimensions[0].range_text(), "8..16");
  EXPECT_EQ(space.dimensions[3].key, "cg_steps");
  // Inside fusion, a component's name is part of the key.
  SearchSpace fusion = default_search_space("fusion:models=ials+bpr").value();
  ASSERT_OK(override_dimension(&fusion, "fusion", "bpr.factors=8..16"));
  const auto bpr_factors = std::find_if(fusion.dimensions.begin(), fusion.dimensions.end(),
                                        [](const Dimension& d) { return d.key == "bpr.factors"; });
  ASSERT_NE(bpr_factors, fusion.dimensions.end());
  EXPECT_EQ(bpr_factors->range_text(), "8..16");
  EXPECT_EQ(override_dimension(&space, "ials", "ials.=1..2").message(),
            "search range 'ials.=1..2': no parameter named");
  EXPECT_FALSE(default_search_space("nope").is_ok());
}

}  // namespace
}  // namespace nudge
