#include "nudge/tune.h"

#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/text.h"
#include "nudge/evaluate.h"
#include "nudge/log.h"
#include "nudge/registry.h"

namespace nudge {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The metric's protocol and cut-off: "ndcg@10" -> full ranking at 10; "rmse" -> ratings.
struct MetricPlan {
  bool rating = false;
  bool auc = false;
  size_t k = 10;
};

Result<MetricPlan> plan_metric(const std::string& metric) {
  static const std::set<std::string, std::less<>> kAtK = {"precision", "recall",  "ndcg", "hit_rate", "mrr",
                                                          "map",       "novelty", "arp",  "coverage"};
  MetricPlan plan;
  if (metric == "rmse" || metric == "mae") {
    plan.rating = true;
    return plan;
  }
  if (metric == "auc") {
    plan.auc = true;
    return plan;
  }
  const size_t at = metric.find('@');
  const auto k = at == std::string::npos ? std::nullopt : parse_int64(std::string_view(metric).substr(at + 1));
  if (at == std::string::npos || !kAtK.contains(std::string_view(metric).substr(0, at)) || !k || *k < 1 || *k > 100000)
    return Status::invalid_argument(fmt::format(
        "unknown metric '{}' (known: precision, recall, ndcg, hit_rate, mrr, map, novelty, arp, coverage with @k; "
        "auc; rmse, mae)",
        metric));
  plan.k = static_cast<size_t>(*k);
  return plan;
}

Result<SpecScore> score_model(Recommender& model, const std::string& spec, const Dataset& train, const Dataset& test,
                              const std::string& metric, const MetricPlan& plan, int threads) {
  SpecScore score;
  auto start = Clock::now();
  NUDGE_RETURN_IF_ERROR(model.fit(train).with_context(spec));
  score.fit_seconds = seconds_since(start);
  start = Clock::now();
  EvalOptions eo;
  eo.ks = {plan.k};
  eo.compute_auc = plan.auc;
  eo.threads = threads;
  const EvalResult r =
      plan.rating ? evaluate_ratings(model, train, test, eo) : evaluate_full_ranking(model, train, test, eo);
  score.eval_seconds = seconds_since(start);
  const auto it = r.metrics.find(metric);
  NUDGE_CHECK(it != r.metrics.end(), "tune: the protocol did not compute the planned metric");
  score.metric = it->second;
  return score;
}

bool minimised(const std::string& metric) { return metric == "rmse" || metric == "mae"; }

// The full resource: the spec's value, or the model's default.
Result<int64_t> full_resource(std::string_view model, const Params& params, const std::string& resource) {
  if (resource.empty()) return int64_t{0};
  int64_t value = 0;
  NUDGE_ASSIGN_OR_RETURN(const auto infos, model_parameters(model));
  for (const ParamInfo& p : infos) {
    if (p.key == resource) value = parse_int64(p.default_value).value_or(0);
  }
  NUDGE_RETURN_IF_ERROR(params.read_int(model, resource, 0, INT64_MAX, &value));
  return value;
}

// Every bound and choice of every dimension must be a value the model accepts: a bad range
// fails before any training, not after an hour.
Status check_space(std::string_view model, const Params& fixed, const SearchSpace& space) {
  for (const Dimension& d : space.dimensions) {
    std::vector<std::string> values = d.choices;
    if (d.kind != Dimension::Kind::kChoice) {
      values = {d.bound_text(d.low), d.bound_text(d.high)};
    }
    for (const std::string& v : values) {
      Params p = fixed;
      p.set(d.key, v);
      auto made = make_recommender(model, p);
      if (!made.is_ok()) return made.status().with_context(fmt::format("search range '{}={}'", d.key, d.range_text()));
    }
  }
  return Status::ok();
}

class Tuner {
 public:
  Tuner(const Dataset& train, const Dataset& validation, const TuneOptions& options, const TrialCallback& on_trial,
        std::string model, Params fixed, MetricPlan plan)
      : train_(train),
        validation_(validation),
        options_(options),
        on_trial_(on_trial),
        model_(std::move(model)),
        fixed_(std::move(fixed)),
        plan_(plan),
        rng_(options.seed) {
    result_.metric = options.metric;
    result_.minimise = minimised(options.metric);
  }

  Result<TuneResult> run(int64_t max_resource) {
    const auto start = Clock::now();
    start_ = start;
    // Trial 0: the spec as given, at its full resource.
    NUDGE_RETURN_IF_ERROR(run_trial(fixed_, 0, 0, max_resource, true));
    if (!options_.space.dimensions.empty()) {
      const auto brackets = hyperband_brackets(max_resource, options_.eta, options_.max_brackets_depth);
      for (size_t b = 0; !stopping(); ++b) {
        NUDGE_RETURN_IF_ERROR(run_bracket(brackets[b % brackets.size()], static_cast<int>(b + 1), max_resource));
      }
    }
    result_.seconds = seconds_since(start);
    return std::move(result_);
  }

 private:
  bool stopping() {
    if (options_.max_trials > 0 && result_.trials.size() >= options_.max_trials) return true;
    if (options_.budget_seconds > 0 && seconds_since(start_) >= options_.budget_seconds) {
      result_.out_of_budget = true;
      return true;
    }
    return false;
  }

  Status run_bracket(const std::vector<Rung>& rungs, int bracket, int64_t max_resource) {
    std::vector<Params> configs;
    for (size_t c = 0; c < rungs.front().configurations; ++c) {
      Params p = fixed_;
      for (const Dimension& d : options_.space.dimensions) p.set(d.key, d.sample(rng_));
      configs.push_back(std::move(p));
    }
    std::vector<size_t> alive(configs.size());
    for (size_t c = 0; c < alive.size(); ++c) alive[c] = c;
    for (size_t r = 0; r < rungs.size(); ++r) {
      std::vector<std::pair<double, size_t>> scored;
      for (size_t c : alive) {
        if (stopping()) return Status::ok();
        Params p = configs[c];
        const bool full = rungs[r].resource >= max_resource;
        if (!options_.space.resource.empty()) p.set(options_.space.resource, std::to_string(rungs[r].resource));
        NUDGE_RETURN_IF_ERROR(run_trial(p, bracket, static_cast<int>(r), rungs[r].resource, full));
        scored.emplace_back(result_.trials.back().metric, c);
      }
      if (r + 1 == rungs.size()) break;
      std::stable_sort(scored.begin(), scored.end(),
                       [&](const auto& a, const auto& b) { return result_.better(a.first, b.first); });
      scored.resize(std::min(scored.size(), rungs[r + 1].configurations));
      alive.clear();
      for (const auto& s : scored) alive.push_back(s.second);
    }
    return Status::ok();
  }

  Status run_trial(const Params& params, int bracket, int rung, int64_t resource, bool full) {
    Trial t;
    t.id = result_.trials.size();
    t.bracket = bracket;
    t.rung = rung;
    t.resource = resource;
    t.full = full;
    NUDGE_ASSIGN_OR_RETURN(auto model, make_recommender(model_, params));
    t.spec = spec_of(*model);
    auto score = score_model(*model, t.spec, train_, validation_, options_.metric, plan_, options_.threads);
    // The spec as given must work; a sampled configuration that fails costs only its trial.
    if (!score.is_ok() && t.id == 0) return score.status();
    if (score.is_ok()) {
      t.metric = score.value().metric;
      t.fit_seconds = score.value().fit_seconds;
      t.eval_seconds = score.value().eval_seconds;
    } else {
      t.metric = std::nan("");
      t.error = score.status().to_string();
      spdlog::warn("trial {} failed: {}", t.id, t.error);
    }
    result_.trials.push_back(t);
    const Trial& best = result_.trials[result_.best];
    if (full && (t.id == 0 || result_.better(t.metric, best.metric))) result_.best = t.id;
    if (on_trial_) on_trial_(result_.trials.back(), result_);
    return Status::ok();
  }

  const Dataset& train_;
  const Dataset& validation_;
  const TuneOptions& options_;
  const TrialCallback& on_trial_;
  std::string model_;
  Params fixed_;
  MetricPlan plan_;
  Rng rng_;
  TuneResult result_;
  Clock::time_point start_;
};

}  // namespace

std::vector<std::vector<Rung>> hyperband_brackets(int64_t max_resource, int eta, int max_depth) {
  NUDGE_CHECK(eta >= 2, "hyperband: eta must be at least 2");
  if (max_resource <= 0) return {{Rung{9, 0}}};  // no resource: random search, 9 at a time
  int s_max = 0;
  for (int64_t p = eta; p <= max_resource && s_max < max_depth; p *= eta) ++s_max;
  std::vector<std::vector<Rung>> brackets;
  for (int s = s_max; s >= 0; --s) {
    const double n = std::ceil(static_cast<double>(s_max + 1) / (s + 1) * std::pow(eta, s));
    std::vector<Rung> rungs;
    for (int i = 0; i <= s; ++i) {
      Rung r;
      r.configurations = std::max<size_t>(1, static_cast<size_t>(std::floor(n * std::pow(eta, -i))));
      r.resource = i == s
                       ? max_resource
                       : std::max<int64_t>(1, std::llround(static_cast<double>(max_resource) * std::pow(eta, i - s)));
      rungs.push_back(r);
    }
    brackets.push_back(std::move(rungs));
  }
  return brackets;
}

bool TuneResult::better(double a, double b) const {
  if (std::isnan(a) || std::isnan(b)) return !std::isnan(a) && std::isnan(b);
  return minimise ? a < b : a > b;
}

Result<TuneResult> tune(const Dataset& train, const Dataset& validation, const TuneOptions& options,
                        const TrialCallback& on_trial) {
  if (options.max_trials == 0 && options.budget_seconds <= 0)
    return Status::invalid_argument("tune: give a time budget or a number of trials");
  if (options.eta < 2) return Status::invalid_argument("tune: eta must be at least 2");
  NUDGE_ASSIGN_OR_RETURN(const MetricPlan plan, plan_metric(options.metric));
  NUDGE_ASSIGN_OR_RETURN(auto base, make_recommender_from_spec(options.spec));
  const std::string model(base->name());
  const Params fixed = base->params();
  for (const Dimension& d : options.space.dimensions) {
    if (d.key == options.space.resource)
      return Status::invalid_argument(fmt::format(
          "search range '{}': successive halving sets {}; fix it in the spec for the full resource", d.key, d.key));
  }
  NUDGE_RETURN_IF_ERROR(check_space(model, fixed, options.space));
  NUDGE_ASSIGN_OR_RETURN(const int64_t max_resource, full_resource(model, fixed, options.space.resource));
  if (validation.num_interactions() == 0) return Status::invalid_argument("tune: the validation split is empty");
  return Tuner(train, validation, options, on_trial, model, fixed, plan).run(max_resource);
}

Result<SpecScore> fit_and_score(const std::string& spec, const Dataset& train, const Dataset& test,
                                const std::string& metric, int threads) {
  NUDGE_ASSIGN_OR_RETURN(const MetricPlan plan, plan_metric(metric));
  NUDGE_ASSIGN_OR_RETURN(auto model, make_recommender_from_spec(spec));
  return score_model(*model, spec, train, test, metric, plan, threads);
}

void to_json(nlohmann::json& j, const TuneResult& r) {
  nlohmann::json trials = nlohmann::json::array();
  for (const Trial& t : r.trials) {
    trials.push_back({{"id", t.id},
                      {"bracket", t.bracket},
                      {"rung", t.rung},
                      {"resource", t.resource},
                      {"full", t.full},
                      {"spec", t.spec},
                      {"metric", t.metric},
                      {"fit_seconds", t.fit_seconds},
                      {"eval_seconds", t.eval_seconds}});
    if (!t.error.empty()) trials.back()["error"] = t.error;
  }
  j = {{"metric", r.metric},
       {"minimise", r.minimise},
       {"seconds", r.seconds},
       {"out_of_budget", r.out_of_budget},
       {"best", r.trials.empty() ? "" : r.best_trial().spec},
       {"default", r.trials.empty() ? "" : r.default_trial().spec},
       {"trials", std::move(trials)}};
}

}  // namespace nudge
