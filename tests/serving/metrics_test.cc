#include "serving/metrics.h"

#include <gtest/gtest.h>

namespace senti::serving {
namespace {

TEST(Metrics, RendersCountersAndCumulativeHistograms) {
  Metrics m;
  m.count_request("/predict", 200, "success", 0.002);
  m.count_request("/predict", 200, "success", 0.004);
  m.count_request("/predict", 429, "overloaded", 0.0001);
  m.observe_batch(3, 40);
  m.observe_queue(0.0003);
  m.queue_depth = [] { return std::size_t{7}; };
  const std::string text = m.render();
  EXPECT_NE(text.find("senti_requests_total{endpoint=\"/predict\",code=\"200\",outcome=\"success\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("senti_requests_total{endpoint=\"/predict\",code=\"429\",outcome=\"overloaded\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("senti_batch_size_bucket{le=\"2\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("senti_batch_size_bucket{le=\"4\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("senti_batch_size_bucket{le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("senti_batch_tokens_sum 40\n"), std::string::npos);
  EXPECT_NE(text.find("senti_queue_duration_seconds_bucket{le=\"0.0005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("senti_request_duration_seconds_count{endpoint=\"/predict\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("senti_queue_depth 7\n"), std::string::npos);
  const MetricsTotals t = m.totals();
  EXPECT_EQ(t.requests, 3u);
  EXPECT_EQ(t.errors, 1u);
  EXPECT_EQ(t.batches, 1u);
}

}  // namespace
}  // namespace senti::serving
