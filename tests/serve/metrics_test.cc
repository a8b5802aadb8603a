#include "nudge/serve/metrics.h"

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

}  // namespace
}  // namespace nudge::serve
