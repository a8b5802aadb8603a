// nudge: the command-line entry point. Each verb lives in cmd_<verb>.cc.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "nudge/log.h"

int main(int argc, char** argv) {
  CLI::App app{"Nudge: a real-time recommendation engine"};
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "More log output");
  app.add_flag("-q,--quiet", quiet, "Only errors; no progress display");
  app.parse_complete_callback([&] {
    nudge::configure_logging(quiet     ? nudge::LogLevel::kQuiet
                             : verbose ? nudge::LogLevel::kVerbose
                                       : nudge::LogLevel::kNormal);
  });
  nudge::cli::add_synth_command(app);
  nudge::cli::add_data_command(app);
  nudge::cli::add_train_command(app);
  nudge::cli::add_eval_command(app);
  nudge::cli::add_tune_command(app);
  nudge::cli::add_report_command(app);
  nudge::cli::add_replay_command(app);
  nudge::cli::add_recommend_commands(app);
  nudge::cli::add_export_command(app);
  nudge::cli::add_serve_command(app);
  nudge::cli::add_store_command(app);
  nudge::cli::add_publish_command(app);
  nudge::cli::add_params_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every argument error exits 1, as the README promises.
    return app.exit(e) == 0 ? 0 : 1;
  } catch (const nudge::cli::CommandError& e) {
    std::fprintf(stderr, "nudge: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nudge: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
