#include "net/fd_limit.h"

#include <gtest/gtest.h>

namespace backside::net {
namespace {

TEST(FdLimit, LeavesAQuarterOrAtMost1024ForEverythingElse) {
  EXPECT_EQ(connections_fitting(20000), 20000u - 1024u);
  EXPECT_EQ(connections_fitting(1024), 768u);
  EXPECT_EQ(connections_fitting(64), 48u);
  EXPECT_EQ(connections_fitting(1), 1u);
  EXPECT_EQ(connections_fitting(0), 0u);  // unknown or unlimited: no cap
}

TEST(FdLimit, RaisingReportsTheLimitInForce) {
  const std::size_t limit = raise_fd_limit();
  const std::size_t again = raise_fd_limit();
  EXPECT_EQ(limit, again);  // already at the hard limit the second time
}

}  // namespace
}  // namespace backside::net
