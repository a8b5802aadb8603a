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
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nudge/serve/engine.h"
#include "nudge/serve/options.h"
#include "serve/metrics.h"
#include "serve/stats_history.h"

namespace nudge::serve {

class Cluster;  // cluster.h
struct ClusterStats;
class Experiment;   // experiment.h
class KafkaSource;  // kafka_source.h
class OwnerRouter;  // owner_router.h

// The header a replica adds to a request it sends on to the owner of its user (OwnerRouter).
inline constexpr const char* kForwardedHeader = "X-Nudge-Forwarded";

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // path and query string
  std::string authorization;  // the Authorization header, if any
  std::string body;
  bool forwarded = false;  // sent on by another replica (X-Nudge-Forwarded): answer here, never send on
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
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
  // Runs `experiment` over the engine's arms: GET /v1/recommend picks the arm (A/B) or
  // interleaves two (answers carry rec_id and arm), events carrying a rec_id are attributed,
  // GET /v1/experiments reports and /metrics counts per arm. Set before the first request.
  void set_experiment(Experiment* experiment) { experiment_ = experiment; }

  // Requests about one user (GET /v1/recommend, GET and PUT /v1/users/{id}) go first to `router`,
  // which sends them on to the replica owning the user (nullptr: every request is answered
  // here). Its counters join the cluster's in /healthz and /metrics. Set before the first request.
  void set_router(OwnerRouter* router) { router_ = router; }
  // POST /v1/events hands its validated events to `sink` (KafkaProducer::produce) instead of
  // the local store, and answers when the sink reports them durable.
  using EventSink = std::function<void(std::vector<Event>, std::function<void(const Status&)>)>;
  void set_event_sink(EventSink sink) { event_sink_ = std::move(sink); }
  // Adds one sample of the counters to the history GET /v1/history answers (Server calls it
  // every history_interval_s).
  void sample_history(int64_t now_unix);

 private:
  struct Call;   // one request being answered (http_api.cc)
  struct Route;  // one endpoint: method, path, shared checks, handler
  static std::span<const Route> routes();
  void route(const HttpRequest& request, Endpoint* endpoint, const Respond& respond);
  // The handlers, one per route (docs/api.md).
  void get_recommend(const Call& call);
  void get_similar(const Call& call);
  void post_events(const Call& call);
  void put_item(const Call& call);
  void delete_item(const Call& call);
  void put_user(const Call& call);
  void get_user(const Call& call);
  void post_retrain(const Call& call);
  void get_model(const Call& call);
  void get_health(const Call& call);
  void get_metrics(const Call& call);
  void get_experiments(const Call& call);
  void get_items(const Call& call);
  void get_item(const Call& call);
  void get_history(const Call& call);
  void get_evaluation(const Call& call);
  void get_ui(const Call& call);
  // Requests about one user go to the replica owning them (set_router): true when answered so.
  bool forwarded_to_owner(const Call& call, const std::string& user);
  ClusterStats cluster_stats() const;  // with the router's counters
  // GET /v1/recommend within the experiment: the user's arm, or two arms interleaved.
  Result<nlohmann::json> recommend_in_experiment(const RecommendRequest& request);
  nlohmann::json experiments_json() const;
  Engine& engine_;
  HttpApiOptions options_;
  Metrics metrics_;
  StatsHistory history_;
  const KafkaSource* kafka_ = nullptr;
  const Cluster* cluster_ = nullptr;
  OwnerRouter* router_ = nullptr;
  Experiment* experiment_ = nullptr;
  EventSink event_sink_;
};

}  // namespace nudge::serve
