// The evaluation report: one self-contained HTML file (inline SVG, no scripts, nothing
// fetched) from evaluation results and tuning trials.
//
// Sections, each drawn when its data is there:
//   metrics table          every result, every metric (as `nudge eval` prints them)
//   metric@K curves        precision, recall, ndcg and hit rate over the cut-offs, per model
//   accuracy vs fit time   ndcg at the smallest cut-off (or rmse) against fit seconds, log x
//   coverage and ARP       catalogue coverage and average recommendation popularity per model
//   training curves        mean loss per epoch of models that log it (NeuMF, BPR, two-tower)
//   tuning trials          the validation metric of every `nudge tune` trial, full-resource
//                          trials filled, halving rungs hollow
//   replay                 NDCG and hit rate per window of `nudge replay`, drifting windows
//                          hollow
// Inputs are the JSON files `nudge eval --json`, `nudge tune --json` and `nudge replay
// --json` write.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nudge/evaluate.h"
#include "nudge/status.h"

namespace nudge {

struct ReportTrial {
  size_t id = 0;
  double metric = 0;
  bool full = true;
  std::string spec;
};

struct ReportWindow {
  double day = 0;  // window start, days after the first scored event
  double ndcg = 0;
  double hit_rate = 0;
  uint64_t retrains = 0;
  bool drift = false;
};

struct ReportInput {
  std::string title = "Nudge evaluation report";
  std::vector<EvalResult> results;
  std::string tuning_metric;  // empty: no tuning trials
  std::vector<ReportTrial> trials;
  std::string best_spec;
  size_t replay_k = 0;  // 0: no replay
  std::vector<ReportWindow> replay;
};

// Adds one JSON document: an array of results (`nudge eval --json`), a tuning record
// (`nudge tune --json`) or a replay (`nudge replay --json`). Errors name `name` and the field ("r.json: [2].metrics:
// ...").
Status add_report_json(std::string_view text, std::string_view name, ReportInput* input);
Status add_report_file(const std::string& path, ReportInput* input);

std::string render_report_html(const ReportInput& input);

}  // namespace nudge
