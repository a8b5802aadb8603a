// nudge recommend / similar: answer from a model file by external IDs.
#include <algorithm>
#include <memory>

#include "commands.h"
#include "nudge/log.h"
#include "nudge/model_file.h"
#include "nudge/serve/user_attributes.h"

namespace nudge::cli {
namespace {

struct RecommendFlags {
  std::string model_file;
  std::vector<std::string> users;
  std::vector<std::string> history;
  std::vector<std::string> exclude;
  std::string attributes;
  bool include_seen = false;
  size_t k = 10;
};

uint32_t item_index(const LoadedModel& m, const std::string& id) {
  auto i = m.items.find(id);
  if (!i) throw CommandError("unknown item '" + id + "' (not in the model's catalogue)");
  return *i;
}

void print_list(const LoadedModel& m, const std::string& title, const std::vector<ScoredItem>& list) {
  fmt::print("{}\n", title);
  for (size_t r = 0; r < list.size(); ++r) {
    fmt::print("  {:>3}  {:<20} {:.4f}\n", r + 1, m.items.id_of(list[r].item), list[r].score);
  }
}

}  // namespace

void add_recommend_commands(CLI::App& root) {
  auto f = std::make_shared<RecommendFlags>();
  CLI::App* rec = root.add_subcommand("recommend", "Top-k items for users (or for a history) from a model file");
  rec->add_option("--model-file", f->model_file, "Model written by nudge train")->required();
  rec->add_option("-u,--user", f->users, "User ID (repeat for several)");
  rec->add_option("--history", f->history, "Items of an unknown user, oldest first, e.g. --history i1 i7 (fold-in)");
  rec->add_option(
      "--attributes", f->attributes,
      "The unknown user's attributes as a JSON object, as PUT /v1/users takes them, e.g. '{\"country\":\"fr\"}'");
  rec->add_option("--exclude", f->exclude, "Items never to recommend");
  rec->add_flag("--include-seen", f->include_seen, "Allow items the user already interacted with");
  rec->add_option("-k", f->k, "How many items")->capture_default_str()->check(CLI::Range(1, 1000000));
  rec->callback([f] {
    if (f->users.empty() && f->history.empty() && f->attributes.empty())
      throw CommandError("give --user, --history or --attributes");
    LoadedModel m = value_or_throw(load_model(f->model_file));
    std::vector<uint32_t> excluded;
    for (const auto& id : f->exclude) excluded.push_back(item_index(m, id));
    std::vector<float> scores(m.model->num_items());
    std::vector<ScoredItem> top;
    auto answer = [&](std::span<const uint32_t> seen, const std::string& title) {
      std::vector<uint32_t> ex = excluded;
      if (!f->include_seen) ex.insert(ex.end(), seen.begin(), seen.end());
      std::sort(ex.begin(), ex.end());
      top_k(scores, f->k, ex, &top);
      print_list(m, title, top);
    };
    for (const auto& id : f->users) {
      auto u = m.users.find(id);
      if (!u) throw CommandError("unknown user '" + id + "' (use --history for users the model has not seen)");
      m.model->score_user(*u, scores);
      answer(m.history.row_indices(*u), "user " + id + ":");
    }
    if (!f->history.empty() || !f->attributes.empty()) {
      // As the server holds a user: distinct items with summed weights, and the recent
      // items newest first.
      std::vector<uint32_t> items, recent;
      for (const auto& id : f->history) items.push_back(item_index(m, id));
      for (auto it = items.rbegin(); it != items.rend(); ++it)
        if (std::find(recent.begin(), recent.end(), *it) == recent.end()) recent.push_back(*it);
      std::sort(items.begin(), items.end());
      std::vector<float> weights;
      std::vector<uint32_t> seen;
      for (uint32_t i : items) {
        if (!seen.empty() && seen.back() == i) {
          weights.back() += 1.f;
        } else {
          seen.push_back(i);
          weights.push_back(1.f);
        }
      }
      const FeatureDescription attributes = serve::describe_user(f->attributes);
      if (!f->attributes.empty() && attributes.empty())
        throw CommandError("--attributes: not a JSON object with string, boolean or number fields");
      m.model->score_history_with(UserHistory{seen, weights, recent, &attributes}, {}, scores, {});
      answer(seen, "history of " + std::to_string(seen.size()) + " items:");
    }
  });

  auto g = std::make_shared<RecommendFlags>();
  CLI::App* sim = root.add_subcommand("similar", "Items most similar to an item, from a model file");
  sim->add_option("--model-file", g->model_file, "Model written by nudge train")->required();
  sim->add_option("-i,--item", g->history, "Item ID (repeat for several)")->required();
  sim->add_option("-k", g->k, "How many items")->capture_default_str()->check(CLI::Range(1, 1000000));
  sim->callback([g] {
    LoadedModel m = value_or_throw(load_model(g->model_file));
    std::vector<ScoredItem> out;
    for (const auto& id : g->history) {
      ok_or_throw(m.model->similar_items(item_index(m, id), g->k, &out));
      print_list(m, "similar to " + id + ":", out);
    }
  });
}

}  // namespace nudge::cli
