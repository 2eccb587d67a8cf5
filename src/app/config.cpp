#include "app/config.h"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/asio/ip/address.hpp>

#include "db/registry.h"
#include "store/store_factory.h"

namespace backside::app {

namespace json = boost::json;

const std::vector<OptionInfo>& config_options() {
  static const std::vector<OptionInfo> options = {
      {"host", "address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)"},
      {"port", "HTTP/WebSocket port (default 9000; 0 picks a free port)"},
      {"stomp_port", "STOMP over raw TCP port (default 61613; 0 = off); STOMP over WebSocket is at /stomp on port"},
      {"stomp_heartbeat_ms", "STOMP heart-beat offer, both ways, in ms (default 10000; 0 = none)"},
      {"stomp_connect_timeout_ms", "a STOMP connection that sends no CONNECT within this many ms is closed "
                                   "(default 10000; 0 = no deadline)"},
      {"tls_cert", "PEM certificate (with its chain) of the server: every port then speaks TLS only (HTTPS, WSS, "
                   "STOMP over TLS); reloaded with the key on SIGHUP (default: none, plain TCP)"},
      {"tls_key", "PEM private key of tls_cert"},
      {"tls_client_ca", "PEM CA certificates that sign STOMP clients' certificates (with tls_client_certificates)"},
      {"tls_client_certificates", "client certificates on the STOMP port: none (default), optional (asked for; a "
                                  "client without one connects as before) or required (no verified certificate, no "
                                  "connection)"},
      {"data_dir", "directory of the databases (default ./backside-data)"},
      {"durability", "fsync (default: a write is acknowledged once on disk) or none (benchmarks only)"},
      {"store", "where the databases' trees are kept: lmdb (default: files in data_dir) or "
                "postgresql://USER@HOST:PORT/DB (PostgreSQL, the shared store of a cluster; docs/cluster.md)"},
      {"broker", "amqp://USER:PASS@HOST:PORT/VHOST: RabbitMQ between the nodes of a cluster (with a postgresql store): "
                 "each database's owner publishes its commits there, the other nodes hold replicas and forward "
                 "writes to the owner (default: none, one node; docs/cluster.md)"},
      {"default_namespace", "database used when a request names none (default \"default\")"},
      {"max_body_bytes", "largest accepted request body in bytes (default 268435456)"},
      {"max_stream_queue_bytes", "bytes a stream may fall behind before it is dropped (default 16777216)"},
      {"max_buffered_bytes", "bytes of buffered input (request bodies, partial messages and frames, STOMP "
                             "transactions) and queued output all clients together may hold; past it requests get "
                             "503 and the clients asking for more are dropped (default 1073741824)"},
      {"max_pending_requests", "requests one Firebase protocol or STOMP connection may have unanswered before the "
                               "server stops reading from it, until half are answered (default 1000)"},
      {"max_databases", "most databases (namespaces) one server opens (default 100)"},
      {"databases", "comma-separated names of databases created at start besides default_namespace (default none; "
                    "without --dev only these, the default one and those the admin creates exist)"},
      {"max_update_keys", "most keys (locations) one multi-path update may write (default 10000)"},
      {"io_threads", "network threads (default 0 = one per core)"},
      {"max_connections", "open connections, server-wide, over every port; past it a new connection is closed at "
                          "once, after a 503 on the HTTP port (default 0 = what fits under the file-descriptor "
                          "limit, less a reserve for files of a quarter of it, at most 1024)"},
      {"max_connections_per_address", "open connections (and long-poll sessions) from one client address, an IPv4 "
                                      "address or an IPv6 /64 (default 1000; 0 = no cap)"},
      {"request_timeout_seconds", "time an HTTP request (head and body) may take to arrive, and a keep-alive "
                                  "connection may wait for its next request (default 60)"},
      {"websocket_idle_seconds", "a WebSocket silent this long (a ping is sent halfway) is closed, as is one that sent "
                                 "no message within this time of its upgrade (default 60)"},
      {"connection_limit_exempt", "comma-separated client addresses not capped per address, e.g. a reverse proxy's "
                                  "(default 127.0.0.1,::1; they still count toward max_connections)"},
      {"log_level", "trace, debug, info, warn or error (default info)"},
      {"log_format", "text (default) or json: one JSON object per line (time, level, message)"},
      {"metrics_public", "serve GET /metrics without the admin credential (default: the admin token is required)",
       true},
      {"shutdown_delay_seconds", "after SIGTERM, seconds during which /readyz answers 503 while the server goes on "
                                 "serving, so that load balancers stop sending new clients (default 0)"},
      {"drain_timeout_seconds", "after the shutdown delay, the longest the server waits for answers in flight and "
                                "for clients to close before it exits (default 10)"},
      {"rules", "security rules file (JSON with comments) deployed to the default database at start"},
      {"admin_token", "the admin credential (at least 16 characters); default: generated on first start and "
                      "stored in <data_dir>/admin-token (mode 0600)"},
      {"id_token_seconds", "lifetime of the ID tokens signed-in users get, in seconds (default 3600)"},
      {"auth_max_failed_sign_ins", "wrong passwords for one account within the failure window before its "
                                   "sign-ins are refused (default 10; 0 = no limit)"},
      {"auth_max_failed_sign_ins_per_address", "failed sign-ins from one client address within the failure "
                                               "window before its sign-ins are refused (default 100; 0 = no limit)"},
      {"auth_failure_window_seconds", "the failure window of the sign-in limits, in seconds (default 300)"},
      {"auth_max_sign_ups_per_address", "accounts (email/password or anonymous) one client address may create "
                                        "within the sign-up window (default 20; 0 = no limit)"},
      {"auth_sign_up_window_seconds", "the window of the sign-up limit, in seconds (default 300)"},
      {"auth_max_pending_password_hashes", "password hashes waiting or running, server-wide, before sign-ins and "
                                           "sign-ups are refused with TOO_MANY_ATTEMPTS_TRY_LATER (default 64; "
                                           "sign-ups may take half)"},
      {"dev", "development mode: databases without rules allow everything, the emulator token \"owner\" is "
              "admin and unsigned tokens are accepted. Never in production", true},
  };
  return options;
}

namespace {

template <typename Int>
Status parse_int(const std::string& name, const std::string& value, Int& out) {
  Int parsed{};
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return invalid("Invalid value for " + name + ": \"" + value + "\" is not a non-negative integer in range");
  }
  out = parsed;
  return ok_status();
}

}  // namespace

Status set_option(Config& config, const std::string& name, const std::string& value) {
  if (name == "host") {
    config.host = value;
  } else if (name == "port") {
    return parse_int(name, value, config.port);
  } else if (name == "stomp_port") {
    return parse_int(name, value, config.stomp_port);
  } else if (name == "stomp_heartbeat_ms") {
    return parse_int(name, value, config.stomp_heartbeat_ms);
  } else if (name == "stomp_connect_timeout_ms") {
    return parse_int(name, value, config.stomp_connect_timeout_ms);
  } else if (name == "tls_cert") {
    config.tls_cert = value;
  } else if (name == "tls_key") {
    config.tls_key = value;
  } else if (name == "tls_client_ca") {
    config.tls_client_ca = value;
  } else if (name == "tls_client_certificates") {
    if (value != "none" && value != "optional" && value != "required") {
      return invalid("Invalid value for tls_client_certificates: \"" + value + "\" (use none, optional or required)");
    }
    config.tls_client_certificates = value;
  } else if (name == "data_dir") {
    if (value.empty()) return invalid("Invalid value for data_dir: empty");
    config.data_dir = value;
  } else if (name == "durability") {
    if (value != "fsync" && value != "none") {
      return invalid("Invalid value for durability: \"" + value + "\" (use fsync or none)");
    }
    config.durability = value;
  } else if (name == "store") {
    if (Status valid = store::check_store_option(value); !valid) return valid;
    config.store = value;
  } else if (name == "broker") {
    if (!value.empty() && !value.starts_with("amqp://")) {
      // The value is not repeated: it may hold a password.
      return invalid("Invalid value for broker: use amqp://USER:PASS@HOST:PORT/VHOST");
    }
    config.broker = value;
  } else if (name == "default_namespace") {
    config.default_namespace = value;
  } else if (name == "max_body_bytes") {
    return parse_int(name, value, config.max_body_bytes);
  } else if (name == "max_pending_requests") {
    if (Status parsed = parse_int(name, value, config.max_pending_requests); !parsed) return parsed;
    if (config.max_pending_requests == 0) return invalid("Invalid value for max_pending_requests: must be at least 1");
    return ok_status();
  } else if (name == "max_stream_queue_bytes") {
    return parse_int(name, value, config.max_stream_queue_bytes);
  } else if (name == "max_buffered_bytes") {
    if (Status parsed = parse_int(name, value, config.max_buffered_bytes); !parsed) return parsed;
    if (config.max_buffered_bytes < (std::uint64_t(1) << 20)) {
      return invalid("Invalid value for max_buffered_bytes: must be at least 1048576 (1 MiB)");
    }
    return ok_status();
  } else if (name == "max_databases") {
    return parse_int(name, value, config.max_databases);
  } else if (name == "databases") {
    config.databases.clear();
    std::size_t begin = 0;
    while (begin <= value.size() && !value.empty()) {
      std::size_t end = std::min(value.find(',', begin), value.size());
      std::string item = value.substr(begin, end - begin);
      if (!db::Registry::valid_name(item)) {
        return invalid("Invalid value for databases: \"" + item + "\" is no database name (1 to 100 letters, "
                       "digits, '-' or '_', separated by commas)");
      }
      config.databases.push_back(std::move(item));
      begin = end + 1;
    }
  } else if (name == "max_update_keys") {
    if (Status parsed = parse_int(name, value, config.max_update_keys); !parsed) return parsed;
    if (config.max_update_keys == 0) return invalid("Invalid value for max_update_keys: must be at least 1");
  } else if (name == "io_threads") {
    return parse_int(name, value, config.io_threads);
  } else if (name == "max_connections") {
    return parse_int(name, value, config.max_connections);
  } else if (name == "max_connections_per_address") {
    return parse_int(name, value, config.max_connections_per_address);
  } else if (name == "request_timeout_seconds" || name == "websocket_idle_seconds") {
    std::uint32_t& field =
        name == "request_timeout_seconds" ? config.request_timeout_seconds : config.websocket_idle_seconds;
    if (auto status = parse_int(name, value, field); !status) return status;
    if (field == 0 || field > 86400) return invalid("Invalid value for " + name + ": use 1 to 86400 seconds");
  } else if (name == "connection_limit_exempt") {
    config.connection_limit_exempt.clear();
    std::size_t begin = 0;
    while (begin < value.size()) {
      std::size_t end = std::min(value.find(',', begin), value.size());
      std::string item = value.substr(begin, end - begin);
      boost::system::error_code ec;
      boost::asio::ip::make_address(item, ec);
      if (ec) {
        return invalid("Invalid value for connection_limit_exempt: \"" + item + "\" is not an IP address "
                       "(addresses are separated by commas)");
      }
      config.connection_limit_exempt.push_back(std::move(item));
      begin = end + 1;
    }
  } else if (name == "rules") {
    config.rules = value;
  } else if (name == "admin_token") {
    if (value.size() < 16) return invalid("Invalid value for admin_token: use at least 16 characters");
    config.admin_token = value;
  } else if (name == "id_token_seconds") {
    if (auto status = parse_int(name, value, config.id_token_seconds); !status) return status;
    if (config.id_token_seconds == 0) return invalid("Invalid value for id_token_seconds: must be at least 1");
  } else if (name == "auth_max_failed_sign_ins") {
    return parse_int(name, value, config.auth_max_failed_sign_ins);
  } else if (name == "auth_max_failed_sign_ins_per_address") {
    return parse_int(name, value, config.auth_max_failed_sign_ins_per_address);
  } else if (name == "auth_failure_window_seconds") {
    if (auto status = parse_int(name, value, config.auth_failure_window_seconds); !status) return status;
    if (config.auth_failure_window_seconds == 0) {
      return invalid("Invalid value for auth_failure_window_seconds: must be at least 1");
    }
  } else if (name == "auth_max_sign_ups_per_address") {
    return parse_int(name, value, config.auth_max_sign_ups_per_address);
  } else if (name == "auth_sign_up_window_seconds") {
    if (auto status = parse_int(name, value, config.auth_sign_up_window_seconds); !status) return status;
    if (config.auth_sign_up_window_seconds == 0) {
      return invalid("Invalid value for auth_sign_up_window_seconds: must be at least 1");
    }
  } else if (name == "auth_max_pending_password_hashes") {
    if (auto status = parse_int(name, value, config.auth_max_pending_password_hashes); !status) return status;
    if (config.auth_max_pending_password_hashes < 2) {
      return invalid("Invalid value for auth_max_pending_password_hashes: must be at least 2");
    }
  } else if (name == "dev" || name == "metrics_public") {
    bool& field = name == "dev" ? config.dev : config.metrics_public;
    if (value == "true" || value == "1") {
      field = true;
    } else if (value == "false" || value == "0") {
      field = false;
    } else {
      return invalid("Invalid value for " + name + ": \"" + value + "\" (use true or false)");
    }
  } else if (name == "log_format") {
    if (value != "text" && value != "json") {
      return invalid("Invalid value for log_format: \"" + value + "\" (use text or json)");
    }
    config.log_format = value;
  } else if (name == "shutdown_delay_seconds" || name == "drain_timeout_seconds") {
    std::uint32_t seconds = 0;
    if (auto status = parse_int(name, value, seconds); !status) return status;
    if (seconds > 3600) return invalid("Invalid value for " + name + ": use 0 to 3600 seconds");
    (name == "shutdown_delay_seconds" ? config.shutdown_delay_seconds : config.drain_timeout_seconds) = seconds;
  } else if (name == "log_level") {
    if (value != "trace" && value != "debug" && value != "info" && value != "warn" && value != "error") {
      return invalid("Invalid value for log_level: \"" + value + "\"");
    }
    config.log_level = value;
  } else {
    return invalid("Unknown option \"" + name + "\"");
  }
  return ok_status();
}

Status apply_config_file(Config& config, const std::string& path) {
  std::ifstream file(path);
  if (!file) return invalid("Cannot read config file " + path);
  std::stringstream text;
  text << file.rdbuf();
  boost::system::error_code ec;
  json::value root = json::parse(text.str(), ec);
  if (ec || !root.is_object()) return invalid("Config file " + path + " is not a JSON object");
  for (const auto& [key, value] : root.get_object()) {
    std::string text_value;
    if (value.is_string()) {
      text_value = value.get_string();
    } else if (value.is_array() && (key == "databases" || key == "connection_limit_exempt")) {
      for (const auto& item : value.get_array()) {
        if (!item.is_string()) {
          return invalid("Config file " + path + ": \"" + std::string(key) + "\" must be a list of strings");
        }
        if (!text_value.empty()) text_value += ',';
        text_value += item.get_string();
        if (item.get_string().empty()) text_value += ' ';  // refused below as no database name
      }
    } else if (value.is_int64() || value.is_uint64() || value.is_bool()) {
      text_value = json::serialize(value);
    } else {
      return invalid("Config file " + path + ": \"" + std::string(key) + "\" must be a string, an integer or a boolean");
    }
    auto status = set_option(config, std::string(key), text_value);
    if (!status) return invalid("Config file " + path + ": " + status.error().message);
  }
  return ok_status();
}

Status apply_environment(Config& config) {
  for (const auto& option : config_options()) {
    if (const char* value = std::getenv(env_name(option.name).c_str())) {
      auto status = set_option(config, option.name, value);
      if (!status) return invalid(env_name(option.name) + ": " + status.error().message);
    }
  }
  return ok_status();
}

std::string flag_name(const std::string& option) {
  std::string flag = option;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

std::string env_name(const std::string& option) {
  std::string env = "BACKSIDE_";
  for (char c : option) env += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

}  // namespace backside::app
