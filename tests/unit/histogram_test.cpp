#include <gtest/gtest.h>

#include "load/histogram.hpp"

namespace {

using circle::load::LatencyHistogram;

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
}

TEST(LatencyHistogram, PercentilesAreWithinThreePercent) {
  LatencyHistogram h;
  for (std::uint64_t us = 1; us <= 10'000; ++us) h.record(us * 1000);  // 1 us .. 10 ms
  EXPECT_EQ(h.count(), 10'000u);
  EXPECT_EQ(h.max(), 10'000'000u);
  EXPECT_EQ(h.min(), 1000u);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double truth = p / 100.0 * 10'000'000.0;
    const double got = static_cast<double>(h.percentile(p));
    EXPECT_GE(got, truth * 0.999) << p;
    EXPECT_LE(got, truth * 1.035) << p;
  }
  EXPECT_EQ(h.percentile(100), h.max());
}

TEST(LatencyHistogram, SmallValuesAreExactAndMergeAdds) {
  LatencyHistogram a, b;
  for (int i = 0; i < 10; ++i) a.record(7);
  for (int i = 0; i < 10; ++i) b.record(40'000'000'000ULL);  // 40 s
  a.merge(b);
  EXPECT_EQ(a.count(), 20u);
  EXPECT_EQ(a.percentile(50), 7u);
  EXPECT_EQ(a.percentile(100), 40'000'000'000ULL);
}

}  // namespace
