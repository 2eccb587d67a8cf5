#pragma once
// Server configuration. Every option has one name used everywhere: the JSON config file key ("data_dir"), the
// environment variable (BACKSIDE_DATA_DIR) and the flag (--data-dir). Precedence: defaults < file < env < flags.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "util/result.h"

namespace backside::app {

struct Config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9000;
  std::uint16_t stomp_port = 61613;  // STOMP over raw TCP; 0 = off
  std::uint32_t stomp_heartbeat_ms = 10000;
  std::uint32_t stomp_connect_timeout_ms = 10000;  // no CONNECT by then: the connection is closed
  // TLS on every port (docs/operations.md#tls); empty tls_cert = plain TCP.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;                     // STOMP clients' CA
  std::string tls_client_certificates = "none";  // on the STOMP port: none, optional or required
  std::string data_dir = "./backside-data";
  std::string durability = "fsync";  // or "none" (benchmarks only)
  std::string store = "lmdb";        // or postgresql://USER@HOST:PORT/DB: the shared store (docs/cluster.md)
  std::string broker;                // amqp://...: RabbitMQ between the nodes of a cluster; empty = one node
  std::string default_namespace = "default";
  std::uint64_t max_body_bytes = std::uint64_t(256) << 20;
  std::uint64_t max_stream_queue_bytes = std::uint64_t(16) << 20;
  // Server-wide: bytes of buffered input and queued output all clients together may hold (util/memory_budget.h).
  std::uint64_t max_buffered_bytes = std::uint64_t(1) << 30;
  std::uint64_t max_pending_requests = 1000;  // per Firebase protocol or STOMP connection
  std::uint64_t max_databases = 100;
  // Databases created at start besides default_namespace ("a,b" in a flag or variable, a list in the file).
  std::vector<std::string> databases;
  std::uint64_t max_update_keys = 10000;  // keys of one multi-path update
  std::uint64_t io_threads = 0;  // 0 = one per core
  // Open connections (every port) server-wide (0 = what fits under the descriptor limit) and per client address
  // (IPv4 address or IPv6 /64; 0 = no cap; also caps long-poll sessions per address); exempt addresses count toward
  // the server-wide cap only.
  std::uint64_t max_connections = 0;
  std::uint64_t max_connections_per_address = 1000;
  std::vector<std::string> connection_limit_exempt = {"127.0.0.1", "::1"};
  std::uint32_t request_timeout_seconds = 60;  // an HTTP request, head and body; the idle time between requests
  std::uint32_t websocket_idle_seconds = 60;   // silence (no frame, no pong) before a WebSocket is closed
  std::string log_level = "info";
  std::string log_format = "text";  // or "json": one object per line
  // GET /metrics without the admin credential (for a scraper on a trusted network).
  bool metrics_public = false;
  // Shutdown (docs/operations.md#shutdown): after SIGTERM, /readyz fails while the server goes on serving for the
  // delay (a load balancer stops sending new clients), then the drain: no new connections, clients told in their
  // protocol, answers in flight written, for at most drain_timeout_seconds.
  std::uint32_t shutdown_delay_seconds = 0;
  std::uint32_t drain_timeout_seconds = 10;
  std::string rules;        // a rules file deployed to the default database at start; empty = keep what is stored
  std::string admin_token;  // empty = the one in data_dir/admin-token, generated on first start
  bool dev = false;
  std::uint32_t id_token_seconds = 3600;  // lifetime of the ID tokens the server mints
  // Password sign-in lockout: wrong passwords allowed per account / per client address within the window.
  std::uint32_t auth_max_failed_sign_ins = 10;
  std::uint32_t auth_max_failed_sign_ins_per_address = 100;
  std::uint32_t auth_failure_window_seconds = 300;
  // Accounts (email/password or anonymous) one client address may create within the sign-up window.
  std::uint32_t auth_max_sign_ups_per_address = 20;
  std::uint32_t auth_sign_up_window_seconds = 300;
  // Password hashes (Argon2id) waiting or running, server-wide; past it sign-ins and sign-ups are refused at once.
  std::uint32_t auth_max_pending_password_hashes = 64;
};

struct OptionInfo {
  std::string name;  // snake_case
  std::string help;
  bool flag = false;  // a switch: `--dev` on the command line, true/false in the file and environment
};
const std::vector<OptionInfo>& config_options();

// Applies one option given as text; errors name the option and the bad value.
Status set_option(Config& config, const std::string& name, const std::string& value);
// Reads a JSON config file: an object whose keys are option names.
Status apply_config_file(Config& config, const std::string& path);
// Applies every BACKSIDE_<NAME> variable present in the environment.
Status apply_environment(Config& config);

std::string flag_name(const std::string& option);  // data_dir -> data-dir
std::string env_name(const std::string& option);   // data_dir -> BACKSIDE_DATA_DIR

}  // namespace backside::app
