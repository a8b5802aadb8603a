#include "nudge/report.h"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nudge/input_limits.h"
#include "report/svg_chart.h"

namespace nudge {
namespace {

using nlohmann::json;
using report::Series;
using report::xml_escape;

Result<double> number_at(const json& j, const std::string& place) {
  // NaN and infinities are written as null by nlohmann; they read back as NaN.
  if (j.is_null()) return std::nan("");
  if (!j.is_number()) return Status::invalid_argument(place + ": expected a number");
  return j.get<double>();
}

Result<std::string> text_at(const json& j, const char* key, const std::string& place) {
  if (!j.contains(key)) return std::string();
  if (!j[key].is_string()) return Status::invalid_argument(fmt::format("{}.{}: expected a string", place, key));
  return j[key].get<std::string>();
}

Result<EvalResult> parse_result(const json& j, const std::string& place) {
  if (!j.is_object()) return Status::invalid_argument(place + ": expected an object (one evaluation result)");
  EvalResult r;
  NUDGE_ASSIGN_OR_RETURN(r.model, text_at(j, "model", place));
  NUDGE_ASSIGN_OR_RETURN(r.protocol, text_at(j, "protocol", place));
  if (r.model.empty()) return Status::invalid_argument(place + ".model: missing");
  for (const char* key : {"metrics", "stddev"}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_object()) return Status::invalid_argument(fmt::format("{}.{}: expected an object", place, key));
    for (const auto& [name, value] : j[key].items()) {
      NUDGE_ASSIGN_OR_RETURN(const double v, number_at(value, fmt::format("{}.{}.{}", place, key, name)));
      (std::string(key) == "metrics" ? r.metrics : r.stddev)[name] = v;
    }
  }
  if (j.contains("fit_seconds")) {
    NUDGE_ASSIGN_OR_RETURN(r.fit_seconds, number_at(j["fit_seconds"], place + ".fit_seconds"));
  }
  if (j.contains("epoch_losses")) {
    if (!j["epoch_losses"].is_array()) return Status::invalid_argument(place + ".epoch_losses: expected an array");
    for (size_t e = 0; e < j["epoch_losses"].size(); ++e) {
      NUDGE_ASSIGN_OR_RETURN(const double v,
                             number_at(j["epoch_losses"][e], fmt::format("{}.epoch_losses[{}]", place, e)));
      r.epoch_losses.push_back(v);
    }
  }
  return r;
}

Status parse_tuning(const json& j, const std::string& place, ReportInput* input) {
  NUDGE_ASSIGN_OR_RETURN(input->tuning_metric, text_at(j, "metric", place));
  NUDGE_ASSIGN_OR_RETURN(input->best_spec, text_at(j, "best", place));
  if (!j["trials"].is_array()) return Status::invalid_argument(place + ".trials: expected an array");
  input->trials.clear();
  for (size_t t = 0; t < j["trials"].size(); ++t) {
    const json& tj = j["trials"][t];
    const std::string at = fmt::format("{}.trials[{}]", place, t);
    if (!tj.is_object()) return Status::invalid_argument(at + ": expected an object");
    ReportTrial trial;
    trial.id = t;
    NUDGE_ASSIGN_OR_RETURN(trial.metric, number_at(tj.value("metric", json()), at + ".metric"));
    if (tj.contains("full")) {
      if (!tj["full"].is_boolean()) return Status::invalid_argument(at + ".full: expected true or false");
      trial.full = tj["full"].get<bool>();
    }
    NUDGE_ASSIGN_OR_RETURN(trial.spec, text_at(tj, "spec", at));
    input->trials.push_back(std::move(trial));
  }
  return Status::ok();
}

Status parse_replay(const json& j, const std::string& place, ReportInput* input) {
  if (!j["windows"].is_array()) return Status::invalid_argument(place + ".windows: expected an array");
  if (!j.contains("k") || !j["k"].is_number_unsigned()) return Status::invalid_argument(place + ".k: expected a count");
  input->replay_k = j["k"].get<size_t>();
  input->replay.clear();
  double first = 0;
  for (size_t w = 0; w < j["windows"].size(); ++w) {
    const json& wj = j["windows"][w];
    const std::string at = fmt::format("{}.windows[{}]", place, w);
    if (!wj.is_object()) return Status::invalid_argument(at + ": expected an object");
    ReportWindow rw;
    NUDGE_ASSIGN_OR_RETURN(const double start, number_at(wj.value("start", json()), at + ".start"));
    if (w == 0) first = start;
    rw.day = (start - first) / 86400.0;
    NUDGE_ASSIGN_OR_RETURN(rw.ndcg, number_at(wj.value("ndcg", json()), at + ".ndcg"));
    NUDGE_ASSIGN_OR_RETURN(rw.hit_rate, number_at(wj.value("hit_rate", json()), at + ".hit_rate"));
    if (wj.contains("retrains") && wj["retrains"].is_number_unsigned()) rw.retrains = wj["retrains"].get<uint64_t>();
    if (wj.contains("drift") && wj["drift"].is_boolean()) rw.drift = wj["drift"].get<bool>();
    input->replay.push_back(rw);
  }
  return Status::ok();
}

std::string label(const EvalResult& r) {
  return r.protocol.empty() || r.protocol == "full" ? r.model : r.model + " (" + r.protocol + ")";
}

std::string metrics_table(const std::vector<EvalResult>& results) {
  const std::vector<std::string> cols = metric_columns(results);
  std::string out = "<table>\n<thead><tr><th>model</th><th>protocol</th>";
  for (const auto& c : cols) out += "<th>" + xml_escape(c) + "</th>";
  out += "<th>fit s</th></tr></thead>\n<tbody>\n";
  for (const auto& r : results) {
    out += "<tr><td>" + xml_escape(r.model) + "</td><td>" + xml_escape(r.protocol) + "</td>";
    for (const auto& c : cols) {
      auto it = r.metrics.find(c);
      auto sd = r.stddev.find(c);
      std::string cell = it == r.metrics.end() ? "-" : fmt::format("{:.4f}", it->second);
      if (sd != r.stddev.end()) cell += fmt::format(" &#177; {:.4f}", sd->second);
      out += "<td>" + cell + "</td>";
    }
    out += fmt::format("<td>{:.2f}</td></tr>\n", r.fit_seconds);
  }
  return out + "</tbody>\n</table>\n";
}

std::string figure(const std::string& svg, const std::string& caption) {
  return "<figure>\n" + svg + "<figcaption>" + xml_escape(caption) + "</figcaption>\n</figure>\n";
}

// One chart per family with its values over the cut-offs, a line per result.
std::string at_k_curves(const std::vector<EvalResult>& results) {
  std::string out;
  for (const char* family : {"precision", "recall", "ndcg", "hit_rate"}) {
    std::vector<Series> series;
    for (size_t ri = 0; ri < results.size(); ++ri) {
      const EvalResult& r = results[ri];
      std::map<long, double> by_k;  // names sort as text ("ndcg@10" < "ndcg@5"): order by k
      for (const auto& [name, v] : r.metrics) {
        const MetricName m = parse_metric_name(name);
        if (m.family == family && m.k > 0) by_k[m.k] = v;
      }
      if (by_k.empty()) continue;
      Series s{label(r), {}, {}, {}, static_cast<int>(ri)};
      for (const auto& [k, v] : by_k) s.x.push_back(static_cast<double>(k)), s.y.push_back(v);
      series.push_back(std::move(s));
    }
    if (series.empty()) continue;
    report::XyChart c{std::string(family) + "@K", "K (list length)", std::string(family) + "@K", true, false, false};
    out += figure(report::svg_xy_chart(c, series), std::string(family) + " at each cut-off K, per model.");
  }
  return out;
}

// The family's metric at the smallest cut-off any result has ("ndcg@5"); empty: none.
std::string smallest_cutoff(const std::vector<EvalResult>& results, const std::string& family) {
  std::string best;
  long best_k = 0;
  for (const auto& r : results) {
    for (const auto& [name, v] : r.metrics) {
      const MetricName m = parse_metric_name(name);
      if (m.family == family && m.k > 0 && (best.empty() || m.k < best_k)) best = name, best_k = m.k;
    }
  }
  return best;
}

// The accuracy metric of the trade-off chart: ndcg at the smallest cut-off, else rmse.
std::string accuracy_metric(const std::vector<EvalResult>& results) {
  const std::string best = smallest_cutoff(results, "ndcg");
  if (!best.empty()) return best;
  for (const auto& r : results)
    if (r.metrics.contains("rmse")) return "rmse";
  return "";
}

std::string accuracy_vs_time(const std::vector<EvalResult>& results) {
  const std::string metric = accuracy_metric(results);
  if (metric.empty()) return "";
  std::vector<Series> series;
  for (size_t ri = 0; ri < results.size(); ++ri) {
    const EvalResult& r = results[ri];
    auto it = r.metrics.find(metric);
    if (it == r.metrics.end()) continue;
    series.push_back(Series{label(r), {std::max(r.fit_seconds, 1e-3)}, {it->second}, {}, static_cast<int>(ri)});
  }
  if (series.empty()) return "";
  report::XyChart c{metric + " vs fit time", "fit seconds (log scale)", metric, false, true, true};
  return figure(report::svg_xy_chart(c, series),
                "Accuracy against training cost: up and to the left is better (fit times under 1 ms drawn at 1 ms).");
}

std::string bars_of(const std::vector<EvalResult>& results, const std::string& family, const std::string& what) {
  const std::string metric = smallest_cutoff(results, family);
  if (metric.empty()) return "";
  std::vector<std::pair<std::string, double>> bars;
  for (const auto& r : results) {
    auto it = r.metrics.find(metric);
    if (it != r.metrics.end()) bars.emplace_back(label(r), it->second);
  }
  return figure(report::svg_bar_chart(metric + " per model", metric, bars), what);
}

std::string training_curves(const std::vector<EvalResult>& results) {
  std::vector<Series> series;
  for (size_t ri = 0; ri < results.size(); ++ri) {
    const EvalResult& r = results[ri];
    if (r.epoch_losses.empty()) continue;
    Series s{label(r), {}, {}, {}, static_cast<int>(ri)};
    for (size_t e = 0; e < r.epoch_losses.size(); ++e)
      s.x.push_back(static_cast<double>(e + 1)), s.y.push_back(r.epoch_losses[e]);
    series.push_back(std::move(s));
  }
  if (series.empty()) return "";
  report::XyChart c{"training loss per epoch", "epoch", "mean training loss", true, false, false};
  return figure(report::svg_xy_chart(c, series),
                "Mean training loss of each epoch, for models trained by epochs (each model's own loss: "
                "compare shapes, not levels).");
}

std::string tuning_trials(const ReportInput& in) {
  if (in.trials.empty()) return "";
  Series s{"trials", {}, {}, {}, 0};
  for (const ReportTrial& t : in.trials) {
    s.x.push_back(static_cast<double>(t.id));
    s.y.push_back(t.metric);
    s.hollow.push_back(!t.full);
  }
  report::XyChart c{"tuning trials", "trial", in.tuning_metric + " (validation)", false, false, false};
  std::string caption = "Every trial of the search: filled, trained with the full resource; hollow, a halving rung.";
  if (!in.best_spec.empty()) caption += " Best: " + in.best_spec;
  return figure(report::svg_xy_chart(c, {s}), caption);
}

std::string replay_chart(const ReportInput& in) {
  if (in.replay.empty()) return "";
  Series ndcg{fmt::format("ndcg@{}", in.replay_k), {}, {}, {}, 0};
  Series hits{fmt::format("hit_rate@{}", in.replay_k), {}, {}, {}, 1};
  uint64_t retrains = 0, drifting = 0;
  for (const ReportWindow& w : in.replay) {
    for (Series* s : {&ndcg, &hits}) {
      s->x.push_back(w.day);
      s->hollow.push_back(w.drift);
    }
    ndcg.y.push_back(w.ndcg);
    hits.y.push_back(w.hit_rate);
    retrains += w.retrains;
    drifting += w.drift;
  }
  report::XyChart c{
      "replay: accuracy over time", "days after the first scored event", "per window", true, false, false};
  return figure(report::svg_xy_chart(c, {ndcg, hits}),
                fmt::format("Prequential replay through the serving engine: each event scored before it is applied. "
                            "{} retrains; {} windows flagged as drift (hollow).",
                            retrains, drifting));
}

constexpr const char* kStyle = R"(body { font-family: sans-serif; margin: 24px; color: #222222; }
table { border-collapse: collapse; font-size: 12px; margin-bottom: 24px; }
th, td { border: 1px solid #cccccc; padding: 3px 6px; text-align: right; }
th:first-child, td:first-child, td:nth-child(2) { text-align: left; }
figure { display: inline-block; margin: 8px; vertical-align: top; }
figcaption { font-size: 12px; max-width: 560px; color: #555555; }
.scroll { overflow-x: auto; })";

}  // namespace

Status add_report_json(std::string_view text, std::string_view name, ReportInput* input) {
  if (auto why = json_text_problem(text))
    return Status::invalid_argument(fmt::format("{}: not valid JSON: {}", name, *why));
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::invalid_argument(fmt::format("{}: not valid JSON", name));
  if (j.is_array()) {
    for (size_t k = 0; k < j.size(); ++k) {
      NUDGE_ASSIGN_OR_RETURN(EvalResult r, parse_result(j[k], fmt::format("{}: [{}]", name, k)));
      input->results.push_back(std::move(r));
    }
    return Status::ok();
  }
  if (j.is_object() && j.contains("trials")) return parse_tuning(j, std::string(name), input);
  if (j.is_object() && j.contains("windows")) return parse_replay(j, std::string(name), input);
  return Status::invalid_argument(fmt::format(
      "{}: expected `nudge eval --json` results (an array), a `nudge tune --json` or a `nudge replay --json` record",
      name));
}

Status add_report_file(const std::string& path, ReportInput* input) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("cannot open '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return add_report_json(text.str(), path, input);
}

std::string render_report_html(const ReportInput& in) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>" +
                    xml_escape(in.title) + "</title>\n<style>\n" + kStyle + "\n</style>\n</head>\n<body>\n";
  out += "<h1>" + xml_escape(in.title) + "</h1>\n";
  if (!in.results.empty()) {
    out += "<h2>Metrics</h2>\n<div class=\"scroll\">\n" + metrics_table(in.results) + "</div>\n";
    out += "<h2>Accuracy at each cut-off</h2>\n" + at_k_curves(in.results);
    out += "<h2>Accuracy and cost</h2>\n" + accuracy_vs_time(in.results);
    out +=
        "<h2>Coverage and popularity bias</h2>\n" +
        bars_of(in.results, "coverage", "Share of the catalogue recommended to anyone (higher: less concentrated).") +
        bars_of(in.results, "arp",
                "Average recommendation popularity: share of training users who had each recommended item "
                "(lower: less popularity bias).");
    const std::string curves = training_curves(in.results);
    if (!curves.empty()) out += "<h2>Training curves</h2>\n" + curves;
  }
  const std::string trials = tuning_trials(in);
  if (!trials.empty()) out += "<h2>Tuning</h2>\n" + trials;
  const std::string replayed = replay_chart(in);
  if (!replayed.empty()) out += "<h2>Replay</h2>\n" + replayed;
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace nudge
