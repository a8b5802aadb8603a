// nudge params: every model's parameters (key, accepted values, default, meaning), printed from
// the options structs' ParamTables: the reference of `-m name:key=value` that cannot go stale.
// --markdown prints the model tables of docs/parameters.md (tests/tools/parameters_doc_test.sh
// checks that the file holds exactly this); --serve the table of nudge serve's options in
// docs/serving.md (config.h's ServeOption list), checked the same way.
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "nudge/log.h"
#include "nudge/registry.h"
#include "nudge/serve/config.h"

namespace nudge::cli {
namespace {

// A table cell: a | would end the cell.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

bool same_rows(const std::vector<ParamInfo>& a, const std::vector<ParamInfo>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k].key != b[k].key || a[k].accepts != b[k].accepts || a[k].default_value != b[k].default_value ||
        a[k].help != b[k].help)
      return false;
  }
  return true;
}

void print_markdown(const std::vector<std::string>& models) {
  // Models with identical tables (gmf, mlp, neumf) share one.
  for (size_t m = 0; m < models.size();) {
    const auto rows = value_or_throw(model_parameters(models[m]));
    std::string heading = "`" + models[m] + "`";
    size_t next = m + 1;
    while (next < models.size() && same_rows(rows, value_or_throw(model_parameters(models[next])))) {
      heading += ", `" + models[next] + "`";
      ++next;
    }
    fmt::print("### {}\n\n| parameter | accepts | default | meaning |\n|---|---|---|---|\n", heading);
    for (const ParamInfo& p : rows)
      fmt::print("| `{}` | {} | {} | {} |\n", p.key, cell(p.accepts), cell(p.default_value), cell(p.help));
    fmt::print("\n");
    m = next;
  }
}

void print_text(const std::vector<std::string>& models) {
  for (const std::string& name : models) {
    const auto rows = value_or_throw(model_parameters(name));
    fmt::print("{}\n", name);
    for (const ParamInfo& p : rows) {
      fmt::print("  {:<20} {:<28} default {}\n", p.key, p.accepts, p.default_value);
      if (!p.help.empty()) fmt::print("  {:<20} {}\n", "", p.help);
    }
  }
}

}  // namespace

void add_params_command(CLI::App& root) {
  auto models = std::make_shared<std::vector<std::string>>();
  auto markdown = std::make_shared<bool>(false);
  auto serve = std::make_shared<bool>(false);
  CLI::App* cmd = root.add_subcommand("params", "List each model's parameters: accepted values, default, meaning");
  cmd->add_option("models", *models, "Models to list (default: every registered model)");
  cmd->add_flag("--markdown", *markdown, "Markdown tables, as docs/parameters.md holds them");
  cmd->add_flag("--serve", *serve,
                "nudge serve's options instead (TOML key, flag, accepts, default, meaning), the table of "
                "docs/serving.md");
  cmd->callback([models, markdown, serve] {
    if (*serve) {
      fmt::print("{}", serve::serve_options_markdown());
      return;
    }
    const std::vector<std::string> names = models->empty() ? registered_models() : *models;
    if (*markdown) print_markdown(names);
    else print_text(names);
  });
}

}  // namespace nudge::cli
