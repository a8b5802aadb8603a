// ONNX export: every exported file passes the ONNX checker, and ONNX Runtime (the npm
// package onnxruntime-node, driven by tests/export/ort_run.js) gives the C++ model's scores
// within 1e-4 on a few hundred users, for every exportable kind and both graphs.
#include "nudge/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>

#include "nudge/fusion.h"
#include "nudge/models/ials.h"
#include "nudge/models/sasrec.h"
#include "nudge/models/two_tower.h"
#include "nudge/registry.h"
#include "nudge/synth.h"
#include "nudge/top_k.h"
#include "test_util.h"

namespace nudge {
namespace {

constexpr uint32_t kScoredUsers = 300;

const SynthData& implicit_data() {
  static const SynthData d = [] {
    SynthOptions o;
    o.num_users = 400;
    o.num_items = 250;
    o.num_interactions = 16000;
    o.num_topics = 8;
    o.seed = 5;
    return synthesize(o).value();
  }();
  return d;
}

const Dataset& rating_data() {
  static const Dataset d = [] {
    SynthOptions o;
    o.num_users = 400;
    o.num_items = 250;
    o.num_interactions = 16000;
    o.ratings = true;
    o.seed = 6;
    return synthesize(o).value().dataset;
  }();
  return d;
}

LoadedModel fit(const Dataset& d, const std::string& spec) {
  LoadedModel out;
  out.model = make_recommender_from_spec(spec).value();
  const Status s = out.model->fit(d);
  EXPECT_TRUE(s.is_ok()) << spec << ": " << s.to_string();
  out.users = d.catalog().users;
  out.items = d.catalog().items;
  out.history = d.user_items();
  return out;
}

std::map<std::string, std::string> metadata(const std::string& bytes) {
  onnx::ModelProto proto;
  EXPECT_TRUE(proto.ParseFromString(bytes));
  std::map<std::string, std::string> out;
  for (const auto& e : proto.metadata_props()) out[e.key()] = e.value();
  return out;
}

// Why ONNX Runtime cannot run here, or empty. Only a machine without npm may skip: where npm
// is, scripts/install-deps.sh has installed onnxruntime-node, and its absence is a failure.
std::string runtime_missing() {
  if (std::system("command -v npm >/dev/null 2>&1") != 0)
    return "npm is not installed, so ONNX Runtime (onnxruntime-node) cannot run: the ONNX Runtime checks are skipped";
  return {};
}

// Runs `bytes` in ONNX Runtime on `inputs`; each output's raw bytes by name.
std::map<std::string, std::string> run_onnx_runtime_outputs(const std::string& bytes, const nlohmann::json& inputs,
                                                            std::initializer_list<std::string> names) {
  testing::TempDir dir;
  testing::write_file(dir.file("model.onnx"), bytes);
  testing::write_file(dir.file("inputs.json"), inputs.dump());
  EXPECT_TRUE(std::filesystem::exists(NUDGE_ORT_NODE_DIR))
      << "onnxruntime-node is not at " << NUDGE_ORT_NODE_DIR << ": run scripts/install-deps.sh";
  const std::string command = std::string("node '") + NUDGE_ORT_RUN_JS + "' '" + NUDGE_ORT_NODE_DIR + "' '" +
                              dir.file("model.onnx") + "' '" + dir.file("inputs.json") + "' '" + dir.file("out") +
                              "' > '" + dir.file("log") + "' 2>&1";
  const int rc = std::system(command.c_str());
  EXPECT_EQ(rc, 0) << command << "\n" << testing::read_file(dir.file("log"));
  std::map<std::string, std::string> out;
  for (const std::string& name : names) out[name] = testing::read_file(dir.file("out." + name));
  return out;
}

template <typename T>
std::vector<T> as_vector(const std::string& raw) {
  std::vector<T> out(raw.size() / sizeof(T));
  std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
  return out;
}

// The "scores" output of `bytes` on `inputs`, row-major.
std::vector<float> run_onnx_runtime(const std::string& bytes, const nlohmann::json& inputs) {
  return as_vector<float>(run_onnx_runtime_outputs(bytes, inputs, {"scores"})["scores"]);
}

nlohmann::json tensor(const std::string& type, std::vector<int64_t> dims, const nlohmann::json& data) {
  return {{"type", type}, {"dims", dims}, {"data", data}};
}

// The largest error of `got` against `want` (rows of `items`), relative to each score or,
// for scores near zero, to a hundredth of the largest score of the user: a score that
// cancels to ~0 carries the rounding of its terms, not of itself.
double max_relative_error(std::span<const float> got, std::span<const float> want, size_t items) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t r = 0; r * items < std::min(got.size(), want.size()); ++r) {
    double scale = 0;
    for (size_t i = 0; i < items; ++i) scale = std::max(scale, std::fabs(double(want[r * items + i])));
    for (size_t i = 0; i < items; ++i) {
      const double w = want[r * items + i], g = got[r * items + i];
      if (!std::isfinite(g)) return INFINITY;
      worst = std::max(worst, std::fabs(g - w) / std::max({std::fabs(w), 1e-2 * scale, 1e-12}));
    }
  }
  return worst;
}

std::vector<float> user_scores(const Recommender& m, uint32_t users) {
  std::vector<float> out(size_t(users) * m.num_items());
  for (uint32_t u = 0; u < users; ++u)
    m.score_user(u, std::span(out).subspan(size_t(u) * m.num_items(), m.num_items()));
  return out;
}

nlohmann::json user_input(uint32_t users) {
  std::vector<int64_t> ids(users);
  for (uint32_t u = 0; u < users; ++u) ids[u] = u;
  return {{"user", tensor("int64", {users}, ids)}};
}

struct Case {
  std::string spec;
  bool ratings = false;
};

class OnnxUserGraphTest : public ::testing::TestWithParam<Case> {};

// The user graph of each kind: checked, its metadata names the kind and the IDs, and ONNX
// Runtime gives score_user's scores for 300 users within 1e-4.
TEST_P(OnnxUserGraphTest, OnnxRuntimeGivesTheModelsScores) {
  const Case& c = GetParam();
  const Dataset& d = c.ratings ? rating_data() : implicit_data().dataset;
  const LoadedModel m = fit(d, c.spec);
  const Result<std::string> bytes = onnx_model_bytes(m, {});
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  ASSERT_OK(check_onnx_bytes(bytes.value()));
  const auto meta = metadata(bytes.value());
  EXPECT_EQ(meta.at("nudge.kind"), m.model->name());
  EXPECT_EQ(meta.at("nudge.graph"), "user");
  EXPECT_EQ(meta.at("nudge.format_version"), std::to_string(kOnnxExportVersion));
  const auto items = nlohmann::json::parse(meta.at("nudge.items"));
  ASSERT_EQ(items.size(), d.num_items());
  EXPECT_EQ(items[7].get<std::string>(), d.catalog().items.id_of(7));
  EXPECT_EQ(nlohmann::json::parse(meta.at("nudge.users")).size(), d.num_users());

  if (const std::string why = runtime_missing(); !why.empty()) GTEST_SKIP() << why;
  const std::vector<float> got = run_onnx_runtime(bytes.value(), user_input(kScoredUsers));
  const std::vector<float> want = user_scores(*m.model, kScoredUsers);
  const double error = max_relative_error(got, want, d.num_items());
  std::printf("%s: %u users x %u items, max relative error %.2e\n", c.spec.c_str(), kScoredUsers, d.num_items(), error);
  EXPECT_LE(error, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, OnnxUserGraphTest,
    ::testing::Values(Case{"ials:factors=16,iterations=5"}, Case{"bpr:factors=16,epochs=10,threads=1"},
                      Case{"svd:factors=16,epochs=5", true}, Case{"svdpp:factors=8,epochs=3", true},
                      Case{"gmf:factors=8,epochs=2,threads=1"}, Case{"mlp:layers=16-8,epochs=2,threads=1"},
                      Case{"neumf:factors=8,layers=32-16-8,epochs=2,threads=1"},
                      Case{"twotower:factors=8,epochs=3,threads=1"},
                      Case{"sasrec:factors=8,blocks=1,epochs=2,validation_users=0,threads=1"},
                      Case{"fusion:models=ials+twotower,ials.factors=8,twotower.factors=8,twotower.threads=1"},
                      Case{"fusion:models=ials+bpr,method=learned,normalise=minmax,ials.factors=8,bpr.factors=8,"
                           "bpr.threads=1"}),
    [](const ::testing::TestParamInfo<Case>& param) {
      return param.param.spec.substr(0, param.param.spec.find(':')) + std::to_string(param.index);
    });

// Pads rows of indices (and values) to one width with -1 (and 0).
void pad(const std::vector<std::vector<int64_t>>& rows, std::vector<int64_t>* flat, size_t* width) {
  *width = 1;
  for (const auto& r : rows) *width = std::max(*width, r.size());
  flat->assign(rows.size() * *width, -1);
  for (size_t k = 0; k < rows.size(); ++k) std::copy(rows[k].begin(), rows[k].end(), flat->begin() + k * *width);
}

// The iALS history graph is the fold-in: histories of 300 training users (and an empty one)
// give score_history's scores, solved in the graph by Gauss-Jordan elimination.
TEST(OnnxExportTest, IalsHistoryGraphIsTheFoldIn) {
  const Dataset& d = implicit_data().dataset;
  const LoadedModel m = fit(d, "ials:factors=16,iterations=5,reg_exponent=1,alpha=2");
  const Result<std::string> bytes = onnx_model_bytes(m, {.graph = ExportGraph::kHistory});
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  EXPECT_EQ(metadata(bytes.value()).at("nudge.graph"), "history");
  if (const std::string why = runtime_missing(); !why.empty()) GTEST_SKIP() << why;

  const CsrMatrix& history = d.user_items();
  std::vector<std::vector<int64_t>> items;
  std::vector<float> want;
  for (uint32_t u = 0; u <= kScoredUsers; ++u) {
    // The last row is empty: a user with no history folds in to zero.
    const std::span<const uint32_t> it = u < kScoredUsers ? history.row_indices(u) : std::span<const uint32_t>();
    const std::span<const float> w = u < kScoredUsers ? history.row_values(u) : std::span<const float>();
    items.emplace_back(it.begin(), it.end());
    std::vector<float> s(d.num_items());
    m.model->score_history(it, w, s);
    want.insert(want.end(), s.begin(), s.end());
  }
  std::vector<int64_t> flat;
  size_t width = 0;
  pad(items, &flat, &width);
  std::vector<float> weights(flat.size(), 0.f);
  for (uint32_t u = 0; u < kScoredUsers; ++u)
    std::copy(history.row_values(u).begin(), history.row_values(u).end(), weights.begin() + u * width);
  const auto n = static_cast<int64_t>(items.size()), l = static_cast<int64_t>(width);
  const std::vector<float> got = run_onnx_runtime(
      bytes.value(),
      {{"history_items", tensor("int64", {n, l}, flat)}, {"history_weights", tensor("float32", {n, l}, weights)}});
  const double error = max_relative_error(got, want, d.num_items());
  std::printf("ials fold-in: %lld histories up to %lld items, max relative error %.2e\n", static_cast<long long>(n),
              static_cast<long long>(l), error);
  EXPECT_LE(error, 1e-4);
  for (uint32_t i = 0; i < d.num_items(); ++i) ASSERT_EQ(got[kScoredUsers * d.num_items() + i], 0.f);
}

// The sasrec history graph is the encoder: sequences in time order (training users' last
// items, one longer than max_length, one with a repeat, padding in the middle of one, an empty
// one) give score_history's scores.
TEST(OnnxExportTest, SasrecHistoryGraphIsTheEncoder) {
  const Dataset& d = implicit_data().dataset;
  const LoadedModel m = fit(d, "sasrec:factors=8,blocks=2,heads=2,max_length=6,epochs=2,validation_users=0,threads=1");
  const Result<std::string> bytes = onnx_model_bytes(m, {.graph = ExportGraph::kHistory});
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  EXPECT_EQ(metadata(bytes.value()).at("nudge.graph"), "history");
  if (const std::string why = runtime_missing(); !why.empty()) GTEST_SKIP() << why;
  const auto& s = dynamic_cast<const SasrecModel&>(*m.model);
  std::vector<std::vector<int64_t>> rows;       // what the graph reads (-1: padding)
  std::vector<std::vector<uint32_t>> sequence;  // what score_history reads
  for (uint32_t u = 0; u < 100; ++u) {
    const auto seq = s.user_sequence(u);
    sequence.emplace_back(seq.begin(), seq.end());
  }
  sequence.push_back({1, 2, 3, 4, 5, 6, 7, 8, 9});  // longer than max_length: its last 6 count
  sequence.push_back({4, 9, 4, 4});                 // repeats
  sequence.push_back({});
  for (const auto& q : sequence) rows.emplace_back(q.begin(), q.end());
  rows[3].insert(rows[3].begin() + 2, {-1, -1});  // padding between entries is no entry
  std::vector<float> want;
  for (const auto& q : sequence) {
    std::vector<float> scores(d.num_items());
    m.model->score_history(q, std::vector<float>(q.size(), 1.f), scores);
    want.insert(want.end(), scores.begin(), scores.end());
  }
  std::vector<int64_t> flat;
  size_t width = 0;
  pad(rows, &flat, &width);
  const auto n = static_cast<int64_t>(rows.size()), l = static_cast<int64_t>(width);
  const std::vector<float> got = run_onnx_runtime(bytes.value(), {{"history_items", tensor("int64", {n, l}, flat)}});
  const double error = max_relative_error(got, want, d.num_items());
  std::printf("sasrec encoder: %lld sequences up to %lld entries, max relative error %.2e\n", static_cast<long long>(n),
              static_cast<long long>(l), error);
  EXPECT_LE(error, 1e-4);
}

// The two-tower history graph is the user tower over token IDs: a training user's tokens and
// recent items give score_user; a user known by attributes and recent items gives
// score_history_with; the token layout in the metadata is the model's.
TEST(OnnxExportTest, TwoTowerHistoryGraphIsTheUserTower) {
  const Dataset& d = implicit_data().dataset;
  const LoadedModel m = fit(d, "twotower:factors=8,epochs=3,threads=1,history=5");
  const auto& tower = dynamic_cast<const TwoTowerModel&>(*m.model);
  const Result<std::string> bytes = onnx_model_bytes(m, {.graph = ExportGraph::kHistory});
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  const auto meta = metadata(bytes.value());
  EXPECT_EQ(meta.at("nudge.history_length"), "5");
  const auto user_tokens = nlohmann::json::parse(meta.at("nudge.user_tokens"));
  ASSERT_EQ(user_tokens.size(), d.num_users());
  EXPECT_EQ(user_tokens[3].get<std::vector<uint32_t>>(),
            std::vector<uint32_t>(tower.user_tokens(3).begin(), tower.user_tokens(3).end()));
  const auto vocabulary = nlohmann::json::parse(meta.at("nudge.user_feature_tokens"));
  ASSERT_TRUE(vocabulary.contains("segment=s02")) << vocabulary.dump();
  if (const std::string why = runtime_missing(); !why.empty()) GTEST_SKIP() << why;

  std::vector<std::vector<int64_t>> tokens, recent;
  std::vector<float> want = user_scores(tower, kScoredUsers);
  for (uint32_t u = 0; u < kScoredUsers; ++u) {
    tokens.emplace_back(tower.user_tokens(u).begin(), tower.user_tokens(u).end());
    recent.emplace_back(tower.recent_items(u).begin(), tower.recent_items(u).end());
  }
  // A served user: two attribute tokens from the vocabulary and three recent items.
  const FeatureDescription attributes{{{"segment", "s02"}, {"country", "fr"}}, {}};
  const std::vector<uint32_t> recent_items = {9, 4, 1};
  const std::vector<float> ones(3, 1.f);
  std::vector<uint32_t> attribute_tokens;
  tower.describe_user(attributes, &attribute_tokens);
  ASSERT_EQ(attribute_tokens.size(), 2u);
  tokens.emplace_back(attribute_tokens.begin(), attribute_tokens.end());
  recent.emplace_back(recent_items.begin(), recent_items.end());
  std::vector<float> served(d.num_items());
  tower.score_history_with(UserHistory{recent_items, ones, recent_items, &attributes}, {}, served, {});
  want.insert(want.end(), served.begin(), served.end());

  std::vector<int64_t> flat_tokens, flat_recent;
  size_t t = 0, h = 0;
  pad(tokens, &flat_tokens, &t);
  pad(recent, &flat_recent, &h);
  const auto n = static_cast<int64_t>(tokens.size());
  const std::vector<float> got =
      run_onnx_runtime(bytes.value(), {{"user_tokens", tensor("int64", {n, int64_t(t)}, flat_tokens)},
                                       {"recent_items", tensor("int64", {n, int64_t(h)}, flat_recent)}});
  const double error = max_relative_error(got, want, d.num_items());
  std::printf("twotower tower: %lld users, max relative error %.2e\n", static_cast<long long>(n), error);
  EXPECT_LE(error, 1e-4);
}

// The fusion of iALS and the two-tower model for a user known by behaviour: the fold-in and the
// tower, each normalised, combined by the tuned weights or the learned stacker (whose history
// feature counts the history). Users: 200 training histories with their recent items, and one
// known by attributes, three recent items and a short history.
class OnnxFusionHistoryTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxFusionHistoryTest, IsTheFusionOfTheFoldInAndTheTower) {
  const Dataset& d = implicit_data().dataset;
  const LoadedModel m = fit(d, GetParam());
  const auto& fusion = dynamic_cast<const FusionModel&>(*m.model);
  const auto& tower = dynamic_cast<const TwoTowerModel&>(fusion.part(1));
  const Result<std::string> bytes = onnx_model_bytes(m, {.graph = ExportGraph::kHistory});
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  EXPECT_TRUE(metadata(bytes.value()).count("nudge.user_tokens"));  // the tower's layout
  if (const std::string why = runtime_missing(); !why.empty()) GTEST_SKIP() << why;

  constexpr uint32_t kUsers = 200;
  const CsrMatrix& history = d.user_items();
  const FeatureDescription attributes{{{"segment", "s03"}}, {}};
  const std::vector<uint32_t> served_items = {9, 4, 1, 30}, served_recent = {9, 4, 1};
  const std::vector<float> served_weights = {1.f, 2.f, 1.f, 4.f};
  std::vector<std::vector<int64_t>> items, tokens, recent;
  std::vector<float> weights, want;
  for (uint32_t u = 0; u <= kUsers; ++u) {
    const bool served = u == kUsers;
    const std::span<const uint32_t> it = served ? std::span<const uint32_t>(served_items) : history.row_indices(u);
    const std::span<const float> w = served ? std::span<const float>(served_weights) : history.row_values(u);
    const std::span<const uint32_t> r = served ? std::span<const uint32_t>(served_recent) : tower.recent_items(u);
    std::vector<uint32_t> t;
    if (served) tower.describe_user(attributes, &t);
    items.emplace_back(it.begin(), it.end());
    tokens.emplace_back(t.begin(), t.end());
    // The tower's items: all of them (history = 0, the default) or the recent ones.
    const std::span<const uint32_t> tower_items = tower.options().history == 0 ? it : r;
    recent.emplace_back(tower_items.begin(), tower_items.end());
    std::vector<float> s(d.num_items());
    fusion.score_history_with(UserHistory{it, w, r, served ? &attributes : nullptr}, {}, s, {});
    want.insert(want.end(), s.begin(), s.end());
  }
  std::vector<int64_t> flat_items, flat_tokens, flat_recent;
  size_t l = 0, t = 0, h = 0;
  pad(items, &flat_items, &l);
  pad(tokens, &flat_tokens, &t);
  pad(recent, &flat_recent, &h);
  std::vector<float> flat_weights(flat_items.size(), 0.f);
  for (uint32_t u = 0; u <= kUsers; ++u) {
    const std::span<const float> w = u == kUsers ? std::span<const float>(served_weights) : history.row_values(u);
    std::copy(w.begin(), w.end(), flat_weights.begin() + u * l);
  }
  const auto n = static_cast<int64_t>(items.size());
  const std::vector<float> got =
      run_onnx_runtime(bytes.value(), {{"history_items", tensor("int64", {n, int64_t(l)}, flat_items)},
                                       {"history_weights", tensor("float32", {n, int64_t(l)}, flat_weights)},
                                       {"user_tokens", tensor("int64", {n, int64_t(t)}, flat_tokens)},
                                       {"recent_items", tensor("int64", {n, int64_t(h)}, flat_recent)}});
  const double error = max_relative_error(got, want, d.num_items());
  std::printf("%s history graph: %lld users, max relative error %.2e\n", GetParam().c_str(), static_cast<long long>(n),
              error);
  EXPECT_LE(error, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    Methods, OnnxFusionHistoryTest,
    ::testing::Values("fusion:models=ials+twotower,ials.factors=8,twotower.factors=8,twotower.threads=1",
                      "fusion:models=ials+twotower,method=learned,normalise=minmax,ials.factors=8,"
                      "twotower.factors=8,twotower.threads=1"),
    [](const ::testing::TestParamInfo<std::string>& param) {
      return std::string(param.index == 0 ? "weighted" : "learned");
    });

// int8 item matrices: about a quarter of the bytes, scores within a few percent of the float
// export's and most of each user's top 10 kept. The measured loss is printed.
TEST(OnnxExportTest, Int8ItemsLoseLittleAccuracy) {
  const Dataset& d = implicit_data().dataset;
  const LoadedModel m = fit(d, "ials:factors=32,iterations=5");
  const std::string f32 = onnx_model_bytes(m, {}).value();
  const std::string i8 = onnx_model_bytes(m, {.int8 = true}).value();
  ASSERT_OK(check_onnx_bytes(i8));
  const size_t item_bytes = size_t(d.num_items()) * 32 * sizeof(float);
  EXPECT_NEAR(static_cast<double>(f32.size() - i8.size()), item_bytes * 0.75, item_bytes * 0.05);
  if (const std::string why = runtime_missing(); !why.empty()) GTEST_SKIP() << why;

  const std::vector<float> want = user_scores(*m.model, kScoredUsers);
  const std::vector<float> got = run_onnx_runtime(i8, user_input(kScoredUsers));
  ASSERT_EQ(got.size(), want.size());
  double worst = 0, kept = 0;
  std::vector<ScoredItem> a, b;
  const uint32_t items = d.num_items();
  for (uint32_t u = 0; u < kScoredUsers; ++u) {
    const auto g = std::span(got).subspan(size_t(u) * items, items),
               w = std::span(want).subspan(size_t(u) * items, items);
    float scale = 0;
    for (float x : w) scale = std::max(scale, std::fabs(x));
    for (uint32_t i = 0; i < items; ++i) worst = std::max(worst, double(std::fabs(g[i] - w[i]) / scale));
    top_k(g, 10, {}, &a);
    top_k(w, 10, {}, &b);
    for (const auto& x : a)
      kept += std::any_of(b.begin(), b.end(), [&](const ScoredItem& y) { return y.item == x.item; }) ? 0.1 : 0.0;
  }
  kept /= kScoredUsers;
  std::printf("int8: %zu -> %zu bytes; max error %.4f of the user's largest score; top-10 overlap %.3f\n", f32.size(),
              i8.size(), worst, kept);
  EXPECT_LT(worst, 0.02);
  EXPECT_GT(kept, 0.9);
}

// With --top-k the graph ends in the top 10 after excluding each user's training items, as
// Nudge's own top_k does: every returned item is one Nudge ranks at that place (or ties with
// it), no excluded item comes back, and a user left with 5 items gets 5 and then -inf.
TEST(OnnxExportTest, TopKGraphExcludesAndRanksAsNudge) {
  const Dataset& d = implicit_data().dataset;
  const LoadedModel m = fit(d, "ials:factors=16,iterations=5");
  const Result<std::string> bytes = onnx_model_bytes(m, {.top_k = 10});
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  EXPECT_EQ(metadata(bytes.value()).at("nudge.top_k"), "10");
  EXPECT_EQ(onnx_model_bytes(m, {.top_k = 251}).status().to_string(),
            "invalid argument: onnx export: --top-k 251 exceeds the 250 items");
  if (const std::string why = runtime_missing(); !why.empty()) GTEST_SKIP() << why;

  const CsrMatrix& history = d.user_items();
  const uint32_t items = d.num_items();
  std::vector<std::vector<int64_t>> exclude;
  for (uint32_t u = 0; u < kScoredUsers; ++u)
    exclude.emplace_back(history.row_indices(u).begin(), history.row_indices(u).end());
  std::vector<int64_t> all_but_five(items - 5);
  std::iota(all_but_five.begin(), all_but_five.end(), 5);
  exclude.push_back(all_but_five);  // user 0 again, left with items 0..4
  std::vector<int64_t> flat, users(kScoredUsers + 1);
  size_t e = 0;
  pad(exclude, &flat, &e);
  std::iota(users.begin(), users.end() - 1, 0);
  users.back() = 0;
  const auto n = static_cast<int64_t>(users.size());
  auto out = run_onnx_runtime_outputs(
      bytes.value(),
      {{"user", tensor("int64", {n}, users)}, {"exclude_items", tensor("int64", {n, static_cast<int64_t>(e)}, flat)}},
      {"top_items", "top_scores"});
  const std::vector<int64_t> top_items = as_vector<int64_t>(out["top_items"]);
  const std::vector<float> top_scores = as_vector<float>(out["top_scores"]);
  ASSERT_EQ(top_items.size(), size_t(n) * 10);
  ASSERT_EQ(top_scores.size(), size_t(n) * 10);
  size_t same = 0;
  std::vector<float> s(items);
  std::vector<ScoredItem> want;
  for (int64_t r = 0; r < n; ++r) {
    m.model->score_user(static_cast<uint32_t>(users[r]), s);
    std::vector<uint32_t> excluded(exclude[r].begin(), exclude[r].end());
    std::sort(excluded.begin(), excluded.end());
    top_k(s, 10, excluded, &want);
    float scale = 0;
    for (float x : s) scale = std::max(scale, std::fabs(x));
    for (size_t j = 0; j < 10; ++j) {
      const int64_t item = top_items[r * 10 + j];
      const float score = top_scores[r * 10 + j];
      if (j >= want.size()) {  // fewer than 10 items left
        EXPECT_EQ(score, -std::numeric_limits<float>::infinity()) << "row " << r << " place " << j;
        continue;
      }
      ASSERT_TRUE(item >= 0 && item < items);
      EXPECT_FALSE(std::binary_search(excluded.begin(), excluded.end(), uint32_t(item))) << "row " << r;
      const float tolerance = 1e-4f * std::max(std::fabs(want[j].score), 0.01f * scale);
      EXPECT_NEAR(score, want[j].score, tolerance) << "row " << r << " place " << j;
      EXPECT_NEAR(s[item], want[j].score, tolerance) << "row " << r << " place " << j;
      same += uint32_t(item) == want[j].item;
    }
  }
  EXPECT_EQ(want.size(), 5u);  // the last row
  std::printf("top-10 with exclusions: %zu of %lld places hold Nudge's item\n", same,
              static_cast<long long>(n * 10 - 5));
  EXPECT_GE(same, size_t(n * 10 - 5) * 99 / 100);
}

// Kinds and combinations without an ONNX form are refused with a message naming them.
TEST(OnnxExportTest, UnexportableModelsAreRefusedByName) {
  const Dataset& d = implicit_data().dataset;
  for (const char* spec : {"popularity", "itemknn", "ease"}) {
    const LoadedModel m = fit(d, spec);
    const Result<std::string> r = onnx_model_bytes(m, {});
    ASSERT_FALSE(r.is_ok()) << spec;
    EXPECT_EQ(r.status().to_string(), "invalid argument: onnx export: " + std::string(m.model->name()) +
                                          " models have no ONNX form (exportable: ials, bpr, svd, svdpp, gmf, "
                                          "mlp, neumf, twotower, sasrec, fusion of those)");
  }
  const LoadedModel bpr = fit(d, "bpr:factors=4,epochs=1");
  EXPECT_EQ(
      onnx_model_bytes(bpr, {.graph = ExportGraph::kHistory}).status().to_string(),
      "invalid argument: onnx export: --graph history needs an ials, twotower or sasrec model, or a fusion of the "
      "first two; bpr fits a new user by an optimisation with no ONNX form (use --graph user)");
  const LoadedModel with_bpr = fit(d, "fusion:models=ials+bpr,ials.factors=4,bpr.factors=4,bpr.epochs=1");
  EXPECT_NE(onnx_model_bytes(with_bpr, {.graph = ExportGraph::kHistory}).status().to_string().find("bpr fits a new"),
            std::string::npos);
  const LoadedModel ranked = fit(d, "fusion:models=ials+bpr,normalise=rank,ials.factors=4,bpr.factors=4,bpr.epochs=1");
  EXPECT_EQ(onnx_model_bytes(ranked, {}).status().to_string(),
            "invalid argument: onnx export: fusion with normalise=rank has no ONNX form (a per-user sort); use "
            "zscore or minmax");
  const LoadedModel knn_fusion = fit(d, "fusion:models=ials+itemknn,ials.factors=4");
  EXPECT_NE(onnx_model_bytes(knn_fusion, {}).status().to_string().find("itemknn models have no ONNX form"),
            std::string::npos);
}

// The checker's verdict reaches the caller: bytes that are not a model, and a model the
// checker rejects (a node reading a tensor nothing defines).
TEST(OnnxExportTest, CheckerFailuresAreReported) {
  EXPECT_EQ(check_onnx_bytes("\xff\xff not protobuf").to_string(), "corruption: onnx: not a serialised ModelProto");
  const LoadedModel m = fit(implicit_data().dataset, "ials:factors=4,iterations=1");
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(onnx_model_bytes(m, {}).value()));
  onnx::NodeProto* bad = proto.mutable_graph()->add_node();
  bad->set_op_type("Relu");
  bad->add_input("nowhere");
  bad->add_output("dangling");
  const Status s = check_onnx_bytes(proto.SerializeAsString());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("nowhere"), std::string::npos) << s.to_string();
}

// export_onnx writes the checked bytes; a path it cannot write is an error, not a crash.
TEST(OnnxExportTest, WritesTheFileAtomically) {
  const LoadedModel m = fit(implicit_data().dataset, "ials:factors=4,iterations=1");
  testing::TempDir dir;
  ASSERT_OK(export_onnx(m, {}, dir.file("m.onnx")));
  EXPECT_EQ(testing::read_file(dir.file("m.onnx")), onnx_model_bytes(m, {}).value());
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.onnx.tmp")));
  EXPECT_FALSE(export_onnx(m, {}, dir.file("missing/m.onnx")).is_ok());
}

}  // namespace
}  // namespace nudge
