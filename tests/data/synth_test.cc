#include "nudge/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "nudge/stats.h"

namespace nudge {
namespace {

SynthOptions small_options() {
  SynthOptions o;
  o.num_users = 800;
  o.num_items = 600;
  o.num_interactions = 40000;
  o.num_topics = 10;
  return o;
}

TEST(SynthTest, SizesAndConstraintsHoldExactly) {
  const SynthData s = synthesize(small_options()).value();
  const Dataset& d = s.dataset;
  EXPECT_EQ(d.num_interactions(), 40000u);
  EXPECT_EQ(d.num_users(), 800u);
  EXPECT_EQ(d.num_items(), 600u);
  EXPECT_EQ(d.user_items().nnz(), 40000u);  // unique pairs
  for (uint32_t u = 0; u < d.num_users(); ++u) ASSERT_GE(d.user_items().row_nnz(u), 5u);
  EXPECT_EQ(d.catalog().item_features.num_entities(), 600u);
  EXPECT_EQ(d.catalog().user_features.num_entities(), 800u);
}

TEST(SynthTest, SameSeedSameData) {
  const Dataset a = synthesize(small_options()).value().dataset;
  const Dataset b = synthesize(small_options()).value().dataset;
  SynthOptions other = small_options();
  other.seed = 43;
  const Dataset c = synthesize(other).value().dataset;
  EXPECT_EQ(a.interactions().items, b.interactions().items);
  EXPECT_EQ(a.interactions().timestamps, b.interactions().timestamps);
  EXPECT_NE(a.interactions().items, c.interactions().items);
}

TEST(SynthTest, PopularitySkewGrowsWithZipfExponent) {
  SynthOptions flat = small_options();
  flat.popularity_exponent = 0.0;
  SynthOptions skewed = small_options();
  skewed.popularity_exponent = 1.5;
  const double g_flat = compute_stats(synthesize(flat).value().dataset).item_gini;
  const double g_skew = compute_stats(synthesize(skewed).value().dataset).item_gini;
  EXPECT_LT(g_flat, 0.3);
  EXPECT_GT(g_skew, 0.45);
}

TEST(SynthTest, UsersMostlyConsumeTheirTasteTopics) {
  const SynthData s = synthesize(small_options()).value();
  const auto& in = s.dataset.interactions();
  const uint32_t K = s.truth.num_topics;
  // Mean taste weight of the consumed item's topic; a random topic would average 1/K.
  double mean = 0;
  for (size_t r = 0; r < in.size(); ++r) mean += s.truth.user_taste[in.users[r] * K + s.truth.item_topic[in.items[r]]];
  mean /= static_cast<double>(in.size());
  EXPECT_GT(mean, 3.0 / K);
}

// The structure is recoverable from behaviour alone: an item's most co-consumed neighbour
// (cosine over users) is usually in the same topic, against 1/K by chance.
TEST(SynthTest, PlantedTopicsRecoverableFromCoOccurrence) {
  const SynthData s = synthesize(small_options()).value();
  const CsrMatrix& iu = s.dataset.item_users();
  const CsrMatrix& ui = s.dataset.user_items();
  const uint32_t n = s.dataset.num_items();
  uint32_t same = 0, counted = 0;
  std::vector<float> co(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (iu.row_nnz(i) == 0) continue;
    std::fill(co.begin(), co.end(), 0.f);
    for (uint32_t u : iu.row_indices(i)) {
      for (uint32_t j : ui.row_indices(u)) co[j] += 1.f;
    }
    co[i] = 0;
    uint32_t best = i;
    float best_score = 0;
    for (uint32_t j = 0; j < n; ++j) {
      if (iu.row_nnz(j) == 0) continue;
      const float cos = co[j] / std::sqrt(static_cast<float>(iu.row_nnz(i)) * static_cast<float>(iu.row_nnz(j)));
      if (cos > best_score) best_score = cos, best = j;
    }
    if (best == i) continue;
    ++counted;
    same += s.truth.item_topic[best] == s.truth.item_topic[i];
  }
  EXPECT_GT(static_cast<double>(same) / counted, 0.6);
}

TEST(SynthTest, FeaturesCarryTheTopic) {
  const SynthData s = synthesize(small_options()).value();
  const auto& t = s.dataset.catalog().item_features;
  const uint32_t cat = *t.find_field("category");
  for (uint32_t i = 0; i < s.dataset.num_items(); ++i) {
    const std::string expect =
        "c" + std::string(s.truth.item_topic[i] < 10 ? "0" : "") + std::to_string(s.truth.item_topic[i]);
    bool found = false;
    for (uint32_t tok : t.tokens(i)) found |= t.token_field(tok) == cat && t.token_value(tok) == expect;
    ASSERT_TRUE(found) << "item " << i;
    ASSERT_GT(t.numeric(i, *t.find_field("price")), 0.f);
  }
}

TEST(SynthTest, RatingsReflectTaste) {
  SynthOptions o = small_options();
  o.ratings = true;
  const SynthData s = synthesize(o).value();
  const auto& in = s.dataset.interactions();
  const uint32_t K = s.truth.num_topics;
  double liked_sum = 0, other_sum = 0;
  int liked = 0, other = 0;
  for (size_t r = 0; r < in.size(); ++r) {
    ASSERT_TRUE(in.values[r] >= 1.f && in.values[r] <= 5.f && in.values[r] == std::round(in.values[r]));
    ASSERT_EQ(s.dataset.catalog().event_types.name(in.types[r]), "rating");
    const float taste = s.truth.user_taste[in.users[r] * K + s.truth.item_topic[in.items[r]]];
    if (taste > 0.3f) liked_sum += in.values[r], ++liked;
    else if (taste < 0.02f) other_sum += in.values[r], ++other;
  }
  ASSERT_GT(liked, 100);
  ASSERT_GT(other, 100);
  EXPECT_GT(liked_sum / liked, other_sum / other + 0.5);
}

TEST(SynthTest, DriftMovesLateEventsTowardsTheLateTaste) {
  SynthOptions o = small_options();
  o.drift = 1.0;
  const SynthData s = synthesize(o).value();
  const auto& in = s.dataset.interactions();
  const uint32_t K = s.truth.num_topics;
  const int64_t late_cut = o.start_time + o.span_seconds * 3 / 4;
  double early_fit = 0, late_fit = 0;
  int n_early = 0, n_late = 0;
  for (size_t r = 0; r < in.size(); ++r) {
    const size_t base = static_cast<size_t>(in.users[r]) * K + s.truth.item_topic[in.items[r]];
    const double toward_late = s.truth.user_taste_late[base] - s.truth.user_taste[base];
    if (in.timestamps[r] >= late_cut) late_fit += toward_late, ++n_late;
    else if (in.timestamps[r] < o.start_time + o.span_seconds / 4) early_fit += toward_late, ++n_early;
  }
  EXPECT_GT(late_fit / n_late, early_fit / n_early + 0.1);
}

TEST(SynthTest, ImpossibleSizesAreRejected) {
  SynthOptions o = small_options();
  o.num_interactions = 100;
  EXPECT_EQ(synthesize(o).status().to_string(),
            "invalid argument: synth: 100 interactions cannot give 800 users 5 each");
  o = small_options();
  o.num_interactions = 300000;
  EXPECT_EQ(synthesize(o).status().to_string(),
            "invalid argument: synth: with unique pairs, interactions must be at most half of users x items");
  o = small_options();
  o.noise = 2;
  EXPECT_FALSE(synthesize(o).is_ok());
}

}  // namespace
}  // namespace nudge

namespace nudge {
namespace {

TEST(SynthTest, PurchasesConcentrateOnKeenTopics) {
  const SynthData s = synthesize(small_options()).value();
  const auto& in = s.dataset.interactions();
  const auto& types = s.dataset.catalog().event_types;
  const uint32_t K = s.truth.num_topics;
  double taste_purchase = 0, taste_view = 0;
  int n_purchase = 0, n_view = 0;
  for (size_t r = 0; r < in.size(); ++r) {
    const double t = s.truth.user_taste[in.users[r] * K + s.truth.item_topic[in.items[r]]];
    if (types.name(in.types[r]) == "purchase") taste_purchase += t, ++n_purchase;
    if (types.name(in.types[r]) == "view") taste_view += t, ++n_view;
  }
  EXPECT_GT(taste_purchase / n_purchase, 1.3 * taste_view / n_view);
}

// The MovieLens-1M preset has the shapes docs/data-shapes.md measures on
// the real set: at least 20 events per user with a long tail, popularity Gini near .65, most
// consecutive events of a user in the same second and within a day, MovieLens' fields.
TEST(SynthTest, TheMovieLensPresetIsShapedLikeMovieLens) {
  const SynthData s = synthesize(SynthOptions::movielens_1m()).value();
  const DatasetStats st = compute_stats(s.dataset);
  EXPECT_EQ(st.users, 6040u);
  EXPECT_EQ(st.items, 3706u);
  EXPECT_GE(st.user_history.min, 20);
  EXPECT_GT(st.user_history.p90, 3 * st.user_history.p50) << "a long tail of heavy users";
  EXPECT_NEAR(st.item_gini, 0.65, 0.08);
  EXPECT_NEAR(st.same_second_share, 0.5, 0.1);
  EXPECT_GT(st.within_day_share, 0.95);
  EXPECT_EQ(st.user_span_days.p50, 0) << "the median user's events fall within a day";
  EXPECT_EQ(st.item_fields, (std::vector<std::string>{"genre:multi", "year:num"}));
  EXPECT_EQ(st.user_fields, (std::vector<std::string>{"gender:cat", "age:cat", "occupation:cat"}));
  EXPECT_EQ(st.event_counts.size(), 1u) << "ratings";
}

}  // namespace
}  // namespace nudge
