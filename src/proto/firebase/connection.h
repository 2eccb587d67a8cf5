#pragma once
// One Firebase Realtime Database client connection (reference §1-§3), independent of its transport (WebSocket
// now, long-poll later): the handshake, control messages, and the requests of §2 translated into core calls.
//
// Ordering (§1.5): requests are taken in arrival order and every reply goes through the database's writer queue
// (write/read/listen callbacks, or Database::run for requests answered locally), so replies leave in request
// order, and the pushes a request causes (delivered by the writer before it answers) go before its reply.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "auth/authenticator.h"
#include "db/auth.h"
#include "db/credential_expiry.h"
#include "db/database.h"
#include "db/on_disconnect.h"
#include "db/request_credit.h"
#include "proto/firebase/frame_codec.h"
#include "proto/firebase/session_registry.h"
#include "sync/subscriber.h"
#include "util/memory_budget.h"

namespace backside::proto::firebase {

struct FirebaseOptions {
  const auth::Authenticator* authenticator = nullptr;  // required
  std::string default_namespace = "default";
  std::size_t max_message_bytes = std::size_t(16) << 20;  // one reassembled client message
  std::size_t max_listens = 10000;                        // per connection
  std::size_t max_on_disconnect = db::OnDisconnectQuota::kMaxOperations;  // onDisconnect requests per connection
  std::size_t max_on_disconnect_bytes = db::OnDisconnectQuota::kMaxBytes;  // ... and bytes of their data
  // Requests taken but not yet answered, per connection: at this many the connection stops reading (it resumes
  // at half), so a client sending faster than the database answers cannot queue work without bound.
  std::size_t max_pending_requests = 1000;
  MemoryBudget* memory_budget = nullptr;  // charged by each message's JSON until it is applied (nullptr = none)
  SessionRegistry* sessions = nullptr;     // where connections are found by session id (`ls`); nullptr = nowhere
};

// Where a connection's messages go: frames them for its transport. Thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one complete message (JSON text). False if the transport is closed.
  virtual bool send(const std::shared_ptr<const std::string>& message) = 0;
  // Sends several messages in order.
  virtual bool send_all(std::span<const std::shared_ptr<const std::string>> messages) {
    for (const auto& message : messages) {
      if (!send(message)) return false;
    }
    return true;
  }
  // Ends the connection after what is queued (code: a WebSocket close code).
  virtual void close(std::uint16_t code, const std::string& reason) = 0;
  // Backpressure: stop/resume taking messages from the client (a no-op where the transport bounds itself).
  virtual void pause_reading(bool /*paused*/) {}
};

class ListenSubscriber;

// The end of a connection whose credential ended (db/credential_expiry.h) in this protocol (reference §3.1 `ac`):
// `ac` ("expired_token" at the token's expiry, "invalid_token" when its account ended), then the close; the SDK
// reconnects with a fresh token.
void end_expired_credential(Transport& transport, const db::CredentialExpiry& expiry);

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(db::Database& database, std::shared_ptr<Transport> transport, const FirebaseOptions& options,
             std::string host);
  ~Connection();

  const std::string& session_id() const { return session_id_; }

  // The transport's thread calls these one at a time, in order.
  void open();                            // sends the handshake
  void on_frame(std::string&& frame);     // one WebSocket frame (count frames and pieces reassembled here)
  void on_message(std::string_view text);  // one complete message
  void on_close();                        // runs the onDisconnect writes, drops the listens
  // Ends the connection because its client opened a new one naming it (`ls`). Any thread.
  void end_replaced();

 private:
  using Object = boost::json::object;
  void dispatch(std::int64_t r, std::string_view action, const Object& body);
  void protocol_error(const std::string& reason);

  void handle_listen(std::int64_t r, const Object& body);
  void handle_unlisten(std::int64_t r, const Object& body);
  void handle_put(std::int64_t r, const Object& body);
  void handle_merge(std::int64_t r, const Object& body);
  void handle_get(std::int64_t r, const Object& body);
  void handle_on_disconnect(std::int64_t r, std::string_view action, const Object& body);
  void handle_auth(std::int64_t r, std::string_view action, const Object& body);

  // Replies, in request order (through the writer queue).
  void reply_later(std::int64_t r, std::string status, boost::json::value data);
  void reply_error_later(std::int64_t r, const Error& error);
  void send_reply(std::int64_t r, std::string_view status, const boost::json::value& data);

  db::Database& database_;
  std::shared_ptr<Transport> transport_;
  const FirebaseOptions& options_;
  std::string host_;
  std::string session_id_;
  FrameDecoder decoder_;
  bool closed_ = false;
  db::Auth auth_;
  std::shared_ptr<db::CredentialExpiry> expiry_ = std::make_shared<db::CredentialExpiry>();
  std::map<std::string, std::shared_ptr<ListenSubscriber>> listens_;  // by path + "\n" + query identifier
  std::mutex on_disconnect_mutex_;  // o/om are stored from database callbacks
  db::OnDisconnect on_disconnect_;
  db::OnDisconnectQuota on_disconnect_quota_;
  MemoryCharge reassembly_charge_;  // the pieces of an unfinished multi-frame message (decoder_)
  void begin_request();  // a request with an `r` was taken
  void end_request();    // its reply was sent
  db::RequestCredit credit_;  // after transport_, which it pauses
};

// The status string of a core error on the wire (§3.1): permission_denied, datastale, too_big, ...
std::string status_of(const Error& error);

}  // namespace backside::proto::firebase
