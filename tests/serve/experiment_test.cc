// Online experiments: stable assignment, team-draft interleaving and exact attribution counts.
#include "serve/experiment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <thread>

namespace nudge::serve {
namespace {

std::unique_ptr<Experiment> make(ExperimentOptions o, std::vector<std::string> arms = {"control", "treatment"}) {
  if (o.name.empty()) o.name = "exp";
  if (o.seed == 0) o.seed = 7;
  auto e = Experiment::create(std::move(o), std::move(arms));
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return std::move(e).value();
}

TEST(ExperimentTest, AssignmentIsStableAcrossInstancesAndFollowsTheWeights) {
  ExperimentOptions o;
  o.weights = {1, 3};
  auto first = make(o);
  o.seed = 99;  // the seed is for rec_ids; it must not move users
  auto second = make(o);
  int treated = 0;
  const int n = 20000;
  for (int u = 0; u < n; ++u) {
    const std::string user = "user" + std::to_string(u);
    const size_t arm = first->assign(user);
    EXPECT_EQ(arm, first->assign(user));
    EXPECT_EQ(arm, second->assign(user));
    treated += arm == 1;
  }
  EXPECT_NEAR(treated / static_cast<double>(n), 0.75, 0.015);
  // The hash is fixed by definition (FNV-1a, SplitMix64's finaliser), so these hold on every
  // machine; computed independently (in Python): buckets 593, 3236 and 7903 of 10,000, and
  // arm 0 takes the first 2,500.
  EXPECT_EQ(first->assign("alice"), 0u);
  EXPECT_EQ(first->assign("bob"), 1u);
  EXPECT_EQ(first->assign("carol"), 1u);
}

TEST(ExperimentTest, ExperimentsWithOtherNamesAssignIndependently) {
  ExperimentOptions a, b;
  b.name = "another";
  auto e1 = make(a), e2 = make(b);
  int same = 0;
  for (int u = 0; u < 10000; ++u) same += e1->assign("u" + std::to_string(u)) == e2->assign("u" + std::to_string(u));
  EXPECT_NEAR(same / 10000.0, 0.5, 0.03);
}

TEST(ExperimentTest, ZeroWeightArmGetsNoUsers) {
  ExperimentOptions o;
  o.weights = {1, 0, 1};
  auto e = make(o, {"a", "b", "c"});
  for (int u = 0; u < 2000; ++u) EXPECT_NE(e->assign("u" + std::to_string(u)), 1u);
}

TEST(ExperimentTest, TeamDraftFollowsTheRules) {
  const std::vector<std::string> a = {"a", "b", "c", "d", "e"}, b = {"b", "f", "a", "g", "c"};
  int first_starts = 0;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    const auto picks = Experiment::team_draft(a, b, 6, seed);
    ASSERT_EQ(picks.size(), 6u);
    std::set<std::string> seen;
    size_t count[2] = {0, 0}, next[2] = {0, 0};
    const std::vector<std::string>* rankings[2] = {&a, &b};
    for (const DraftPick& p : picks) {
      EXPECT_TRUE(seen.insert(p.item).second) << p.item << " twice";
      // Each pick is its arm's best item not yet listed, and neither arm gets two ahead.
      auto& r = *rankings[p.arm];
      while (seen.count(r[next[p.arm]]) && r[next[p.arm]] != p.item) ++next[p.arm];
      EXPECT_EQ(r[next[p.arm]], p.item);
      ++count[p.arm];
      EXPECT_LE(count[p.arm], count[1 - p.arm] + 1);
    }
    first_starts += picks[0].arm == 0;
    EXPECT_EQ(Experiment::team_draft(a, b, 6, seed).front().arm, picks.front().arm);  // same seed, same draft
  }
  EXPECT_NEAR(first_starts / 400.0, 0.5, 0.1);
  // The same ranking twice is that ranking; a short one runs out and the other goes on.
  const auto same = Experiment::team_draft(a, a, 3, 5);
  ASSERT_EQ(same.size(), 3u);
  EXPECT_EQ(same[0].item + same[1].item + same[2].item, "abc");
  const auto lopsided = Experiment::team_draft({"x"}, a, 4, 5);
  ASSERT_EQ(lopsided.size(), 4u);
  EXPECT_EQ(std::count_if(lopsided.begin(), lopsided.end(), [](const DraftPick& p) { return p.arm == 0; }), 1);
  EXPECT_TRUE(Experiment::team_draft({}, {}, 5, 1).empty());
}

TEST(ExperimentTest, AbCountsAreExact) {
  auto e = make({});
  // Control serves 5 lists, treatment 4.
  std::vector<Experiment::ListId> lists;
  for (int k = 0; k < 9; ++k) {
    lists.push_back(e->next_list());
    const size_t arm = k < 5 ? 0 : 1;
    e->record(lists.back(), "u", arm, {"i1", "i2", "pinned"}, {arm, arm, Experiment::kNoArm});
  }
  EXPECT_EQ(lists[0].rec_id.size(), 16u);
  EXPECT_NE(lists[0].rec_id, lists[1].rec_id);
  e->attribute(lists[0].rec_id, "u", "i1", "click");
  e->attribute(lists[0].rec_id, "u", "i2", "click");  // a second click on the same list
  e->attribute(lists[1].rec_id, "u", "i2", "click");
  e->attribute(lists[1].rec_id, "u", "i2", "purchase");
  e->attribute(lists[5].rec_id, "u", "i1", "click");
  e->attribute(lists[5].rec_id, "u", "i1", "view");          // not a click or conversion: ignored
  e->attribute(lists[6].rec_id, "u", "pinned", "click");     // nobody's pick
  e->attribute(lists[6].rec_id, "u", "elsewhere", "click");  // not in the list
  e->attribute("0123456789abcdef", "u", "i1", "click");      // never served
  e->attribute("not-a-rec-id", "u", "i1", "click");
  const ExperimentReport r = e->report();
  ASSERT_EQ(r.arms.size(), 2u);
  const ArmReport &c = r.arms[0], &t = r.arms[1];
  EXPECT_EQ(c.impressions, 5u);
  EXPECT_EQ(c.clicks, 3u);
  EXPECT_EQ(c.clicked, 2u);
  EXPECT_EQ(c.conversions, 1u);
  EXPECT_EQ(c.converted, 1u);
  EXPECT_EQ(t.impressions, 4u);
  EXPECT_EQ(t.clicks, 1u);
  EXPECT_EQ(t.clicked, 1u);
  EXPECT_EQ(t.conversions, 0u);
  EXPECT_EQ(r.unknown_rec_id, 2u);
  EXPECT_EQ(r.not_in_list, 2u);
  // Wilson 95% intervals and the two-proportion test, computed by hand (2/5 against 1/4).
  EXPECT_DOUBLE_EQ(c.ctr, 0.4);
  EXPECT_NEAR(c.ctr_low, 0.117621, 1e-6);
  EXPECT_NEAR(c.ctr_high, 0.769276, 1e-6);
  EXPECT_NEAR(t.ctr_low, 0.045587, 1e-6);
  EXPECT_NEAR(t.ctr_high, 0.699358, 1e-6);
  EXPECT_TRUE(std::isnan(c.p_value));
  EXPECT_NEAR(t.p_value, 0.635256, 1e-6);
  EXPECT_NE(e->render_metrics().find("nudge_experiment_clicks_total{experiment=\"exp\",arm=\"control\"} 3\n"),
            std::string::npos);
}

TEST(ExperimentTest, InterleavedWinsAndTiesFollowTheClicks) {
  ExperimentOptions o;
  o.mode = ExperimentMode::kInterleave;
  auto e = make(o);
  std::vector<Experiment::ListId> lists;
  for (int k = 0; k < 4; ++k) {
    lists.push_back(e->next_list());
    e->record(lists.back(), "u", Experiment::kNoArm, {"a", "b", "c"}, {0, 1, Experiment::kNoArm});
  }
  e->attribute(lists[0].rec_id, "u", "a", "click");  // list 0: control wins
  e->attribute(lists[1].rec_id, "u", "a", "click");  // list 1: a tie, after being control's
  e->attribute(lists[1].rec_id, "u", "b", "click");
  e->attribute(lists[2].rec_id, "u", "b", "click");  // list 2: treatment, twice
  e->attribute(lists[2].rec_id, "u", "b", "click");
  e->attribute(lists[3].rec_id, "u", "c", "click");  // list 3: a pin, nobody's
  const ExperimentReport r = e->report();
  EXPECT_EQ(r.arms[0].impressions, 4u);
  EXPECT_EQ(r.arms[1].impressions, 4u);
  EXPECT_EQ(r.arms[0].wins, 1u);
  EXPECT_EQ(r.arms[1].wins, 1u);
  EXPECT_EQ(r.ties, 1u);
  EXPECT_EQ(r.arms[0].clicks, 2u);
  EXPECT_EQ(r.arms[1].clicks, 3u);
  EXPECT_EQ(r.arms[1].clicked, 2u);
  EXPECT_EQ(r.not_in_list, 1u);
  EXPECT_DOUBLE_EQ(r.preference, 0.0);  // (1 + 1/2) / 3 - 1/2
  EXPECT_DOUBLE_EQ(r.p_value, 1.0);
}

TEST(ExperimentTest, OnlyTheLastListsAreRemembered) {
  ExperimentOptions o;
  o.remember = 2;
  auto e = make(o);
  std::vector<Experiment::ListId> lists;
  for (int k = 0; k < 3; ++k) {
    lists.push_back(e->next_list());
    e->record(lists.back(), "u", 0, {"a"}, {0});
  }
  e->attribute(lists[0].rec_id, "u", "a", "click");
  e->attribute(lists[2].rec_id, "u", "a", "click");
  const ExperimentReport r = e->report();
  EXPECT_EQ(r.arms[0].impressions, 3u);
  EXPECT_EQ(r.arms[0].clicks, 1u);
  EXPECT_EQ(r.unknown_rec_id, 1u);
}

// rec_ids are handed out by an open endpoint: an event of another user than the list's is
// not credited, whatever it carries.
TEST(ExperimentTest, OnlyTheListsUserIsCredited) {
  auto e = make({});
  const auto list = e->next_list();
  e->record(list, "u2", 0, {"a"}, {0});
  e->attribute(list.rec_id, "u3", "a", "click");
  e->attribute(list.rec_id, "u3", "a", "purchase");
  ExperimentReport r = e->report();
  EXPECT_EQ(r.arms[0].clicks, 0u);
  EXPECT_EQ(r.arms[0].conversions, 0u);
  EXPECT_EQ(r.other_user, 2u);
  e->attribute(list.rec_id, "u2", "a", "click");
  r = e->report();
  EXPECT_EQ(r.arms[0].clicks, 1u);
  EXPECT_EQ(r.other_user, 2u);
  EXPECT_NE(e->render_metrics().find("reason=\"other_user\"} 2"), std::string::npos);
}

// Requests and events arrive on many threads at once (TSan runs this too): no count is lost.
TEST(ExperimentTest, ConcurrentListsAndClicksAreAllCounted) {
  auto e = make({});
  constexpr int kThreads = 4, kLists = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < kLists; ++k) {
        const auto id = e->next_list();
        const size_t arm = static_cast<size_t>(t % 2);
        e->record(id, "u", arm, {"a", "b"}, {arm, arm});
        e->attribute(id.rec_id, "u", "a", "click");
        if (k % 5 == 0) e->attribute(id.rec_id, "u", "b", "purchase");
        if (k % 50 == 0) e->report();
      }
    });
  for (auto& t : threads) t.join();
  const ExperimentReport r = e->report();
  for (size_t arm = 0; arm < 2; ++arm) {
    EXPECT_EQ(r.arms[arm].impressions, 2u * kLists);
    EXPECT_EQ(r.arms[arm].clicks, 2u * kLists);
    EXPECT_EQ(r.arms[arm].clicked, 2u * kLists);
    EXPECT_EQ(r.arms[arm].conversions, 2u * kLists / 5);
  }
  EXPECT_EQ(r.unknown_rec_id, 0u);
}

TEST(ExperimentTest, BadOptionsNameTheField) {
  auto field = [](ExperimentOptions o, std::vector<std::string> arms) {
    auto e = Experiment::create(std::move(o), std::move(arms));
    return e.is_ok() ? std::string("ok") : e.status().field();
  };
  ExperimentOptions o;
  o.name = "exp";
  EXPECT_EQ(field(o, {"a", "b"}), "ok");
  EXPECT_EQ(field(o, {"a"}), "experiment.arms");
  ExperimentOptions bad_name = o;
  bad_name.name = "no spaces";
  EXPECT_EQ(field(bad_name, {"a", "b"}), "experiment.name");
  ExperimentOptions interleave = o;
  interleave.mode = ExperimentMode::kInterleave;
  EXPECT_EQ(field(interleave, {"a", "b", "c"}), "experiment.arms");
  interleave.weights = {1, 1};
  EXPECT_EQ(field(interleave, {"a", "b"}), "experiment.weights");
  ExperimentOptions weights = o;
  weights.weights = {1};
  EXPECT_EQ(field(weights, {"a", "b"}), "experiment.weights");
  weights.weights = {1, std::nan("")};
  EXPECT_EQ(field(weights, {"a", "b"}), "experiment.weights");
  weights.weights = {0, 0};
  EXPECT_EQ(field(weights, {"a", "b"}), "experiment.weights");
  ExperimentOptions types = o;
  types.conversion_types = {"click"};
  EXPECT_EQ(field(types, {"a", "b"}), "experiment.conversion_types");
}

}  // namespace
}  // namespace nudge::serve
