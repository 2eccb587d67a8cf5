#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <malloc.h>
#include <pthread.h>
#include <thread>

#include "app/app.h"
#include "app/commands.h"

namespace backside::app {

namespace {

const char* signal_name(int signal) { return signal == SIGTERM ? "SIGTERM" : "SIGINT"; }

// What the drain may take beyond its own bound: the databases finishing their queues and the I/O threads stopping.
constexpr auto kStopGrace = std::chrono::seconds(5);

// Runs beside a drain: a second signal, or a drain still running `limit` after it began (a disk that no longer
// answers), ends the process at once with status 1. Nothing acknowledged is lost by that: a write is acknowledged
// only once it is on disk (durability fsync), and the write-ahead log replays at the next start.
void watch_drain(const sigset_t& signals, std::chrono::steady_clock::time_point limit,
                 const std::atomic<bool>& finished) {
  while (!finished.load()) {
    const timespec tick{0, 100'000'000};  // 100 ms: how soon the watch notices that the drain finished
    siginfo_t info{};
    if (const int received = sigtimedwait(&signals, &info, &tick); received > 0) {
      if (received == SIGHUP) continue;  // a certificate reload is moot now
      spdlog::warn("received {} during the shutdown: exiting now, without waiting for the drain",
                   signal_name(received));
      spdlog::default_logger()->flush();
      std::_Exit(1);
    }
    if (std::chrono::steady_clock::now() >= limit) {
      spdlog::error("the shutdown did not finish within drain_timeout_seconds + {} s: exiting now",
                    kStopGrace.count());
      spdlog::default_logger()->flush();
      std::_Exit(1);
    }
  }
}

}  // namespace

int serve(const Config& config) {
  // Buffers as large as a client makes them (request bodies, their parsed JSON) go back to the OS when freed.
  // glibc's dynamic mmap threshold would keep them in the heap after the first one, and the process's RSS would
  // ratchet up to the largest burst it ever saw, whatever the memory budget says (bench/soak_bench.sh: 633 MiB
  // and growing under a 256 MiB budget; fixed threshold: 277 MiB, flat).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);  // and freed heap tops are given back beyond 1 MiB
  // Block the shutdown signals and SIGHUP (reload the TLS certificate) in every thread; the main thread waits for
  // them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  App app(config);
  if (!app.start()) return 1;

  int received = 0;
  for (;;) {
    sigwait(&signals, &received);
    if (received != SIGHUP) break;
    app.reload_tls();
  }
  const std::chrono::seconds delay(config.shutdown_delay_seconds);
  const std::chrono::seconds timeout(config.drain_timeout_seconds);
  spdlog::info("received {}, shutting down (shutdown delay {} s, drain timeout {} s; a second signal exits at once)",
               signal_name(received), delay.count(), timeout.count());
  std::atomic<bool> finished{false};
  std::thread watch(watch_drain, std::cref(signals), std::chrono::steady_clock::now() + delay + timeout + kStopGrace,
                    std::cref(finished));
  app.drain(delay, timeout);
  finished = true;
  watch.join();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace backside::app
