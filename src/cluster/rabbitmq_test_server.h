#pragma once
// For unit tests only: a private RabbitMQ started by scripts/rabbitmq.sh (loopback, a temporary directory, a free
// port) and stopped when this goes. shared() is one per test process, started on first use and stopped at exit;
// BACKSIDE_TEST_RABBITMQ_URL points it at a server that is already running instead. A test that stops and starts
// its server makes one of its own.
#include "util/test_service.h"

namespace backside::cluster {

class RabbitMqTestServer : public TestService {
 public:
  explicit RabbitMqTestServer(bool allow_override = false)
      : TestService("rabbitmq", allow_override ? "BACKSIDE_TEST_RABBITMQ_URL" : nullptr) {}

  static const Start& shared() {
    static RabbitMqTestServer server(/*allow_override=*/true);
    return server.started();
  }
};

// In a test body: the URL of the shared test server; skips the test when rabbitmq-server is not installed and fails
// it when the server cannot start.
#define BACKSIDE_REQUIRE_RABBITMQ(url_variable)                                                              \
  const auto& rabbitmq_start_ = ::backside::cluster::RabbitMqTestServer::shared();                           \
  if (rabbitmq_start_.missing) GTEST_SKIP() << "rabbitmq-server is not installed: " << rabbitmq_start_.problem; \
  ASSERT_TRUE(rabbitmq_start_.url) << rabbitmq_start_.problem;                                               \
  const std::string url_variable = *rabbitmq_start_.url

}  // namespace backside::cluster
