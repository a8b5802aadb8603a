#include "serve/metrics.h"

#include "serve/cluster.h"
#include "serve/kafka_source.h"

#include <fmt/format.h>

namespace nudge::serve {
namespace {

template <typename... Args>
void line(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

// The engine's gauges and counters: events, users, items, the serving model, retrains.
void render_engine(std::string& out, const EngineStats& stats, int64_t now_unix) {
  line(out, "# HELP nudge_events_stored Events in the durable store.\n");
  line(out, "# TYPE nudge_events_stored gauge\nnudge_events_stored {}\n", stats.events);
  line(out, "# HELP nudge_store_commits_total Group commits (synced WriteBatches) since the process started.\n");
  line(out, "# TYPE nudge_store_commits_total counter\nnudge_store_commits_total {}\n", stats.commits);
  line(out, "# HELP nudge_users Users known.\n# TYPE nudge_users gauge\nnudge_users {}\n", stats.users);
  line(out, "# HELP nudge_items Items known.\n# TYPE nudge_items gauge\nnudge_items {}\n", stats.items);
  line(out, "# HELP nudge_model_version Version of the model serving (0: none yet).\n");
  line(out, "# TYPE nudge_model_version gauge\nnudge_model_version {}\n", stats.model_version);
  line(out, "# HELP nudge_model_age_seconds Seconds since the serving model was trained.\n");
  line(out, "# TYPE nudge_model_age_seconds gauge\nnudge_model_age_seconds {}\n",
       stats.model_version ? now_unix - stats.model_trained_at : 0);
  line(out, "# HELP nudge_retrain_duration_seconds Training time of the serving model.\n");
  line(out, "# TYPE nudge_retrain_duration_seconds gauge\nnudge_retrain_duration_seconds {}\n",
       stats.last_train_seconds);
  line(out, "# HELP nudge_retrains_total Background and requested retrains completed.\n");
  line(out, "# TYPE nudge_retrains_total counter\nnudge_retrains_total {}\n", stats.retrains);
  line(out, "# HELP nudge_retrain_failures_total Retrains that failed.\n");
  line(out, "# TYPE nudge_retrain_failures_total counter\nnudge_retrain_failures_total {}\n", stats.retrain_failures);
  if (!stats.model_kind.empty()) {
    line(out, "# HELP nudge_model_info The kind of model serving (registry name).\n");
    line(out, "# TYPE nudge_model_info gauge\nnudge_model_info{{kind=\"{}\"}} 1\n", stats.model_kind);
  }
  if (!stats.fusion_weights.empty()) {
    line(out, "# HELP nudge_fusion_weight Tuned weight of each fusion component in the serving model.\n");
    line(out, "# TYPE nudge_fusion_weight gauge\n");
    for (const auto& [component, weight] : stats.fusion_weights)
      line(out, "nudge_fusion_weight{{component=\"{}\"}} {}\n", component, weight);
  }
  if (!stats.arms.empty()) {
    line(out, "# HELP nudge_arm_model_version Version of the model each experiment arm serves (0: none yet).\n");
    line(out, "# TYPE nudge_arm_model_version gauge\n");
    for (const ArmStats& arm : stats.arms)
      line(out, "nudge_arm_model_version{{arm=\"{}\"}} {}\n", arm.name, arm.model_version);
  }
}

// The store's health: records skipped or lost at startup, writes refused since.
void render_store(std::string& out, const EngineStats& stats) {
  line(out, "# HELP nudge_store_records_skipped Stored records skipped at startup (invalid or undecodable).\n");
  line(out, "# TYPE nudge_store_records_skipped gauge\nnudge_store_records_skipped {}\n", stats.records_skipped);
  line(out,
       "# HELP nudge_store_damaged_events Events left out of a damaged write-ahead log at startup "
       "(--skip-damaged-log).\n");
  line(out, "# TYPE nudge_store_damaged_events gauge\nnudge_store_damaged_events {}\n", stats.damaged_events);
  line(out,
       "# HELP nudge_store_writable 1 while the store takes writes, 0 after a failed write (a full disk) until it can "
       "write again.\n");
  line(out, "# TYPE nudge_store_writable gauge\nnudge_store_writable {}\n", stats.store.writable ? 1 : 0);
  line(out, "# HELP nudge_store_write_failures_total Writes the store refused or failed since the process started.\n");
  line(out, "# TYPE nudge_store_write_failures_total counter\nnudge_store_write_failures_total {}\n",
       stats.store.write_failures);
  line(out, "# HELP nudge_store_recoveries_total Times the store resumed writes after failing.\n");
  line(out, "# TYPE nudge_store_recoveries_total counter\nnudge_store_recoveries_total {}\n", stats.store.recoveries);
}

void render_kafka(std::string& out, const KafkaStats& kafka) {
  const std::pair<const char*, uint64_t> counters[] = {{"messages", kafka.messages},
                                                       {"events", kafka.events},
                                                       {"bad_messages", kafka.bad_messages},
                                                       {"duplicates", kafka.duplicates},
                                                       {"misplaced", kafka.misplaced},
                                                       {"store_failures", kafka.store_failures},
                                                       {"commit_failures", kafka.commit_failures}};
  for (const auto& [name, value] : counters) {
    line(out, "# HELP nudge_kafka_{}_total Kafka source: {} since the process started.\n", name, name);
    line(out, "# TYPE nudge_kafka_{}_total counter\nnudge_kafka_{}_total {}\n", name, name, value);
  }
  line(out, "# HELP nudge_kafka_connected 1 while the brokers answer.\n");
  line(out, "# TYPE nudge_kafka_connected gauge\nnudge_kafka_connected {}\n", kafka.connected ? 1 : 0);
  line(out, "# HELP nudge_kafka_partitions Partitions assigned to this replica.\n");
  line(out, "# TYPE nudge_kafka_partitions gauge\nnudge_kafka_partitions {}\n", kafka.partitions.size());
}

void render_cluster(std::string& out, const ClusterStats& cluster) {
  line(out, "# HELP nudge_cluster_leader 1 while this replica holds the leader lock (trains and publishes).\n");
  line(out, "# TYPE nudge_cluster_leader gauge\nnudge_cluster_leader {}\n", cluster.leader ? 1 : 0);
  line(out, "# HELP nudge_cluster_redis_connected 1 while Redis answers.\n");
  line(out, "# TYPE nudge_cluster_redis_connected gauge\nnudge_cluster_redis_connected {}\n",
       cluster.redis_connected ? 1 : 0);
  line(out, "# HELP nudge_cluster_leader_changes_total Times this replica became the leader.\n");
  line(out, "# TYPE nudge_cluster_leader_changes_total counter\nnudge_cluster_leader_changes_total {}\n",
       cluster.leader_changes);
  line(out, "# HELP nudge_cluster_forwarded_total Requests sent on to the replica owning their user.\n");
  line(out, "# TYPE nudge_cluster_forwarded_total counter\nnudge_cluster_forwarded_total {}\n", cluster.forwarded);
  line(out, "# HELP nudge_cluster_forward_failures_total Owners that did not answer; the request was answered here.\n");
  line(out, "# TYPE nudge_cluster_forward_failures_total counter\nnudge_cluster_forward_failures_total {}\n",
       cluster.forward_failures);
}

}  // namespace

std::string_view endpoint_name(Endpoint e) {
  switch (e) {
    case Endpoint::kEvents: return "events";
    case Endpoint::kRecommend: return "recommend";
    case Endpoint::kSimilar: return "similar";
    case Endpoint::kItems: return "items";
    case Endpoint::kUsers: return "users";
    case Endpoint::kRetrain: return "retrain";
    case Endpoint::kModel: return "model";
    case Endpoint::kHealth: return "healthz";
    case Endpoint::kMetrics: return "metrics";
    case Endpoint::kExperiments: return "experiments";
    case Endpoint::kHistory: return "history";
    case Endpoint::kEvaluation: return "evaluation";
    case Endpoint::kUi: return "ui";
    case Endpoint::kOther:
    case Endpoint::kCount: break;
  }
  return "other";
}

uint64_t Metrics::requests() const {
  uint64_t n = 0;
  for (const PerEndpoint& p : endpoints_) n += p.count.load(std::memory_order_relaxed);
  return n;
}

Metrics::Buckets Metrics::latency(Endpoint endpoint) const {
  Buckets out{};
  const PerEndpoint& p = endpoints_[static_cast<size_t>(endpoint)];
  for (size_t b = 0; b < out.size(); ++b) out[b] = p.buckets[b].load(std::memory_order_relaxed);
  return out;
}

void Metrics::observe(Endpoint endpoint, int http_status, double seconds) {
  PerEndpoint& p = endpoints_[static_cast<size_t>(endpoint)];
  const size_t cls = http_status >= 100 && http_status < 600 ? static_cast<size_t>(http_status / 100 - 1) : 4;
  p.by_class[cls].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  p.buckets[b].fetch_add(1, std::memory_order_relaxed);  // cumulated when rendered
  p.count.fetch_add(1, std::memory_order_relaxed);
  p.sum_micros.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

// Counts and latency histograms per endpoint, and events acknowledged.
void Metrics::render_requests(std::string& out) const {
  line(out, "# HELP nudge_http_requests_total HTTP requests by endpoint and status class.\n");
  line(out, "# TYPE nudge_http_requests_total counter\n");
  for (size_t e = 0; e < kEndpoints; ++e)
    for (size_t c = 0; c < kClasses; ++c)
      if (uint64_t n = endpoints_[e].by_class[c].load())
        line(out, "nudge_http_requests_total{{endpoint=\"{}\",code=\"{}xx\"}} {}\n",
             endpoint_name(static_cast<Endpoint>(e)), c + 1, n);
  line(out, "# HELP nudge_http_request_duration_seconds Time from a parsed request to its response.\n");
  line(out, "# TYPE nudge_http_request_duration_seconds histogram\n");
  for (size_t e = 0; e < kEndpoints; ++e) {
    const PerEndpoint& p = endpoints_[e];
    const uint64_t count = p.count.load();
    if (count == 0) continue;
    const auto name = endpoint_name(static_cast<Endpoint>(e));
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += p.buckets[b].load();
      line(out, "nudge_http_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"{}\"}} {}\n", name, kBuckets[b],
           cumulative);
    }
    cumulative += p.buckets[kBuckets.size()].load();
    line(out, "nudge_http_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"+Inf\"}} {}\n", name, cumulative);
    line(out, "nudge_http_request_duration_seconds_sum{{endpoint=\"{}\"}} {}\n", name,
         static_cast<double>(p.sum_micros.load()) / 1e6);
    line(out, "nudge_http_request_duration_seconds_count{{endpoint=\"{}\"}} {}\n", name, cumulative);
  }
  line(out, "# HELP nudge_events_ingested_total Events acknowledged since the process started.\n");
  line(out, "# TYPE nudge_events_ingested_total counter\nnudge_events_ingested_total {}\n", events_ingested_.load());
}

std::string Metrics::render(const EngineStats& stats, int64_t now_unix, const KafkaStats* kafka,
                            const ClusterStats* cluster) const {
  std::string out;
  render_requests(out);
  render_engine(out, stats, now_unix);
  render_store(out, stats);
  if (kafka) render_kafka(out, *kafka);
  if (cluster) render_cluster(out, *cluster);
  return out;
}

}  // namespace nudge::serve
