#include "app/app.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "console/rules_playground.h"
#include "app/http_router.h"
#include "app/ops_handler.h"
#include "app/scraped_metrics.h"
#include "app/user_pools.h"
#include "auth/accepted_users.h"
#include "auth/authenticator.h"
#include "auth/id_tokens.h"
#include "auth/password_hasher.h"
#include "auth/password_sign_in.h"
#include "auth/signing_key.h"
#include "auth/tenants.h"
#include "auth/user_directories.h"
#include "app/node_id.h"
#include "cluster/rabbitmq_broker.h"
#include "db/registry.h"
#include "store/pending_disconnects.h"
#include "store/shared_settings.h"
#include "store/store_factory.h"
#include "net/fd_limit.h"
#include "net/server.h"
#include "net/tls_context.h"
#include "proto/firebase/firebase_handler.h"
#include "proto/auth_api/identity_handler.h"
#include "proto/rest/rest_handler.h"
#include "proto/stomp/stomp_handler.h"
#include "util/memory_budget.h"

namespace backside::app {

namespace {

// The connection caps (net/connection_limiter.h): max_connections 0 means what fits under the descriptor limit,
// which is raised to its hard maximum first. An explicit cap above that is kept (the operator may raise the limit
// of a running process with prlimit), with a warning: past the limit, accept fails until descriptors free up.
net::ConnectionLimits connection_limits(const Config& config) {
  const std::size_t fd_limit = net::raise_fd_limit();
  const std::size_t fitting = net::connections_fitting(fd_limit);
  net::ConnectionLimits limits;
  limits.max_connections = config.max_connections ? config.max_connections : fitting;
  if (config.max_connections && fitting && config.max_connections > fitting) {
    spdlog::warn("max_connections {} does not fit under the file-descriptor limit of {} ({} would); past it new "
                 "connections wait until descriptors free up",
                 config.max_connections, fd_limit, fitting);
  }
  limits.max_connections_per_address = config.max_connections_per_address;
  for (const auto& address : config.connection_limit_exempt) {
    limits.exempt.push_back(boost::asio::ip::make_address(address));  // validated by set_option
  }
  spdlog::info("connections: at most {} open{}, {} per client address{}",
               limits.max_connections ? std::to_string(limits.max_connections) : "unlimited",
               fd_limit ? " (file-descriptor limit " + std::to_string(fd_limit) + ")" : "",
               limits.max_connections_per_address ? std::to_string(limits.max_connections_per_address) : "unlimited",
               config.connection_limit_exempt.empty() ? "" : " (" + std::to_string(config.connection_limit_exempt.size()) +
                                                            " exempt addresses)");
  return limits;
}

// The cluster's ID-token signing key: the first node to start makes it, every other node uses that one.
Result<std::shared_ptr<const auth::SigningKey>> shared_signing_key(store::SharedSettings& shared) {
  auto generated = auth::SigningKey::generate();
  if (!generated) return generated.error();
  auto pem = shared.setting_or_create("signing_key", (*generated)->pem());
  if (!pem) return Error{pem.error().code, "cannot read the cluster's signing key: " + pem.error().message};
  return auth::SigningKey::from_pem(*pem);
}

}  // namespace

App::App(Config config) : config_(std::move(config)) {}

App::~App() { stop(); }

bool App::start() {
  const Config& config = config_;
  auto lock = DataDirLock::acquire(config.data_dir);
  if (!lock) {
    spdlog::error("{}", lock.error().message);
    return false;
  }
  lock_.emplace(std::move(*lock));
  auto started = std::chrono::steady_clock::now();
  auto admin_token = auth::load_admin_token(config.data_dir, config.admin_token);
  if (!admin_token) {
    spdlog::error("{}", admin_token.error().message);
    return false;
  }
  admin_token_ = admin_token->token;
  if (admin_token->generated) {
    spdlog::info("generated the admin token and stored it in {} (mode 0600)", admin_token->file);
  }
  authenticator_ = std::make_unique<auth::Authenticator>(
      auth::AuthenticatorOptions{.admin_token = admin_token->token, .dev = config.dev});
  auto& authenticator = *authenticator_;
  // ID tokens (Firebase Auth) are signed with the server's key under <data_dir>/auth, where the project's users and
  // its tenants' live too (opened below), shared by every database.
  const std::string auth_dir = (std::filesystem::path(config.data_dir) / "auth").string();
  if (!store::is_embedded_store(config.store)) {
    // A node of a cluster shares which databases exist, their rules and the signing key with the others, in
    // PostgreSQL (docs/cluster.md): a token one node mints is good on every node. Users and tenants too (below).
    auto shared = store::SharedSettings::open(config.store);
    if (!shared) {
      spdlog::error("cannot read the cluster's shared settings from PostgreSQL: {}", shared.error().message);
      return false;
    }
    shared_settings_ = std::move(*shared);
  }
  auto signing_key = shared_settings_ ? shared_signing_key(*shared_settings_)
                                      : auth::SigningKey::load_or_create(auth_dir + "/signing-key.pem");
  if (!signing_key) {
    spdlog::error("{}", signing_key.error().message);
    return false;
  }
  signing_key_ = *signing_key;
  // Earlier versions' per-database users move to the data dir's pools first, before anything opens them.
  auto pools = open_user_pools(config);
  if (!pools) {
    spdlog::error("{}", pools.error().message);
    return false;
  }
  tenants_ = std::move(pools->tenants);
  // Which user pools each database accepts: the data dir's, or (a cluster) PostgreSQL's, followed every second.
  accepted_users_ = pools->shared ? std::make_unique<auth::AcceptedUsers>(pools->shared, *tenants_)
                                  : std::make_unique<auth::AcceptedUsers>(config.data_dir, *tenants_);
  for (const auto& problem : accepted_users_->load()) spdlog::error("{}", problem);
  accepted_users_->watch(std::chrono::seconds(1));
  id_tokens_ = std::make_shared<auth::IdTokens>(
      signing_key_, auth::IdTokenOptions{.lifetime_seconds = static_cast<std::int64_t>(config.id_token_seconds)});
  id_tokens_->limit_databases(accepted_users_.get());
  authenticator.add_verifier(id_tokens_);
  std::string rules_text;  // --rules, read before anything opens so that a bad file stops the start
  if (!config.rules.empty()) {
    std::ifstream in(config.rules, std::ios::binary);
    if (!in) {
      spdlog::error("cannot read the rules file {}", config.rules);
      return false;
    }
    std::stringstream text;
    text << in.rdbuf();
    rules_text = text.str();
    if (auto compiled = db::Registry::compile_rules(rules_text); !compiled) {
      spdlog::error("invalid rules in {}: {}", config.rules, compiled.error().message);
      return false;
    }
  }

  // One budget for everything clients make the server buffer, shared by every door (util/memory_budget.h).
  // Declared before the registry: sessions its subscribers keep alive give their charges back when it goes.
  memory_budget_ = std::make_unique<MemoryBudget>(static_cast<std::size_t>(config.max_buffered_bytes));
  auto& memory_budget = *memory_budget_;
  db::RegistryOptions registry_options;
  registry_options.data_dir = config.data_dir;
  registry_options.default_rules = *db::Registry::compile_rules(
      config.dev ? R"({"rules": {".read": true, ".write": true}})" : R"({"rules": {".read": false, ".write": false}})",
      /*configured=*/false);
  registry_options.max_databases = config.max_databases;
  registry_options.create_on_first_use = config.dev;  // production: only the admin and `databases` create
  registry_options.max_update_keys = config.max_update_keys;
  registry_options.store = config.store;
  if (!store::is_embedded_store(config.store)) {
    auto node_id = load_or_create_node_id(config.data_dir);
    if (!node_id) {
      spdlog::error("{}", node_id.error().message);
      return false;
    }
    registry_options.node_id = *node_id;
    spdlog::info("the databases' trees are kept in PostgreSQL (the store option); this node is {}", *node_id);
    // Clients' onDisconnect writes are kept there too, so that they run even if this node dies.
    auto pending = store::PendingDisconnects::open({.url = config.store, .node_id = *node_id});
    if (!pending) {
      spdlog::error("cannot keep onDisconnect writes in PostgreSQL: {}", pending.error().message);
      return false;
    }
    pending_disconnects_ = std::move(*pending);
    registry_options.pending_disconnects = pending_disconnects_.get();
    registry_options.shared = shared_settings_.get();
  }
  if (!config.broker.empty()) {
    if (store::is_embedded_store(config.store)) {
      spdlog::error("the broker option needs the shared store: set store to a postgresql:// URL (docs/cluster.md)");
      return false;
    }
    auto broker = cluster::RabbitMqBroker::open(config.broker, registry_options.node_id);
    if (!broker) {
      spdlog::error("cannot use the broker: {}", broker.error().message);
      return false;
    }
    broker_ = std::move(*broker);
    registry_options.broker = broker_.get();
    spdlog::info("a node of a cluster: commits go to the other nodes through RabbitMQ; a database another node owns "
                 "is a replica here");
  }
  if (config.durability == "none") {
    registry_options.durability = store::Durability::none;
    spdlog::warn("DURABILITY IS OFF (durability=none): acknowledged writes can be lost on a crash or power loss. "
                 "Use this for benchmarks only.");
  }
  registry_ = std::make_unique<db::Registry>(registry_options);
  auto& registry = *registry_;
  if (auto status = registry.open_existing(); !status) {
    spdlog::error("cannot open databases: {}", status.error().message);
    return false;
  }
  // The default database is the one every client reaches without naming one: if it is damaged, the server does
  // not start (docs/reliability.md). Any other damaged database is skipped, and reported by open_existing().
  if (auto db = registry.create(config.default_namespace); !db) {
    spdlog::error("cannot open database {}: {}", config.default_namespace, db.error().message);
    if (registry.damaged().count(config.default_namespace) != 0) {
      spdlog::error("the default database is damaged: the server does not start. Run `backside check` on the "
                    "data dir; restore the database's directory from a backup, or move it away to start empty");
    }
    return false;
  }
  for (const auto& name : config.databases) {
    if (registry.damaged().count(name) != 0) continue;  // reported; the others still serve
    if (auto db = registry.create(name); !db) {
      spdlog::error("cannot open database {} (databases option): {}", name, db.error().message);
      return false;
    }
  }
  if (!config.rules.empty()) {
    if (auto status = registry.set_rules(config.default_namespace, rules_text); !status) {
      spdlog::error("cannot set the rules of {}: {}", config.default_namespace, status.error().message);
      return false;
    }
    spdlog::info("rules of database \"{}\" set from {}", config.default_namespace, config.rules);
  }
  if (config.dev) {
    spdlog::warn("DEVELOPMENT MODE (--dev): databases without rules allow ANY client to read and write, the token "
                 "\"owner\" is admin and unsigned tokens are accepted. Never use --dev in production.");
  } else {
    for (const auto& name : registry.names()) {
      auto db = registry.get(name);
      if (db && !(*db)->rules()->configured) {
        spdlog::info("database \"{}\" has no rules: only the admin may read or write. Set rules with --rules FILE "
                     "or PUT /.settings/rules.json?ns={} with the admin token ({})",
                     name, name, admin_token->file.empty() ? "admin_token option" : admin_token->file);
      }
    }
  }

  rest_ = std::make_unique<proto::rest::RestHandler>(
      registry, proto::rest::RestOptions{.authenticator = &authenticator,
                                         .default_namespace = config.default_namespace,
                                         .memory_budget = &memory_budget,
                                         .accepted_users = accepted_users_.get()});
  // A long-poll session is the connection of a client without WebSockets: capped per address like connections.
  proto::firebase::LongPollOptions long_poll_options;
  long_poll_options.max_sessions_per_address = config.max_connections_per_address;
  for (const auto& address : config.connection_limit_exempt) {
    long_poll_options.per_address_exempt.push_back(boost::asio::ip::make_address(address));
  }
  long_poll_options.memory_budget = &memory_budget;
  // The bounds of one client session, the same on every door that keeps sessions.
  session::SessionLimits session_limits;
  session_limits.max_pending_requests = config.max_pending_requests;
  firebase_ = std::make_unique<proto::firebase::FirebaseHandler>(
      registry,
      proto::firebase::FirebaseOptions{.authenticator = &authenticator,
                                       .default_namespace = config.default_namespace,
                                       .limits = session_limits,
                                       .memory_budget = &memory_budget},
      long_poll_options);
  stomp_ = std::make_unique<proto::stomp::StompHandler>(
      registry, authenticator,
      proto::stomp::StompOptions{.heartbeat_ms = config.stomp_heartbeat_ms,
                                 .connect_timeout_ms = config.stomp_connect_timeout_ms,
                                 .limits = session_limits,
                                 .default_namespace = config.default_namespace,
                                 .memory_budget = &memory_budget});
  proto::auth_api::IdentityOptions identity_options;
  identity_options.accept_unsigned_custom_tokens = config.dev;
  identity_options.sign_ups_per_address = {.max_attempts = config.auth_max_sign_ups_per_address,
                                           .window_seconds = config.auth_sign_up_window_seconds};
  user_directories_ = std::make_unique<auth::UserDirectories>(std::move(pools->storage), *tenants_);
  // ID tokens of deleted, disabled or revoked users are refused on every door, and the connections that presented
  // them end: at once for changes made through this server, within a second for `backside users` beside it.
  id_tokens_->check_users_in(user_directories_.get());
  account_sweeper_ = std::make_unique<auth::AccountSweeper>(id_tokens_->standings(), std::chrono::seconds(1));
  // One hasher for every password the server checks or stores, so that its bound on the hashes in flight is
  // server-wide; one sign-in (and its lockouts) for every door that takes a password.
  password_hasher_ = std::make_unique<auth::PasswordHasher>(2, config.auth_max_pending_password_hashes);
  password_sign_in_ = std::make_unique<auth::PasswordSignIn>(
      *user_directories_, *password_hasher_, *id_tokens_,
      auth::PasswordSignInOptions{.per_account = {.max_attempts = config.auth_max_failed_sign_ins,
                                                  .window_seconds = config.auth_failure_window_seconds},
                                  .per_address = {.max_attempts = config.auth_max_failed_sign_ins_per_address,
                                                  .window_seconds = config.auth_failure_window_seconds}});
  identity_ = std::make_unique<proto::auth_api::IdentityHandler>(*user_directories_, *id_tokens_, *signing_key_,
                                                               authenticator, *password_hasher_,
                                                               *password_sign_in_, identity_options);
  stomp_->set_password_sign_in([sign_in = password_sign_in_.get()](
                                   const std::string& database, const std::string& tenant, const std::string& email,
                                   const std::string& password, const std::string& address,
                                   std::function<void(Result<identity::Identity>)> done) {
    sign_in->sign_in(database, tenant, email, password, address, std::move(done));
  });
  ops_ = std::make_unique<OpsHandler>(registry, draining_,
                                      OpsOptions{.authenticator = &authenticator,
                                                 .default_namespace = config.default_namespace,
                                                 .metrics_public = config.metrics_public});
  scraped_metrics_ = collect_server_state(registry, memory_budget, draining_);
  console_ = std::make_unique<console::ConsoleHandler>(
      registry, console::ConsoleOptions{.authenticator = &authenticator,
                                        .default_namespace = config.default_namespace,
                                        .data_dir = config.data_dir,
                                        .store = config.store});
  rules_playground_ = std::make_unique<console::RulesPlayground>(
      registry, console::RulesPlaygroundOptions{.authenticator = &authenticator,
                                                .default_namespace = config.default_namespace,
                                                .memory_budget = &memory_budget});
  router_ = std::make_unique<HttpRouter>(*rest_, *firebase_, *stomp_, *identity_, *ops_, *console_, *rules_playground_);
  net::ServerOptions server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.io_threads = config.io_threads;
  server_options.connection_limits = connection_limits(config);
  server_options.request_timeout_seconds = static_cast<int>(config.request_timeout_seconds);
  server_options.websocket_idle_seconds = static_cast<int>(config.websocket_idle_seconds);
  server_options.max_body_bytes = config.max_body_bytes;
  server_options.max_stream_queue_bytes = config.max_stream_queue_bytes;
  server_options.memory_budget = &memory_budget;
  if (!open_tls(config)) return false;
  server_ = std::make_unique<net::Server>(server_options, *router_);
  stomp_->set_io_context(server_->io_context());
  firebase_->set_io_context(server_->io_context());
  rest_->set_io_context(server_->io_context());
  console_->set_io_context(server_->io_context());
  auto endpoint = server_->listen(http_tls_);
  if (!endpoint) {
    spdlog::error("{}", endpoint.error().message);
    return false;
  }
  http_endpoint_ = *endpoint;
  std::string stomp_address = "off";
  if (config.stomp_port != 0) {
    auto stomp_endpoint =
        server_->listen_stream(config.stomp_port, *stomp_, metrics::ConnectionKind::stomp_tcp, stomp_tls_);
    if (!stomp_endpoint) {
      spdlog::error("STOMP port: {} (set stomp_port to another port, or 0 to turn STOMP over TCP off)",
                    stomp_endpoint.error().message);
      return false;
    }
    stomp_endpoint_ = *stomp_endpoint;
    stomp_address = stomp_endpoint->address().to_string() + ":" + std::to_string(stomp_endpoint->port());
  }
  server_->start();
  running_ = true;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::string address = endpoint->address().to_string() + ":" + std::to_string(endpoint->port());
  const bool tls = http_tls_ != nullptr;
  if (tls) spdlog::info("TLS on every port: {}", http_tls_->current()->description());
  if (config.stomp_port != 0) spdlog::info("backside STOMP listening on {}://{}", tls ? "tls" : "tcp", stomp_address);
  spdlog::info("backside listening on {}://{} (REST /<path>.json, streaming; Firebase SDK /.ws) — data in {}, durability {}, "
               "default database \"{}\", ready in {} ms",
               tls ? "https" : "http", address, config.data_dir, config.durability, config.default_namespace, elapsed.count());
  return true;
}

void App::drain(std::chrono::milliseconds delay, std::chrono::milliseconds timeout) {
  if (!running_) return;
  running_ = false;
  draining_ = true;
  if (delay.count() > 0) {
    spdlog::info("shutting down: /readyz answers 503; serving on for {} ms (shutdown_delay_seconds) before the drain",
                 delay.count());
    std::this_thread::sleep_for(delay);
  }
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + timeout;
  server_->stop_accepting();
  spdlog::info("draining: new connections are refused; answering the requests taken, then closing every "
               "connection (at most {} ms)",
               timeout.count());
  // Writes taken before the doors close are committed and their answers queued to their connections before the
  // connections are told to go: a client whose write was in flight still gets its acknowledgement.
  const bool answered = registry_->wait_answered(deadline);
  server_->close_connections();
  firebase_->close_long_polls();
  // Once each connection has closed its door has heard of it: its onDisconnect writes are queued, and the databases
  // stopping below run them.
  const std::size_t left = server_->wait_closed(deadline);
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (left != 0 || !answered) {
    spdlog::warn("drain timeout ({} ms) reached: {}{} connections still open are dropped", timeout.count(),
                 answered ? "" : "requests still being answered; ", left);
  } else {
    spdlog::info("drained in {} ms: every connection closed", elapsed);
  }
  registry_->stop_all();
  server_->stop();
}

bool App::open_tls(const Config& config) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    spdlog::error("TLS needs both tls_cert and tls_key (one of them is missing)");
    return false;
  }
  const bool client_certificates = config.tls_client_certificates != "none";
  if (config.tls_cert.empty()) {
    if (client_certificates || !config.tls_client_ca.empty()) {
      spdlog::error("tls_client_certificates and tls_client_ca need TLS: set tls_cert and tls_key too");
      return false;
    }
    return true;
  }
  net::TlsSettings http{.cert_file = config.tls_cert, .key_file = config.tls_key, .alpn = "http/1.1"};
  auto http_source = net::TlsContextSource::open(http);
  if (!http_source) {
    spdlog::error("{}", http_source.error().message);
    return false;
  }
  net::TlsSettings stomp{.cert_file = config.tls_cert, .key_file = config.tls_key, .session_tickets = false};
  stomp.client_ca_file = config.tls_client_ca;
  stomp.client_certificates = config.tls_client_certificates == "required"   ? net::ClientCertificates::required
                              : config.tls_client_certificates == "optional" ? net::ClientCertificates::optional
                                                                             : net::ClientCertificates::none;
  auto stomp_source = net::TlsContextSource::open(stomp);
  if (!stomp_source) {
    spdlog::error("{}", stomp_source.error().message);
    return false;
  }
  http_tls_ = std::move(*http_source);
  stomp_tls_ = std::move(*stomp_source);
  return true;
}

void App::reload_tls() {
  if (!http_tls_) {
    spdlog::info("received SIGHUP: no TLS configured, nothing to reload");
    return;
  }
  // Both ports or neither: one certificate for the server.
  auto http = net::TlsContext::load(http_tls_->settings());
  auto stomp = net::TlsContext::load(stomp_tls_->settings());
  if (!http || !stomp) {
    spdlog::error("received SIGHUP: TLS not reloaded, the certificate in use stays: {}",
                  (!http ? http.error() : stomp.error()).message);
    return;
  }
  http_tls_->use(std::move(*http));
  stomp_tls_->use(std::move(*stomp));
  spdlog::info("received SIGHUP: TLS reloaded for new connections: {}", http_tls_->current()->description());
}

void App::stop() { drain(std::chrono::milliseconds(0), std::chrono::milliseconds(1000)); }

}  // namespace backside::app
