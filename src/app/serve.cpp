#include <spdlog/spdlog.h>

#include <csignal>
#include <malloc.h>
#include <pthread.h>

#include "app/app.h"
#include "app/commands.h"

namespace backside::app {

int serve(const Config& config) {
  // Buffers as large as a client makes them (request bodies, their parsed JSON) go back to the OS when freed.
  // glibc's dynamic mmap threshold would keep them in the heap after the first one, and the process's RSS would
  // ratchet up to the largest burst it ever saw, whatever the memory budget says (bench/soak_bench.sh: 633 MiB
  // and growing under a 256 MiB budget; fixed threshold: 277 MiB, flat).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);  // and freed heap tops are given back beyond 1 MiB
  // Block the shutdown signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  App app(config);
  if (!app.start()) return 1;

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
  app.stop();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace backside::app
