// Distributed iALS (nudge-train-mpi under mpirun, 1 and 3 ranks on loopback) against
// single-node training of the same file with the same seed.
#include "nudge/distributed/ials.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "distributed/mpi_job.h"
#include "nudge/cleaning.h"
#include "nudge/model_file.h"
#include "nudge/readers.h"
#include "nudge/registry.h"
#include "nudge/synth.h"
#include "nudge/top_k.h"
#include "nudge/writers.h"
#include "test_util.h"

namespace nudge {
namespace {

using testing::run_mpi_job;
using testing::TempDir;

constexpr const char* kSpec = "ials:factors=16,iterations=8,threads=1";

// Planted data written as nudge synth writes it, with exact duplicates and repeated pairs
// appended, so the ranks' cleaning has work to do.
std::string write_events(const TempDir& dir) {
  SynthOptions o;
  o.num_users = 900;
  o.num_items = 400;
  o.num_interactions = 24'000;
  o.unique_pairs = false;
  auto data = synthesize(o);
  EXPECT_TRUE(data.is_ok());
  const std::string path = dir.file("events.csv");
  EXPECT_OK(write_interactions_csv(data.value().dataset, path));
  const std::string text = testing::read_file(path);
  std::ofstream out(path, std::ios::app);
  // Lines 2-40 again: exact duplicates, dropped by the cleaning wherever their users live.
  size_t at = text.find('\n') + 1;
  for (int k = 0; k < 39; ++k) {
    const size_t nl = text.find('\n', at);
    out << text.substr(at, nl + 1 - at);
    at = nl + 1;
  }
  return path;
}

// What nudge train reads: the whole file, then the same cleaning.
Dataset read_whole(const std::string& path, const ReadOptions& options = {}) {
  DatasetBuilder b;
  ReadReport report;
  EXPECT_OK(read_interactions_file(path, options, b, report));
  CleanReport clean_report;
  return clean(b.build(), CleanOptions{}, &clean_report);
}

std::unique_ptr<Recommender> fit_single(const Dataset& data, const std::string& spec = kSpec) {
  auto model = make_recommender_from_spec(spec);
  EXPECT_TRUE(model.is_ok());
  EXPECT_OK(model.value()->fit(data));
  return std::move(model).value();
}

LoadedModel train_distributed(int ranks, const std::vector<std::string>& args, const std::string& out) {
  std::vector<std::string> all = args;
  all.insert(all.end(), {"-m", kSpec, "-o", out});
  const testing::MpiJob job = run_mpi_job(ranks, all);
  EXPECT_EQ(job.exit_code, 0) << job.output;
  auto loaded = load_model(out);
  EXPECT_TRUE(loaded.is_ok()) << job.output;
  return std::move(loaded).value();
}

void expect_same_ids(const IdMap& a, const IdMap& b) {
  ASSERT_EQ(a.size(), b.size());
  for (uint32_t k = 0; k < a.size(); ++k) ASSERT_EQ(a.id_of(k), b.id_of(k)) << "index " << k;
}

void expect_same_history(const CsrMatrix& a, const CsrMatrix& b) {
  EXPECT_EQ(a.indptr, b.indptr);
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.values, b.values);
}

// The catalogue and the cleaned history are exact on any number of ranks.
void expect_same_data(const LoadedModel& dist, const Dataset& whole) {
  expect_same_ids(dist.users, whole.catalog().users);
  expect_same_ids(dist.items, whole.catalog().items);
  expect_same_history(dist.history, whole.user_items());
}

double max_abs_difference(const FactorMatrix& a, const FactorMatrix& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  return (a - b).cwiseAbs().maxCoeff();
}

// Share of users whose top 10 (seen items excluded) are the same items in the same order.
double same_top10_share(const Recommender& a, const Recommender& b, const CsrMatrix& seen) {
  std::vector<float> sa(a.num_items()), sb(b.num_items());
  std::vector<ScoredItem> ta, tb;
  uint32_t same = 0;
  for (uint32_t u = 0; u < a.num_users(); ++u) {
    a.score_user(u, sa);
    b.score_user(u, sb);
    top_k(sa, 10, seen.row_indices(u), &ta);
    top_k(sb, 10, seen.row_indices(u), &tb);
    bool equal = ta.size() == tb.size();
    for (size_t k = 0; equal && k < ta.size(); ++k) equal = ta[k].item == tb[k].item;
    same += equal;
  }
  return static_cast<double>(same) / a.num_users();
}

TEST(DistributedIals, OneRankIsSingleNodeTrainingExactly) {
  TempDir dir;
  const std::string events = write_events(dir);
  const Dataset whole = read_whole(events);
  const auto single = fit_single(whole);
  const LoadedModel dist = train_distributed(1, {"-i", events}, dir.file("one.nudge"));
  expect_same_data(dist, whole);
  const auto& a = dynamic_cast<const IalsModel&>(*single);
  const auto& b = dynamic_cast<const IalsModel&>(*dist.model);
  EXPECT_EQ(max_abs_difference(a.user_factors(), b.user_factors()), 0.0);
  EXPECT_EQ(max_abs_difference(a.item_factors(), b.item_factors()), 0.0);
}

TEST(DistributedIals, ThreeRanksEqualSingleNodeWithinTolerance) {
  TempDir dir;
  const std::string events = write_events(dir);
  const Dataset whole = read_whole(events);
  const auto single = fit_single(whole);
  const LoadedModel dist = train_distributed(3, {"-i", events}, dir.file("three.nudge"));
  // The catalogue, the cleaning and the history are exact: only the Gram matrix's sum order differs.
  expect_same_data(dist, whole);
  const auto& a = dynamic_cast<const IalsModel&>(*single);
  const auto& b = dynamic_cast<const IalsModel&>(*dist.model);
  const double user_error =
      max_abs_difference(a.user_factors(), b.user_factors()) / a.user_factors().cwiseAbs().maxCoeff();
  const double item_error =
      max_abs_difference(a.item_factors(), b.item_factors()) / a.item_factors().cwiseAbs().maxCoeff();
  const double same_top10 = same_top10_share(a, b, whole.user_items());
  std::printf(
      "3 ranks vs single-node: largest factor difference %.2g (users) %.2g (items) of the largest "
      "factor; same top 10 for %.1f%% of users\n",
      user_error, item_error, 100 * same_top10);
  EXPECT_LT(user_error, 1e-4);  // measured 2.5e-6
  EXPECT_LT(item_error, 1e-4);
  EXPECT_GE(same_top10, 0.98);
}

TEST(DistributedIals, PartsOfHeaderlessAndNamedColumnFilesReadAsTheWholeFile) {
  TempDir dir;
  const Dataset whole = read_whole(write_events(dir));
  // MovieLens-1M's ratings.dat (no header, '::') and a CSV whose columns are found by name.
  std::ofstream dat(dir.file("ratings.dat")), named(dir.file("named.csv"));
  named << "ts,sku,ignored,uid\n";
  const Interactions& in = whole.interactions();
  for (size_t r = 0; r < in.size(); ++r) {
    const std::string& u = whole.catalog().users.id_of(in.users[r]);
    const std::string& i = whole.catalog().items.id_of(in.items[r]);
    dat << u.substr(1) << "::" << i.substr(1) << "::" << 1 + r % 5 << "::" << in.timestamps[r] << "\n";
    named << in.timestamps[r] << "," << i << ",x," << u << "\n";
  }
  dat.close();
  named.close();
  ReadOptions ml;
  ml.format = InputFormat::kMovieLens1m;
  const Dataset ml_whole = read_whole(dir.file("ratings.dat"), ml);
  const LoadedModel ml_dist =
      train_distributed(3, {"-i", dir.file("ratings.dat"), "--format", "ml-1m"}, dir.file("ml.nudge"));
  expect_same_data(ml_dist, ml_whole);
  ReadOptions by_name;
  ASSERT_OK(by_name.columns.parse("user=uid,item=sku,timestamp=ts"));
  const Dataset named_whole = read_whole(dir.file("named.csv"), by_name);
  const LoadedModel named_dist = train_distributed(
      3, {"-i", dir.file("named.csv"), "--map", "user=uid,item=sku,timestamp=ts"}, dir.file("named.nudge"));
  expect_same_data(named_dist, named_whole);
}

TEST(DistributedIals, ABadLineEndsTheJobNamingFileLineAndRank) {
  TempDir dir;
  const std::string events = write_events(dir);
  std::string text = testing::read_file(events);
  // Line 20,000 of ~24,040: in the third rank's part.
  size_t at = 0;
  for (int line = 1; line < 20'000; ++line) at = text.find('\n', at) + 1;
  text.insert(at, "u1,i1,view,not-a-number,1600000000\n");
  testing::write_file(events, text);
  const std::string out = dir.file("bad.nudge");
  const testing::MpiJob job = run_mpi_job(3, {"-i", events, "--strict", "-m", kSpec, "-o", out});
  EXPECT_NE(job.exit_code, 0);
  EXPECT_NE(job.output.find(events + ":20000: field 'value'"), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("rank 2 of 3"), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("no model is written"), std::string::npos) << job.output;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(DistributedIals, AKilledRankEndsTheJobWithoutAModel) {
  TempDir dir;
  const std::string events = write_events(dir);
  const std::string out = dir.file("killed.nudge");
  std::string victim;
  bool killed = false;
  int iterations_seen = 0;
  // Enough iterations to be training when rank 0 has reported three; rank 1 is killed at the
  // first report after that and after its own pid line (mpirun may forward the ranks' lines
  // in any order).
  const testing::MpiJob job = run_mpi_job(
      3, {"-i", events, "-m", "ials:factors=16,iterations=10000,threads=1", "-o", out}, [&](const std::string& line) {
        const size_t pid_at = line.find("rank 1 of 3 on ");
        if (pid_at != std::string::npos) victim = line.substr(line.rfind("pid ") + 4);
        if (line.find(" of 10000: user factors") != std::string::npos) ++iterations_seen;
        if (!killed && !victim.empty() && iterations_seen >= 3) killed = ::kill(std::stoi(victim), SIGKILL) == 0;
      });
  ASSERT_TRUE(killed) << job.output;
  EXPECT_NE(job.exit_code, 0);
  EXPECT_NE(job.output.find("process rank 1"), std::string::npos) << job.output;  // mpirun's report
  // A surviving rank says where the job was when it ended (which of them gets to say it
  // before mpirun ends the job is up to Open MPI).
  EXPECT_TRUE(job.output.find("ended rank 0 of 3") != std::string::npos ||
              job.output.find("ended rank 2 of 3") != std::string::npos)
      << job.output;
  EXPECT_NE(job.output.find("step 'iteration"), std::string::npos) << job.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp"));
}

TEST(DistributedIals, RefusesWhatItCannotDistribute) {
  TempDir dir;
  const std::string events = write_events(dir);
  const std::string out = dir.file("refused.nudge");
  const testing::MpiJob kcore = run_mpi_job(2, {"-i", events, "--min-user", "3", "-m", kSpec, "-o", out});
  EXPECT_NE(kcore.exit_code, 0);
  EXPECT_NE(kcore.output.find("k-core filtering (--min-user, --min-item) is not distributed"), std::string::npos)
      << kcore.output;
  const testing::MpiJob ease = run_mpi_job(2, {"-i", events, "-m", "ease", "-o", out});
  EXPECT_NE(ease.exit_code, 0);
  EXPECT_NE(ease.output.find("nudge-train-mpi trains ials and twotower, not ease"), std::string::npos) << ease.output;
  const testing::MpiJob loss = run_mpi_job(2, {"-i", events, "-m", "ials:training_loss=true", "-o", out});
  EXPECT_NE(loss.exit_code, 0);
  EXPECT_NE(loss.output.find("ials: training_loss is not distributed"), std::string::npos) << loss.output;
  const testing::MpiJob missing = run_mpi_job(2, {"-i", dir.file("absent.csv"), "-m", kSpec, "-o", out});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("absent.csv: cannot open"), std::string::npos) << missing.output;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace nudge
