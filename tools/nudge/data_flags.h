// Flags shared by every subcommand that reads a dataset, and the loading they drive.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "nudge/cleaning.h"
#include "nudge/dataset.h"
#include "nudge/readers.h"
#include "nudge/split.h"
#include "nudge/status.h"

namespace nudge::cli {

struct DataFlags {
  std::string input;
  std::string read_config;
  std::string format;  // empty: from the config or "auto"
  std::string delimiter;
  std::string header;  // "auto", "yes", "no"
  std::string map;     // "user=uid,item=sku"
  std::string default_type;
  std::string event_weights;
  std::string timestamp_unit;  // "s" or "ms"
  bool strict = false;
  std::string rejects_file;
  std::string item_features;
  std::string user_features;
  std::string feature_format = "auto";
  bool keep_duplicates = false;
  std::string repeats = "keep-all";
  uint32_t min_user = 0;
  uint32_t min_item = 0;
};

// `input_required` false: the command also takes predefined split files instead of -i.
void add_data_flags(CLI::App* app, DataFlags* flags, bool input_required = true);
// What the flags ask of the readers and the cleaning (nudge-train-mpi reads with them too).
Result<ReadOptions> read_options(const DataFlags& flags);
Result<FeatureReadOptions> feature_read_options(const DataFlags& flags);
Result<CleanOptions> clean_options(const DataFlags& flags);
// Reads the interactions and feature files, logs what was kept and rejected, cleans.
Result<Dataset> load_dataset(const DataFlags& flags);

// A predefined split (--train/--validation/--test), as published benchmarks ship them
// (MovieLens u1.base/u1.test, NCF train.rating/test.rating).
struct SplitFiles {
  std::string train;
  std::string validation;  // optional
  std::string test;
  bool given() const { return !train.empty() || !validation.empty() || !test.empty(); }
};

void add_split_file_flags(CLI::App* app, SplitFiles* files);
// Exactly one of -i and the split files: the error names the flags.
Status check_input_choice(const DataFlags& flags, const SplitFiles& files);
// Reads the files one after another with the same read options into one catalogue, so an ID
// is the same user or item in every part; feature files apply to all parts. Duplicates and
// repeats are cleaned within each part; k-core filtering is refused (it would change the
// published split). `validation` is empty when no file was given.
Result<TrainValidTest> load_split_files(const DataFlags& flags, const SplitFiles& files);

// Peak resident memory of this process so far, in MiB.
double peak_rss_mib();

}  // namespace nudge::cli
