#include "metrics.hpp"

#include <gtest/gtest.h>

#include "circle/v1/circle.pb.h"

namespace {

using circle::server::Gauges;
using circle::server::Metrics;

TEST(Metrics, HistogramsAreCumulativeAndErrorsNamedByCode) {
  Metrics metrics;
  metrics.store_commit.observe(std::chrono::microseconds(300));  // <= 0.5 ms
  metrics.store_commit.observe(std::chrono::milliseconds(3));    // <= 5 ms
  metrics.store_commit.observe(std::chrono::seconds(10));        // +Inf only
  metrics.count_error(circle::v1::ERROR_CODE_RATE_LIMITED);
  metrics.count_error(999);  // out of range: ignored, not a crash
  const auto text = circle::server::render_prometheus(metrics, Gauges{.rooms = 4});
  EXPECT_NE(text.find("circle_store_commit_seconds_bucket{le=\"0.0005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("circle_store_commit_seconds_bucket{le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("circle_store_commit_seconds_bucket{le=\"2.5\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("circle_store_commit_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("circle_store_commit_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("circle_errors_total{code=\"ERROR_CODE_RATE_LIMITED\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE circle_rooms gauge\ncircle_rooms 4\n"), std::string::npos);
}

}  // namespace
