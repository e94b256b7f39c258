#include <gtest/gtest.h>

#include "load/figures.hpp"

namespace {

using circle::load::Figures;
using circle::load::GeneratorLoad;

TEST(LoadFigures, MergeAddsCountsErrorsAndLatencies) {
  Figures a, b;
  a.joined = 3;
  a.delivered = 10;
  a.expected = 10;
  a.errors_by_code["RATE_LIMITED"] = 1;
  a.latency.record(1000);
  a.first_connect_ns = 500;
  a.last_join_ns = 900;
  b.joined = 2;
  b.delivered = 5;
  b.expected = 6;
  b.errors_by_code["RATE_LIMITED"] = 2;
  b.errors_by_code["ROOM_FULL"] = 1;
  b.latency.record(5000);
  b.first_connect_ns = 300;
  b.last_join_ns = 1300;
  Figures all;
  all.merge(a);
  all.merge(b);
  EXPECT_EQ(all.joined, 5u);
  EXPECT_EQ(all.delivered, 15u);
  EXPECT_EQ(all.expected, 16u);
  EXPECT_EQ(all.errors_by_code["RATE_LIMITED"], 3u);
  EXPECT_EQ(all.errors_by_code["ROOM_FULL"], 1u);
  EXPECT_EQ(all.latency.count(), 2u);
  EXPECT_EQ(all.latency.max(), 5000u);
  // The ramp runs from the earliest connect of any shard to the last join.
  EXPECT_EQ(all.first_connect_ns, 300u);
  EXPECT_EQ(all.last_join_ns, 1300u);
  EXPECT_DOUBLE_EQ(all.join_rate(), 5.0 * 1e9 / 1000.0);
}

TEST(LoadFigures, AShardThatConnectedNobodyDoesNotMoveTheRampStart) {
  Figures all, empty, one;
  one.first_connect_ns = 700;
  all.merge(empty);
  all.merge(one);
  EXPECT_EQ(all.first_connect_ns, 700u);
}

TEST(GeneratorLoad, SaturatedWhenTheProcessUsesWhatItWasGiven) {
  // Two threads pinned to one core: 0.95 s of CPU in 1 s is all it had.
  GeneratorLoad pinned{.cpu_seconds = 0.95,
                       .busiest_thread_seconds = 0.5,
                       .wall_seconds = 1,
                       .cores = 1,
                       .threads = 2};
  EXPECT_TRUE(pinned.saturated());
  // The same on two cores is under half of what it could use; its busiest
  // loop used half of one core.
  GeneratorLoad spread = pinned;
  spread.cores = 2;
  EXPECT_FALSE(spread.saturated());
  EXPECT_NEAR(spread.utilisation(), 0.5, 1e-9);
}

TEST(GeneratorLoad, OneBusyLoopIsEnoughToMarkTheRow) {
  // Four loops on four cores, one of them at its limit: its rooms' figures
  // are the generator's, whatever the others did.
  GeneratorLoad load{.cpu_seconds = 1.6,
                     .busiest_thread_seconds = 0.97,
                     .wall_seconds = 1,
                     .cores = 4,
                     .threads = 4};
  EXPECT_TRUE(load.saturated());
  load.busiest_thread_seconds = 0.5;
  EXPECT_FALSE(load.saturated());
}

TEST(GeneratorLoad, NoWindowIsNotSaturated) {
  EXPECT_EQ(GeneratorLoad{}.utilisation(), 0.0);
  EXPECT_FALSE(GeneratorLoad{}.saturated());
}

}  // namespace
