// The two-tower model trained data-parallel by nudge-train-mpi (model averaging) against
// single-node training on the same file, features and seed.
#include "nudge/distributed/two_tower.h"

#include <gtest/gtest.h>

#include "distributed/mpi_job.h"
#include "nudge/cleaning.h"
#include "nudge/evaluate.h"
#include "nudge/model_file.h"
#include "nudge/readers.h"
#include "nudge/registry.h"
#include "nudge/split.h"
#include "nudge/synth.h"
#include "nudge/writers.h"
#include "test_util.h"

namespace nudge {
namespace {

using testing::run_mpi_job;
using testing::TempDir;

constexpr const char* kSpec = "twotower:factors=32,threads=1";

// Planted data with item and user features; 80 % written as the training file, the rest
// held out (mapped onto the training file's catalogue).
struct Files {
  std::string train, items, users;
  Dataset whole;  // the training file and features, read as nudge train reads them
  Dataset test;
};

Files write_files(const TempDir& dir) {
  SynthOptions o;
  o.num_users = 1500;
  o.num_items = 500;
  o.num_interactions = 40'000;
  auto data = synthesize(o);
  EXPECT_TRUE(data.is_ok());
  const Dataset& all = data.value().dataset;
  auto parts = split(all, SplitOptions{});
  EXPECT_TRUE(parts.is_ok());
  Files f{dir.file("train.csv"), dir.file("items.csv"), dir.file("users.csv"), {}, {}};
  EXPECT_OK(write_interactions_csv(parts.value().train, f.train));
  EXPECT_OK(write_features_csv(all.catalog().item_features, all.catalog().items, "item_id", f.items));
  EXPECT_OK(write_features_csv(all.catalog().user_features, all.catalog().users, "user_id", f.users));
  DatasetBuilder b;
  ReadReport report;
  EXPECT_OK(read_interactions_file(f.train, {}, b, report));
  EXPECT_OK(read_features_file(f.items, FeatureTarget::kItems, {}, b, report));
  EXPECT_OK(read_features_file(f.users, FeatureTarget::kUsers, {}, b, report));
  CleanReport clean_report;
  f.whole = clean(b.build(), CleanOptions{}, &clean_report);
  const Dataset& held = parts.value().test;
  Interactions test;
  for (size_t r = 0; r < held.num_interactions(); ++r) {
    const auto u = f.whole.catalog().users.find(held.catalog().users.id_of(held.interactions().users[r]));
    const auto i = f.whole.catalog().items.find(held.catalog().items.id_of(held.interactions().items[r]));
    if (u && i) test.push_back(*u, *i, held.interactions().types[r], held.interactions().values[r], 0);
  }
  f.test = f.whole.with_interactions(std::move(test));
  return f;
}

LoadedModel train_distributed(int ranks, const Files& f, const std::string& out, int average_every = 1) {
  const testing::MpiJob job =
      run_mpi_job(ranks, {"-i", f.train, "--item-features", f.items, "--user-features", f.users, "-m", kSpec,
                          "--average-every", std::to_string(average_every), "-o", out});
  EXPECT_EQ(job.exit_code, 0) << job.output;
  auto loaded = load_model(out);
  EXPECT_TRUE(loaded.is_ok()) << job.output;
  return std::move(loaded).value();
}

std::unique_ptr<Recommender> fit_single(const std::string& spec, const Dataset& data) {
  auto model = make_recommender_from_spec(spec);
  EXPECT_TRUE(model.is_ok());
  EXPECT_OK(model.value()->fit(data));
  return std::move(model).value();
}

double ndcg10(const Recommender& model, const Files& f) {
  EvalOptions o;
  o.ks = {10};
  o.compute_auc = false;
  return evaluate_full_ranking(model, f.whole, f.test, o).metrics.at("ndcg@10");
}

TEST(DistributedTwoTower, OneRankIsSingleNodeTrainingExactly) {
  TempDir dir;
  const Files f = write_files(dir);
  const auto single = fit_single(kSpec, f.whole);
  const LoadedModel dist = train_distributed(1, f, dir.file("one.nudge"));
  const auto& a = dynamic_cast<const TwoTowerModel&>(*single);
  const auto& b = dynamic_cast<const TwoTowerModel&>(*dist.model);
  ASSERT_EQ(a.token_embeddings().rows(), b.token_embeddings().rows());
  EXPECT_EQ((a.token_embeddings() - b.token_embeddings()).cwiseAbs().maxCoeff(), 0.f);
  EXPECT_EQ((a.item_vectors() - b.item_vectors()).cwiseAbs().maxCoeff(), 0.f);
}

TEST(DistributedTwoTower, ThreeRanksReachSingleNodeAccuracyWithin2Percent) {
  TempDir dir;
  const Files f = write_files(dir);
  const auto single = fit_single(kSpec, f.whole);
  const auto popularity = fit_single("popularity", f.whole);
  const double base = ndcg10(*single, f);
  const LoadedModel dist = train_distributed(3, f, dir.file("three.nudge"));
  const double three = ndcg10(*dist.model, f);
  std::printf("NDCG@10: single-node %.4f, 3 ranks averaging every epoch %.4f\n", base, three);
  EXPECT_GT(base, 1.2 * ndcg10(*popularity, f));  // the planted structure is learnt at all
  EXPECT_GE(three, 0.98 * base) << "single-node " << base << ", 3 ranks " << three;
}

}  // namespace
}  // namespace nudge
