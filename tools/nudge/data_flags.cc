#include "data_flags.h"

#include <sys/resource.h>

#include "nudge/cleaning.h"
#include "nudge/log.h"
#include "nudge/readers.h"

namespace nudge::cli {

void add_data_flags(CLI::App* app, DataFlags* f) {
  app->add_option("-i,--input", f->input, "Interactions file (csv, tsv, jsonl, MovieLens)")->required();
  app->add_option("--read-config", f->read_config, "JSON file with read options (flags given here override it)");
  app->add_option("--format", f->format, "auto, csv, tsv, jsonl, ml-100k, ml-1m, ml-csv");
  app->add_option("--delimiter", f->delimiter, "Field delimiter (may be several characters, e.g. '::')");
  app->add_option("--header", f->header, "Whether line 1 is a header: auto, yes, no");
  app->add_option("--map", f->map,
                  "Columns: user=COL,item=COL,value=COL,timestamp=COL,type=COL (names or 1-based positions)");
  app->add_option("--default-type", f->default_type, "Event type when there is no type column");
  app->add_option("--event-weights", f->event_weights, "Implicit weight per event type, e.g. view=1,purchase=10");
  app->add_option("--timestamp-unit", f->timestamp_unit, "Unit of numeric timestamps: s or ms");
  app->add_flag("--strict", f->strict, "Fail on the first bad row instead of skipping it");
  app->add_option("--rejects", f->rejects_file, "Write every rejected row (file:line<TAB>reason) here");
  app->add_option("--item-features", f->item_features, "Item features file (annotated csv, movies.dat, movies.csv)");
  app->add_option("--user-features", f->user_features, "User features file (annotated csv)");
  app->add_option("--feature-format", f->feature_format, "auto, csv, ml-1m, ml-csv");
  app->add_flag("--keep-duplicates", f->keep_duplicates, "Keep exact duplicate rows");
  app->add_option("--repeats", f->repeats, "Repeated (user, item) events: keep-all, keep-latest, sum");
  app->add_option("--min-user", f->min_user, "k-core: drop users with fewer interactions (repeatedly)");
  app->add_option("--min-item", f->min_item, "k-core: drop items with fewer interactions (repeatedly)");
}

namespace {

Result<ReadOptions> read_options(const DataFlags& f) {
  ReadOptions o;
  if (!f.read_config.empty()) {
    NUDGE_ASSIGN_OR_RETURN(o, read_options_from_json_file(f.read_config));
  }
  if (!f.format.empty()) {
    NUDGE_ASSIGN_OR_RETURN(o.format, parse_input_format(f.format));
  }
  if (!f.delimiter.empty()) o.delimiter = f.delimiter == "\\t" ? "\t" : f.delimiter;
  if (f.header == "yes") o.header = HeaderMode::kYes;
  else if (f.header == "no") o.header = HeaderMode::kNo;
  else if (f.header == "auto") o.header = HeaderMode::kAuto;
  else if (!f.header.empty())
    return Status::invalid_argument("--header must be auto, yes or no, not '" + f.header + "'");
  if (!f.map.empty()) NUDGE_RETURN_IF_ERROR(o.columns.parse(f.map).with_context("--map"));
  if (!f.default_type.empty()) o.default_type = f.default_type;
  if (!f.event_weights.empty()) o.event_weights = f.event_weights;
  if (f.timestamp_unit == "ms") o.timestamp_millis = true;
  else if (f.timestamp_unit == "s") o.timestamp_millis = false;
  else if (!f.timestamp_unit.empty()) return Status::invalid_argument("--timestamp-unit must be s or ms");
  if (f.strict) o.strict = true;
  return o;
}

Status read_features(const std::string& path, FeatureTarget target, const DataFlags& f, DatasetBuilder& builder) {
  FeatureReadOptions fo;
  NUDGE_ASSIGN_OR_RETURN(fo.format, parse_feature_format(f.feature_format));
  fo.strict = f.strict;
  ReadReport report;
  NUDGE_RETURN_IF_ERROR(read_features_file(path, target, fo, builder, report));
  spdlog::info("{}", report.summary(path));
  return Status::ok();
}

}  // namespace

Result<Dataset> load_dataset(const DataFlags& f) {
  NUDGE_ASSIGN_OR_RETURN(ReadOptions options, read_options(f));
  DatasetBuilder builder;
  ReadReport report;
  NUDGE_RETURN_IF_ERROR(read_interactions_file(f.input, options, builder, report));
  spdlog::info("{}", report.summary(f.input));
  if (!f.rejects_file.empty()) NUDGE_RETURN_IF_ERROR(report.write_rejects(f.rejects_file));
  if (!f.item_features.empty())
    NUDGE_RETURN_IF_ERROR(read_features(f.item_features, FeatureTarget::kItems, f, builder));
  if (!f.user_features.empty())
    NUDGE_RETURN_IF_ERROR(read_features(f.user_features, FeatureTarget::kUsers, f, builder));
  Dataset raw = builder.build();
  CleanOptions co;
  co.drop_exact_duplicates = !f.keep_duplicates;
  NUDGE_ASSIGN_OR_RETURN(co.repeats, parse_repeat_policy(f.repeats));
  co.min_user_interactions = f.min_user;
  co.min_item_interactions = f.min_item;
  CleanReport clean_report;
  Dataset cleaned = clean(raw, co, &clean_report);
  spdlog::info("{}", clean_report.summary());
  return cleaned;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace nudge::cli
