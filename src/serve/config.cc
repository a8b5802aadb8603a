#include "nudge/serve/config.h"

#include <toml++/toml.h>
#include <fstream>
#include <optional>
#include <sstream>

#include "nudge/param_table.h"
#include "serve/experiment.h"

namespace nudge::serve {
namespace {

std::string where(const std::string& source, const toml::node& node) {
  return source + ":" + std::to_string(node.source().begin.line);
}

// Reads the keys of one table into typed targets; anything else is an error.
class Section {
 public:
  Section(const toml::table& table, std::string name, const std::string& source)
      : table_(table), name_(std::move(name)), source_(source) {}

  template <typename T, typename Target>
  Status read(std::string_view key, Target* out, std::string_view type_name) {
    known_.emplace_back(key);
    const toml::node* node = table_.get(key);
    if (!node) return Status::ok();
    // An integer key must hold an integer: asking toml++ for one from a float converts it,
    // which is undefined for 9e60 (found by fuzz_text_configs).
    const bool wrong_kind = std::is_same_v<T, int64_t> && !node->is_integer();
    auto v = wrong_kind ? std::optional<T>() : node->value<T>();
    if (!v)
      return Status::invalid_argument(where(source_, *node) + ": " + name_ + "." + std::string(key) + ": expected " +
                                      std::string(type_name));
    if constexpr (std::is_integral_v<Target> && !std::is_same_v<Target, bool>) {
      if (*v < 0 || static_cast<uint64_t>(*v) > static_cast<uint64_t>(std::numeric_limits<Target>::max()))
        return Status::invalid_argument(where(source_, *node) + ": " + name_ + "." + std::string(key) +
                                        ": out of range");
    }
    *out = static_cast<Target>(*v);
    return Status::ok();
  }
  Status integer(std::string_view key, auto* out) { return read<int64_t>(key, out, "an integer >= 0"); }
  Status number(std::string_view key, double* out) { return read<double>(key, out, "a number"); }
  Status boolean(std::string_view key, bool* out) { return read<bool>(key, out, "true or false"); }
  Status string(std::string_view key, std::string* out) { return read<std::string>(key, out, "a string"); }
  // Every key of `table` present in this section, checked as `nudge train -m` checks it:
  // one declaration (the options struct's ParamTable) gives both their names and bounds.
  template <typename Options>
  Status parameters(const ParamTable<Options>& table, Options* out) {
    for (const auto& entry : table.entries()) {
      if (std::find(known_.begin(), known_.end(), entry.key) != known_.end()) continue;  // read as an option
      known_.push_back(entry.key);
      const toml::node* node = table_.get(entry.key);
      if (!node) continue;
      std::string text;
      if (auto i = node->value_exact<int64_t>()) text = std::to_string(*i);
      else if (auto d = node->value_exact<double>()) text = param_number_text(*d);
      else if (auto b = node->value_exact<bool>()) text = *b ? "true" : "false";
      else if (auto str = node->value_exact<std::string>()) text = *str;
      else
        return Status::invalid_argument(where(source_, *node) + ": " + name_ + "." + entry.key + ": expected a value");
      NUDGE_RETURN_IF_ERROR(table.read_value(where(source_, *node) + ": " + name_, entry.key, text, out));
    }
    return Status::ok();
  }
  // The option `o` of this section, if the table has it: a value of its kind, stored through
  // its setter (which checks bounds), every error naming file:line and section.key.
  Status option(const ServeOption& o, ServeConfig* config) {
    known_.push_back(o.key);
    const toml::node* node = table_.get(o.key);
    if (!node) return Status::ok();
    const std::string at = where(source_, *node) + ": " + name_ + "." + o.key;
    std::optional<ServeOption::Value> v;
    switch (o.kind) {
      case ServeOption::Kind::kString:
        if (auto x = node->value_exact<std::string>()) v = *x;
        break;
      case ServeOption::Kind::kInteger:  // exact: toml++ converting 9e60 to an integer is undefined
        if (auto x = node->value_exact<int64_t>()) v = *x;
        break;
      case ServeOption::Kind::kNumber:  // an integer is a number too
        if (node->is_number()) v = *node->value<double>();
        break;
      case ServeOption::Kind::kBoolean:
        if (auto x = node->value_exact<bool>()) v = *x;
        break;
    }
    if (!v)
      return Status::invalid_argument(at + ": expected " + (o.kind == ServeOption::Kind::kString ? "a " : "an ") +
                                      o.accepts());
    return o.set(at, *v, config);
  }
  // Every option of the table in this section.
  Status options(ServeConfig* config) {
    for (const ServeOption& o : serve_options())
      if (o.section == name_ && o.in_file) NUDGE_RETURN_IF_ERROR(option(o, config));
    return Status::ok();
  }
  // A key read by hand, not through the typed readers.
  void known(std::string_view key) { known_.emplace_back(key); }
  const std::string& name() const { return name_; }
  Status check_unknown() const {
    for (const auto& [key, node] : table_)
      if (std::find(known_.begin(), known_.end(), key.str()) == known_.end())
        return Status::invalid_argument(where(source_, node) + ": unknown key " + name_ + "." + std::string(key.str()));
    return Status::ok();
  }

 private:
  const toml::table& table_;
  std::string name_;
  const std::string& source_;
  std::vector<std::string> known_;
};

// [kafka.properties]: librdkafka settings as strings, checked by librdkafka at startup.
Status read_kafka_properties(const toml::table& root, const std::string& source, KafkaOptions* kafka, Section* part) {
  part->known("properties");
  const toml::node* props = root["kafka"]["properties"].node();
  if (!props) return Status::ok();
  if (!props->is_table())
    return Status::invalid_argument(where(source, *props) + ": [kafka.properties] must be a table");
  for (const auto& [key, value] : *props->as_table()) {
    auto setting = value.value_exact<std::string>();
    if (!setting)
      return Status::invalid_argument(where(source, value) + ": kafka.properties." + std::string(key.str()) +
                                      ": expected a string");
    kafka->properties.emplace_back(std::string(key.str()), *setting);
  }
  return Status::ok();
}

// A list of strings (`[experiment] click_types = ["click"]`).
Status read_strings(const toml::table& table, std::string_view key, const std::string& name, const std::string& source,
                    std::vector<std::string>* out) {
  const toml::node* node = table.get(key);
  if (!node) return Status::ok();
  const auto* array = node->as_array();
  auto bad = [&] {
    return Status::invalid_argument(where(source, *node) + ": " + name + "." + std::string(key) +
                                    ": expected a list of strings");
  };
  if (!array || array->empty()) return bad();
  out->clear();
  for (const auto& value : *array) {
    auto text = value.value_exact<std::string>();
    if (!text || text->empty() || text->size() > kMaxEventTypeBytes) return bad();
    out->push_back(*text);
  }
  return Status::ok();
}

// [experiment] and its [[experiment.arm]] tables: the arms go to the engine, the rest to the
// experiment; Experiment::create checks the whole at startup.
Status parse_experiment(const toml::table& root, const std::string& source, ServeConfig* config) {
  const toml::node* node = root.get("experiment");
  if (!node) return Status::ok();
  if (!node->is_table()) return Status::invalid_argument(where(source, *node) + ": [experiment] must be a table");
  const toml::table& table = *node->as_table();
  ExperimentOptions& e = config->experiment;
  Section experiment(table, "experiment", source);
  std::string mode = "ab";
  NUDGE_RETURN_IF_ERROR(experiment.string("name", &e.name));
  NUDGE_RETURN_IF_ERROR(experiment.string("mode", &mode));
  NUDGE_RETURN_IF_ERROR(experiment.integer("remember", &e.remember));
  NUDGE_RETURN_IF_ERROR(experiment.integer("seed", &e.seed));
  experiment.known("click_types");
  experiment.known("conversion_types");
  experiment.known("arm");
  NUDGE_RETURN_IF_ERROR(experiment.check_unknown());
  NUDGE_RETURN_IF_ERROR(read_strings(table, "click_types", "experiment", source, &e.click_types));
  NUDGE_RETURN_IF_ERROR(read_strings(table, "conversion_types", "experiment", source, &e.conversion_types));
  if (auto bad = check_experiment_name(e.name, "experiment.name"); !bad.is_ok())
    return Status::invalid_argument(where(source, *node) + ": experiment.name: " + bad.message());
  if (mode != "ab" && mode != "interleave")
    return Status::invalid_argument(where(source, *table.get("mode")) +
                                    ": experiment.mode: expected \"ab\" or \"interleave\"");
  e.mode = mode == "ab" ? ExperimentMode::kAB : ExperimentMode::kInterleave;
  const toml::node* arms = table.get("arm");
  if (!arms || !arms->is_array_of_tables())
    return Status::invalid_argument(where(source, *node) +
                                    ": experiment: needs [[experiment.arm]] tables, the first for [model]");
  config->engine.arms.clear();
  e.weights.clear();
  bool weighted = false;
  for (const auto& item : *arms->as_array()) {
    const std::string name = "experiment.arm[" + std::to_string(config->engine.arms.size()) + "]";
    Section arm(*item.as_table(), name, source);
    ArmOptions a;
    double weight = 1;
    NUDGE_RETURN_IF_ERROR(arm.string("name", &a.name));
    NUDGE_RETURN_IF_ERROR(arm.string("spec", &a.spec));
    NUDGE_RETURN_IF_ERROR(arm.number("weight", &weight));
    NUDGE_RETURN_IF_ERROR(arm.check_unknown());
    weighted = weighted || item.as_table()->contains("weight");
    config->engine.arms.push_back(std::move(a));
    e.weights.push_back(weight);
  }
  if (!weighted) e.weights.clear();
  if (!config->cluster.redis.address.empty())
    return Status::invalid_argument(where(source, *node) +
                                    ": [experiment] runs on a single node: a cluster trains and installs only the "
                                    "main model");
  return Status::ok();
}

}  // namespace

ServeConfig default_serve_config() {
  ServeConfig c;
  c.engine.data_dir = "nudge-data";
  return c;
}

Status parse_serve_config(std::string_view text, const std::string& source, ServeConfig* config) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Status::invalid_argument(source + ":" + std::to_string(e.source().begin.line) + ": " +
                                    std::string(e.description()));
  }
  static const toml::table kEmpty;
  auto section = [&](std::string_view name) -> Result<Section> {
    const toml::node* node = root.get(name);
    if (!node) return Section(kEmpty, std::string(name), source);
    if (!node->is_table())
      return Status::invalid_argument(where(source, *node) + ": [" + std::string(name) + "] must be a table");
    return Section(*node->as_table(), std::string(name), source);
  };
  for (const auto& [key, node] : root)
    if (key != "server" && key != "store" && key != "model" && key != "retrain" && key != "events" && key != "kafka" &&
        key != "cluster" && key != "experiment")
      return Status::invalid_argument(where(source, node) + ": unknown section [" + std::string(key.str()) + "]");

  for (const char* name : {"server", "store", "model", "retrain", "events", "kafka", "cluster"}) {
    NUDGE_ASSIGN_OR_RETURN(Section part, section(name));
    NUDGE_RETURN_IF_ERROR(part.options(config));
    if (part.name() == "model")  // the default spec's iALS: IalsOptions' keys, bounds and messages
      NUDGE_RETURN_IF_ERROR(part.parameters(IalsOptions::parameters(), &config->engine.model.ials));
    if (part.name() == "kafka") NUDGE_RETURN_IF_ERROR(read_kafka_properties(root, source, &config->kafka, &part));
    NUDGE_RETURN_IF_ERROR(part.check_unknown());
  }
  NUDGE_RETURN_IF_ERROR(parse_experiment(root, source, config));
  return Status::ok();
}

Status load_serve_config(const std::string& path, ServeConfig* config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("cannot open config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_serve_config(text.str(), path, config);
}

}  // namespace nudge::serve
