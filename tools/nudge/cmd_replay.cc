// nudge replay: prequential (test-then-train) evaluation of a timestamped event file played
// through the serving engine, with retrains on a schedule of event time or count; NDCG and
// hit rate per time window, drifting windows flagged.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/text.h"
#include "data_flags.h"
#include "nudge/log.h"
#include "nudge/registry.h"
#include "nudge/serve/replay.h"

namespace nudge::cli {
namespace {

struct ReplayFlags {
  serve::ReplayOptions options;
  std::string retrain_every;  // duration of event time
  std::string window;
  std::string json_out;
};

int64_t seconds_flag(const std::string& text, const char* flag) {
  if (text.empty()) return 0;
  const auto s = parse_duration(text);
  if (!s)
    throw CommandError(fmt::format("{}: expected a duration like 12h or 7d, got {}", flag, quote_for_error(text)));
  return static_cast<int64_t>(*s);
}

std::string day_time(int64_t t) {
  const int64_t days = t / 86400;
  return fmt::format("day {:>4} {:02}:{:02}", days, (t % 86400) / 3600, (t % 3600) / 60);
}

}  // namespace

void add_replay_command(CLI::App& root) {
  auto flags = std::make_shared<DataFlags>();
  auto rf = std::make_shared<ReplayFlags>();
  serve::ReplayOptions& o = rf->options;
  CLI::App* cmd = root.add_subcommand("replay", "Prequential evaluation: replay timestamped events through the server");
  add_data_flags(cmd, flags.get());
  cmd->add_option("-m,--model", o.spec, "The served model (as nudge train -m)")->capture_default_str();
  cmd->add_option("-k,--k", o.k, "List length scored")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--warmup", o.warmup, "Share of events applied before scoring starts (then the first training)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--retrain-every", rf->retrain_every, "Retrain every this much event time: 12h, 7d (default: never)");
  cmd->add_option("--retrain-every-events", o.retrain_every_events, "Retrain every N events (0 = never)")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  cmd->add_option("--window", rf->window, "Report window of event time: 1d, 12h (default: a twentieth of the span)");
  cmd->add_option("--drift-threshold", o.drift_threshold,
                  "Flag a window whose NDCG is this share below the mean of the windows before it")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 0.99));
  cmd->add_option("--drift-baseline", o.drift_baseline, "Windows the drift flag compares with")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->add_option("--data-dir", o.data_dir, "Directory for the engine's store (default: a temporary one, removed)");
  cmd->add_option("--json", rf->json_out, "Write the windows and totals as JSON here");
  cmd->callback([flags, rf] {
    serve::ReplayOptions options = rf->options;
    value_or_throw(make_recommender_from_spec(options.spec));  // a misspelt spec fails before any reading
    options.retrain_every_seconds = seconds_flag(rf->retrain_every, "--retrain-every");
    options.window_seconds = seconds_flag(rf->window, "--window");
    options.event_weights = flags->event_weights;
    const Dataset d = value_or_throw(load_dataset(*flags));
    const Interactions& in = d.interactions();
    std::vector<serve::Event> events;
    events.reserve(in.size());
    bool timed = false;
    for (size_t r = 0; r < in.size(); ++r) {
      events.push_back({d.catalog().users.id_of(in.users[r]), d.catalog().items.id_of(in.items[r]),
                        d.catalog().event_types.name(in.types[r]), in.values[r], in.timestamps[r]});
      timed |= in.timestamps[r] != 0;
    }
    if (!timed) throw CommandError(flags->input + ": no timestamps: replay plays events in time order");
    std::string temp;
    if (options.data_dir.empty()) {
      std::error_code ec;
      const auto base = std::filesystem::temp_directory_path(ec);
      temp = (base / fmt::format("nudge-replay-{}", ::getpid())).string();
      std::filesystem::remove_all(temp, ec);
      options.data_dir = temp;
    }
    auto result = serve::replay(std::move(events), options, [](uint64_t done, uint64_t total) {
      spdlog::info("replayed {} of {} events", done, total);
    });
    if (!temp.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(temp, ec);
    }
    const serve::ReplayResult r = value_or_throw(std::move(result));
    fmt::print("{:<16} {:<16} {:>8} {:>8} {:>9} {:>9} {:>8}\n", "window from", "to", "events", "scored",
               fmt::format("hr@{}", r.k), fmt::format("ndcg@{}", r.k), "retrains");
    for (const auto& w : r.windows) {
      fmt::print("{:<16} {:<16} {:>8} {:>8} {:>9.4f} {:>9.4f} {:>8}{}\n", day_time(w.start - r.windows[0].start),
                 day_time(w.end - r.windows[0].start), w.events, w.scored, w.hit_rate(), w.ndcg(), w.retrains,
                 w.drift ? "  drift" : "");
    }
    fmt::print(
        "\n{} events ({} warm-up, {} repeats not scored), {} scored ({} of cold users), {} retrains, "
        "{:.1f} s\nhr@{} {:.4f}  ndcg@{} {:.4f}\n",
        r.events, r.warmup_events, r.repeats, r.scored, r.cold_scored, r.retrains, r.seconds, r.k, r.hit_rate(), r.k,
        r.ndcg());
    if (!rf->json_out.empty()) write_file(rf->json_out, nlohmann::json(r).dump(2) + "\n");
  });
}

}  // namespace nudge::cli
