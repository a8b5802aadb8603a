#include "serve/metrics.h"

#include "serve/cluster.h"
#include "serve/kafka_source.h"

#include <gtest/gtest.h>

namespace nudge::serve {
namespace {

TEST(Metrics, HistogramBucketsAreCumulative) {
  Metrics m;
  m.observe(Endpoint::kRecommend, 200, 0.0002);  // <= 0.00025
  m.observe(Endpoint::kRecommend, 200, 0.003);   // <= 0.005
  m.observe(Endpoint::kRecommend, 404, 10.0);    // only +Inf
  m.add_events(7);
  EngineStats st;
  st.model_version = 2;
  st.model_trained_at = 100;
  const std::string out = m.render(st, 160);
  EXPECT_NE(out.find("nudge_http_requests_total{endpoint=\"recommend\",code=\"2xx\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("nudge_http_requests_total{endpoint=\"recommend\",code=\"4xx\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("{endpoint=\"recommend\",le=\"0.0001\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find("{endpoint=\"recommend\",le=\"0.00025\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("{endpoint=\"recommend\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("{endpoint=\"recommend\",le=\"2.5\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("{endpoint=\"recommend\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("nudge_events_ingested_total 7\n"), std::string::npos);
  EXPECT_NE(out.find("nudge_model_age_seconds 60\n"), std::string::npos);
  EXPECT_EQ(out.find("endpoint=\"similar\""), std::string::npos);  // nothing observed: no series
}

TEST(Metrics, KafkaAndClusterSeriesOnlyWhenConfigured) {
  Metrics m;
  EngineStats st;
  EXPECT_EQ(m.render(st, 0).find("nudge_kafka"), std::string::npos);
  KafkaStats k;
  k.messages = 10;
  k.bad_messages = 3;
  k.misplaced = 4;
  k.connected = true;
  k.partitions = {0, 2};
  const std::string out = m.render(st, 0, &k);
  EXPECT_NE(out.find("nudge_kafka_messages_total 10\n"), std::string::npos) << out;
  EXPECT_NE(out.find("nudge_kafka_bad_messages_total 3\n"), std::string::npos);
  EXPECT_NE(out.find("nudge_kafka_misplaced_total 4\n"), std::string::npos);
  EXPECT_NE(out.find("nudge_kafka_connected 1\n"), std::string::npos);
  EXPECT_NE(out.find("nudge_kafka_partitions 2\n"), std::string::npos);
  EXPECT_EQ(out.find("nudge_cluster"), std::string::npos);
  ClusterStats c;
  c.leader = true;
  c.leader_changes = 3;
  c.forwarded = 5;
  c.forward_failures = 1;
  const std::string clustered = m.render(st, 0, nullptr, &c);
  EXPECT_NE(clustered.find("nudge_cluster_leader 1\n"), std::string::npos) << clustered;
  EXPECT_NE(clustered.find("nudge_cluster_leader_changes_total 3\n"), std::string::npos);
  EXPECT_NE(clustered.find("nudge_cluster_forwarded_total 5\n"), std::string::npos);
  EXPECT_NE(clustered.find("nudge_cluster_forward_failures_total 1\n"), std::string::npos);
}

}  // namespace
}  // namespace nudge::serve
