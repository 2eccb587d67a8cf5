#include "app/health.h"

#include <gtest/gtest.h>

namespace backside::app {
namespace {

TEST(Health, ReadyWhenNotShuttingDownAndEveryStoreTakesCommits) {
  HealthReport report = readiness(false, {{"default", false}, {"shop", false}});
  EXPECT_TRUE(report.passed());
  EXPECT_EQ(render_health(report, "readyz", false), "ok");
  EXPECT_EQ(render_health(report, "readyz", true),
            "[+]shutdown ok\n"
            "[+]store default ok\n"
            "[+]store shop ok\n"
            "readyz check passed\n");
}

TEST(Health, NotReadyWhileShuttingDownAndAFailureListsEveryCheck) {
  HealthReport report = readiness(true, {{"default", false}});
  EXPECT_FALSE(report.passed());
  const std::string expected =
      "[-]shutdown failed: the server is shutting down\n"
      "[+]store default ok\n"
      "readyz check failed\n";
  EXPECT_EQ(render_health(report, "readyz", false), expected);  // listed without ?verbose too
  EXPECT_EQ(render_health(report, "readyz", true), expected);
}

TEST(Health, AFailingStoreIsNotReadyAndIsNamed) {
  HealthReport report = readiness(false, {{"default", false}, {"shop", true}});
  EXPECT_FALSE(report.passed());
  EXPECT_EQ(render_health(report, "readyz", true),
            "[+]shutdown ok\n"
            "[+]store default ok\n"
            "[-]store shop failed: writes are refused: the store failed (see the server log)\n"
            "readyz check failed\n");
}

TEST(Health, LiveIsOnePing) {
  EXPECT_EQ(render_health(liveness(), "livez", false), "ok");
  EXPECT_EQ(render_health(liveness(), "livez", true), "[+]ping ok\nlivez check passed\n");
}

}  // namespace
}  // namespace backside::app
