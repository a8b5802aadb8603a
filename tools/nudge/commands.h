// Each subcommand registers itself on the root app and returns nothing: its callback runs the
// command and throws CommandError on failure (main turns that into one line and exit 1).
#pragma once

#include <CLI/CLI.hpp>
#include <fstream>
#include <stdexcept>
#include <string>

#include "nudge/status.h"

namespace nudge {
struct ReportInput;  // nudge/report.h
}  // namespace nudge

namespace nudge::cli {

struct CommandError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void ok_or_throw(const Status& s) {
  if (!s.is_ok()) throw CommandError(s.to_string());
}
template <typename T>
T value_or_throw(Result<T> r) {
  ok_or_throw(r.status());
  return std::move(r).value();
}

// An output file a command was asked for (--json, --report); failure names it.
inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw CommandError("cannot write '" + path + "'");
}

void add_synth_command(CLI::App& root);
void add_data_command(CLI::App& root);
void add_train_command(CLI::App& root);
void add_eval_command(CLI::App& root);
void add_tune_command(CLI::App& root);
void add_report_command(CLI::App& root);
void add_replay_command(CLI::App& root);

// Renders and writes the HTML report (nudge report, nudge eval --report).
void write_report(const ReportInput& input, const std::string& path);
void add_recommend_commands(CLI::App& root);
void add_export_command(CLI::App& root);
void add_serve_command(CLI::App& root);
void add_store_command(CLI::App& root);
void add_publish_command(CLI::App& root);
void add_params_command(CLI::App& root);

}  // namespace nudge::cli
