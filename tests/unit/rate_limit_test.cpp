#include "core/rate_limit.hpp"

#include <gtest/gtest.h>

namespace {

using circle::core::RequestRateLimit;
using Verdict = RequestRateLimit::Verdict;

TEST(RequestRateLimit, ABurstIsAllowedAndTheNextRequestRefused) {
  RequestRateLimit limit(10, 5, 0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limit.take(1000), Verdict::kAllowed) << i;
  EXPECT_EQ(limit.take(1000), Verdict::kRefused);
}

TEST(RequestRateLimit, TokensComeBackAtTheRate) {
  RequestRateLimit limit(10, 1, 0);  // one every 100 ms
  EXPECT_EQ(limit.take(0), Verdict::kAllowed);
  EXPECT_EQ(limit.take(99), Verdict::kRefused);   // just under
  EXPECT_EQ(limit.take(199), Verdict::kAllowed);  // a whole token again (at most the burst)
  EXPECT_EQ(limit.take(250), Verdict::kRefused);
  // The bucket never holds more than the burst, however long the pause.
  EXPECT_EQ(limit.take(100'000), Verdict::kAllowed);
  EXPECT_EQ(limit.take(100'000), Verdict::kRefused);
}

TEST(RequestRateLimit, APersistentFlooderIsClosedAndAPauseResetsTheCount) {
  RequestRateLimit limit(1, 1, 3);
  EXPECT_EQ(limit.take(0), Verdict::kAllowed);
  EXPECT_EQ(limit.take(0), Verdict::kRefused);
  EXPECT_EQ(limit.take(0), Verdict::kRefused);
  EXPECT_EQ(limit.take(1000), Verdict::kAllowed);  // waited: the count starts again
  EXPECT_EQ(limit.take(1000), Verdict::kRefused);
  EXPECT_EQ(limit.take(1000), Verdict::kRefused);
  EXPECT_EQ(limit.take(1000), Verdict::kClose);
}

TEST(RequestRateLimit, ZeroTurnsItOffAndTimeGoingBackGivesNothing) {
  RequestRateLimit off(0, 1, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(off.take(0), Verdict::kAllowed);
  RequestRateLimit limit(10, 1, 0);
  EXPECT_EQ(limit.take(1000), Verdict::kAllowed);
  EXPECT_EQ(limit.take(500), Verdict::kRefused);  // a clock step back refills nothing
  // ... and does not freeze the bucket until the clock is back where it was:
  // 10 a second from the new time on.
  EXPECT_EQ(limit.take(600), Verdict::kAllowed);
}

}  // namespace
