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
  auto refused = limits.admit_connection("10.0.0.1", why);  // just over
  EXPECT_EQ(why, Refusal::kAddressFull);
  EXPECT_TRUE(refused) << "held while the refusal is answered";
  EXPECT_EQ(limits.connections(), 2u) << "a refusal is not a connection";
  limits.admit_connection("10.0.0.2", why);  // another address is not affected
  EXPECT_EQ(why, Refusal::kNone);
  second.reset();
  auto again = limits.admit_connection("10.0.0.1", why);
  EXPECT_EQ(why, Refusal::kNone);
}

TEST(ConnectionLimits, TheServerCapCountsEveryAddress) {
  ConnectionLimits limits({.max_connections = 2, .max_per_address = 5, .max_per_account = 1});
  Refusal why;
  auto a = limits.admit_connection("10.0.0.1", why);
  auto b = limits.admit_connection("10.0.0.2", why);
  EXPECT_EQ(limits.connections(), 2u);
  limits.admit_connection("10.0.0.3", why);
  EXPECT_EQ(why, Refusal::kServerFull);
  a.reset();
  EXPECT_EQ(limits.connections(), 1u);
  auto c = limits.admit_connection("10.0.0.3", why);
  EXPECT_EQ(why, Refusal::kNone);
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

TEST(ConnectionLimits, RefusalsAreAnsweredFromABudgetOfTheirOwnAndPastItClosedAtOnce) {
  ConnectionLimits limits({.max_connections = 1,
                           .max_per_address = 1,
                           .max_per_account = 1,
                           .max_refusals_in_progress = 2});
  Refusal why;
  auto inside = limits.admit_connection("10.0.0.1", why);
  auto first = limits.admit_connection("10.0.0.2", why);
  auto second = limits.admit_connection("10.0.0.3", why);
  EXPECT_EQ(why, Refusal::kServerFull);
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(limits.admit_connection("10.0.0.4", why));  // one refusal too many
  EXPECT_EQ(why, Refusal::kCloseNow);
  first.reset();  // answered: its place in the budget comes back
  EXPECT_TRUE(limits.admit_connection("10.0.0.4", why));
  EXPECT_EQ(why, Refusal::kServerFull);
}

TEST(ConnectionLimits, IPv6AddressesAreCountedByTheirSlash64) {
  using boost::asio::ip::make_address;
  using circle::server::address_key;
  EXPECT_EQ(address_key(make_address("192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(address_key(make_address("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(address_key(make_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key(make_address("2001:db8:1:2::1")), "2001:db8:1:2::/64");
  EXPECT_NE(address_key(make_address("2001:db8:1:3::1")), "2001:db8:1:2::/64");
}

}  // namespace
