#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>
#include <pthread.h>

#include "app/commands.h"
#include "app/data_dir_lock.h"
#include "app/http_router.h"
#include "db/registry.h"
#include "net/server.h"
#include "proto/firebase/firebase_handler.h"
#include "proto/rest/rest_handler.h"

namespace backside::app {

int serve(const Config& config) {
  // Block the shutdown signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto lock = DataDirLock::acquire(config.data_dir);
  if (!lock) {
    spdlog::error("{}", lock.error().message);
    return 1;
  }
  auto started = std::chrono::steady_clock::now();
  db::RegistryOptions registry_options;
  registry_options.data_dir = config.data_dir;
  registry_options.max_databases = config.max_databases;
  if (config.durability == "none") {
    registry_options.durability = store::Durability::none;
    spdlog::warn("DURABILITY IS OFF (durability=none): acknowledged writes can be lost on a crash or power loss. "
                 "Use this for benchmarks only.");
  }
  db::Registry registry(registry_options);
  if (auto status = registry.open_existing(); !status) {
    spdlog::error("cannot open databases: {}", status.error().message);
    return 1;
  }
  if (auto db = registry.get(config.default_namespace); !db) {
    spdlog::error("cannot open database {}: {}", config.default_namespace, db.error().message);
    return 1;
  }

  proto::rest::RestHandler rest(registry, {.default_namespace = config.default_namespace});
  proto::firebase::FirebaseHandler firebase(registry, {.default_namespace = config.default_namespace});
  proto::stomp::StompHandler stomp(registry);
  HttpRouter router(rest, firebase, stomp);
  net::ServerOptions server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.io_threads = config.io_threads;
  server_options.max_body_bytes = config.max_body_bytes;
  server_options.max_stream_queue_bytes = config.max_stream_queue_bytes;
  net::Server server(server_options, router);
  auto endpoint = server.listen();
  if (!endpoint) {
    spdlog::error("{}", endpoint.error().message);
    return 1;
  }
  server.start();
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::string address = endpoint->address().to_string() + ":" + std::to_string(endpoint->port());
  spdlog::info("backside listening on http://{} (REST /<path>.json, streaming; Firebase SDK /.ws) — data in {}, durability {}, "
               "default database \"{}\", ready in {} ms",
               address, config.data_dir, config.durability, config.default_namespace, elapsed.count());

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
  // Close the connections first (streams end; onDisconnect writes of closed connections are queued), give their
  // close handlers a moment, then let every database finish its queue durably, then stop the I/O threads.
  server.close_connections();
  firebase.close_long_polls();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  registry.stop_all();
  server.stop();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace backside::app
