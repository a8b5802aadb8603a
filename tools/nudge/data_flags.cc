#include "data_flags.h"

#include <sys/resource.h>

#include <numeric>

#include "nudge/cleaning.h"
#include "nudge/log.h"
#include "nudge/readers.h"

namespace nudge::cli {

void add_data_flags(CLI::App* app, DataFlags* f, bool input_required) {
  auto* input = app->add_option("-i,--input", f->input, "Interactions file (csv, tsv, jsonl, MovieLens)");
  if (input_required) input->required();
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
  app->add_option("--user-features", f->user_features, "User features file (annotated csv, MovieLens users.dat)");
  app->add_option("--feature-format", f->feature_format, "auto, csv, ml-1m, ml-csv");
  app->add_flag("--keep-duplicates", f->keep_duplicates, "Keep exact duplicate rows");
  app->add_option("--repeats", f->repeats, "Repeated (user, item) events: keep-all, keep-latest, sum");
  app->add_option("--min-user", f->min_user, "k-core: drop users with fewer interactions (repeatedly)");
  app->add_option("--min-item", f->min_item, "k-core: drop items with fewer interactions (repeatedly)");
}

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

Result<FeatureReadOptions> feature_read_options(const DataFlags& f) {
  FeatureReadOptions fo;
  NUDGE_ASSIGN_OR_RETURN(fo.format, parse_feature_format(f.feature_format));
  fo.strict = f.strict;
  return fo;
}

Result<CleanOptions> clean_options(const DataFlags& f) {
  CleanOptions co;
  co.drop_exact_duplicates = !f.keep_duplicates;
  NUDGE_ASSIGN_OR_RETURN(co.repeats, parse_repeat_policy(f.repeats));
  co.min_user_interactions = f.min_user;
  co.min_item_interactions = f.min_item;
  return co;
}

namespace {

Status read_features(const std::string& path, FeatureTarget target, const DataFlags& f, DatasetBuilder& builder) {
  NUDGE_ASSIGN_OR_RETURN(const FeatureReadOptions fo, feature_read_options(f));
  ReadReport report;
  NUDGE_RETURN_IF_ERROR(read_features_file(path, target, fo, builder, report));
  spdlog::info("{}", report.summary(path));
  return Status::ok();
}

// Reads interaction files one after another into `builder` (one catalogue), then the
// feature files; every file's rejects go to --rejects.
Status read_files(const DataFlags& f, const std::vector<std::string>& paths, DatasetBuilder& builder,
                  std::vector<size_t>* ends) {
  NUDGE_ASSIGN_OR_RETURN(ReadOptions options, read_options(f));
  ReadReport all;
  for (const std::string& path : paths) {
    ReadReport report;
    NUDGE_RETURN_IF_ERROR(read_interactions_file(path, options, builder, report));
    spdlog::info("{}", report.summary(path));
    all.rejects.insert(all.rejects.end(), report.rejects.begin(), report.rejects.end());
    ends->push_back(builder.interactions().size());
  }
  if (!f.rejects_file.empty()) NUDGE_RETURN_IF_ERROR(all.write_rejects(f.rejects_file));
  if (!f.item_features.empty())
    NUDGE_RETURN_IF_ERROR(read_features(f.item_features, FeatureTarget::kItems, f, builder));
  if (!f.user_features.empty())
    NUDGE_RETURN_IF_ERROR(read_features(f.user_features, FeatureTarget::kUsers, f, builder));
  return Status::ok();
}

}  // namespace

Result<Dataset> load_dataset(const DataFlags& f) {
  DatasetBuilder builder;
  std::vector<size_t> ends;
  NUDGE_RETURN_IF_ERROR(read_files(f, {f.input}, builder, &ends));
  NUDGE_ASSIGN_OR_RETURN(CleanOptions co, clean_options(f));
  CleanReport clean_report;
  Dataset cleaned = clean(builder.build(), co, &clean_report);
  spdlog::info("{}", clean_report.summary());
  return cleaned;
}

void add_split_file_flags(CLI::App* app, SplitFiles* files) {
  app->add_option("--train", files->train, "Predefined split: training interactions (with --test, instead of -i)");
  app->add_option("--validation", files->validation, "Predefined split: validation interactions");
  app->add_option("--test", files->test, "Predefined split: test interactions");
}

Status check_input_choice(const DataFlags& flags, const SplitFiles& files) {
  if (files.given() && !flags.input.empty())
    return Status::invalid_argument("give either -i FILE (split here) or --train/--test files, not both");
  if (!files.given() && flags.input.empty())
    return Status::invalid_argument("no data: give -i FILE, or a predefined split with --train FILE --test FILE");
  if (files.given() && (files.train.empty() || files.test.empty()))
    return Status::invalid_argument("a predefined split needs both --train and --test");
  return Status::ok();
}

Result<TrainValidTest> load_split_files(const DataFlags& f, const SplitFiles& files) {
  NUDGE_RETURN_IF_ERROR(check_input_choice(f, files));
  if (f.min_user > 0 || f.min_item > 0)
    return Status::invalid_argument("--min-user/--min-item would change a predefined split: filter the files first");
  std::vector<std::string> paths = {files.train};
  if (!files.validation.empty()) paths.push_back(files.validation);
  paths.push_back(files.test);
  DatasetBuilder builder;
  std::vector<size_t> ends;
  NUDGE_RETURN_IF_ERROR(read_files(f, paths, builder, &ends));
  NUDGE_ASSIGN_OR_RETURN(CleanOptions co, clean_options(f));
  const Dataset whole = builder.build();
  auto part = [&](size_t index, const std::string& path) {
    const size_t begin = index == 0 ? 0 : ends[index - 1];
    std::vector<uint32_t> rows(ends[index] - begin);
    std::iota(rows.begin(), rows.end(), static_cast<uint32_t>(begin));
    CleanReport report;
    Dataset cleaned = clean(whole.with_interactions(whole.interactions().select(rows)), co, &report);
    spdlog::info("{}: {}", path, report.summary());
    return cleaned;
  };
  TrainValidTest out;
  out.train = part(0, files.train);
  if (!files.validation.empty()) out.validation = part(1, files.validation);
  out.test = part(ends.size() - 1, files.test);
  for (const auto& [data, path] : {std::pair{&out.train, &files.train}, std::pair{&out.test, &files.test}}) {
    if (data->num_interactions() == 0) return Status::invalid_argument(*path + ": no interactions to use");
  }
  // Full ranking never ranks an item the user had in train: such test pairs cannot be hit.
  const CsrMatrix& seen = out.train.user_items();
  const CsrMatrix& held = out.test.user_items();
  uint64_t overlap = 0;
  for (uint32_t u = 0; u < held.num_rows; ++u) {
    const auto had = seen.row_indices(u);
    for (uint32_t i : held.row_indices(u)) overlap += std::binary_search(had.begin(), had.end(), i);
  }
  if (overlap > 0)
    spdlog::warn("{}: {} test pairs are also in {}; full ranking excludes seen items, so it cannot rank them",
                 files.test, overlap, files.train);
  return out;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace nudge::cli
