#include "nudge/param_table.h"

#include <gtest/gtest.h>

#include "nudge/dataset.h"
#include "nudge/registry.h"
#include "test_util.h"

namespace nudge {
namespace {

enum class Shape { kRound, kSquare };

struct Options {
  int64_t count = 3;
  double rate = 0.5;
  bool flag = true;
  std::string name = "x";
  std::string mode = "fast";
  Shape shape = Shape::kRound;
};

const ParamTable<Options>& table() {
  using T = ParamTable<Options>;
  static const T t({
      T::integer("count", &Options::count, 1, 10, "how many"),
      T::number("rate", &Options::rate, 0, 1, "how fast"),
      T::boolean("flag", &Options::flag, ""),
      T::text("name", &Options::name, "any text", ""),
      T::choice("mode", &Options::mode, {"fast", "slow"}, ""),
      T::choice_of<Shape>("shape", &Options::shape, {{"round", Shape::kRound}, {"square", Shape::kSquare}}, {}, ""),
  });
  return t;
}

TEST(ParamTableTest, ReadsEveryKindOfParameter) {
  Options o;
  ASSERT_OK(table().read("m", Params::parse("count=7,rate=0.25,flag=false,name=y,mode=slow,shape=square").value(), &o));
  EXPECT_EQ(o.count, 7);
  EXPECT_EQ(o.rate, 0.25);
  EXPECT_FALSE(o.flag);
  EXPECT_EQ(o.name, "y");
  EXPECT_EQ(o.mode, "slow");
  EXPECT_EQ(o.shape, Shape::kSquare);
  Options untouched;
  ASSERT_OK(table().read("m", Params{}, &untouched));  // absent keys keep their defaults
  EXPECT_EQ(untouched.count, 3);
  EXPECT_EQ(untouched.shape, Shape::kRound);
}

TEST(ParamTableTest, ErrorsNameOwnerKeyAndWhatIsAccepted) {
  Options o;
  EXPECT_EQ(table().read("m", Params::parse("count=11").value(), &o).to_string(),
            "invalid argument: m: parameter 'count' must be an integer in [1, 10], got '11'");
  EXPECT_EQ(table().read("m", Params::parse("shape=oval").value(), &o).to_string(),
            "invalid argument: m: parameter 'shape' must be one of round, square, got 'oval'");
  EXPECT_EQ(table().read("m", Params::parse("cuont=1").value(), &o).to_string(),
            "invalid argument: m: unknown parameter 'cuont' (known: count, flag, mode, name, rate, shape)");
  // Keys the caller handles itself are accepted and left alone.
  EXPECT_TRUE(table().read("m", Params::parse("extra=1").value(), &o, {"extra"}).is_ok());
  EXPECT_EQ(table().read_value("f.toml:3: m", "rate", "2", &o).to_string(),
            "invalid argument: f.toml:3: m: parameter 'rate' must be a number in [0, 1], got '2'");
  EXPECT_EQ(table().read_value("f.toml:3: m", "nope", "2", &o).to_string(),
            "invalid argument: f.toml:3: m: unknown parameter 'nope'");
  ASSERT_OK(table().read_value("here", "count", "9", &o));
  EXPECT_EQ(o.count, 9);
}

TEST(ParamTableTest, DescribesAcceptedValuesAndDefaults) {
  const auto rows = table().describe(Options{});
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].key, "count");
  EXPECT_EQ(rows[0].accepts, "integer in [1, 10]");
  EXPECT_EQ(rows[0].default_value, "3");
  EXPECT_EQ(rows[0].help, "how many");
  EXPECT_EQ(rows[1].default_value, "0.5");
  EXPECT_EQ(rows[2].default_value, "true");
  EXPECT_EQ(rows[4].accepts, "fast, slow");
  EXPECT_EQ(rows[5].accepts, "round, square");
  EXPECT_EQ(rows[5].default_value, "round");
}

// A small dataset with structure: users 0-9 take items 0-9, users 10-29 take items 10-19.
Dataset tiny() {
  DatasetBuilder b;
  auto& c = b.catalog();
  for (int u = 0; u < 30; ++u) c.users.intern("u" + std::to_string(u));
  for (int i = 0; i < 20; ++i) c.items.intern("i" + std::to_string(i));
  for (uint32_t u = 0; u < 30; ++u)
    for (uint32_t i = u < 10 ? 0 : 10; i < (u < 10 ? 10u : 20u); ++i)
      if ((u + i) % 4 != 0) b.interactions().push_back(u, i, 0, 1.f + static_cast<float>(i % 5), u * 100 + i);
  return b.build();
}

// What `nudge params` documents is what the model does: every key set to its documented
// default gives the same model as no keys at all.
TEST(ParamTableTest, EveryRegisteredModelsDocumentedDefaultsAreItsDefaults) {
  const Dataset d = tiny();
  for (const std::string& name : registered_models()) {
    const auto rows = model_parameters(name);
    ASSERT_OK(rows.status());
    ASSERT_FALSE(rows->empty()) << name;
    Params all, none;
    for (const ParamInfo& p : *rows) all.set(p.key, p.default_value);
    // One thread where the thread count changes the result (Hogwild SGD, Adagrad).
    for (Params* p : {&all, &none}) {
      if (all.has("threads")) p->set("threads", "1");
      if (name == "fusion") p->set("twotower.threads", "1");
    }
    auto explicit_defaults = make_recommender(name, all);
    auto implicit_defaults = make_recommender(name, none);
    ASSERT_OK(explicit_defaults.status());
    ASSERT_OK(implicit_defaults.status());
    ASSERT_OK((*explicit_defaults)->fit(d));
    ASSERT_OK((*implicit_defaults)->fit(d));
    std::vector<float> a(d.num_items()), b(d.num_items());
    for (uint32_t u : {0u, 15u}) {
      (*explicit_defaults)->score_user(u, a);
      (*implicit_defaults)->score_user(u, b);
      EXPECT_EQ(a, b) << name << " user " << u;
    }
  }
  EXPECT_FALSE(model_parameters("nope").is_ok());
}

}  // namespace
}  // namespace nudge
