#include "nudge/params.h"

#include <gtest/gtest.h>

#include "nudge/registry.h"

namespace nudge {
namespace {

TEST(ParamsTest, ParseReadAndCanonicalForm) {
  auto p = Params::parse(" factors=64, alpha = 2.5 ,flag=true").value();
  int64_t f = 0;
  double a = 0;
  bool b = false;
  ASSERT_TRUE(p.read_int("m", "factors", 1, 100, &f).is_ok());
  ASSERT_TRUE(p.read_double("m", "alpha", 0, 10, &a).is_ok());
  ASSERT_TRUE(p.read_bool("m", "flag", &b).is_ok());
  EXPECT_EQ(f, 64);
  EXPECT_EQ(a, 2.5);
  EXPECT_TRUE(b);
  EXPECT_EQ(p.to_string(), "alpha=2.5,factors=64,flag=true");
}

TEST(ParamsTest, ErrorsNameOwnerKeyAndRange) {
  auto p = Params::parse("factors=0,alpha=x,mode=fast").value();
  int64_t f = 0;
  double a = 0;
  std::string mode;
  EXPECT_EQ(p.read_int("ials", "factors", 1, 4096, &f).to_string(),
            "invalid argument: ials: parameter 'factors' must be an integer in [1, 4096], got '0'");
  EXPECT_EQ(p.read_double("ials", "alpha", 0, 100, &a).to_string(),
            "invalid argument: ials: parameter 'alpha' must be a number in [0, 100], got 'x'");
  EXPECT_EQ(p.read_choice("bpr", "mode", {"slow", "uniform"}, &mode).to_string(),
            "invalid argument: bpr: parameter 'mode' must be one of slow, uniform, got 'fast'");
  EXPECT_EQ(Params::parse("a=1,a=2").status().to_string(), "invalid argument: parameters: 'a' given twice");
  EXPECT_EQ(Params::parse("novalue").status().to_string(),
            "invalid argument: parameters: expected key=value, got 'novalue'");
}

TEST(ParamsTest, RegistryRejectsUnknownModelsAndKeys) {
  EXPECT_EQ(
      make_recommender("als", {}).status().to_string(),
      "invalid argument: unknown model 'als' (known: popularity, itemknn, userknn, ials, bpr, ease, svd, svdpp, gmf, "
      "mlp, neumf, twotower, transition, sasrec, fusion)");
  EXPECT_EQ(
      make_recommender("ials", Params::parse("factor=3").value()).status().to_string(),
      "invalid argument: ials: unknown parameter 'factor' (known: alpha, cg_steps, factors, init_scale, iterations, "
      "reg_exponent, regularization, seed, threads, training_loss)");
  for (const auto& name : registered_models()) EXPECT_TRUE(make_recommender(name, {}).is_ok()) << name;
}

}  // namespace
}  // namespace nudge
