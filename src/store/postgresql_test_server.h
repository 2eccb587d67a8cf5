#pragma once
// For unit tests only: one private PostgreSQL per test process, started on first use by scripts/postgres.sh
// (loopback, a temporary data directory) and stopped when the process exits. BACKSIDE_TEST_POSTGRES_URL points the
// tests at a server that is already running instead.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "util/temp_dir.h"

namespace backside::store {

class PostgresqlTestServer {
 public:
  // The store URL, or why there is none: "skip: ..." when PostgreSQL is not installed, else the failure.
  struct Start {
    std::optional<std::string> url;
    std::string problem;
    bool missing = false;
  };

  static const Start& shared() {
    static PostgresqlTestServer server;
    return server.start_;
  }

 private:
  PostgresqlTestServer() {
    if (const char* url = std::getenv("BACKSIDE_TEST_POSTGRES_URL")) {
      start_.url = url;
      return;
    }
    dir_.emplace("backside-postgresql-test");
    const int port = free_port();
    const std::string command = std::string(BACKSIDE_SOURCE_DIR) + "/scripts/postgres.sh start " + dir_->str() +
                                " " + std::to_string(port) + " 2>&1";
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      start_.problem = "cannot run " + command;
      return;
    }
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    const int status = ::pclose(pipe);
    while (!output.empty() && output.back() == '\n') output.pop_back();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      start_.url = output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
      started_ = true;
    } else {
      start_.missing = WIFEXITED(status) && WEXITSTATUS(status) == 3;
      start_.problem = "scripts/postgres.sh start failed: " + output;
    }
  }
  ~PostgresqlTestServer() {
    if (!started_) return;
    const std::string command =
        std::string(BACKSIDE_SOURCE_DIR) + "/scripts/postgres.sh stop " + dir_->str() + " >/dev/null 2>&1";
    (void)std::system(command.c_str());
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
    ::close(fd);
    return port;
  }

  std::optional<TempDir> dir_;
  bool started_ = false;
  Start start_;
};

// In a test body: the URL of the shared test server; skips the test when PostgreSQL is not installed and fails it
// when the server cannot start.
#define BACKSIDE_REQUIRE_POSTGRESQL(url_variable)                                                          \
  const auto& postgresql_start_ = ::backside::store::PostgresqlTestServer::shared();                        \
  if (postgresql_start_.missing) GTEST_SKIP() << "PostgreSQL is not installed: " << postgresql_start_.problem; \
  ASSERT_TRUE(postgresql_start_.url) << postgresql_start_.problem;                                         \
  const std::string url_variable = *postgresql_start_.url

}  // namespace backside::store
