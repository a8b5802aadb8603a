#include "nudge/report.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <cmath>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace nudge {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

EvalResult result(const std::string& model, double ndcg, std::vector<double> losses = {}) {
  EvalResult r;
  r.model = model;
  r.protocol = "full";
  for (int k : {5, 10}) {
    r.metrics[fmt::format("ndcg@{}", k)] = ndcg * k / 10;
    r.metrics[fmt::format("recall@{}", k)] = ndcg;
    r.metrics[fmt::format("coverage@{}", k)] = 0.5;
    r.metrics[fmt::format("arp@{}", k)] = 0.2;
  }
  r.fit_seconds = 0.5;
  r.epoch_losses = std::move(losses);
  return r;
}

TEST(ReportTest, EverySectionHasItsPlot) {
  ReportInput in;
  in.results = {result("popularity", 0.2), result("bpr", 0.3, {0.7, 0.5, 0.4})};
  in.tuning_metric = "ndcg@10";
  in.trials = {{0, 0.2, true, "ials"}, {1, 0.1, false, "ials:iterations=2"}, {2, 0.3, true, "ials:alpha=3"}};
  in.best_spec = "ials:alpha=3";
  const std::string html = render_report_html(in);
  // recall@K, ndcg@K, accuracy vs time, coverage, arp, training curves, tuning trials.
  EXPECT_EQ(count(html, "<svg "), 7u);
  for (const char* section : {"Metrics", "Accuracy at each cut-off", "Accuracy and cost",
                              "Coverage and popularity bias", "Training curves", "Tuning"})
    EXPECT_NE(html.find(std::string("<h2>") + section + "</h2>"), std::string::npos) << section;
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://www.w3.org/2000/svg\""), html.find("xmlns=\"http://www.w3.org/2000/svg\"") + 7);
  EXPECT_EQ(html.find("https://"), std::string::npos);  // nothing fetched
  EXPECT_NE(html.find("Best: ials:alpha=3"), std::string::npos);
}

TEST(ReportTest, SectionsWithoutDataAreLeftOut) {
  ReportInput in;
  in.results = {result("popularity", 0.2)};
  const std::string html = render_report_html(in);
  EXPECT_EQ(html.find("Training curves"), std::string::npos);
  EXPECT_EQ(html.find("Tuning"), std::string::npos);
}

TEST(ReportTest, ModelNamesAreEscaped) {
  ReportInput in;
  in.title = "<b>t</b>";
  in.results = {result("<script>alert(1)</script>", 0.2)};
  const std::string html = render_report_html(in);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<b>t"), std::string::npos);
}

TEST(ReportTest, ReadsWhatEvalAndTuneWrite) {
  ReportInput in;
  const nlohmann::json eval = std::vector<EvalResult>{result("ials", 0.3, {0.5, 0.4})};
  ASSERT_OK(add_report_json(eval.dump(), "e.json", &in));
  ASSERT_EQ(in.results.size(), 1u);
  EXPECT_EQ(in.results[0].model, "ials");
  EXPECT_DOUBLE_EQ(in.results[0].metrics.at("ndcg@10"), 0.3);
  EXPECT_EQ(in.results[0].epoch_losses, (std::vector<double>{0.5, 0.4}));
  const std::string tune = R"({"metric": "ndcg@10", "best": "ials:alpha=2", "trials": [
      {"metric": 0.2, "full": true, "spec": "ials"}, {"metric": null, "full": false, "spec": "ials:x=1"}]})";
  ASSERT_OK(add_report_json(tune, "t.json", &in));
  ASSERT_EQ(in.trials.size(), 2u);
  EXPECT_FALSE(in.trials[1].full);
  EXPECT_TRUE(std::isnan(in.trials[1].metric));  // NaN is written as null
  EXPECT_EQ(in.best_spec, "ials:alpha=2");
  EXPECT_NE(render_report_html(in).find("<svg"), std::string::npos);
  const std::string replay = R"({"k": 10, "windows": [{"start": 86400, "ndcg": 0.3, "hit_rate": 0.5, "retrains": 1},
      {"start": 172800, "ndcg": 0.1, "hit_rate": 0.2, "drift": true}]})";
  ASSERT_OK(add_report_json(replay, "p.json", &in));
  ASSERT_EQ(in.replay.size(), 2u);
  EXPECT_DOUBLE_EQ(in.replay[1].day, 1.0);
  EXPECT_TRUE(in.replay[1].drift);
  const std::string html = render_report_html(in);
  EXPECT_NE(html.find("<h2>Replay</h2>"), std::string::npos);
  EXPECT_NE(html.find("1 retrains; 1 windows flagged as drift"), std::string::npos);
}

TEST(ReportTest, BadFilesNameTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "r.json: not valid JSON"},
      {"42",
       "r.json: expected `nudge eval --json` results (an array), a `nudge tune --json` or a `nudge replay --json` "
       "record"},
      {R"({"windows": [], "k": -1})", "r.json.k: expected a count"},
      {R"({"windows": [{"start": 0, "ndcg": "x"}], "k": 10})", "r.json.windows[0].ndcg: expected a number"},
      {"[1]", "r.json: [0]: expected an object (one evaluation result)"},
      {R"([{"protocol": "full"}])", "r.json: [0].model: missing"},
      {R"([{"model": 3}])", "r.json: [0].model: expected a string"},
      {R"([{"model": "m", "metrics": {"ndcg@10": "high"}}])", "r.json: [0].metrics.ndcg@10: expected a number"},
      {R"([{"model": "m", "metrics": []}])", "r.json: [0].metrics: expected an object"},
      {R"([{"model": "m", "epoch_losses": [1, "x"]}])", "r.json: [0].epoch_losses[1]: expected a number"},
      {R"({"trials": 3})", "r.json.trials: expected an array"},
      {R"({"trials": [{"metric": 1, "full": "yes"}]})", "r.json.trials[0].full: expected true or false"},
  };
  for (const auto& [text, message] : cases) {
    ReportInput in;
    EXPECT_EQ(add_report_json(text, "r.json", &in).message(), message) << text;
  }
  ReportInput in;
  EXPECT_EQ(add_report_file("/nonexistent/r.json", &in).message(), "cannot open '/nonexistent/r.json'");
}

}  // namespace
}  // namespace nudge
