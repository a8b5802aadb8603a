// The one list of `nudge serve`'s settings (config.h, ServeOption). The TOML reader
// (config.cc), the CLI's flags and their help (tools/nudge/cmd_serve.cc) and the table in
// docs/serving.md (`nudge params --serve`, checked by serve_options_doc_test.sh) read it.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "nudge/param_table.h"
#include "nudge/registry.h"
#include "nudge/serve/config.h"

namespace nudge::serve {
namespace {

using Kind = ServeOption::Kind;
using Value = ServeOption::Value;

// Each maker takes the field as a lambda from a config to a reference of it, so one entry
// names its field once and the setter stores into the field's own type.
template <typename Field>
ServeOption integer(std::string section, std::string key, std::string flag, Field field, int64_t min, int64_t max,
                    std::string help) {
  using T = std::remove_reference_t<decltype(field(std::declval<ServeConfig&>()))>;
  ServeOption o{std::move(section), std::move(key), std::move(flag), Kind::kInteger, std::move(help)};
  o.min_integer = min, o.max_integer = max;
  o.set = [field, min, max](const std::string& where, const Value& v, ServeConfig* c) {
    const int64_t x = std::get<int64_t>(v);
    if (x < min || x > max)
      return Status::invalid_argument(where + ": " + std::to_string(x) + " is out of range [" + std::to_string(min) +
                                      ", " + std::to_string(max) + "]");
    field(*c) = static_cast<T>(x);
    return Status::ok();
  };
  o.show = [field](const ServeConfig& c) { return std::to_string(field(c)); };
  return o;
}

template <typename Field>
ServeOption number(std::string section, std::string key, Field field, double min, double max, std::string help) {
  ServeOption o{std::move(section), std::move(key), "", Kind::kNumber, std::move(help)};
  o.min_number = min, o.max_number = max;
  o.set = [field, min, max](const std::string& where, const Value& v, ServeConfig* c) {
    const double x = std::get<double>(v);
    if (!(x >= min && x <= max))
      return Status::invalid_argument(where + ": " + param_number_text(x) + " is out of range [" +
                                      param_number_text(min) + ", " + param_number_text(max) + "]");
    field(*c) = x;
    return Status::ok();
  };
  o.show = [field](const ServeConfig& c) { return param_number_text(field(c)); };
  return o;
}

// `flag_sets`: what the bare flag stores (--no-sync stores store.sync = false).
template <typename Field>
ServeOption boolean(std::string section, std::string key, std::string flag, bool flag_sets, Field field,
                    std::string help) {
  ServeOption o{std::move(section), std::move(key), std::move(flag), Kind::kBoolean, std::move(help)};
  o.flag_sets = flag_sets;
  o.set = [field](const std::string&, const Value& v, ServeConfig* c) {
    field(*c) = std::get<bool>(v);
    return Status::ok();
  };
  o.show = [field](const ServeConfig& c) { return std::string(field(c) ? "true" : "false"); };
  return o;
}

// `check`: refuses a value before it is stored (null: any string).
template <typename Field>
ServeOption string(std::string section, std::string key, std::string flag, Field field, std::string help,
                   Status (*check)(const std::string&) = nullptr) {
  ServeOption o{std::move(section), std::move(key), std::move(flag), Kind::kString, std::move(help)};
  o.set = [field, check](const std::string& where, const Value& v, ServeConfig* c) {
    const std::string& s = std::get<std::string>(v);
    if (check)
      if (Status st = check(s); !st.is_ok()) return Status::invalid_argument(where + ": " + st.message());
    field(*c) = s;
    return Status::ok();
  };
  o.show = [field](const ServeConfig& c) { return "\"" + field(c) + "\""; };
  return o;
}

Status ui_mode(const std::string& mode) {
  return mode == "auto" || mode == "on" || mode == "off" ? Status::ok()
                                                         : Status::invalid_argument("expected auto, on or off");
}

Status not_empty(const std::string& path) {
  return path.empty() ? Status::invalid_argument("an empty path (give a directory)") : Status::ok();
}

// A spec is checked when it is read, as nudge train -m checks it, before anything is opened.
Status valid_spec(const std::string& spec) {
  if (spec.empty()) return Status::ok();
  auto made = make_recommender_from_spec(spec);
  return made.is_ok() ? Status::ok() : made.status();
}

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int kIntMax = std::numeric_limits<int>::max();

std::vector<ServeOption> server_options() {
  return {
      string(
          "server", "host", "--host", [](auto& c) -> auto& { return c.server.host; }, "address to listen on"),
      integer(
          "server", "port", "-p,--port", [](auto& c) -> auto& { return c.server.port; }, 0, 65535,
          "port; 0 picks a free one (--port-file tells which)"),
      integer(
          "server", "threads", "--threads", [](auto& c) -> auto& { return c.server.threads; }, 0, 1024,
          "network threads; 0: all cores"),
      string(
          "server", "api_key", "--api-key", [](auto& c) -> auto& { return c.api.api_key; },
          "non-empty: POST/PUT/DELETE need \"Authorization: Bearer <api_key>\""),
      integer(
          "server", "max_body_bytes", "", [](auto& c) -> auto& { return c.server.max_body_bytes; }, 0, kMax,
          "larger request bodies get 413"),
      integer(
          "server", "max_header_bytes", "", [](auto& c) -> auto& { return c.server.max_header_bytes; }, 1024,
          int64_t{1} << 30, "request line and headers; larger get 431"),
      integer(
          "server", "max_connections", "", [](auto& c) -> auto& { return c.server.max_connections; }, 1, kMax,
          "open at once; more get 503 and are closed"),
      integer(
          "server", "idle_timeout_s", "", [](auto& c) -> auto& { return c.server.idle_timeout_s; }, 1, kIntMax,
          "a connection with no request started for this long is closed"),
      integer(
          "server", "request_timeout_s", "", [](auto& c) -> auto& { return c.server.request_timeout_s; }, 1, kIntMax,
          "a started request must be complete within this (slow clients)"),
      integer(
          "server", "max_batch_events", "", [](auto& c) -> auto& { return c.api.max_batch_events; }, 1, kMax,
          "events in one POST /v1/events; more get 413"),
      integer(
          "server", "max_list_values", "", [](auto& c) -> auto& { return c.api.max_list_values; }, 1, kMax,
          "values of one list parameter (exclude, category, tag, pin, boost) or tags of an item"),
      string(
          "server", "ui", "--ui", [](auto& c) -> auto& { return c.ui; },
          "the web console at /ui/: auto (on a loopback address, or with the API key when one is set), on, off",
          ui_mode),
      integer(
          "server", "history_interval_s", "", [](auto& c) -> auto& { return c.history_interval_s; }, 1, 3600,
          "the console's charts sample the server's counters this often (720 samples kept)"),
  };
}

std::vector<ServeOption> store_and_model_options() {
  ServeOption factors = integer(
      "model", "factors", "--factors", [](auto& c) -> auto& { return c.engine.model.ials.factors; }, 1, kMax,
      "the default spec's iALS factors; in the file, every iALS parameter (docs/parameters.md) may be set here");
  // Bounds and messages are IalsOptions' own; in the file [model] reads every iALS key so.
  factors.set = [](const std::string& where, const Value& v, ServeConfig* c) {
    return IalsOptions::parameters().read_value(where, "factors", std::to_string(std::get<int64_t>(v)),
                                                &c->engine.model.ials);
  };
  factors.in_file = false;
  return {
      string(
          "store", "data_dir", "-d,--data-dir", [](auto& c) -> auto& { return c.engine.data_dir; },
          "directory of the event store and the model", not_empty),
      boolean(
          "store", "sync", "--no-sync", false, [](auto& c) -> auto& { return c.engine.store.sync; },
          "fsync before acknowledging; false (--no-sync): acknowledged once written (survives a process "
          "crash, not power loss)"),
      boolean(
          "store", "skip_damaged_log", "--skip-damaged-log", true,
          [](auto& c) -> auto& { return c.engine.store.skip_damaged_log; },
          "start even if the write-ahead log is damaged, without the damaged events (copied aside first, "
          "counted in /metrics); false: such a store refuses to start"),
      string(
          "model", "spec", "-m,--model", [](auto& c) -> auto& { return c.engine.model.spec; },
          "what to serve and retrain, as nudge train -m takes it; empty: fusion of ials and twotower when items "
          "have features, else ials",
          valid_spec),
      string(
          "model", "file", "--model-file", [](auto& c) -> auto& { return c.engine.model_file; },
          "serve this model file trained by nudge train (copied into data_dir), and keep learning from events"),
      std::move(factors),
      integer(
          "model", "ann_min_items", "", [](auto& c) -> auto& { return c.engine.model.ann_min_items; }, 0, UINT32_MAX,
          "factor-model catalogues at least this large answer through HNSW"),
      integer(
          "model", "ann_m", "", [](auto& c) -> auto& { return c.engine.model.ann.m; }, 2, 1024, "HNSW links per node"),
      integer(
          "model", "ann_ef_search", "", [](auto& c) -> auto& { return c.engine.model.ann.ef_search; }, 1, 1 << 20,
          "HNSW candidate list at query time"),
  };
}

std::vector<ServeOption> retrain_and_event_options() {
  return {
      integer(
          "retrain", "interval_s", "", [](auto& c) -> auto& { return c.engine.retrain_interval_s; }, 0, kMax,
          "scheduled retrain period; 0: none"),
      integer(
          "retrain", "after_events", "", [](auto& c) -> auto& { return c.engine.retrain_after_events; }, 0, kMax,
          "retrain after this many new events; 0: never by count"),
      integer(
          "retrain", "min_events", "", [](auto& c) -> auto& { return c.engine.retrain_min_events; }, 0, kMax,
          "fewer events than this: no model (trending only)"),
      boolean(
          "retrain", "on_start", "", true, [](auto& c) -> auto& { return c.engine.train_on_start; },
          "train at startup when the store has events and no model file"),
      string(
          "events", "weights", "", [](auto& c) -> auto& { return c.engine.event_weights; },
          "weight of each event type, \"view=1,purchase=8\"; empty: view=1,click=2,cart=4,purchase=8"),
      number(
          "events", "trending_half_life_hours", [](auto& c) -> auto& { return c.engine.trending_half_life_hours; },
          1e-6, 1e9, "half-life of the popularity counters behind trending"),
      number(
          "events", "trending_refresh_s", [](auto& c) -> auto& { return c.engine.trending_refresh_s; }, 0, 1e9,
          "the trending ranking for new users is re-sorted at most this often"),
  };
}

std::vector<ServeOption> kafka_and_cluster_options() {
  return {
      string(
          "kafka", "brokers", "--kafka-brokers", [](auto& c) -> auto& { return c.kafka.brokers; },
          "also consume events from Kafka at these bootstrap servers (host:port,...; docs/scale-out.md); empty: "
          "no Kafka"),
      string(
          "kafka", "topic", "--kafka-topic", [](auto& c) -> auto& { return c.kafka.topic; }, "topic of the events"),
      string(
          "kafka", "group", "--kafka-group", [](auto& c) -> auto& { return c.kafka.group; },
          "consumer group the replicas share"),
      integer(
          "kafka", "startup_timeout_ms", "", [](auto& c) -> auto& { return c.kafka.startup_timeout_ms; }, 1, kIntMax,
          "the brokers must answer and know the topic within this"),
      integer(
          "kafka", "max_batch_messages", "", [](auto& c) -> auto& { return c.kafka.max_batch_messages; }, 1, kMax,
          "messages stored in one write"),
      boolean(
          "kafka", "produce_events", "", true, [](auto& c) -> auto& { return c.kafka.produce_api_events; },
          "POST /v1/events produces to the topic (one path for every event); false: stored locally"),
      string(
          "cluster", "redis", "--redis", [](auto& c) -> auto& { return c.cluster.redis.address; },
          "join the replicas coordinating through this Redis (host:port): one trainer leads, all serve its "
          "models; empty: a single node"),
      integer(
          "cluster", "redis_timeout_ms", "", [](auto& c) -> auto& { return c.cluster.redis.timeout_ms; }, 1, kIntMax,
          "Redis connect and each command"),
      string(
          "cluster", "name", "", [](auto& c) -> auto& { return c.cluster.name; },
          "key prefix: one deployment per name"),
      string(
          "cluster", "replica_id", "--replica-id", [](auto& c) -> auto& { return c.cluster.replica_id; },
          "this replica's name in the cluster; empty: hostname:pid"),
      boolean(
          "cluster", "trainer", "--trainer", true, [](auto& c) -> auto& { return c.cluster.trainer; },
          "may lead and train (consumes every Kafka partition; needs model_dir)"),
      string(
          "cluster", "model_dir", "--model-dir", [](auto& c) -> auto& { return c.cluster.model_dir; },
          "shared directory the leader publishes model files to"),
      integer(
          "cluster", "lease_ms", "", [](auto& c) -> auto& { return c.cluster.lease_ms; }, 1, kIntMax,
          "the leader lock's time to live"),
      integer(
          "cluster", "poll_ms", "", [](auto& c) -> auto& { return c.cluster.poll_ms; }, 1, kIntMax,
          "lock renewal, model-version and owners-table polling interval"),
      string(
          "cluster", "advertise", "--advertise", [](auto& c) -> auto& { return c.cluster.advertise; },
          "URL other replicas reach this one at, for requests about users it owns; empty: "
          "http://<host>:<port>"),
      integer(
          "cluster", "forward_timeout_ms", "", [](auto& c) -> auto& { return c.cluster.forward_timeout_ms; }, 1,
          kIntMax, "a request sent on to the replica owning its user"),
  };
}

}  // namespace

std::string ServeOption::accepts() const {
  switch (kind) {
    case Kind::kString: return "string";
    case Kind::kBoolean: return "true or false";
    case Kind::kNumber:
      return "number in [" + param_number_text(min_number) + ", " + param_number_text(max_number) + "]";
    case Kind::kInteger: break;
  }
  if (max_integer == std::numeric_limits<int64_t>::max()) return "integer >= " + std::to_string(min_integer);
  return "integer in [" + std::to_string(min_integer) + ", " + std::to_string(max_integer) + "]";
}

std::string ServeOption::long_flag() const {
  const size_t comma = flag.rfind(',');
  return comma == std::string::npos ? flag : flag.substr(comma + 1);
}

const std::vector<ServeOption>& serve_options() {
  static const std::vector<ServeOption> kAll = [] {
    std::vector<ServeOption> out;
    for (auto part : {server_options, store_and_model_options, retrain_and_event_options, kafka_and_cluster_options})
      for (ServeOption& o : part()) out.push_back(std::move(o));
    return out;
  }();
  return kAll;
}

std::string serve_options_markdown() {
  const ServeConfig defaults = default_serve_config();
  std::string out = "| section | key | flag | accepts | default | meaning |\n|---|---|---|---|---|---|\n";
  for (const ServeOption& o : serve_options()) {
    std::string flag = o.flag.empty() ? "" : "`" + o.long_flag() + "`";
    if (o.kind == Kind::kBoolean && !o.flag.empty())
      flag += " (sets " + std::string(o.flag_sets ? "true" : "false") + ")";
    std::string help = o.help;
    for (size_t p = help.find('|'); p != std::string::npos; p = help.find('|', p + 2)) help.replace(p, 1, "\\|");
    out += "| [" + o.section + "] | `" + o.key + "` | " + flag + " | " + o.accepts() + " | `" + o.show(defaults) +
           "` | " + help + " |\n";
  }
  return out;
}

}  // namespace nudge::serve
