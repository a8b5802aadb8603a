// nudge synth: write a synthetic dataset with planted structure.
#include <filesystem>
#include <memory>

#include "commands.h"
#include "nudge/log.h"
#include "nudge/stats.h"
#include "nudge/synth.h"
#include "nudge/writers.h"

namespace nudge::cli {

void add_synth_command(CLI::App& root) {
  auto opts = std::make_shared<SynthOptions>();
  auto out_dir = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand("synth", "Generate a synthetic dataset (interactions.csv, items.csv, users.csv)");
  cmd->add_option("-o,--out", *out_dir, "Output directory")->required();
  // Applied as soon as it is parsed, so options given with it (anywhere on the line) change
  // the preset's values rather than being overwritten by them.
  cmd->add_option_function<std::string>(
         "--preset",
         [opts](const std::string& name) {
           if (name == "movielens-1m") *opts = SynthOptions::movielens_1m();
           else if (name == "movielens-1m-small") *opts = SynthOptions::movielens_1m(0.25);
           else
             throw CLI::ValidationError("--preset", "unknown preset '" + name + "' (movielens-1m, movielens-1m-small)");
         },
         "Start from a preset: movielens-1m (shaped like MovieLens-1M: sizes, history lengths, popularity skew, weak "
         "genres and user attributes, tied timestamps) or movielens-1m-small (a quarter of its users)")
      ->trigger_on_parse();
  cmd->add_option("--users", opts->num_users, "Number of users")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--items", opts->num_items, "Number of items")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--interactions", opts->num_interactions, "Number of interactions")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--topics", opts->num_topics, "Hidden taste clusters (= item categories)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--focus", opts->user_focus, "Dirichlet concentration of tastes (smaller = more focused)")
      ->capture_default_str();
  cmd->add_option("--zipf", opts->popularity_exponent, "Zipf exponent of item popularity")->capture_default_str();
  cmd->add_option("--noise", opts->noise, "Share of events picked by popularity alone")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--drift", opts->drift, "How far tastes move over the time span (0..1)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--feature-noise", opts->feature_noise, "Share of items whose features describe a random topic")
      ->capture_default_str();
  cmd->add_option("--sequential", opts->sequential,
                  "Share of in-session events that follow the previous item (planted successors): order matters")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--topic-skew", opts->topic_skew, "Topic t is in tastes with weight (t + 1)^-skew (0: alike)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 5.0));
  cmd->add_option("--activity-spread", opts->activity_spread, "Log-normal sigma of events per user")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 5.0));
  cmd->add_option("--late-tail", opts->late_tail,
                  "Chance the k-th of a user's n events comes from a topic's long tail is late-tail x k / n")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--tied", opts->tied_events, "Chance an in-session event has the previous event's second")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-user", opts->min_user_interactions, "Minimum interactions per user")->capture_default_str();
  cmd->add_flag("--ratings", opts->ratings, "Explicit 1-5 ratings instead of view/click/cart/purchase events");
  cmd->add_flag("!--allow-repeats", opts->unique_pairs, "Let a user interact with the same item more than once");
  cmd->add_option("--seed", opts->seed, "Random seed")->capture_default_str();
  cmd->callback([opts, out_dir] {
    std::error_code ec;
    std::filesystem::create_directories(*out_dir, ec);
    if (ec) throw CommandError("cannot create directory '" + *out_dir + "': " + ec.message());
    SynthData data = value_or_throw(synthesize(*opts));
    const auto& cat = data.dataset.catalog();
    const std::string dir = *out_dir + "/";
    ok_or_throw(write_interactions_csv(data.dataset, dir + "interactions.csv"));
    ok_or_throw(write_features_csv(cat.item_features, cat.items, "item_id", dir + "items.csv"));
    ok_or_throw(write_features_csv(cat.user_features, cat.users, "user_id", dir + "users.csv"));
    spdlog::info("wrote {}interactions.csv, items.csv, users.csv", dir);
    fmt::print("synthetic dataset (seed {}):\n{}", opts->seed, format_stats(compute_stats(data.dataset)));
  });
}

}  // namespace nudge::cli
