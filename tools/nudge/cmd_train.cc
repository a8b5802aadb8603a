// nudge train: fit one model on a dataset and write a model file.
#include <chrono>
#include <memory>

#include "commands.h"
#include "data_flags.h"
#include "nudge/log.h"
#include "nudge/model_file.h"
#include "nudge/registry.h"

namespace nudge::cli {

void add_train_command(CLI::App& root) {
  auto flags = std::make_shared<DataFlags>();
  auto spec = std::make_shared<std::string>("ials");
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand("train", "Fit a model on all of a dataset and write a model file");
  add_data_flags(cmd, flags.get());
  cmd->add_option("-m,--model", *spec, "Model and parameters, e.g. ials:factors=64,iterations=15")
      ->capture_default_str();
  cmd->add_option("-o,--out", *out, "Model file to write")->required();
  cmd->callback([flags, spec, out] {
    auto model = value_or_throw(make_recommender_from_spec(*spec));
    Dataset d = value_or_throw(load_dataset(*flags));
    const auto start = std::chrono::steady_clock::now();
    ok_or_throw(model->fit(d));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ok_or_throw(save_model(*model, d.catalog().users, d.catalog().items, d.user_items(), *out));
    fmt::print("trained {} ({}) on {} interactions in {:.2f}s -> {}\n", model->name(), model->params().to_string(),
               d.num_interactions(), secs, *out);
  });
}

}  // namespace nudge::cli
