// ServeConfig: everything `nudge serve` can be told, read from a TOML file (see
// docs/serving.md for an annotated example); command-line flags override the file.
// Unknown sections or keys and values of the wrong type are errors naming file:line and key.
#pragma once

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "nudge/serve/engine.h"
#include "nudge/serve/options.h"

namespace nudge::serve {

struct ServeConfig {
  HttpServerOptions server;
  HttpApiOptions api;
  EngineOptions engine;
  KafkaOptions kafka;      // brokers empty: events only through POST /v1/events
  ClusterOptions cluster;  // redis.address empty: a single node that trains for itself
  // name empty: no experiment. Its arms are engine.arms ([[experiment.arm]] tables).
  ExperimentOptions experiment;
  // The web console: "auto" serves it on a loopback address, and on any address when an API
  // key is set (then only with the key); "on" always (the key still needed if set); "off" never.
  std::string ui = "auto";
  int history_interval_s = 5;  // the console's charts: one sample of the counters this often
};

// One setting of `nudge serve`, declared once (src/serve/serve_options.cc): its TOML section
// and key, its command-line flag if it has one, what it accepts and what it means. The file
// reader below, the CLI's flags with their help and defaults, and the table of
// docs/serving.md (`nudge params --serve`, kept current by a test) all come from that list.
// Sections with their own shape (the iALS parameters of [model], [kafka.properties],
// [experiment]) are read by hand in config.cc.
struct ServeOption {
  enum class Kind { kString, kInteger, kNumber, kBoolean };
  using Value = std::variant<std::string, int64_t, double, bool>;  // the alternative of `kind`

  std::string section;  // "server"
  std::string key;      // "port"
  std::string flag;     // CLI11 names, "-p,--port"; empty: only in the file
  Kind kind = Kind::kString;
  std::string help;
  int64_t min_integer = 0, max_integer = 0;  // kInteger's bounds
  double min_number = 0, max_number = 0;     // kNumber's bounds
  bool flag_sets = true;                     // kBoolean: what the bare flag stores (--no-sync: false)
  bool in_file = true;                       // false: the file's key is read elsewhere ([model]'s iALS parameters)
  // Checks a value (bounds, a spec that must parse) and stores it; errors start with `where`
  // ("a.toml:2: server.port", "--port").
  std::function<Status(const std::string& where, const Value&, ServeConfig*)> set;
  std::function<std::string(const ServeConfig&)> show;  // the value as a TOML literal

  std::string accepts() const;    // "integer in [0, 65535]"
  std::string long_flag() const;  // "--port"
};

// Every option, section by section, in the order of docs/serving.md.
const std::vector<ServeOption>& serve_options();
// The table of docs/serving.md: section, key, flag, accepts, default, meaning.
std::string serve_options_markdown();

// Defaults: data under ./nudge-data, 127.0.0.1:8080, iALS 64 factors.
ServeConfig default_serve_config();
// Applies a TOML file over `config`.
Status load_serve_config(const std::string& path, ServeConfig* config);
// The same from text (`source` names it in errors).
Status parse_serve_config(std::string_view text, const std::string& source, ServeConfig* config);

}  // namespace nudge::serve
