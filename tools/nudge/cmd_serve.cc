// nudge serve: the HTTP recommendation server (docs/serving.md, docs/api.md).
//
// Optionally imports an interactions file (and item and user features) into its store first, which is
// how a catalogue is bootstrapped from history; --import-only then trains and exits. The flags
// become a ServeConfig; serve::Server (src/serve/server.cc) starts and stops everything.
#include <cctype>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <vector>

#include "commands.h"
#include "data_flags.h"
#include "nudge/log.h"
#include "nudge/serve/config.h"
#include "nudge/serve/import.h"
#include "nudge/serve/server.h"

namespace nudge::cli {
namespace {

// The flags that are not server options (config.h's table has those): what to read first and
// what to do around serving.
struct ServeFlags {
  std::string config, port_file;
  std::string import, import_items, import_users;
  bool import_only = false;
};

// The table's options that have a flag, each bound to storage of its kind and a reader of
// that storage; apply() stores the ones given over the config, checked by the option's setter.
class OptionFlags {
 public:
  void add_to(CLI::App* cmd) {
    const serve::ServeConfig defaults = serve::default_serve_config();
    for (const serve::ServeOption& o : serve::serve_options()) {
      if (o.flag.empty()) continue;
      const std::string file_key = "[" + o.section + "] " + o.key;
      std::string help = o.kind == serve::ServeOption::Kind::kBoolean
                             ? o.help + " (sets " + file_key + " = " + (o.flag_sets ? "true" : "false") + "; default " +
                                   o.show(defaults) + ")"
                             : o.help + " (default " + o.show(defaults) + "; " + file_key + ")";
      help[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(help[0])));
      Bound b{&o, nullptr, nullptr};
      switch (o.kind) {
        case serve::ServeOption::Kind::kString: b = bind(cmd, o, strings_, help); break;
        case serve::ServeOption::Kind::kInteger: b = bind(cmd, o, integers_, help); break;
        case serve::ServeOption::Kind::kNumber: b = bind(cmd, o, numbers_, help); break;
        case serve::ServeOption::Kind::kBoolean:
          b.option = cmd->add_flag(o.flag)->description(help);
          b.value = [&o] { return serve::ServeOption::Value(o.flag_sets); };  // the flag's presence is its value
          break;
      }
      bound_.push_back(std::move(b));
    }
  }

  void apply(serve::ServeConfig* config) const {
    for (const Bound& b : bound_)
      if (b.option->count() > 0) ok_or_throw(b.spec->set(b.spec->long_flag(), b.value(), config));
  }

 private:
  struct Bound {
    const serve::ServeOption* spec;
    CLI::Option* option;
    std::function<serve::ServeOption::Value()> value;  // what the command line gave
  };
  // Deques: CLI11 keeps pointers to the storage, which must not move as options are added.
  template <typename T>
  static Bound bind(CLI::App* cmd, const serve::ServeOption& o, std::deque<T>& storage, const std::string& help) {
    T& slot = storage.emplace_back();
    return {&o, cmd->add_option(o.flag, slot, help), [&slot] { return serve::ServeOption::Value(slot); }};
  }
  std::deque<std::string> strings_;
  std::deque<int64_t> integers_;
  std::deque<double> numbers_;
  std::vector<Bound> bound_;
};

void import_into(serve::Engine& engine, const ServeFlags& flags) {
  DataFlags data;
  data.input = flags.import;
  data.item_features = flags.import_items;
  data.user_features = flags.import_users;
  data.keep_duplicates = true;
  Dataset d = value_or_throw(load_dataset(data));
  ok_or_throw(serve::import_dataset(engine, d));
  spdlog::info("serve: imported {} events from {}", d.num_interactions(), flags.import);
}

}  // namespace

void add_serve_command(CLI::App& root) {
  auto f = std::make_shared<ServeFlags>();
  auto options = std::make_shared<OptionFlags>();
  CLI::App* cmd = root.add_subcommand("serve", "Run the HTTP recommendation server");
  cmd->add_option("-c,--config", f->config, "TOML configuration file (flags override it)");
  options->add_to(cmd);
  cmd->add_option("--port-file", f->port_file, "Write the bound port here once listening");
  cmd->add_option("--import", f->import, "Import this interactions file (csv, jsonl, MovieLens) into the store first");
  cmd->add_option("--import-items", f->import_items, "Item features to import with --import (annotated csv)");
  cmd->add_option("--import-users", f->import_users,
                  "User features to import with --import as user attributes (annotated csv)");
  cmd->add_flag("--import-only", f->import_only, "Import, train, and exit without serving");
  cmd->callback([f, options] {
    serve::ServeConfig config = serve::default_serve_config();
    if (!f->config.empty()) ok_or_throw(serve::load_serve_config(f->config, &config));
    options->apply(&config);
    if (!f->import.empty()) config.engine.train_on_start = false;  // trained once, after the import
    auto server = value_or_throw(serve::Server::open(std::move(config)));
    if (!f->import.empty()) {
      // One training, after the import: without the hold, the background retrainer would
      // also start one by event count the moment the import's own hold ends.
      const auto hold = server->engine().hold_retrains();
      import_into(server->engine(), *f);
      ok_or_throw(server->engine().retrain());
    }
    if (f->import_only) return;
    ok_or_throw(server->start());
    fmt::print("nudge: listening on http://{}:{} (data in {})\n", server->config().server.host, server->port(),
               server->config().engine.data_dir);
    std::fflush(stdout);
    if (!f->port_file.empty()) std::ofstream(f->port_file) << server->port() << "\n";
    server->wait_for_signal();
    spdlog::info("serve: shutting down");
    server->stop();
  });
}

}  // namespace nudge::cli
