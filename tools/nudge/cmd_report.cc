// nudge report: one self-contained HTML file (inline SVG plots) from the JSON files that
// `nudge eval --json` and `nudge tune --json` write.
#include <memory>

#include "commands.h"
#include "nudge/log.h"
#include "nudge/report.h"

namespace nudge::cli {

void write_report(const ReportInput& input, const std::string& path) {
  write_file(path, render_report_html(input));
  spdlog::info("report written to {}", path);
}

void add_report_command(CLI::App& root) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto title = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand("report", "Write an HTML report with plots from eval and tune JSON files");
  cmd->add_option("--json,inputs", *files, "Result files of nudge eval --json and nudge tune --json")->required();
  cmd->add_option("-o,--out", *out, "The HTML file to write")->required();
  cmd->add_option("--title", *title, "The report's title");
  cmd->callback([files, out, title] {
    ReportInput input;
    if (!title->empty()) input.title = *title;
    for (const std::string& f : *files) ok_or_throw(add_report_file(f, &input));
    write_report(input, *out);
  });
}

}  // namespace nudge::cli
