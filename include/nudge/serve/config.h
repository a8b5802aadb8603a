// ServeConfig: everything `nudge serve` can be told, read from a TOML file (see
// docs/serving.md for an annotated example); command-line flags override the file.
// Unknown sections or keys and values of the wrong type are errors naming file:line and key.
#pragma once

#include <string>

#include "nudge/serve/cluster.h"
#include "nudge/serve/engine.h"
#include "nudge/serve/experiment.h"
#include "nudge/serve/http_api.h"
#include "nudge/serve/http_server.h"
#include "nudge/serve/kafka_source.h"

namespace nudge::serve {

struct ServeConfig {
  HttpServerOptions server;
  HttpApiOptions api;
  EngineOptions engine;
  KafkaOptions kafka;      // brokers empty: events only through POST /v1/events
  ClusterOptions cluster;  // redis.address empty: a single node that trains for itself
  // name empty: no experiment. Its arms are engine.arms ([[experiment.arm]] tables).
  ExperimentOptions experiment;
};

// Defaults: data under ./nudge-data, 127.0.0.1:8080, iALS 64 factors.
ServeConfig default_serve_config();
// Applies a TOML file over `config`.
Status load_serve_config(const std::string& path, ServeConfig* config);
// The same from text (`source` names it in errors).
Status parse_serve_config(std::string_view text, const std::string& source, ServeConfig* config);

}  // namespace nudge::serve
