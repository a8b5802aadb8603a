// Flags shared by every subcommand that reads a dataset, and the loading they drive.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "nudge/dataset.h"
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

void add_data_flags(CLI::App* app, DataFlags* flags);
// Reads the interactions and feature files, logs what was kept and rejected, cleans.
Result<Dataset> load_dataset(const DataFlags& flags);

// Peak resident memory of this process so far, in MiB.
double peak_rss_mib();

}  // namespace nudge::cli
