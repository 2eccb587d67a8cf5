#pragma once
// For unit tests only: one private PostgreSQL per test process, started on first use by scripts/postgres.sh
// (loopback, a temporary data directory) and stopped when the process exits. BACKSIDE_TEST_POSTGRES_URL points the
// tests at a server that is already running instead.
#include "util/test_service.h"

namespace backside::store {

class PostgresqlTestServer {
 public:
  using Start = TestService::Start;
  static const Start& shared() {
    static TestService server("postgres", "BACKSIDE_TEST_POSTGRES_URL");
    return server.started();
  }
};

// In a test body: the URL of the shared test server; skips the test when PostgreSQL is not installed and fails it
// when the server cannot start.
#define BACKSIDE_REQUIRE_POSTGRESQL(url_variable)                                                          \
  const auto& postgresql_start_ = ::backside::store::PostgresqlTestServer::shared();                        \
  if (postgresql_start_.missing) GTEST_SKIP() << "PostgreSQL is not installed: " << postgresql_start_.problem; \
  ASSERT_TRUE(postgresql_start_.url) << postgresql_start_.problem;                                         \
  const std::string url_variable = *postgresql_start_.url

}  // namespace backside::store
