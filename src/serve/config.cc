#include "nudge/serve/config.h"

#include <toml++/toml.h>
#include <fstream>
#include <optional>
#include <sstream>

#include "nudge/param_table.h"
#include "nudge/registry.h"

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
  // A key read by hand, not through the typed readers.
  void known(std::string_view key) { known_.emplace_back(key); }
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

  NUDGE_ASSIGN_OR_RETURN(Section server, section("server"));
  NUDGE_RETURN_IF_ERROR(server.string("host", &config->server.host));
  NUDGE_RETURN_IF_ERROR(server.integer("port", &config->server.port));
  NUDGE_RETURN_IF_ERROR(server.integer("threads", &config->server.threads));
  NUDGE_RETURN_IF_ERROR(server.integer("max_body_bytes", &config->server.max_body_bytes));
  NUDGE_RETURN_IF_ERROR(server.integer("max_header_bytes", &config->server.max_header_bytes));
  NUDGE_RETURN_IF_ERROR(server.integer("max_connections", &config->server.max_connections));
  NUDGE_RETURN_IF_ERROR(server.integer("idle_timeout_s", &config->server.idle_timeout_s));
  NUDGE_RETURN_IF_ERROR(server.integer("request_timeout_s", &config->server.request_timeout_s));
  NUDGE_RETURN_IF_ERROR(server.integer("max_batch_events", &config->api.max_batch_events));
  NUDGE_RETURN_IF_ERROR(server.integer("max_list_values", &config->api.max_list_values));
  NUDGE_RETURN_IF_ERROR(server.string("api_key", &config->api.api_key));
  NUDGE_RETURN_IF_ERROR(server.check_unknown());
  const HttpServerOptions& sv = config->server;
  if (sv.max_header_bytes < 1024 || sv.max_header_bytes > (1u << 30) || sv.max_connections < 1 ||
      sv.idle_timeout_s < 1 || sv.request_timeout_s < 1 || config->api.max_batch_events < 1 ||
      config->api.max_list_values < 1)
    return Status::invalid_argument(source + ": [server] limits must be >= 1 (max_header_bytes 1024..2^30)");

  NUDGE_ASSIGN_OR_RETURN(Section store, section("store"));
  NUDGE_RETURN_IF_ERROR(store.string("data_dir", &config->engine.data_dir));
  NUDGE_RETURN_IF_ERROR(store.boolean("sync", &config->engine.store.sync));
  NUDGE_RETURN_IF_ERROR(store.boolean("skip_damaged_log", &config->engine.store.skip_damaged_log));
  if (config->engine.data_dir.empty()) return Status::invalid_argument(source + ": [store] data_dir is empty");
  NUDGE_RETURN_IF_ERROR(store.check_unknown());

  NUDGE_ASSIGN_OR_RETURN(Section model, section("model"));
  IalsOptions& ials = config->engine.model.ials;
  NUDGE_RETURN_IF_ERROR(model.string("spec", &config->engine.model.spec));
  NUDGE_RETURN_IF_ERROR(model.string("file", &config->engine.model_file));
  NUDGE_RETURN_IF_ERROR(model.parameters(IalsOptions::parameters(), &ials));  // the default spec's iALS
  NUDGE_RETURN_IF_ERROR(model.integer("ann_min_items", &config->engine.model.ann_min_items));
  NUDGE_RETURN_IF_ERROR(model.integer("ann_ef_search", &config->engine.model.ann.ef_search));
  NUDGE_RETURN_IF_ERROR(model.integer("ann_m", &config->engine.model.ann.m));
  NUDGE_RETURN_IF_ERROR(model.check_unknown());
  // The spec this file sets (a spec given before, by the defaults or a caller, is theirs to check).
  if (const toml::node* spec = root["model"]["spec"].node(); spec && !config->engine.model.spec.empty())
    if (auto m = make_recommender_from_spec(config->engine.model.spec); !m.is_ok())
      return Status::invalid_argument(where(source, *spec) + ": model.spec: " + m.status().message());

  NUDGE_ASSIGN_OR_RETURN(Section retrain, section("retrain"));
  NUDGE_RETURN_IF_ERROR(retrain.integer("interval_s", &config->engine.retrain_interval_s));
  NUDGE_RETURN_IF_ERROR(retrain.integer("after_events", &config->engine.retrain_after_events));
  NUDGE_RETURN_IF_ERROR(retrain.integer("min_events", &config->engine.retrain_min_events));
  NUDGE_RETURN_IF_ERROR(retrain.boolean("on_start", &config->engine.train_on_start));
  NUDGE_RETURN_IF_ERROR(retrain.check_unknown());

  NUDGE_ASSIGN_OR_RETURN(Section events, section("events"));
  NUDGE_RETURN_IF_ERROR(events.string("weights", &config->engine.event_weights));
  NUDGE_RETURN_IF_ERROR(events.number("trending_half_life_hours", &config->engine.trending_half_life_hours));
  NUDGE_RETURN_IF_ERROR(events.number("trending_refresh_s", &config->engine.trending_refresh_s));
  NUDGE_RETURN_IF_ERROR(events.check_unknown());

  NUDGE_ASSIGN_OR_RETURN(Section kafka, section("kafka"));
  KafkaOptions& k = config->kafka;
  NUDGE_RETURN_IF_ERROR(kafka.string("brokers", &k.brokers));
  NUDGE_RETURN_IF_ERROR(kafka.string("topic", &k.topic));
  NUDGE_RETURN_IF_ERROR(kafka.string("group", &k.group));
  NUDGE_RETURN_IF_ERROR(kafka.integer("startup_timeout_ms", &k.startup_timeout_ms));
  NUDGE_RETURN_IF_ERROR(kafka.integer("max_batch_messages", &k.max_batch_messages));
  NUDGE_RETURN_IF_ERROR(kafka.boolean("produce_events", &k.produce_api_events));
  // [kafka.properties]: librdkafka settings as strings, checked by librdkafka at startup.
  kafka.known("properties");
  if (const toml::node* props = root["kafka"]["properties"].node()) {
    if (!props->is_table())
      return Status::invalid_argument(where(source, *props) + ": [kafka.properties] must be a table");
    for (const auto& [key, value] : *props->as_table()) {
      auto setting = value.value_exact<std::string>();
      if (!setting)
        return Status::invalid_argument(where(source, value) + ": kafka.properties." + std::string(key.str()) +
                                        ": expected a string");
      k.properties.emplace_back(std::string(key.str()), *setting);
    }
  }
  NUDGE_RETURN_IF_ERROR(kafka.check_unknown());
  if (k.startup_timeout_ms < 1 || k.max_batch_messages < 1)
    return Status::invalid_argument(source + ": [kafka] startup_timeout_ms and max_batch_messages must be >= 1");

  NUDGE_ASSIGN_OR_RETURN(Section cluster, section("cluster"));
  ClusterOptions& c = config->cluster;
  NUDGE_RETURN_IF_ERROR(cluster.string("redis", &c.redis.address));
  NUDGE_RETURN_IF_ERROR(cluster.integer("redis_timeout_ms", &c.redis.timeout_ms));
  NUDGE_RETURN_IF_ERROR(cluster.string("name", &c.name));
  NUDGE_RETURN_IF_ERROR(cluster.string("replica_id", &c.replica_id));
  NUDGE_RETURN_IF_ERROR(cluster.boolean("trainer", &c.trainer));
  NUDGE_RETURN_IF_ERROR(cluster.string("model_dir", &c.model_dir));
  NUDGE_RETURN_IF_ERROR(cluster.integer("lease_ms", &c.lease_ms));
  NUDGE_RETURN_IF_ERROR(cluster.integer("poll_ms", &c.poll_ms));
  NUDGE_RETURN_IF_ERROR(cluster.string("advertise", &c.advertise));
  NUDGE_RETURN_IF_ERROR(cluster.integer("forward_timeout_ms", &c.forward_timeout_ms));
  NUDGE_RETURN_IF_ERROR(cluster.check_unknown());
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
