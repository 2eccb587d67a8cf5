#pragma once
// One Firebase Realtime Database client connection, on a WebSocket or a long-poll session alike: the
// handshake, control messages, and the requests (listen, put, merge, get, onDisconnect, auth) translated into calls on
// its client session (session/client_session.h).
//
// Ordering: requests are taken in arrival order and every reply goes through the database's writer queue
// (write/read/listen callbacks, or Database::run for requests answered locally), so replies leave in request
// order, and the pushes a request causes (delivered by the writer before it answers) go before its reply.
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "db/database.h"
#include "identity/credential_expiry.h"
#include "net/http.h"
#include "session/client_session.h"
#include "proto/firebase/frame_codec.h"
#include "proto/firebase/session_registry.h"
#include "sync/subscriber.h"
#include "util/memory_budget.h"

namespace backside::proto::firebase {

struct FirebaseOptions {
  const auth::Authenticator* authenticator = nullptr;  // required
  std::string default_namespace = "default";
  std::size_t max_message_bytes = std::size_t(16) << 20;  // one reassembled client message
  // Listens, onDisconnect operations and unanswered requests per connection (session/client_session.h).
  session::SessionLimits limits;
  MemoryBudget* memory_budget = nullptr;  // charged by each message's JSON until it is applied (nullptr = none)
  SessionRegistry* sessions = nullptr;     // where connections are found by session id (`ls`); nullptr = nowhere
  boost::asio::io_context* io = nullptr;   // runs the credentials' expiry timers (none: noticed on the next frame)
};

class ListenSubscriber;

// The end of a connection whose credential ended (identity/credential_expiry.h) in this protocol (the `ac` push):
// `ac` ("expired_token" at the token's expiry, "invalid_token" when its account ended), then the close; the SDK
// reconnects with a fresh token.
void end_expired_credential(net::WebSocketConnection& socket, const identity::CredentialExpiry& expiry);

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `socket`: where the connection's messages go, a WebSocket or a long-poll session (long_poll_session.h). Held
  // weakly: the socket owns its endpoint, which owns this connection.
  Connection(db::Database& database, const std::shared_ptr<net::WebSocketConnection>& socket,
             const FirebaseOptions& options, std::string host);
  ~Connection();

  const std::string& session_id() const { return session_id_; }

  // The socket's thread calls these one at a time, in order.
  // Sends the handshake. `previous_session`: the `ls` the client named. In a cluster its previous connection may
  // have been on another node (maybe one that died): its kept onDisconnect writes run first, and this connection's
  // frames are held (reading paused) until they are on their way (ClientSession::take_over_client).
  void open(const std::string& previous_session = {});
  void on_frame(std::string&& frame);     // one WebSocket frame (count frames and pieces reassembled here)
  void on_message(std::string_view text);  // one complete message
  void on_close();                        // runs the onDisconnect writes, drops the listens
  // Ends the connection because its client opened a new one naming it (`ls`). Any thread.
  void end_replaced();

 private:
  using Object = boost::json::object;
  // A request taken from the client: its number, and the size of its message, counted against the session's
  // request credit until its reply is sent.
  struct Request {
    std::int64_t r = 0;
    std::size_t bytes = 0;
  };
  // A write's data is taken out of `body` (moved, with its storage), not copied.
  void dispatch(Request r, std::string_view action, Object& body);
  void protocol_error(const std::string& reason);
  // What goes to the socket (nothing once it is gone).
  void send_message(std::shared_ptr<const std::string> message);
  void close_socket(std::uint16_t code, std::string reason);

  void handle_listen(Request r, const Object& body);
  void handle_unlisten(Request r, const Object& body);
  void handle_put(Request r, Object& body);
  void handle_merge(Request r, Object& body);
  void handle_get(Request r, const Object& body);
  void handle_on_disconnect(Request r, std::string_view action, const Object& body);
  void handle_auth(Request r, std::string_view action, const Object& body);

  // Replies, in request order (through the writer queue).
  void reply_later(Request r, std::string status, boost::json::value data);
  void reply_error_later(Request r, const Error& error);
  void send_reply(Request r, std::string_view status, const boost::json::value& data);
  // A write's answer: ok, or its error's status and message.
  void reply_written(Request r, const db::WriteReply& reply);

  std::weak_ptr<net::WebSocketConnection> socket_;
  const FirebaseOptions& options_;
  std::string host_;
  std::string session_id_;
  FrameDecoder decoder_;
  bool closed_ = false;
  // Frames that arrived while the previous connection's onDisconnect writes were being claimed (open()).
  bool holding_ = false;
  std::vector<std::string> held_frames_;
  void release_held_frames();
  std::shared_ptr<session::ClientSession> session_;  // after socket_, which its hooks reach
  MemoryCharge reassembly_charge_;  // the pieces of an unfinished multi-frame message (decoder_)
};

// The status string of a core error on the wire: permission_denied, datastale, too_big, ...
std::string status_of(const Error& error);

}  // namespace backside::proto::firebase
