#pragma once
// A REST streaming client (docs/rest.md, "Streaming"): one client session with one listen, whose view events are
// rendered as Server-Sent Events `put` / `patch`. The session gives it its identity and credential expiry: when the
// credential ends, the stream gets `auth_revoked` and closes.
#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <mutex>
#include <optional>

#include "db/database.h"
#include "net/http.h"
#include "proto/rest/read_timeout.h"
#include "proto/rest/reply_deadline.h"
#include "session/client_session.h"
#include "session/listen.h"
#include "tree/json_codec.h"

namespace backside::proto::rest {

// What the console shows of a value without sending it whole, as JSON members (no braces): `"children":N` for an
// object, `"value":V` for a leaf or null, and for a string over 1,000 bytes its start and `"length":BYTES`. Used by
// the change feed below and the console's page of children (console/console_handler.h).
void append_node_summary(std::string& out, const tree::Node* value);

class SseSubscriber : public session::SessionSubscriber, public std::enable_shared_from_this<SseSubscriber> {
 public:
  // What the events carry. `values`: REST streaming as Firebase has it (put / patch with the data). `changes`: the
  // admin console's change feed (docs/console.md): no initial value (`ready` instead) and, per change, its path
  // with a leaf's value or an object's number of children, never a subtree: a console watching the root of a large
  // database learns what changed without being sent the database.
  enum class Rendering { values, changes };

  // Streams `path` (and `query`) as `identity` to the client of `exchange`. The first delivery opens the stream
  // with the current value; a listen refused by the rules is answered as a plain request (401). With a `timeout`,
  // a stream not open by then is answered with the timeout's error (400) instead. `timers` runs the credential's
  // expiry timer and the timeout's.
  static void start(std::shared_ptr<net::HttpExchange> exchange, db::Database& database, tree::Format format,
                    tree::Path path, std::optional<tree::Query> query, identity::Identity identity,
                    boost::asio::any_io_executor timers, std::optional<ReadTimeout> timeout = std::nullopt,
                    Rendering rendering = Rendering::values);

  SseSubscriber(std::shared_ptr<net::HttpExchange> exchange, tree::Format format,
                Rendering rendering = Rendering::values);

  const std::string& render_key() const override { return render_key_; }
  std::shared_ptr<const std::string> render(const sync::ViewEvent& event) const override;
  void deliver(const std::shared_ptr<const std::string>& bytes) override;
  void revoked(const Error& why) override;

 private:
  // auth_revoked, then the end (the credential ended). Any thread.
  void end_stream_now();
  std::shared_ptr<const std::string> auth_revoked_event() const;

  std::shared_ptr<net::HttpExchange> exchange_;
  tree::Format format_;
  Rendering rendering_;
  std::string render_key_;
  // The stream's session: held by the stream while it is open (its close ends the session), weakly here.
  std::weak_ptr<session::ClientSession> session_;
  std::shared_ptr<identity::CredentialExpiry> credential_;

  // With a timeout: the stream's opening (or its refusal) takes the answer from it. Set before the listen starts.
  std::shared_ptr<ReplyDeadline> deadline_;

  std::mutex mutex_;
  bool started_ = false;  // the first delivery opened the stream
  // Weak: the server owns the stream until it closes, and the stream holds the session, which holds this.
  std::weak_ptr<net::EventStream> stream_;
};

}  // namespace backside::proto::rest
