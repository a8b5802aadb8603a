// HttpApi: the HTTP routes of `nudge serve` (docs/api.md, docs/openapi.yaml) as a function
// from a request to a response, independent of the network layer, so routing, parsing and
// error codes are unit-tested without sockets.
//
// Bad input never reaches the engine: bodies and query strings are parsed strictly (unknown
// parameters and fields are errors), every string is checked to be UTF-8 and every number to
// be in range (input_limits.h), and every error names the field, e.g.
//   400 {"error": "must be a finite number >= 0", "field": "events[2].value"}
// handle() is a boundary: an exception from anything below it becomes a 500 JSON answer and
// an error log line, never an exception in the caller's thread.
// Thread-safety: handle() may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "nudge/serve/cluster.h"
#include "nudge/serve/engine.h"
#include "nudge/serve/kafka_source.h"
#include "nudge/serve/metrics.h"

namespace nudge::serve {

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // path and query string
  std::string authorization;  // the Authorization header, if any
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct HttpApiOptions {
  std::string api_key;              // non-empty: POST/PUT/DELETE need "Authorization: Bearer <api_key>"
  size_t max_batch_events = 10000;  // events in one POST /v1/events; more: 413
  size_t max_list_values =
      1000;  // values of one list parameter (exclude, category, tag, pin, boost) or tags of an item
};

class HttpApi {
 public:
  using Respond = std::function<void(HttpResponse)>;
  HttpApi(Engine& engine, HttpApiOptions options);

  // Calls `respond` exactly once, possibly later and on another thread (event ingestion
  // answers once the events are durable; retrain once the new model serves).
  void handle(const HttpRequest& request, Respond respond);
  // A response for errors found before routing (oversized body: 413, unparsable request: 400).
  static HttpResponse error(int status, std::string_view field, std::string_view message);
  Metrics& metrics() { return metrics_; }
  // Reports this Kafka source's state in /healthz and /metrics (nullptr: none). Set before
  // the first request.
  void set_kafka(const KafkaSource* kafka) { kafka_ = kafka; }
  // The same for the cluster this replica belongs to.
  void set_cluster(const Cluster* cluster) { cluster_ = cluster; }

 private:
  void route(const HttpRequest& request, Endpoint* endpoint, const Respond& respond);
  Engine& engine_;
  HttpApiOptions options_;
  Metrics metrics_;
  const KafkaSource* kafka_ = nullptr;
  const Cluster* cluster_ = nullptr;
};

}  // namespace nudge::serve
