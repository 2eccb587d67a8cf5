#pragma once
// The whole server of `backside serve` as one object: the data-dir lock, the credentials (admin token, signing key,
// ID tokens), the memory budget, the databases, the four front doors, the HTTP router, the network server and its
// STOMP listener. serve() runs one until a signal; the HTTP fuzzer (http_request_fuzz.cpp) runs one in-process.
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "app/config.h"
#include "cluster/broker.h"
#include "store/pending_disconnects.h"
#include "store/shared_settings.h"
#include "app/data_dir_lock.h"
#include "metrics/registry.h"

namespace backside {
class MemoryBudget;
namespace auth {
class AcceptedUsers;
class Authenticator;
class Tenants;
class IdTokens;
class SigningKey;
class UserDirectories;
class AccountSweeper;
class PasswordHasher;
class PasswordSignIn;
}  // namespace auth
namespace db {
class Registry;
}
namespace net {
class Server;
class TlsContextSource;
}
namespace proto::rest {
class RestHandler;
}
namespace proto::firebase {
class FirebaseHandler;
}
namespace proto::stomp {
class StompHandler;
}
namespace proto::auth_api {
class IdentityHandler;
}
namespace console {
class ConsoleHandler;
class RulesPlayground;
}
}  // namespace backside

namespace backside::app {

class HttpRouter;
class OpsHandler;

class App {
 public:
  explicit App(Config config);
  ~App();  // stop()s a running server
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Locks the data dir, opens the databases, binds the ports and starts the I/O threads, logging as `backside
  // serve` does. false: it did not start, and the reason was logged. Call once.
  bool start();
  // The graceful shutdown of SIGTERM (docs/operations.md#shutdown). At once /readyz answers 503, while the server
  // goes on serving for `delay` (load balancers stop sending new clients). Then the drain, for at most `timeout`:
  // new connections are refused; the requests already taken are answered (writes committed, their answers
  // queued); every client is told in its protocol (WebSocket close 1001, a STOMP ERROR, the end of an event stream,
  // long polls answered with the close command) and its connection closes. Then, whatever the timeout left open is
  // dropped, every database finishes its queue durably (onDisconnect writes included) and the I/O threads stop.
  // Idempotent.
  void drain(std::chrono::milliseconds delay, std::chrono::milliseconds timeout);
  // drain() without delay and with a short timeout (1 s): the end of an in-process server (tests, the fuzzer).
  void stop();
  // SIGHUP: loads the TLS certificate and key files again for new connections (open ones keep theirs). A file
  // that cannot be used is logged and the certificate in use stays. Nothing to do without TLS.
  void reload_tls();

  // Once started: where the HTTP port and the STOMP port (nullopt: stomp_port 0, off) are bound.
  boost::asio::ip::tcp::endpoint http_endpoint() const { return http_endpoint_; }
  std::optional<boost::asio::ip::tcp::endpoint> stomp_endpoint() const { return stomp_endpoint_; }
  // Once started: the admin credential (configured, or the one stored in the data dir).
  const std::string& admin_token() const { return admin_token_; }

 private:
  // Loads the TLS settings into http_tls_ and stomp_tls_ (nothing without tls_cert); false, logged, if unusable.
  bool open_tls(const Config& config);

  // Declared in the order serve() used to build them: destroyed in reverse, each after what refers to it.
  Config config_;
  std::optional<DataDirLock> lock_;
  std::string admin_token_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::shared_ptr<const auth::SigningKey> signing_key_;
  std::unique_ptr<auth::Tenants> tenants_;
  std::unique_ptr<auth::AcceptedUsers> accepted_users_;  // before the ID tokens, which consult it
  std::shared_ptr<auth::IdTokens> id_tokens_;
  // Before the registry: sessions its subscribers keep alive give their charges back when it goes.
  std::unique_ptr<MemoryBudget> memory_budget_;
  std::unique_ptr<cluster::Broker> broker_;  // before the registry: its databases' subscriptions end first
  std::unique_ptr<store::PendingDisconnects> pending_disconnects_;  // before the registry, like the broker
  std::unique_ptr<store::SharedSettings> shared_settings_;          // the cluster's; before the registry
  std::unique_ptr<db::Registry> registry_;
  std::unique_ptr<proto::rest::RestHandler> rest_;
  std::unique_ptr<proto::firebase::FirebaseHandler> firebase_;
  std::unique_ptr<proto::stomp::StompHandler> stomp_;
  std::unique_ptr<auth::UserDirectories> user_directories_;
  std::unique_ptr<auth::AccountSweeper> account_sweeper_;  // after the directories it reaches: stops first
  std::unique_ptr<auth::PasswordSignIn> password_sign_in_;  // the Auth API's and STOMP's
  std::unique_ptr<proto::auth_api::IdentityHandler> identity_;
  std::atomic<bool> draining_{false};  // drain() began: /readyz fails
  std::unique_ptr<OpsHandler> ops_;
  std::unique_ptr<console::RulesPlayground> rules_playground_;
  // The metrics read from the databases and the memory budget at each scrape: dropped before them.
  metrics::Registry::Collection scraped_metrics_;
  std::unique_ptr<console::ConsoleHandler> console_;
  std::unique_ptr<HttpRouter> router_;
  // TLS on the HTTP port and on the STOMP port (which may ask for client certificates); null without TLS.
  std::shared_ptr<net::TlsContextSource> http_tls_;
  std::shared_ptr<net::TlsContextSource> stomp_tls_;
  std::unique_ptr<net::Server> server_;
  // Last, so destroyed first: it finishes the hashes queued on it when it goes, and their callbacks reach the
  // sign-in, the doors and the server's I/O context above.
  std::unique_ptr<auth::PasswordHasher> password_hasher_;
  boost::asio::ip::tcp::endpoint http_endpoint_;
  std::optional<boost::asio::ip::tcp::endpoint> stomp_endpoint_;
  bool running_ = false;
};

}  // namespace backside::app
