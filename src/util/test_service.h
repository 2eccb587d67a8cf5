#pragma once
// For unit tests only: a server the project's scripts run for tests (scripts/<script>.sh start DIR PORT, which
// prints its URL last and exits 3 when the server is not installed; scripts/<script>.sh stop DIR), on a free
// loopback port and a temporary directory, stopped when the object goes. An environment variable may point the
// tests at a server that is already running instead.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "util/temp_dir.h"

namespace backside {

class TestService {
 public:
  // The server's URL, or why there is none (missing: the server is not installed).
  struct Start {
    std::optional<std::string> url;
    std::string problem;
    bool missing = false;
  };

  // `script`: "postgres" runs scripts/postgres.sh. `url_variable` (may be null): names a variable whose value, when
  // set, is the URL of a running server to use instead.
  TestService(std::string script, const char* url_variable) : script_(std::move(script)) {
    if (const char* url = url_variable ? std::getenv(url_variable) : nullptr) {
      start_.url = url;
      return;
    }
    dir_.emplace("backside-" + script_ + "-test");
    port_ = free_port();
    start();
  }
  ~TestService() {
    if (dir_) stop();
  }
  TestService(const TestService&) = delete;
  TestService& operator=(const TestService&) = delete;

  const Start& started() const { return start_; }
  int port() const { return port_; }

  // Starts the server (again: the same directory and port); started() says how that went.
  void start() {
    start_ = Start{};
    auto [status, output] = run("start " + dir_->str() + " " + std::to_string(port_) + " 2>&1");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      start_.url = output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
    } else {
      start_.missing = WIFEXITED(status) && WEXITSTATUS(status) == 3;
      start_.problem = "scripts/" + script_ + ".sh start failed: " + output;
    }
  }
  // Stops the server (by the pid in its directory); true when the script succeeded.
  bool stop() {
    auto [status, output] = run("stop " + dir_->str() + " 2>&1");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

 private:
  std::pair<int, std::string> run(const std::string& arguments) const {
    const std::string command = std::string(BACKSIDE_SOURCE_DIR) + "/scripts/" + script_ + ".sh " + arguments;
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

  std::string script_;
  std::optional<TempDir> dir_;
  int port_ = 0;
  Start start_;
};

}  // namespace backside
