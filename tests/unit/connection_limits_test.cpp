#include "connection_limits.hpp"

#include <gtest/gtest.h>

namespace {

using circle::server::ConnectionCaps;
using circle::server::ConnectionLimits;
using Refusal = ConnectionLimits::Refusal;

TEST(ConnectionLimits, AnAddressGetsItsCapAndThePlaceComesBackWithTheSlot) {
  ConnectionLimits limits({.max_connections = 10, .max_per_address = 2, .max_per_account = 1});
  Refusal why;
  auto first = limits.admit_connection("10.0.0.1", why);
  auto second = limits.admit_connection("10.0.0.1", why);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(why, Refusal::kNone);
  EXPECT_FALSE(limits.admit_connection("10.0.0.1", why));  // just over
  EXPECT_EQ(why, Refusal::kAddressFull);
  EXPECT_TRUE(limits.admit_connection("10.0.0.2", why));  // another address is not affected
  second.reset();
  EXPECT_TRUE(limits.admit_connection("10.0.0.1", why));
}

TEST(ConnectionLimits, TheServerCapCountsEveryAddress) {
  ConnectionLimits limits({.max_connections = 2, .max_per_address = 5, .max_per_account = 1});
  Refusal why;
  auto a = limits.admit_connection("10.0.0.1", why);
  auto b = limits.admit_connection("10.0.0.2", why);
  EXPECT_EQ(limits.connections(), 2u);
  EXPECT_FALSE(limits.admit_connection("10.0.0.3", why));
  EXPECT_EQ(why, Refusal::kServerFull);
  a.reset();
  EXPECT_EQ(limits.connections(), 1u);
  EXPECT_TRUE(limits.admit_connection("10.0.0.3", why));
}

TEST(ConnectionLimits, AnAccountGetsItsCapAndAccountsDoNotCountAsConnections) {
  ConnectionLimits limits({.max_connections = 1, .max_per_address = 1, .max_per_account = 2});
  auto one = limits.admit_account("sam");
  auto two = limits.admit_account("sam");
  ASSERT_TRUE(one && two);
  EXPECT_FALSE(limits.admit_account("sam"));
  EXPECT_TRUE(limits.admit_account("alex"));
  EXPECT_EQ(limits.connections(), 0u);
  one.reset();
  EXPECT_TRUE(limits.admit_account("sam"));
}

}  // namespace
