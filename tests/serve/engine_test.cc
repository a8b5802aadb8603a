// The engine without HTTP: learning from events at once, rules, cold start, restart and hot
// swap, on synthetic data with planted topics (item category = topic).
#include "nudge/serve/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "nudge/input_limits.h"
#include "nudge/model_file.h"
#include "nudge/registry.h"
#include "nudge/serve/import.h"
#include "nudge/synth.h"
#include "serve/engine_state.h"
#include "serve/event_store.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::TempDir;

struct Fixture {
  TempDir dir;
  SynthData synth;
  std::vector<ItemRecord> items;
  std::unique_ptr<Engine> engine;

  std::string spec;

  explicit Fixture(uint32_t ann_min_items = 1000000, std::string model_spec = "ials:factors=16,threads=1")
      : spec(std::move(model_spec)) {
    SynthOptions so;
    so.num_users = 400;
    so.num_items = 300;
    so.num_interactions = 12000;
    so.num_topics = 6;
    so.seed = 7;
    synth = synthesize(so).value();
    items = item_records(synth.dataset);
    engine = open(ann_min_items);
    EXPECT_TRUE(import_dataset(*engine, synth.dataset).is_ok());
    EXPECT_TRUE(engine->retrain().is_ok());
  }
  EngineOptions options(uint32_t ann_min_items) const {
    EngineOptions o;
    o.data_dir = dir.file("data");
    o.model.spec = spec;
    o.model.ials.threads = 1;  // the default spec's components too: Hogwild races are by design, not for TSan
    o.model.ann_min_items = ann_min_items;
    o.retrain_interval_s = 0;
    o.retrain_after_events = 0;
    o.trending_refresh_s = 0;  // the trending ranking follows every event
    return o;
  }
  std::unique_ptr<Engine> open(uint32_t ann_min_items = 1000000) const {
    auto r = Engine::open(options(ann_min_items));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return std::move(r).value();
  }
  const ItemRecord& item(const std::string& id) const { return items[*synth.dataset.catalog().items.find(id)]; }
  RecommendResponse recommend(RecommendRequest r) const {
    auto out = engine->recommend(r);
    EXPECT_TRUE(out.is_ok()) << out.status().to_string();
    return std::move(out).value();
  }
  // Items of one category, most popular first.
  std::vector<std::string> items_of(const std::string& category) const {
    std::vector<std::string> out;
    for (const auto& r : items)
      if (r.category == category) out.push_back(r.id);
    return out;
  }
};

std::vector<std::string> ids(const RecommendResponse& r) {
  std::vector<std::string> out;
  for (const auto& rec : r.items) out.push_back(rec.item);
  return out;
}

TEST(Engine, AnEventChangesTheNextRecommendation) {
  Fixture f;
  RecommendRequest req;
  req.user = "brand-new";
  req.k = 10;
  auto before = f.recommend(req);
  EXPECT_EQ(before.source, "trending");
  // Three events on one category: the next answer is personal and mostly that category.
  const std::string category = f.items.front().category;
  const auto chosen = f.items_of(category);
  ASSERT_TRUE(f.engine
                  ->ingest({{"brand-new", chosen[0], "purchase", 1.f, 0},
                            {"brand-new", chosen[1], "purchase", 1.f, 0},
                            {"brand-new", chosen[2], "purchase", 1.f, 0}})
                  .is_ok());
  auto after = f.recommend(req);
  EXPECT_EQ(after.source, "personal");
  int same = 0;
  for (const auto& id : ids(after)) {
    EXPECT_NE(id, chosen[0]);  // seen items are excluded by default
    same += f.item(id).category == category;
  }
  EXPECT_GE(same, 6) << "a 6-topic catalogue: by chance about 2 of 10";
}

TEST(Engine, RulesAreHonoured) {
  Fixture f;
  const std::string user = f.synth.dataset.catalog().users.id_of(0);
  auto info = f.engine->user_info(user);
  ASSERT_TRUE(info);
  std::set<std::string> seen;
  for (const auto& [item, w] : info->history) seen.insert(item);

  RecommendRequest req;
  req.user = user;
  req.k = 20;
  for (const auto& id : ids(f.recommend(req))) EXPECT_FALSE(seen.count(id)) << id;
  req.exclude_seen = false;
  auto with_seen = ids(f.recommend(req));
  EXPECT_TRUE(std::any_of(with_seen.begin(), with_seen.end(), [&](const auto& id) { return seen.count(id) > 0; }));

  req.exclude_seen = true;
  auto base = ids(f.recommend(req));
  req.exclude = {base[0], base[1]};
  auto excluded = ids(f.recommend(req));
  EXPECT_EQ(std::count(excluded.begin(), excluded.end(), base[0]), 0);
  EXPECT_EQ(excluded[0], base[2]);
  req.exclude.clear();

  const std::string category = f.item(base.back()).category;
  req.categories = {category};
  for (const auto& id : ids(f.recommend(req))) EXPECT_EQ(f.item(id).category, category);
  req.categories.clear();

  req.price_min = 10.f;
  req.price_max = 20.f;
  for (const auto& id : ids(f.recommend(req))) {
    EXPECT_GE(f.item(id).price, 10.f);
    EXPECT_LE(f.item(id).price, 20.f);
  }
  req.price_min.reset();
  req.price_max.reset();

  const std::string tag = f.item(base[5]).tags.at(0);
  req.tags = {tag};
  for (const auto& id : ids(f.recommend(req))) {
    const auto& tags = f.item(id).tags;
    EXPECT_NE(std::find(tags.begin(), tags.end(), tag), tags.end());
  }
  req.tags.clear();

  req.max_per_category = 2;
  std::map<std::string, int> per;
  for (const auto& id : ids(f.recommend(req))) EXPECT_LE(++per[f.item(id).category], 2);
  req.max_per_category = 0;

  // A boost on the last item's category brings it into the top.
  req.k = 5;
  req.boosts = {{"category", f.item(base.back()).category, 100.f}};
  for (const auto& id : ids(f.recommend(req))) EXPECT_EQ(f.item(id).category, f.item(base.back()).category);
  req.boosts.clear();

  // Pins land at their positions; pinned items are not repeated.
  req.pins = {{base[4], 1}, {base[9], 3}};
  auto pinned = f.recommend(req);
  ASSERT_EQ(pinned.items.size(), 5u);
  EXPECT_EQ(pinned.items[0].item, base[4]);
  EXPECT_TRUE(pinned.items[0].pinned);
  EXPECT_EQ(pinned.items[2].item, base[9]);
  EXPECT_EQ(pinned.items[1].item, base[0]);
  req.pins = {{"no-such-item", 1}};
  auto unknown = f.engine->recommend(req);
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_EQ(unknown.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(unknown.status().field(), "pin");
  req.pins.clear();

  // MMR spreads the list over categories.
  req.k = 10;
  auto count_categories = [&](const RecommendResponse& r) {
    std::set<std::string> c;
    for (const auto& id : ids(r)) c.insert(f.item(id).category);
    return c.size();
  };
  const size_t plain = count_categories(f.recommend(req));
  req.mmr_lambda = 0.3f;
  EXPECT_GT(count_categories(f.recommend(req)), plain);

  // Hidden items never come back.
  ASSERT_TRUE(f.engine->hide_item(base[0]).is_ok());
  req.mmr_lambda = 1.f;
  auto after_hide = ids(f.recommend(req));
  EXPECT_EQ(std::count(after_hide.begin(), after_hide.end(), base[0]), 0);
  EXPECT_EQ(f.engine->hide_item("never-seen").code(), Status::Code::kNotFound);
}

// Filtered requests score only the items indexed under the wanted category or tag: they must
// give exactly the unfiltered ranking restricted to those items.
TEST(Engine, FilteredAnswersEqualTheFullRankingRestricted) {
  Fixture f;
  RecommendRequest all;
  all.user = f.synth.dataset.catalog().users.id_of(3);
  all.k = 300;
  const auto full = ids(f.recommend(all));
  auto restricted = [&](auto keep) {
    std::vector<std::string> out;
    for (const auto& id : full)
      if (keep(f.item(id)) && out.size() < 10) out.push_back(id);
    return out;
  };
  RecommendRequest req = all;
  req.k = 10;
  req.categories = {"c02", "c04"};
  EXPECT_EQ(ids(f.recommend(req)),
            restricted([](const ItemRecord& r) { return r.category == "c02" || r.category == "c04"; }));
  req.categories.clear();
  const std::string tag = f.items[7].tags.at(0);
  req.tags = {tag};
  EXPECT_EQ(ids(f.recommend(req)), restricted([&](const ItemRecord& r) {
              return std::find(r.tags.begin(), r.tags.end(), tag) != r.tags.end();
            }));
  // Similar items with a category filter agree with the same filter applied afterwards.
  SimilarRequest sim;
  sim.item = f.items[0].id;
  sim.k = 300;
  auto similar_all = f.engine->similar(sim);
  sim.k = 5;
  sim.categories = {"c03"};
  auto similar_c03 = f.engine->similar(sim);
  std::vector<std::string> expected;
  for (const auto& r : similar_all.value().items)
    if (f.item(r.item).category == "c03" && expected.size() < 5) expected.push_back(r.item);
  EXPECT_EQ(ids(similar_c03.value()), expected);
}

TEST(Engine, RecategorisedItemMovesBetweenFilters) {
  Fixture f;
  ItemRecord moved = f.items[0];
  const std::string old_category = moved.category;
  const std::string new_category = old_category == "c00" ? "c01" : "c00";
  moved.category = new_category;
  moved.tags = {"only-here"};
  ASSERT_TRUE(f.engine->put_item(moved).is_ok());
  RecommendRequest req;
  req.user = f.synth.dataset.catalog().users.id_of(9);
  req.k = 300;
  req.exclude_seen = false;
  req.categories = {old_category};
  auto in_old = ids(f.recommend(req));
  EXPECT_EQ(std::count(in_old.begin(), in_old.end(), moved.id), 0);
  req.categories = {new_category};
  auto in_new = ids(f.recommend(req));
  EXPECT_EQ(std::count(in_new.begin(), in_new.end(), moved.id), 1);
  req.categories.clear();
  req.tags = {"only-here"};
  EXPECT_EQ(ids(f.recommend(req)), std::vector<std::string>{moved.id});
}

TEST(Engine, TrendingForNewUsersHonoursBoostsAndFollowsEvents) {
  Fixture f;
  RecommendRequest req;
  req.user = "visitor";
  req.k = 10;
  const auto plain = f.recommend(req);
  ASSERT_EQ(plain.source, "trending");
  // A large boost on a category equals filtering by it: the walk down the ranking must go on
  // until no boosted item can be missed.
  const std::string category = f.item(plain.items.back().item).category == "c05" ? "c04" : "c05";
  req.boosts = {{"category", category, 1000.f}};
  auto boosted = ids(f.recommend(req));
  req.boosts.clear();
  req.categories = {category};
  EXPECT_EQ(boosted, ids(f.recommend(req)));
  req.categories.clear();
  // An item nobody wanted becomes the top trending item after a burst of purchases.
  const std::string quiet = f.items_of(category).back();
  std::vector<Event> burst;
  for (int n = 0; n < 400; ++n) burst.push_back({"buyer" + std::to_string(n), quiet, "purchase", 1.f, 0});
  ASSERT_TRUE(f.engine->ingest(burst).is_ok());
  EXPECT_EQ(ids(f.recommend(req)).front(), quiet);
}

TEST(Engine, TrendingRankingIsResortedAtMostEveryRefreshInterval) {
  Fixture f;
  f.engine.reset();
  EngineOptions o = f.options(1000000);
  o.trending_refresh_s = 3600;
  f.engine = std::move(Engine::open(o)).value();
  RecommendRequest req;
  req.user = "visitor";
  const auto before = ids(f.recommend(req));
  std::vector<Event> burst;
  for (int n = 0; n < 400; ++n) burst.push_back({"buyer" + std::to_string(n), f.items.back().id, "purchase", 1.f, 0});
  ASSERT_TRUE(f.engine->ingest(burst).is_ok());
  EXPECT_EQ(ids(f.recommend(req)), before) << "re-sorted before the refresh interval";
}

TEST(Engine, ExplanationsNameHistoryItems) {
  Fixture f;
  RecommendRequest req;
  req.user = f.synth.dataset.catalog().users.id_of(3);
  req.explain = true;
  auto r = f.recommend(req);
  std::set<std::string> seen;
  const auto info = f.engine->user_info(req.user);
  ASSERT_TRUE(info);
  for (const auto& [item, w] : info->history) seen.insert(item);
  for (const auto& rec : r.items) {
    EXPECT_EQ(rec.reason, "similar_items");
    ASSERT_FALSE(rec.because.empty());
    for (const auto& b : rec.because) EXPECT_TRUE(seen.count(b)) << b;
  }
}

TEST(Engine, DescribedNewItemIsRecommendableAtOnce) {
  Fixture f;
  // A user devoted to one category; a new item of that category, never interacted with.
  const std::string category = f.items.front().category;
  const auto chosen = f.items_of(category);
  std::vector<Event> events;
  for (int k = 0; k < 5; ++k) events.push_back({"fan", chosen[k], "purchase", 1.f, 0});
  ASSERT_TRUE(f.engine->ingest(events).is_ok());
  ASSERT_TRUE(f.engine->put_item({"fresh", category, f.item(chosen[0]).tags, 5.f, false}).is_ok());
  RecommendRequest req;
  req.user = "fan";
  req.k = 50;
  req.explain = true;
  auto r = f.recommend(req);
  auto it = std::find_if(r.items.begin(), r.items.end(), [](const auto& rec) { return rec.item == "fresh"; });
  ASSERT_NE(it, r.items.end()) << "the new item should rank in the fan's top 50";
  EXPECT_EQ(it->reason, "features");
  EXPECT_NE(std::find(it->because.begin(), it->because.end(), "category=" + category), it->because.end());
  // Similar items of the new item come from its category.
  SimilarRequest sr;
  sr.item = "fresh";
  auto similar = f.engine->similar(sr).value();
  int same = 0;
  for (const auto& id : ids(similar)) same += f.item(id).category == category;
  EXPECT_GE(same, 7);
}

TEST(Engine, RestartRecoversHistoryModelAndAnswers) {
  Fixture f;
  ASSERT_TRUE(
      f.engine->ingest({{"late", f.items[0].id, "view", 1.f, 0}, {"late", f.items[1].id, "cart", 1.f, 0}}).is_ok());
  ASSERT_TRUE(f.engine->put_item({"fresh", "c00", {}, 1.f, false}).is_ok());
  RecommendRequest req;
  req.user = f.synth.dataset.catalog().users.id_of(5);
  const auto before = ids(f.recommend(req));
  const auto late_before = f.engine->user_info("late")->history;
  f.engine.reset();
  f.engine = f.open();
  EXPECT_EQ(ids(f.recommend(req)), before);  // the saved model was loaded, not retrained
  EXPECT_EQ(f.engine->user_info("late")->history, late_before);
  EXPECT_EQ(f.engine->stats().events, f.synth.dataset.num_interactions() + 2);
}

TEST(Engine, RestartKeepsTheModelVersion) {
  Fixture f;
  ASSERT_TRUE(f.engine->retrain().is_ok());
  const uint64_t version = f.engine->stats().model_version;
  ASSERT_GE(version, 2u);
  f.engine.reset();
  f.engine = f.open();
  EXPECT_EQ(f.engine->stats().model_version, version);  // the same model, so the same version
  ASSERT_TRUE(f.engine->retrain().is_ok());
  EXPECT_EQ(f.engine->stats().model_version, version + 1);
}

// A version file that is not a positive whole number is ignored, never read as a huge one.
TEST(Engine, ANegativeSavedVersionIsIgnored) {
  Fixture f;
  f.engine.reset();
  nudge::testing::write_file(f.dir.file("data") + "/model.version", "-5\n");
  f.engine = f.open();
  EXPECT_EQ(f.engine->stats().model_version, 1u);
}

TEST(Engine, InvalidStoredRecordsAreSkippedAtRestartNotServed) {
  Fixture f;
  f.engine.reset();
  {
    // Records as an older server (or a damaged disk) may have left them: they decode, but
    // their IDs are not UTF-8 or their values out of range.
    auto store = EventStore::open(f.dir.file("data") + "/events").value();
    ASSERT_TRUE(store
                    ->append({{"bad\xff", f.items[0].id, "view", 1.f, 0},
                              {"fine", "item\xc3", "view", 1.f, 0},
                              {"fine", f.items[1].id, "view", std::numeric_limits<float>::infinity(), 0},
                              {"fine", f.items[2].id, "view", 1.f, 0}})
                    .is_ok());
    ASSERT_TRUE(store->put_item({"poison\xff", "c00", {"t"}, 1.f, false}).is_ok());
    ASSERT_TRUE(store->put_user({"user\xfe", "{}"}).is_ok());
  }
  f.engine = f.open();
  EXPECT_EQ(f.engine->stats().records_skipped, 5u);
  const auto fine = f.engine->user_info("fine");
  ASSERT_TRUE(fine);
  ASSERT_EQ(fine->history.size(), 1u);
  EXPECT_EQ(fine->history[0].first, f.items[2].id);
  // New users (trending) and known users get answers with valid IDs only.
  for (const std::string user : {"nobody", "fine"}) {
    RecommendRequest req;
    req.user = user;
    req.k = 400;
    for (const auto& rec : f.recommend(req).items) EXPECT_TRUE(is_valid_utf8(rec.item)) << rec.item;
  }
}

TEST(Engine, AThrowingRetrainCallbackSparesTheRetrainer) {
  Fixture f;
  const uint64_t version = f.engine->stats().model_version;
  f.engine->request_retrain([](const Status&) { throw std::runtime_error("a caller's bug"); });
  std::promise<Status> answered;
  f.engine->request_retrain([&](const Status& st) { answered.set_value(st); });
  auto done = answered.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "the retrainer thread is gone";
  EXPECT_TRUE(done.get().is_ok());
  EXPECT_GT(f.engine->stats().model_version, version);
}

TEST(Engine, ExplanationsNeverNameHiddenItems) {
  Fixture f;
  RecommendRequest req;
  req.user = f.synth.dataset.catalog().users.id_of(3);
  req.explain = true;
  std::set<std::string> named;
  for (const auto& rec : f.recommend(req).items) named.insert(rec.because.begin(), rec.because.end());
  ASSERT_FALSE(named.empty());
  for (const auto& id : named) ASSERT_TRUE(f.engine->hide_item(id).is_ok());
  for (const auto& rec : f.recommend(req).items)
    for (const auto& b : rec.because) EXPECT_EQ(named.count(b), 0u) << "explanation names hidden item " << b;
}

// Three retrains swap the model while readers ask and a writer ingests: every answer is
// complete, for iALS and for the fused ensemble, both answered through their HNSW index.
class EngineSwap : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineSwap, HotSwapUnderConcurrentRequestsGivesOnlyValidAnswers) {
  Fixture f(100, GetParam());
  ASSERT_TRUE(f.engine->model()->ann() || f.engine->model()->fused_ann());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, answers{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&, t] {
      RecommendRequest req;
      req.k = 10;
      for (uint32_t n = 0; !stop; ++n) {
        req.user = f.synth.dataset.catalog().users.id_of((n * 7 + t) % 400);
        auto r = f.engine->recommend(req);
        if (!r.is_ok()) {
          ++bad;
          continue;
        }
        auto got = ids(*r);
        std::set<std::string> unique(got.begin(), got.end());
        if (got.size() != 10 || unique.size() != 10) ++bad;
        ++answers;
      }
    });
  std::thread writer([&] {
    for (int n = 0; !stop; ++n)
      (void)f.engine->ingest({{"w" + std::to_string(n % 50), f.items[n % 300].id, "view", 1.f, 0}});
  });
  const uint64_t v0 = f.engine->stats().model_version;
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(f.engine->retrain().is_ok());
  stop = true;
  for (auto& th : readers) th.join();
  writer.join();
  EXPECT_EQ(f.engine->stats().model_version, v0 + 3);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(answers.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Served, EngineSwap,
                         ::testing::Values("ials:factors=16,threads=1",
                                           "fusion:models=ials+twotower,ials.factors=8,ials.threads=1,"
                                           "twotower.factors=8,twotower.epochs=2,twotower.threads=1"),
                         [](const auto& param) { return param.param.substr(0, param.param.find(':')); });

TEST(Engine, BackgroundRetrainWaitsWhileHeldThenFiresOnEventCount) {
  TempDir dir;
  EngineOptions o;
  o.data_dir = dir.file("data");
  o.model.ials.factors = 4;
  o.model.ials.threads = 1;
  o.retrain_interval_s = 0;
  o.retrain_after_events = 20;
  o.train_on_start = false;
  auto engine = std::move(Engine::open(o)).value();
  std::vector<Event> events;
  for (int n = 0; n < 60; ++n)
    events.push_back({"u" + std::to_string(n % 6), "i" + std::to_string(n % 10), "view", 1.f, 0});
  {
    const auto hold = engine->hold_retrains();
    ASSERT_TRUE(engine->ingest(events).is_ok());
    // The background thread looks every second; give it two looks.
    std::this_thread::sleep_for(std::chrono::milliseconds(2200));
    EXPECT_EQ(engine->stats().retrains, 0u);
  }
  for (int waited = 0; engine->stats().retrains == 0 && waited < 100; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(engine->stats().retrains, 1u);
  EXPECT_EQ(engine->model()->num_items(), 10u);
}

TEST(Engine, FusedHnswAnswersAgreeWithExactFusionScoring) {
  const std::string spec =
      "fusion:models=ials+twotower,ials.factors=16,ials.threads=1,twotower.factors=16,"
      "twotower.epochs=8,twotower.threads=1";
  Fixture exact(1000000, spec);
  Fixture ann(/*ann_min_items=*/10, spec);
  ASSERT_NE(ann.engine->model()->fused_ann(), nullptr);
  ASSERT_EQ(exact.engine->model()->fused_ann(), nullptr);
  size_t overlap = 0, total = 0;
  for (uint32_t u = 0; u < 100; ++u) {
    RecommendRequest req;
    req.user = exact.synth.dataset.catalog().users.id_of(u);
    const auto a = exact.recommend(req), b = ann.recommend(req);
    const auto b_ids = ids(b);
    for (const auto& rec : a.items) overlap += std::count(b_ids.begin(), b_ids.end(), rec.item);
    total += a.items.size();
    if (a.items[0].item == b.items[0].item) {
      EXPECT_NEAR(a.items[0].score, b.items[0].score, 1e-3f) << "same scale as the exact fusion";
    }
  }
  EXPECT_GE(static_cast<double>(overlap) / static_cast<double>(total), 0.9);
}

TEST(Engine, HnswAnswersAgreeWithExactScoring) {
  Fixture exact;
  Fixture ann(/*ann_min_items=*/10);
  ASSERT_NE(ann.engine->model()->ann(), nullptr);
  ASSERT_EQ(exact.engine->model()->ann(), nullptr);
  size_t overlap = 0, total = 0;
  for (uint32_t u = 0; u < 100; ++u) {
    RecommendRequest req;
    req.user = exact.synth.dataset.catalog().users.id_of(u);
    auto a = ids(exact.recommend(req)), b = ids(ann.recommend(req));
    for (const auto& id : a) overlap += std::count(b.begin(), b.end(), id);
    total += a.size();
  }
  EXPECT_GE(static_cast<double>(overlap) / static_cast<double>(total), 0.9);
}

TEST(Engine, BadRequestsAndEventsAreRefused) {
  Fixture f;
  RecommendRequest req;
  req.user = "x";
  req.k = 0;
  EXPECT_EQ(f.engine->recommend(req).status().field(), "k");
  EXPECT_EQ(f.engine->recommend(req).status().code(), Status::Code::kInvalidArgument);
  req.k = 10;
  req.mmr_lambda = 2.f;
  EXPECT_EQ(f.engine->recommend(req).status().field(), "mmr");
  SimilarRequest sr;
  sr.item = "nope";
  EXPECT_EQ(f.engine->similar(sr).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(f.engine->similar(sr).status().field(), "item");
  Status err = Engine::validate({{"u", "i", "view", 1.f, 0}, {"u", "", "view", 1.f, 0}});
  EXPECT_EQ(err.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(err.field(), "events[1].item");
  err = Engine::validate({{"u", "i", "view", std::nanf(""), 0}});
  EXPECT_EQ(err.field(), "events[0].value");
  const uint64_t before = f.engine->stats().events;
  EXPECT_FALSE(f.engine->ingest({{"u", "i", "view", -1.f, 0}}).is_ok());
  EXPECT_EQ(f.engine->stats().events, before);  // nothing stored
}

// Every served kind on the history path (and fusion), through the same engine.
class EngineKinds : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineKinds, EventsChangeTheNextAnswerAndARestartReloadsTheModel) {
  Fixture f(1000000, GetParam());
  const std::string kind = GetParam().substr(0, GetParam().find(':'));
  EXPECT_EQ(f.engine->stats().model_kind, kind);
  RecommendRequest req;
  req.user = "newcomer";
  req.k = 10;
  req.explain = true;
  EXPECT_EQ(f.recommend(req).source, "trending");
  const std::string category = f.items.front().category;
  const auto chosen = f.items_of(category);
  ASSERT_TRUE(f.engine
                  ->ingest({{"newcomer", chosen[0], "purchase", 1.f, 0},
                            {"newcomer", chosen[1], "purchase", 1.f, 0},
                            {"newcomer", chosen[2], "purchase", 1.f, 0}})
                  .is_ok());
  const auto after = f.recommend(req);
  EXPECT_EQ(after.source, "personal");
  ASSERT_EQ(after.items.size(), 10u);
  int same = 0;
  for (const auto& rec : after.items) {
    EXPECT_TRUE(rec.item != chosen[0] && rec.item != chosen[1] && rec.item != chosen[2]);
    same += f.item(rec.item).category == category;
    if (kind == "sasrec") {
      // The recent items the encoding attended to most.
      EXPECT_EQ(rec.reason, "recent_items");
      ASSERT_EQ(rec.because.size(), 2u);
      for (const auto& b : rec.because) EXPECT_TRUE(b == chosen[0] || b == chosen[1] || b == chosen[2]) << b;
    } else {
      EXPECT_EQ(rec.reason, "similar_items");
    }
    if (kind == "fusion") {
      EXPECT_EQ(rec.components.size(), 2u);
    }
  }
  EXPECT_GE(same, 5) << "a 6-topic catalogue: by chance about 2 of 10";
  // One more event moves the answer.
  ASSERT_TRUE(f.engine->ingest({{"newcomer", after.items[0].item, "purchase", 1.f, 0}}).is_ok());
  const auto next = ids(f.recommend(req));
  EXPECT_EQ(std::count(next.begin(), next.end(), after.items[0].item), 0);
  // Similar items come from the model's own measure.
  SimilarRequest sr;
  sr.item = chosen[0];
  const auto similar = f.engine->similar(sr).value();
  EXPECT_EQ(similar.source, "similar");
  EXPECT_EQ(similar.items.size(), 10u);
  // kill -9 is covered by server_test; a restart reloads this model, not a default one.
  f.engine.reset();
  f.engine = f.open();
  EXPECT_EQ(f.engine->stats().model_kind, kind);
  EXPECT_EQ(ids(f.recommend(req)), next);
}

INSTANTIATE_TEST_SUITE_P(Served, EngineKinds,
                         ::testing::Values("ease:regularization=20", "itemknn",
                                           "twotower:factors=16,epochs=8,threads=1",
                                           "sasrec:factors=16,blocks=1,max_length=20,epochs=20,batch=16,"
                                           "learning_rate=0.005,validation_users=0,threads=1",
                                           "fusion:models=ials+ease,ials.factors=16,ials.threads=1"),
                         [](const auto& param) { return param.param.substr(0, param.param.find(':')); });

// Cold start on the history path: an item described after training is scored by the
// two-tower item tower (alone or in the fusion) from its features, at once.
class EngineItemFeatureKinds : public ::testing::TestWithParam<std::string> {};
class EngineFeatureKinds : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineItemFeatureKinds, DescribedNewItemIsRecommendableAtOnceThroughItsFeatures) {
  Fixture f(1000000, GetParam());
  const std::string category = f.items.front().category;
  const auto chosen = f.items_of(category);
  std::vector<Event> events;
  for (int k = 0; k < 5; ++k) events.push_back({"fan", chosen[k], "purchase", 1.f, 0});
  ASSERT_TRUE(f.engine->ingest(events).is_ok());
  // Five new items like the fan's (category and tags of items of it), five like others'.
  std::vector<std::string> others;
  for (const auto& r : f.items)
    if (r.category != category && others.size() < 5) others.push_back(r.id);
  for (int k = 0; k < 5; ++k) {
    ASSERT_TRUE(
        f.engine->put_item({"fresh" + std::to_string(k), category, f.item(chosen[5 + k]).tags, 5.f, false}).is_ok());
    const ItemRecord& o = f.item(others[static_cast<size_t>(k)]);
    ASSERT_TRUE(f.engine->put_item({"stranger" + std::to_string(k), o.category, o.tags, 5.f, false}).is_ok());
  }
  RecommendRequest req;
  req.user = "fan";
  req.k = 400;
  req.explain = true;
  const auto r = f.recommend(req);
  // Pairwise: how often a new item like the fan's ranks above a new item like others'.
  std::map<std::string, size_t> rank;
  for (size_t k = 0; k < r.items.size(); ++k) rank[r.items[k].item] = k;
  int above = 0;
  for (int a = 0; a < 5; ++a)
    for (int b = 0; b < 5; ++b) {
      ASSERT_TRUE(rank.count("fresh" + std::to_string(a)) && rank.count("stranger" + std::to_string(b)));
      above += rank["fresh" + std::to_string(a)] < rank["stranger" + std::to_string(b)];
    }
  std::printf("new items like the fan's above new items like others': %d of 25\n", above);
  EXPECT_GE(above, 20);
  const auto& rec = r.items[rank["fresh0"]];
  EXPECT_EQ(rec.reason, "features");
  EXPECT_NE(std::find(rec.because.begin(), rec.because.end(), "category=" + category), rec.because.end());
  // Filters and hiding apply to described items like any other.
  req.categories = {f.item(others[0]).category};
  const auto filtered = ids(f.recommend(req));
  EXPECT_EQ(std::count(filtered.begin(), filtered.end(), "fresh0"), 0);
  EXPECT_EQ(std::count(filtered.begin(), filtered.end(), "stranger0"), 1);
  ASSERT_TRUE(f.engine->hide_item("fresh0").is_ok());
  req.categories.clear();
  const auto hidden = ids(f.recommend(req));
  EXPECT_EQ(std::count(hidden.begin(), hidden.end(), "fresh0"), 0);
  // The next retrain gives them rows of their own: they stay recommendable.
  ASSERT_TRUE(f.engine->retrain().is_ok());
  const auto after = ids(f.recommend(req));
  EXPECT_EQ(std::count(after.begin(), after.end(), "fresh1"), 1);
}

// A user with attributes and no events (PUT /v1/users) is served by the user tower: imported
// users' segments were learnt at retrain, and segment sK names the main topic K of 80% of
// the users, so the newcomer's top 10 mostly are of topic K (trending: 1 in 6 by chance).
TEST_P(EngineFeatureKinds, AUserKnownOnlyByAttributesIsServedByTheUserTower) {
  Fixture f(1000000, GetParam());
  int same = 0, total = 0;
  for (int k = 0; k < 6; ++k) {
    const std::string user = "newcomer" + std::to_string(k), segment = "s0" + std::to_string(k);
    ASSERT_TRUE(f.engine->put_user({user, R"({"segment":")" + segment + R"(","country":"fr","age":41})"}).is_ok());
    RecommendRequest req;
    req.user = user;
    req.explain = true;
    const auto r = f.recommend(req);
    EXPECT_EQ(r.source, "personal");
    for (const auto& rec : r.items) {
      same += f.item(rec.item).category == "c0" + std::to_string(k), ++total;
      EXPECT_EQ(rec.reason, "attributes");
      EXPECT_NE(std::find(rec.because.begin(), rec.because.end(), "segment=" + segment), rec.because.end());
      EXPECT_EQ(std::find(rec.because.begin(), rec.because.end(), "age=41"), rec.because.end()) << "never learnt";
    }
  }
  std::printf("newcomers' top 10 in their segment's topic: %d of %d\n", same, total);
  EXPECT_GT(static_cast<double>(same) / total, 0.5);
  // Values the model never learnt say nothing: trending. Attributes survive a restart.
  ASSERT_TRUE(f.engine->put_user({"stranger", R"({"segment":"s77"})"}).is_ok());
  RecommendRequest req;
  req.user = "stranger";
  EXPECT_EQ(f.recommend(req).source, "trending");
  f.engine.reset();
  f.engine = f.open();
  req.user = "newcomer0";
  EXPECT_EQ(f.recommend(req).source, "personal");
}

// sasrec with features scores a described item as the mean of its tokens' embeddings.
INSTANTIATE_TEST_SUITE_P(Served, EngineItemFeatureKinds,
                         ::testing::Values("twotower:factors=16,epochs=8,threads=1",
                                           "sasrec:factors=16,blocks=1,max_length=20,epochs=20,batch=16,"
                                           "learning_rate=0.005,validation_users=0,threads=1",
                                           "fusion:models=ials+twotower,ials.factors=16,ials.threads=1,"
                                           "twotower.factors=16,twotower.epochs=8,twotower.threads=1"),
                         [](const auto& param) { return param.param.substr(0, param.param.find(':')); });

INSTANTIATE_TEST_SUITE_P(Served, EngineFeatureKinds,
                         ::testing::Values("twotower:factors=16,epochs=20,threads=1",
                                           "fusion:models=ials+twotower,ials.factors=16,ials.threads=1,"
                                           "twotower.factors=16,twotower.epochs=20,twotower.threads=1"),
                         [](const auto& param) { return param.param.substr(0, param.param.find(':')); });

// The served two-tower user tower reads the `history` most recent items (as in training), not
// the whole history: after 30 purchases in one topic, 5 views in another steer the answer.
TEST(Engine, TheServedUserTowerFollowsTheMostRecentItems) {
  Fixture f(1000000, "twotower:factors=16,epochs=8,threads=1,history=5");
  const auto old_topic = f.items_of("c00"), new_topic = f.items_of("c03");
  std::vector<Event> events;
  for (int k = 0; k < 30; ++k) events.push_back({"switcher", old_topic[static_cast<size_t>(k)], "purchase", 1.f, 0});
  ASSERT_TRUE(f.engine->ingest(events).is_ok());
  events.clear();
  for (int k = 0; k < 5; ++k) events.push_back({"switcher", new_topic[static_cast<size_t>(k)], "view", 1.f, 0});
  ASSERT_TRUE(f.engine->ingest(events).is_ok());
  RecommendRequest req;
  req.user = "switcher";
  int in_new = 0;
  for (const auto& id : ids(f.recommend(req))) in_new += f.item(id).category == "c03";
  EXPECT_GE(in_new, 7) << "the 5 newest items are the tower";
}

// A user's recent items: positive events only, newest first, each once, at most kRecentItems.
TEST(Engine, UserStateKeepsTheRecentItemsNewestFirst) {
  UserData u;
  u.add(5, 1.f);
  u.add(7, 1.f);
  u.add(5, 2.f);
  u.add(9, -1.f);  // a dislike: history, not recent
  EXPECT_EQ(u.recent, (std::vector<uint32_t>{5, 7}));
  EXPECT_EQ(u.items, (std::vector<uint32_t>{5, 7, 9}));
  EXPECT_EQ(u.weights, (std::vector<float>{3.f, 1.f, -1.f}));
  for (uint32_t i = 100; i < 100 + UserData::kRecentItems; ++i) u.add(i, 1.f);
  ASSERT_EQ(u.recent.size(), UserData::kRecentItems);
  EXPECT_EQ(u.recent.front(), 100 + UserData::kRecentItems - 1);
  EXPECT_EQ(u.recent.back(), 100u) << "5 and 7 were the oldest";
}

TEST(Engine, DefaultServedModelIsTheFusionOfIalsAndTwoTowerWhenItemsHaveFeatures) {
  Fixture f(1000000, "");
  const EngineStats st = f.engine->stats();
  EXPECT_EQ(st.model_kind, "fusion");
  EXPECT_EQ(st.model_spec.find("models=ials+twotower") != std::string::npos, true) << st.model_spec;
  ASSERT_EQ(st.fusion_weights.size(), 2u);
  EXPECT_EQ(st.fusion_weights[0].first, "ials");
  EXPECT_EQ(st.fusion_weights[1].first, "twotower");
}

// A model of `spec` fitted on `data` and saved to `file`, loaded back as the server loads it.
LoadedModel fit_and_save(const Dataset& data, const std::string& spec, const std::string& file) {
  auto model = make_recommender_from_spec(spec).value();
  EXPECT_TRUE(model->fit(data).is_ok());
  EXPECT_TRUE(save_model(*model, data.catalog().users, data.catalog().items, data.user_items(), file).is_ok());
  return load_model(file).value();
}

// An engine over `dir` serving `file`, retraining only when asked.
EngineOptions model_file_options(const TempDir& dir, const std::string& file) {
  EngineOptions o;
  o.data_dir = dir.file("data");
  o.model_file = file;
  o.retrain_interval_s = 0;
  o.retrain_after_events = 0;
  return o;
}

// The served answer for a model file and a history equals what nudge recommend computes
// from the same file: score_history, then the top k without the history.
TEST(Engine, AnOfflineModelFileAnswersAsOffline) {
  TempDir dir;
  SynthOptions so;
  so.num_users = 300;
  so.num_items = 200;
  so.num_interactions = 8000;
  so.num_topics = 5;
  so.seed = 11;
  const Dataset data = synthesize(so).value().dataset;
  const std::string spec = "fusion:models=ials+itemknn,ials.factors=8,ials.threads=1";
  const std::string file = dir.file("offline.nudge");
  const LoadedModel offline = fit_and_save(data, spec, file);

  EngineOptions o = model_file_options(dir, file);
  auto engine = std::move(Engine::open(o)).value();
  EXPECT_EQ(engine->stats().model_kind, "fusion");
  EXPECT_EQ(engine->stats().model_spec, spec_of(*offline.model));
  const IdMap& items = data.catalog().items;
  for (int user = 0; user < 5; ++user) {
    std::vector<uint32_t> history = {static_cast<uint32_t>(user * 7 % 200), static_cast<uint32_t>(user * 13 % 200 + 1),
                                     static_cast<uint32_t>(user * 29 % 200)};
    std::sort(history.begin(), history.end());
    history.erase(std::unique(history.begin(), history.end()), history.end());
    const std::string id = "visitor" + std::to_string(user);
    std::vector<Event> events;
    for (uint32_t i : history) events.push_back({id, std::string(items.id_of(i)), "view", 1.f, 0});
    ASSERT_TRUE(engine->ingest(events).is_ok());
    std::vector<float> scores(offline.model->num_items());
    const std::vector<float> weights(history.size(), 1.f);
    offline.model->score_history(history, weights, scores);
    std::vector<ScoredItem> top;
    top_k(scores, 10, history, &top);
    RecommendRequest req;
    req.user = id;
    req.k = 10;
    const auto served = engine->recommend(req).value();
    ASSERT_EQ(served.items.size(), top.size());
    for (size_t k = 0; k < top.size(); ++k) {
      EXPECT_EQ(served.items[k].item, items.id_of(top[k].item)) << "user " << user << " rank " << k;
      EXPECT_FLOAT_EQ(served.items[k].score, top[k].score);
    }
  }
  // It keeps learning: a retrain fits the file's kind on the log, not the default.
  ASSERT_TRUE(engine->retrain().is_ok());
  EXPECT_EQ(engine->stats().model_spec, spec_of(*offline.model));
  engine.reset();
  o.model_file.clear();
  engine = std::move(Engine::open(o)).value();
  ASSERT_TRUE(engine->retrain().is_ok());
  EXPECT_EQ(engine->stats().model_spec, spec_of(*offline.model)) << "kept in model.spec across restarts";
}

// What nudge eval and `nudge recommend -u USER` measure is what the server answers: a model
// file served over the same events (and user attributes) gives a training user the top 10
// that recommend_for_user computes offline. Issue 30: the two-tower model agreed on 6.4 of
// 10 items and its fusion with iALS on 7.1, because offline scored a known user with an ID
// token and served without it. Kinds whose served path is the offline computation must agree
// on every item; iALS folds the served history in, close to the trained user factor but not
// equal to it.
struct ServedKind {
  const char* spec;
  double least_mean_overlap;  // of 10
};
class ServedMatchesOffline : public ::testing::TestWithParam<ServedKind> {};

TEST_P(ServedMatchesOffline, ATrainingUserIsServedTheOfflineTopTen) {
  TempDir dir;
  SynthOptions so;
  so.num_users = 300;
  so.num_items = 200;
  so.num_interactions = 9000;
  so.num_topics = 5;
  so.feature_noise = 0.4;
  so.seed = 11;
  const Dataset data = synthesize(so).value().dataset;
  const LoadedModel offline = fit_and_save(data, GetParam().spec, dir.file("offline.nudge"));
  auto engine = std::move(Engine::open(model_file_options(dir, dir.file("offline.nudge")))).value();
  ASSERT_TRUE(import_dataset(*engine, data).is_ok());
  std::vector<float> scratch;
  std::vector<ScoredItem> top;
  double overlap = 0;
  const uint32_t users = 60;
  for (uint32_t u = 0; u < users; ++u) {
    recommend_for_user(*offline.model, u, 10, data.user_items().row_indices(u), &scratch, &top);
    RecommendRequest req;
    req.user = std::string(data.catalog().users.id_of(u));
    req.k = 10;
    const auto served = engine->recommend(req).value();
    std::set<std::string> offline_ids;
    for (const auto& s : top) offline_ids.insert(std::string(data.catalog().items.id_of(s.item)));
    for (const auto& s : served.items) overlap += static_cast<double>(offline_ids.count(s.item));
  }
  std::printf("%s: served and offline top 10 share %.2f items\n", GetParam().spec, overlap / users);
  EXPECT_GE(overlap / users, GetParam().least_mean_overlap) << GetParam().spec;
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, ServedMatchesOffline,
    ::testing::Values(ServedKind{"popularity", 10}, ServedKind{"itemknn", 10}, ServedKind{"ease", 10},
                      ServedKind{"ials:factors=16,threads=1", 9.5},
                      ServedKind{"twotower:factors=16,epochs=8,threads=1", 10},
                      ServedKind{"twotower:factors=16,epochs=8,threads=1,loss=warp", 10},
                      ServedKind{"fusion:models=ials+twotower,ials.factors=16,ials.threads=1,twotower.factors=16,"
                                 "twotower.epochs=8,twotower.threads=1",
                                 9.5},
                      ServedKind{"sasrec:factors=16,epochs=2,threads=1", 10}),
    [](const auto& param) {
      std::string name = param.param.spec;
      name = name.substr(0, name.find(':')) + (name.find("loss=warp") != std::string::npos ? "_warp" : "");
      return name;
    });

// A damaged --model-file is refused at open and never replaces the saved model.
TEST(Engine, ADamagedModelFileIsRefusedAndTheSavedModelKept) {
  Fixture f;
  RecommendRequest req;
  req.user = f.synth.dataset.catalog().users.id_of(5);
  const auto before = ids(f.recommend(req));
  f.engine.reset();
  nudge::testing::write_file(f.dir.file("bad.nudge"), std::string("NUDGEMDL\x01\0\0\0garbage", 20));
  EngineOptions o = f.options(1000000);
  o.model_file = f.dir.file("bad.nudge");
  auto refused = Engine::open(o);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("bad.nudge"), std::string::npos) << refused.status().message();
  f.engine = f.open();
  EXPECT_EQ(ids(f.recommend(req)), before);
}

TEST(Engine, ABadModelSpecIsRefusedAtOpen) {
  TempDir dir;
  EngineOptions o;
  o.data_dir = dir.file("data");
  o.model.spec = "ials:factorz=3";
  auto r = Engine::open(o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("factorz"), std::string::npos) << r.status().message();
}

// An online experiment's arms: each serves its own model, with its own fold-in state and view
// of new items, all retrained together, and all reloaded after a restart.
TEST(Engine, ArmsServeTheirOwnModelsSideBySide) {
  Fixture f;
  EngineOptions o = f.options(1000000);
  o.data_dir = f.dir.file("arms");
  o.arms = {{"control", ""}, {"small", "ials:factors=4,threads=1"}, {"pop", "popularity"}};
  auto engine = Engine::open(o).value();
  ASSERT_TRUE(import_dataset(*engine, f.synth.dataset).is_ok());
  ASSERT_TRUE(engine->retrain().is_ok());
  EXPECT_EQ(engine->arm_names(), (std::vector<std::string>{"control", "small", "pop"}));
  EXPECT_EQ(engine->model(0)->factors(), 16);
  EXPECT_EQ(engine->model(1)->factors(), 4);
  EXPECT_EQ(engine->model(2)->kind(), "popularity");
  const EngineStats st = engine->stats();
  ASSERT_EQ(st.arms.size(), 3u);
  EXPECT_EQ(st.arms[2].name, "pop");
  EXPECT_EQ(st.model_version, st.arms[0].model_version);
  EXPECT_NE(st.arms[0].model_version, st.arms[1].model_version);

  RecommendRequest req;
  req.user = f.synth.dataset.catalog().users.id_of(3);
  req.k = 20;
  auto answer = [&](size_t arm) {
    req.arm = arm;
    return ids(engine->recommend(req).value());
  };
  const auto control = answer(0), small = answer(1), pop = answer(2);
  EXPECT_NE(control, small);
  EXPECT_NE(control, pop);
  EXPECT_EQ(answer(0), control);  // each arm keeps its own folded vector
  EXPECT_EQ(answer(1), small);
  req.arm = 3;
  EXPECT_EQ(engine->recommend(req).status().field(), "arm");

  // A described new item reaches the user through every factor arm's feature view.
  const std::string category = f.items.front().category;
  const auto chosen = f.items_of(category);
  std::vector<Event> events;
  for (int k = 0; k < 5; ++k) events.push_back({"fan", chosen[k], "purchase", 1.f, 0});
  ASSERT_TRUE(engine->ingest(events).is_ok());
  ASSERT_TRUE(engine->put_item({"fresh", category, f.item(chosen[0]).tags, 5.f, false}).is_ok());
  req.user = "fan";
  req.k = 50;
  for (size_t arm : {0u, 1u}) {
    const auto got = answer(arm);
    EXPECT_NE(std::find(got.begin(), got.end(), "fresh"), got.end()) << "arm " << arm;
  }

  // A restart reloads every arm's saved model (<data_dir>/arms/<name>/) without training.
  const auto before = answer(1);
  engine.reset();
  engine = Engine::open(o).value();
  EXPECT_EQ(engine->stats().arms[1].model_version, st.arms[1].model_version);
  EXPECT_EQ(engine->stats().retrains, 0u);
  EXPECT_EQ(answer(1), before);
}

TEST(Engine, BadArmsAreRefusedAtOpen) {
  TempDir dir;
  auto field = [&](std::vector<ArmOptions> arms) {
    EngineOptions o;
    o.data_dir = dir.file("data");
    o.arms = std::move(arms);
    auto r = Engine::open(o);
    return r.is_ok() ? std::string("ok") : r.status().field() + ": " + r.status().message();
  };
  EXPECT_EQ(field({{"a", "popularity"}, {"b", "popularity"}}),
            "arms[0].spec: the first arm serves the main model ([model]); give it no spec");
  EXPECT_EQ(field({{"a", ""}, {"a", "popularity"}}), "arms[1].name: used twice");
  EXPECT_EQ(field({{"a", ""}, {"b", ""}}), "arms[1].spec: required");
  EXPECT_EQ(field({{"a", ""}, {"b c", "popularity"}}), "arms[1].name: may hold only letters, digits, '_', '-' and '.'");
  const std::string bad_spec = field({{"a", ""}, {"b", "ials:factorz=3"}});
  EXPECT_EQ(bad_spec.rfind("arms[1].spec: ", 0), 0u) << bad_spec;
  EXPECT_NE(bad_spec.find("factorz"), std::string::npos) << bad_spec;
}

}  // namespace
}  // namespace nudge::serve
