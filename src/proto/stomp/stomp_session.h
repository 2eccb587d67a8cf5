#pragma once
// One STOMP connection (docs/protocol.md), whatever carries it (raw TCP or WebSocket: a net::Connection): STOMP frames in, frames
// out. CONNECT opens a client session (session/client_session.h) on the database named by `host`; SUBSCRIBE,
// UNSUBSCRIBE and SEND (with on-disconnect) become that session's listens, writes and onDisconnect operations;
// BEGIN/COMMIT/ABORT buffer SENDs (proto/stomp/transactions.h). Heart-beats and the CONNECT deadline are the
// protocol's own and live here.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "db/registry.h"
#include "net/http.h"
#include "proto/stomp/frame.h"
#include "proto/stomp/transactions.h"
#include "session/client_session.h"
#include "util/memory_budget.h"

namespace backside::proto::stomp {

// Email/password sign-in to the project's users, or to a tenant's ("" = the project's), for a session on `database`
// (auth::PasswordSignIn, which the app wires in): `done` gets the identity, on any thread.
using PasswordSignIn = std::function<void(const std::string& database, const std::string& tenant,
                                          const std::string& email, const std::string& password,
                                          const std::string& address,
                                          std::function<void(Result<identity::Identity>)> done)>;

struct StompOptions {
  std::uint32_t heartbeat_ms = 10000;            // our heart-beat offer both ways (0 = none)
  std::uint32_t connect_timeout_ms = 10000;      // a connection without CONNECT by then is closed (0 = no deadline)
  // Listens, onDisconnect operations and unanswered SENDs (count and bytes) per connection.
  session::SessionLimits limits;
  std::string default_namespace = "default";     // the database of a CONNECT without `host`
  boost::asio::io_context* io = nullptr;         // runs the heart-beat and expiry timers; none = neither
  // CONNECT login=<email> passcode=<password> [tenant=<id>]; unset = not offered
  PasswordSignIn password_sign_in;
  // Server-wide budget charged by partial frames and open transactions (util/memory_budget.h); nullptr = none.
  MemoryBudget* memory_budget = nullptr;
};

class StompSubscriber;

class StompSession : public std::enable_shared_from_this<StompSession> {
 public:
  // `connection` carries the session (raw TCP or a WebSocket). It owns the session's endpoint, which drops the session
  // when the connection closes (the connection is kept alive by its session while it is open).
  StompSession(db::Registry& registry, const auth::Authenticator& authenticator, const StompOptions& options,
               std::shared_ptr<net::Connection> connection);
  ~StompSession();

  // The connection's thread calls these one at a time, in order.
  void on_bytes(std::string_view data);
  // A connection must send CONNECT within the deadline, or it is closed: an unauthenticated client cannot hold a
  // connection (a file descriptor, a session) without ever saying who it is.
  void start_connect_deadline();
  void on_closed();
  // The server is shutting down: an ERROR ("server shutting down") is the last frame; the connection closes right
  // after (docs/protocol.md).
  void server_shutting_down();

  // For the subscriptions, on the database's threads.
  void send_bytes(std::shared_ptr<const std::string> bytes);
  // A MESSAGE: its subscription's head, then the body shared by every subscriber of the view.
  void send_message(std::string head, const std::shared_ptr<const std::string>& body);
  std::uint64_t next_message_id() { return ++message_ids_; }
  // True (and the client told, once) if the credential has ended.
  bool credential_ended() { return session_ && session_->credential_ended(); }
  // Ends a subscription from the server side (refused or revoked by the rules, database closing): a MESSAGE with
  // `event:cancel` and a `status`, like the REST stream's cancel event; the connection stays open.
  void cancel_subscription(const StompSubscriber& subscriber, ErrorCode code, const std::string& message);

 private:
  void handle(const Frame& frame);
  void connect(const Frame& frame);
  void finish_connect(const Frame& frame, const std::string& version, db::Database* database,
                      Result<identity::Identity> identity);
  void subscribe(const Frame& frame);
  void unsubscribe(const Frame& frame);
  void send(const Frame& frame);
  void begin(const Frame& frame);
  void commit(const Frame& frame);
  void abort(const Frame& frame);
  // on-disconnect (docs/protocol.md §7): stored in the session, checked as it will run; cancel forgets what is stored
  // below.
  void store_on_disconnect(const std::string& when, db::WriteRequest request, std::size_t body_bytes,
                           const std::optional<std::string>& receipt_id);

  void send_frame(Frame frame);
  // Sends `last` (if any) as the connection's last frame and closes it. Deliveries run on database threads, so the
  // check and the close are one step: no MESSAGE can slip in after an ERROR.
  void end_with(std::shared_ptr<const std::string> last, std::string reason);
  void protocol_error(const std::string& message, const Frame* frame);
  void receipt(const Frame& frame);
  // A RECEIPT (if one was asked for) with status ok or the error's status.
  void send_receipt(const std::optional<std::string>& receipt_id, const std::optional<Error>& error);
  // The credential's end in this protocol: an ERROR, then the close.
  void end_for_credential(const identity::CredentialExpiry& credential);

  // Sends an EOL when nothing else went out for `send_every` ms; closes the connection when nothing came in for
  // twice `expect_every` ms (the spec's tolerance for a late heart-beat). 0 = not negotiated.
  void start_heartbeats(std::uint64_t send_every, std::uint64_t expect_every);
  void arm_heartbeat();

  db::Registry& registry_;
  const auth::Authenticator& authenticator_;
  const StompOptions& options_;
  // Weak: the connection owns its endpoint, which owns this session (the server's session set keeps the
  // connection until it closes).
  std::weak_ptr<net::Connection> connection_;
  const std::string remote_address_;
  std::shared_ptr<session::ClientSession> session_;  // from CONNECT on
  // The server-wide budget's share of this connection: its partial frame (and its transactions, inside them).
  MemoryCharge frame_charge_;
  Transactions transactions_;
  Decoder decoder_;
  Version version_ = Version::v1_2;
  bool connected_ = false;
  std::atomic<bool> closed_{false};
  bool connecting_ = false;  // CONNECT's password check is running
  std::vector<Frame> held_;  // frames received meanwhile
  static constexpr std::size_t kMaxHeldFrames = 1000;
  std::atomic<std::uint64_t> message_ids_{0};

  std::atomic<std::int64_t> last_received_ms_{0};
  std::atomic<std::int64_t> last_sent_ms_{0};
  std::mutex send_mutex_;       // one sender at a time, and end_with() as one step
  bool sending_ended_ = false;  // under send_mutex_
  std::int64_t send_every_ = 0;
  std::int64_t expect_every_ = 0;
  std::chrono::milliseconds tick_{1000};
  std::unique_ptr<boost::asio::steady_timer> heartbeat_timer_;  // only its own handler re-arms it
  std::unique_ptr<boost::asio::steady_timer> connect_timer_;
};

}  // namespace backside::proto::stomp
