#pragma once
// For unit tests only: a private RabbitMQ started by scripts/rabbitmq.sh (loopback, a temporary directory, a free
// port) and stopped when this goes. shared() is one per test process, started on first use and stopped at exit;
// BACKSIDE_TEST_RABBITMQ_URL points it at a server that is already running instead. A test that stops and starts
// its server makes one of its own.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "util/temp_dir.h"

namespace backside::cluster {

class RabbitMqTestServer {
 public:
  // The broker URL, or why there is none (missing: rabbitmq-server is not installed).
  struct Start {
    std::optional<std::string> url;
    std::string problem;
    bool missing = false;
  };

  static const Start& shared() {
    static RabbitMqTestServer server(/*allow_override=*/true);
    return server.start_;
  }

  explicit RabbitMqTestServer(bool allow_override = false) {
    if (const char* url = std::getenv("BACKSIDE_TEST_RABBITMQ_URL"); allow_override && url != nullptr) {
      start_.url = url;
      return;
    }
    dir_.emplace("backside-rabbitmq-test");
    port_ = free_port();
    start();
  }
  ~RabbitMqTestServer() {
    if (dir_) stop();
  }
  RabbitMqTestServer(const RabbitMqTestServer&) = delete;
  RabbitMqTestServer& operator=(const RabbitMqTestServer&) = delete;

  const Start& started() const { return start_; }
  int port() const { return port_; }

  // Starts the server (again: same directory and port); start_ says how that went.
  void start() {
    start_ = Start{};
    auto [status, output] = run("start " + dir_->str() + " " + std::to_string(port_) + " 2>&1");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      start_.url = output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
    } else {
      start_.missing = WIFEXITED(status) && WEXITSTATUS(status) == 3;
      start_.problem = "scripts/rabbitmq.sh start failed: " + output;
    }
  }
  // Stops the server and the epmd it started; true when the script succeeded.
  bool stop() {
    auto [status, output] = run("stop " + dir_->str() + " 2>&1");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

 private:
  static std::pair<int, std::string> run(const std::string& arguments) {
    const std::string command = std::string(BACKSIDE_SOURCE_DIR) + "/scripts/rabbitmq.sh " + arguments;
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return {-1, "cannot run " + command};
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    const int status = ::pclose(pipe);
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return {status, output};
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
  int port_ = 0;
  Start start_;
};

// In a test body: the URL of the shared test server; skips the test when rabbitmq-server is not installed and fails
// it when the server cannot start.
#define BACKSIDE_REQUIRE_RABBITMQ(url_variable)                                                              \
  const auto& rabbitmq_start_ = ::backside::cluster::RabbitMqTestServer::shared();                           \
  if (rabbitmq_start_.missing) GTEST_SKIP() << "rabbitmq-server is not installed: " << rabbitmq_start_.problem; \
  ASSERT_TRUE(rabbitmq_start_.url) << rabbitmq_start_.problem;                                               \
  const std::string url_variable = *rabbitmq_start_.url

}  // namespace backside::cluster
