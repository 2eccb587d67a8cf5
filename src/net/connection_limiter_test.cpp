#include "net/connection_limiter.h"

#include <gtest/gtest.h>

#include <vector>

namespace backside::net {
namespace {

namespace ip = boost::asio::ip;
using Verdict = ConnectionLimiter::Verdict;

ip::address a(const char* text) { return ip::make_address(text); }

TEST(ConnectionLimiter, CapsEachAddressAndGivesSlotsBackWhenReleased) {
  ConnectionLimiter limiter({.max_connections = 100, .max_connections_per_address = 2});
  auto first = limiter.admit(a("10.0.0.1"));
  auto second = limiter.admit(a("10.0.0.1"));
  ASSERT_EQ(first.verdict, Verdict::admitted);
  ASSERT_EQ(second.verdict, Verdict::admitted);
  EXPECT_EQ(limiter.admit(a("10.0.0.1")).verdict, Verdict::address_full);
  EXPECT_EQ(limiter.admit(a("10.0.0.2")).verdict, Verdict::admitted);  // another address is not affected
  EXPECT_EQ(limiter.open_from(a("10.0.0.1")), 2u);
  first.slot.release();
  EXPECT_EQ(limiter.open_from(a("10.0.0.1")), 1u);
  EXPECT_EQ(limiter.admit(a("10.0.0.1")).verdict, Verdict::admitted);  // and released again at once (temporary)
  EXPECT_EQ(limiter.open(), 1u);
}

TEST(ConnectionLimiter, CapsTheServer) {
  ConnectionLimiter limiter({.max_connections = 3, .max_connections_per_address = 0});
  std::vector<ConnectionSlot> held;
  for (int i = 0; i < 3; ++i) {
    auto admission = limiter.admit(a("10.0.0.1"));
    ASSERT_EQ(admission.verdict, Verdict::admitted);
    held.push_back(std::move(admission.slot));
  }
  auto refused = limiter.admit(a("192.168.1.1"));
  EXPECT_EQ(refused.verdict, Verdict::server_full);
  EXPECT_FALSE(refused.slot.held());
  held.pop_back();  // destroying a slot gives it back
  EXPECT_EQ(limiter.open(), 2u);
  EXPECT_EQ(limiter.admit(a("192.168.1.1")).verdict, Verdict::admitted);
}

TEST(ConnectionLimiter, CountsAnIpv6Slash64AsOneAddressAndMappedIpv4AsIpv4) {
  ConnectionLimiter limiter({.max_connections = 0, .max_connections_per_address = 1});
  auto held = limiter.admit(a("2001:db8:1:2::1"));
  ASSERT_EQ(held.verdict, Verdict::admitted);
  EXPECT_EQ(limiter.admit(a("2001:db8:1:2:ffff::9")).verdict, Verdict::address_full);  // same /64
  EXPECT_EQ(limiter.admit(a("2001:db8:1:3::1")).verdict, Verdict::admitted);          // the next /64
  auto v4 = limiter.admit(a("10.1.1.1"));
  ASSERT_EQ(v4.verdict, Verdict::admitted);
  EXPECT_EQ(limiter.admit(a("::ffff:10.1.1.1")).verdict, Verdict::address_full);
  EXPECT_EQ(address_group(a("2001:db8:1:2::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(address_group(a("::ffff:10.1.1.1")), "10.1.1.1");
}

TEST(ConnectionLimiter, ExemptAddressesCountOnlyTowardTheServerCap) {
  ConnectionLimiter limiter({.max_connections = 3, .max_connections_per_address = 1, .exempt = {a("127.0.0.1")}});
  std::vector<ConnectionSlot> held;
  for (int i = 0; i < 3; ++i) {
    auto admission = limiter.admit(a("127.0.0.1"));
    ASSERT_EQ(admission.verdict, Verdict::admitted) << i;
    held.push_back(std::move(admission.slot));
  }
  EXPECT_EQ(limiter.admit(a("127.0.0.1")).verdict, Verdict::server_full);
  held.clear();
  EXPECT_EQ(limiter.open(), 0u);
  auto other = limiter.admit(a("127.0.0.2"));  // only 127.0.0.1 is exempt
  ASSERT_EQ(other.verdict, Verdict::admitted);
  EXPECT_EQ(limiter.admit(a("127.0.0.2")).verdict, Verdict::address_full);
}

TEST(ConnectionLimiter, AMovedSlotIsReleasedOnce) {
  ConnectionLimiter limiter({.max_connections = 0, .max_connections_per_address = 1});
  auto admission = limiter.admit(a("10.0.0.1"));
  ConnectionSlot moved = std::move(admission.slot);
  EXPECT_FALSE(admission.slot.held());
  admission.slot.release();  // the moved-from slot gives nothing back
  EXPECT_EQ(limiter.open(), 1u);
  EXPECT_EQ(limiter.admit(a("10.0.0.1")).verdict, Verdict::address_full);
  moved.release();
  moved.release();
  EXPECT_EQ(limiter.open(), 0u);
}

TEST(ConnectionLimiter, ASlotMayOutliveItsLimiter) {
  ConnectionSlot slot;
  {
    ConnectionLimiter limiter({.max_connections = 1});
    slot = std::move(limiter.admit(a("10.0.0.1")).slot);
  }
  EXPECT_TRUE(slot.held());
  slot.release();  // touches only the shared state, which is still alive
  EXPECT_FALSE(slot.held());
}

TEST(PerAddressCount, CapsPerAddressWithExemptions) {
  PerAddressCount count(2, {a("::1")});
  EXPECT_TRUE(count.try_add("10.0.0.1"));
  EXPECT_TRUE(count.try_add("10.0.0.1"));
  EXPECT_FALSE(count.try_add("10.0.0.1"));
  EXPECT_FALSE(count.try_add("::ffff:10.0.0.1"));
  EXPECT_TRUE(count.try_add("10.0.0.2"));
  count.remove("10.0.0.1");
  EXPECT_EQ(count.count("10.0.0.1"), 1u);
  EXPECT_TRUE(count.try_add("10.0.0.1"));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(count.try_add("::1"));
  EXPECT_EQ(count.count("::1"), 0u);
}

}  // namespace
}  // namespace backside::net
