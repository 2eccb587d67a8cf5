#pragma once
// The STOMP front door (docs/protocol.md): accepts STOMP over raw TCP (--stomp-port) and over WebSocket at /stomp,
// and runs one StompSession per connection. The session is transport-neutral: it reads bytes and writes frames through a small
// Transport interface, so a raw TCP listener can reuse it.
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "auth/authenticator.h"
#include "db/registry.h"
#include "net/http.h"
#include "util/memory_budget.h"

namespace backside::proto::stomp {

// Where a session writes. Thread-safe (called from I/O and database threads).
class Transport {
 public:
  virtual ~Transport() = default;
  virtual bool send(std::shared_ptr<const std::string> bytes) = 0;
  // One frame: `head` (this connection's own) then `body` (shared with other connections; not copied).
  virtual bool send(std::string head, std::shared_ptr<const std::string> body) = 0;
  // Flushes what is queued, then closes.
  virtual void close(std::string reason) = 0;
  // Runs `fn` where the session's bytes are delivered, after what runs there now.
  virtual void post(std::function<void()> fn) = 0;
  virtual const std::string& remote_address() const = 0;
  // Stops (true) or resumes (false) reading frames (backpressure). Thread-safe, never blocks.
  virtual void pause_reading(bool paused) = 0;
};

// Email/password sign-in to a database's users (the identity door's): `done` gets the identity, on any thread.
using PasswordSignIn =
    std::function<void(const std::string& database, const std::string& email, const std::string& password,
                       const std::string& address, std::function<void(Result<db::Auth>)> done)>;

struct StompOptions {
  std::uint32_t heartbeat_ms = 10000;            // our heart-beat offer both ways (0 = none)
  std::uint32_t connect_timeout_ms = 10000;      // a connection without CONNECT by then is closed (0 = no deadline)
  std::size_t max_pending_requests = 1000;       // SENDs a connection may have unanswered before reading pauses
  std::size_t max_pending_bytes = std::size_t(64) << 20;  // ... or this many bytes of their bodies
  std::string default_namespace = "default";     // the database of a CONNECT without `host`
  boost::asio::io_context* io = nullptr;         // runs the heart-beat timers; none = no heart-beats
  PasswordSignIn password_sign_in;               // CONNECT login=<email> passcode=<password>; unset = not offered
  // Server-wide budget charged by partial frames and open transactions (util/memory_budget.h); nullptr = none.
  MemoryBudget* memory_budget = nullptr;
};

class StompHandler : public net::StreamHandler {
 public:
  StompHandler(db::Registry& registry, const auth::Authenticator& authenticator, StompOptions options = {})
      : registry_(registry), authenticator_(authenticator), options_(options) {}
  // The I/O context for heart-beat timers (the server's, once it exists).
  void set_io_context(boost::asio::io_context& io) { options_.io = &io; }
  void set_password_sign_in(PasswordSignIn sign_in) { options_.password_sign_in = std::move(sign_in); }
  // For an upgrade to /stomp: picks v12.stomp, v11.stomp or v10.stomp (in that order of preference) among the
  // offered subprotocols; none offered is accepted too (the CONNECT frame negotiates the version anyway).
  net::WebSocketAccept accept_websocket(const net::HttpRequest& request,
                                        std::shared_ptr<net::WebSocketConnection> connection);
  // A raw TCP connection on the STOMP port (--stomp-port).
  std::shared_ptr<net::StreamEndpoint> accept_stream(std::shared_ptr<net::StreamConnection> connection) override;

 private:
  db::Registry& registry_;
  const auth::Authenticator& authenticator_;
  StompOptions options_;
};

}  // namespace backside::proto::stomp
