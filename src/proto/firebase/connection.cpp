#include "proto/firebase/connection.h"

#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "db/write_path.h"
#include "session/client_session.h"
#include "proto/firebase/listen_subscriber.h"
#include "tree/json_codec.h"
#include "tree/json_parse.h"
#include "tree/query.h"
#include "util/secure_random.h"
#include "util/budgeted_json_storage.h"
#include "util/unix_time.h"

namespace backside::proto::firebase {

namespace json = boost::json;
using tree::Node;
using tree::Path;

namespace {

constexpr std::string_view kSessionIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::size_t kSessionIdLength = 32;

std::string random_session_id() { return secure_random_string(kSessionIdLength, kSessionIdAlphabet); }

// Whether `id` could be a session id this server gave: anything else names no kept onDisconnect, and is not worth
// a claim in the shared store.
bool could_be_session_id(std::string_view id) {
  return id.size() == kSessionIdLength && id.find_first_not_of(kSessionIdAlphabet) == std::string_view::npos;
}

std::shared_ptr<const std::string> control(std::string_view type, const json::value& data) {
  std::string out = "{\"t\":\"c\",\"d\":{\"t\":";
  tree::append_string(out, type);
  out += ",\"d\":";
  out += json::serialize(data);
  out += "}}";
  return std::make_shared<const std::string>(std::move(out));
}

std::optional<std::int64_t> as_int(const json::value* value) {
  if (!value) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(value->get_uint64());
  }
  if (value->is_double()) {
    double d = value->get_double();
    if (d == static_cast<double>(static_cast<std::int64_t>(d))) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

Result<db::WritePath> location_of(const json::object& body) {
  const json::value* p = body.if_contains("p");
  if (!p || !p->is_string()) return invalid("Missing path: \"p\" must be a string");
  return db::parse_write_path(std::string_view(p->get_string()));
}

Result<Path> path_of(const json::object& body) {
  auto location = location_of(body);
  if (!location) return location.error();
  if (location->priority) return invalid("Invalid path: a .priority location cannot be listened to or read");
  return std::move(location->path);
}

}  // namespace

std::string status_of(const Error& error) {
  switch (error.code) {
    case ErrorCode::permission_denied:
      return "permission_denied";
    case ErrorCode::invalid_token:
      return "invalid_token";
    case ErrorCode::hash_mismatch:
      return "datastale";
    case ErrorCode::too_large:
      return "too_big";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::invalid_argument:
    case ErrorCode::not_found:
      return "invalid_request";
    case ErrorCode::internal:
      break;
  }
  return "internal_error";
}

Connection::Connection(db::Database& database, const std::shared_ptr<net::WebSocketConnection>& socket,
                       const FirebaseOptions& options, std::string host)
    : socket_(socket),
      options_(options),
      host_(std::move(host)),
      session_id_(random_session_id()),
      decoder_(options.max_message_bytes),
      session_(session::ClientSession::create(
          database, options.limits,
          session::SessionHooks{
              .pause_reading = [socket = socket_](
                                   bool paused) { if (auto open = socket.lock()) open->pause_reading(paused); },
              .credential_ended =
                  [socket = socket_](const identity::CredentialExpiry& credential) {
                    if (auto open = socket.lock()) end_expired_credential(*open, credential);
                  },
              .client_id = session_id_,
              .label = "firebase connection " + session_id_,
              .door = metrics::Door::firebase},
          options.io ? boost::asio::any_io_executor(options.io->get_executor()) : boost::asio::any_io_executor())),
      reassembly_charge_(options.memory_budget, MemoryBudget::Use::incoming_message) {}

Connection::~Connection() = default;

void Connection::send_message(std::shared_ptr<const std::string> message) {
  if (auto socket = socket_.lock()) socket->send(std::move(message));
}

void Connection::close_socket(std::uint16_t code, std::string reason) {
  if (auto socket = socket_.lock()) socket->close(code, std::move(reason));
}

void Connection::open(const std::string& previous_session) {
  if (could_be_session_id(previous_session) && session_->database().pending_disconnects()) {
    auto socket = socket_.lock();
    if (socket) {
      holding_ = true;
      socket->pause_reading(true);
      session_->take_over_client(previous_session, [weak = weak_from_this(), socket = socket_] {
        if (auto open = socket.lock()) {
          open->post([weak] {
            if (auto self = weak.lock()) self->release_held_frames();
          });
        }
      });
    }
  }
  json::object handshake;
  handshake["ts"] = unix_millis();
  handshake["v"] = "5";
  handshake["h"] = host_;
  handshake["s"] = session_id_;
  send_message(control("h", handshake));
  if (options_.sessions) options_.sessions->add(session_id_, weak_from_this());
}

void Connection::end_replaced() {
  spdlog::info("firebase connection {}: replaced by a new connection of its client (ls)", session_id_);
  close_socket(1000, "replaced by a new connection of the same client");
}

void Connection::protocol_error(const std::string& reason) {
  spdlog::info("firebase connection {}: protocol error: {}", session_id_, reason);
  send_message(control("e", json::value(reason)));
  close_socket(1002, reason);
  closed_ = true;
}

void Connection::release_held_frames() {
  holding_ = false;
  std::vector<std::string> frames;
  frames.swap(held_frames_);
  for (auto& frame : frames) on_frame(std::move(frame));
  if (auto socket = socket_.lock(); socket && !closed_) socket->pause_reading(false);
}

void Connection::on_frame(std::string&& frame) {
  if (closed_) return;
  if (holding_) {
    // Reading is paused: at most what was already read waits here.
    held_frames_.push_back(std::move(frame));
    return;
  }
  auto message = decoder_.feed(std::move(frame));
  if (!message) {
    spdlog::info("firebase connection {}: {}", session_id_, message.error().message);
    send_message(control("e", json::value(message.error().message)));
    close_socket(1009, message.error().message);
    closed_ = true;
    return;
  }
  // The pieces of an unfinished message are charged to the server's memory budget, as partial WebSocket messages
  // are (the complete message is charged as parsed JSON from here on).
  if (!reassembly_charge_.resize(decoder_.buffered_bytes())) {
    decoder_.abandon();
    reassembly_charge_.release();
    const std::string reason = "the server has no memory left for incoming messages (max_buffered_bytes); try again later";
    send_message(control("e", json::value(reason)));
    close_socket(1008, reason);
    closed_ = true;
    return;
  }
  if (*message) on_message(**message);
}

void end_expired_credential(net::WebSocketConnection& socket, const identity::CredentialExpiry& expiry) {
  // `invalid_token` when the account ended: the SDK then refreshes its token rather than retrying the same one, and
  // the Auth SDK finds the account disabled or gone.
  const bool account = expiry.account_ended();
  const json::object revoked{{"t", "d"},
                             {"d", {{"a", "ac"}, {"b", {{"s", account ? "invalid_token" : "expired_token"},
                                                        {"d", expiry.why()}}}}}};
  socket.send(std::make_shared<const std::string>(json::serialize(revoked)));
  socket.close(1000, account ? "auth revoked" : "auth token expired");
}

void Connection::on_message(std::string_view text) {
  if (closed_) return;
  if (session_->credential_ended()) return;  // nothing more is taken from a connection whose credential ended
  json::parse_options parse_options;
  parse_options.max_depth = 256;  // data nests 32 levels below its location, plus envelopes and wrappers
  json::error_code ec;
  json::value message =
      tree::parse_json_value(text, ec, parse_options, budgeted_json_storage(options_.memory_budget, text.size()));
  if (ec == boost::system::errc::not_enough_memory) {
    return protocol_error("The server has no memory left for this message's data (max_buffered_bytes)");
  }
  if (ec) return protocol_error("Malformed message: not JSON (" + ec.message() + ")");
  if (!message.is_object()) return protocol_error("Malformed message: not a JSON object");
  json::object& envelope = message.get_object();
  const json::value* type = envelope.if_contains("t");
  json::value* data = envelope.if_contains("d");
  if (!type || !type->is_string() || !data || !data->is_object()) {
    return protocol_error("Malformed message: expected {\"t\":\"c\"|\"d\",\"d\":{...}}");
  }
  json::object& inner = data->get_object();
  if (type->get_string() == "c") {
    const json::value* control_type = inner.if_contains("t");
    if (control_type && control_type->is_string() && control_type->get_string() == "p") {
      send_message(control("o", json::object()));
    }
    // Other control messages (switch-ack "a", end-transmission "n") concern transport upgrades: nothing to do.
    return;
  }
  if (type->get_string() != "d") return protocol_error("Malformed message: unknown message type");
  auto number = as_int(inner.if_contains("r"));
  const json::value* action = inner.if_contains("a");
  json::value* body = inner.if_contains("b");
  if (!number) return protocol_error("Malformed request: \"r\" must be an integer");
  const Request r{*number, text.size()};
  session_->begin_request(r.bytes);
  if (!action || !action->is_string()) {
    return reply_error_later(r, invalid("Malformed request: \"a\" must be a string"));
  }
  if (body && !body->is_object()) {
    return reply_error_later(r, invalid("Malformed request: \"b\" must be an object"));
  }
  json::object empty;
  dispatch(r, action->get_string(), body ? body->get_object() : empty);
}

void Connection::dispatch(Request r, std::string_view action, Object& body) {
  if (action == "q" || action == "l") return handle_listen(r, body);
  if (action == "n") return handle_unlisten(r, body);
  if (action == "p") return handle_put(r, body);
  if (action == "m") return handle_merge(r, body);
  if (action == "g") return handle_get(r, body);
  if (action == "o" || action == "om" || action == "oc") return handle_on_disconnect(r, action, body);
  if (action == "auth" || action == "gauth" || action == "unauth") return handle_auth(r, action, body);
  if (action == "s" || action == "appcheck" || action == "unappeck") return reply_later(r, "ok", "");
  reply_error_later(r, invalid("Unknown action \"" + std::string(action) + "\""));
}

void Connection::send_reply(Request r, std::string_view status, const json::value& data) {
  std::string out = "{\"t\":\"d\",\"d\":{\"r\":";
  out += std::to_string(r.r);
  out += ",\"b\":{\"s\":";
  tree::append_string(out, status);
  out += ",\"d\":";
  out += json::serialize(data);
  out += "}}}";
  send_message(std::make_shared<const std::string>(std::move(out)));
  session_->end_request(r.bytes);
}

void Connection::reply_written(Request r, const db::WriteReply& reply) {
  if (reply.error) return send_reply(r, status_of(*reply.error), json::value(reply.error->message));
  send_reply(r, "ok", "");
}

void Connection::reply_later(Request r, std::string status, json::value data) {
  session_->database().run(
      [self = shared_from_this(), r, status = std::move(status), data = std::move(data)](const Node&) {
        self->send_reply(r, status, data);
      });
}

void Connection::reply_error_later(Request r, const Error& error) {
  reply_later(r, status_of(error), json::value(error.message));
}

void Connection::handle_listen(Request r, const Object& body) {
  auto path = path_of(body);
  if (!path) return reply_error_later(r, path.error());
  std::optional<tree::Query> query;
  std::optional<json::object> wire_query;
  if (const json::value* q = body.if_contains("q"); q && !q->is_null()) {
    if (!q->is_object()) return reply_error_later(r, invalid("Invalid query: \"q\" must be an object"));
    auto parsed = tree::Query::from_wire(q->get_object());
    if (!parsed) return reply_error_later(r, parsed.error());
    query = std::move(*parsed);
    wire_query = q->get_object();
  }
  std::optional<std::int64_t> tag;
  if (const json::value* t = body.if_contains("t"); t && !t->is_null()) {
    tag = as_int(t);
    if (!tag) return reply_error_later(r, invalid("Invalid tag: \"t\" must be an integer"));
  }
  std::string hash;
  if (const json::value* h = body.if_contains("h"); h && h->is_string()) hash = h->get_string();

  // One listen per path and query: listening again replaces it, as the SDK expects.
  std::string key = path->to_string() + "\n" + (query ? query->identifier() : std::string());
  auto subscriber =
      std::make_shared<ListenSubscriber>(socket_, session_, key, *path, tag, std::move(wire_query), hash);
  Status started = session_->listen(std::move(key), std::move(*path), std::move(query), std::move(subscriber),
                                    [self = shared_from_this(), r](const Result<sync::Hub::Handle>& handle) {
                                      if (!handle) {
                                        return self->send_reply(r, status_of(handle.error()),
                                                                json::value(handle.error().message));
                                      }
                                      self->send_reply(r, "ok", json::object());
                                    });
  if (!started) reply_error_later(r, started.error());
}

void Connection::handle_unlisten(Request r, const Object& body) {
  auto path = path_of(body);
  if (!path) return reply_error_later(r, path.error());
  std::string identifier;
  if (const json::value* q = body.if_contains("q"); q && q->is_object()) {
    auto parsed = tree::Query::from_wire(q->get_object());
    if (!parsed) return reply_error_later(r, parsed.error());
    identifier = parsed->identifier();
  }
  session_->unlisten(path->to_string() + "\n" + identifier);
  reply_later(r, "ok", "");
}

void Connection::handle_put(Request r, Object& body) {
  auto location = location_of(body);
  if (!location) return reply_error_later(r, location.error());
  db::WriteRequest request;
  request.op = location->priority ? db::WriteRequest::Op::set_priority : db::WriteRequest::Op::set;
  request.path = std::move(location->path);
  if (json::value* d = body.if_contains("d")) adopt_json(request.data, std::move(*d));
  if (const json::value* h = body.if_contains("h")) {
    if (!h->is_string()) return reply_error_later(r, invalid("Invalid hash: \"h\" must be a string"));
    request.if_hash = std::string(h->get_string());
  }
  session_->write(std::move(request),
                  [self = shared_from_this(), r](db::WriteReply&& reply) { self->reply_written(r, reply); });
}

void Connection::handle_merge(Request r, Object& body) {
  auto path = path_of(body);
  if (!path) return reply_error_later(r, path.error());
  json::value* d = body.if_contains("d");
  if (!d || !d->is_object()) return reply_error_later(r, invalid("Invalid merge: \"d\" must be an object"));
  db::WriteRequest request;
  request.op = db::WriteRequest::Op::update;
  request.path = std::move(*path);
  adopt_json(request.data, std::move(*d));
  session_->write(std::move(request),
                  [self = shared_from_this(), r](db::WriteReply&& reply) { self->reply_written(r, reply); });
}

void Connection::handle_get(Request r, const Object& body) {
  auto path = path_of(body);
  if (!path) return reply_error_later(r, path.error());
  std::optional<tree::Query> query;
  if (const json::value* q = body.if_contains("q"); q && q->is_object() && !q->get_object().empty()) {
    auto parsed = tree::Query::from_wire(q->get_object());
    if (!parsed) return reply_error_later(r, parsed.error());
    query = std::move(*parsed);
  }
  session_->read(*path, std::move(query),
                 [self = shared_from_this(), r](const Error* error, const Node& value) -> db::ReadSend {
                   if (error) {
                     return [self, r, status = std::string(status_of(*error)), message = error->message] {
                       self->send_reply(r, status, json::value(message));
                     };
                   }
                   std::string out = "{\"t\":\"d\",\"d\":{\"r\":";
                   out += std::to_string(r.r);
                   out += ",\"b\":{\"s\":\"ok\",\"d\":";
                   tree::append_json(out, value, {.format = tree::Format::export_});
                   out += "}}}";
                   return [self, r, out = std::make_shared<const std::string>(std::move(out))] {
                     self->send_message(out);
                     self->session_->end_request(r.bytes);
                   };
                 });
}

void Connection::handle_on_disconnect(Request r, std::string_view action, const Object& body) {
  auto answer = [self = shared_from_this(), r](const Status& status) {
    if (!status) return self->send_reply(r, status_of(status.error()), json::value(status.error().message));
    self->send_reply(r, "ok", "");
  };
  if (action == "oc") {
    auto path = path_of(body);
    if (!path) return reply_error_later(r, path.error());
    Status asked = session_->on_disconnect_cancel(std::move(*path), std::move(answer));
    if (!asked) reply_error_later(r, asked.error());
    return;
  }
  auto location = location_of(body);
  if (!location) return reply_error_later(r, location.error());
  const json::value* d = body.if_contains("d");
  json::value data = d ? *d : json::value(nullptr);
  const std::size_t bytes = json::serialize(data).size();
  Status asked = action == "o" ? session_->on_disconnect_set(std::move(*location), std::move(data), bytes, answer)
                : location->priority
                    ? Status(invalid("Invalid path for an update: ends in .priority"))
                    : session_->on_disconnect_update(std::move(location->path), std::move(data), bytes, answer);
  if (!asked) reply_error_later(r, asked.error());
}

void Connection::handle_auth(Request r, std::string_view action, const Object& body) {
  if (action == "unauth") {
    session_->authenticate(identity::Identity());
    return reply_later(r, "ok", "");
  }
  const json::value* cred = body.if_contains("cred");
  if (!cred || !cred->is_string()) return reply_later(r, "invalid_token", "Could not parse auth token.");
  auto identity = options_.authenticator->authenticate(session_->database().name(), cred->get_string());
  if (!identity) return reply_later(r, "invalid_token", json::value(identity.error().message));
  identity::Identity auth = std::move(*identity);
  if (auth.admin) {
    // firebase-admin acting as someone (databaseAuthVariableOverride): only an admin may choose who it is.
    if (const json::value* noauth = body.if_contains("noauth"); noauth && noauth->is_bool() && noauth->get_bool()) {
      auth = identity::Identity();
    } else if (const json::value* authvar = body.if_contains("authvar"); authvar && authvar->is_object()) {
      auth = identity::Identity::from_variable(authvar->get_object());
    }
  }
  const std::int64_t expires = auth.expires_at != 0 ? auth.expires_at : unix_millis() / 1000 + 3600;
  json::object reply;
  reply["auth"] = auth.variable ? *auth.variable : json::value(nullptr);
  if (auth.admin) reply["admin"] = true;
  reply["expires"] = expires;
  // If the credential ends (its expiry, its account), the session has the connection ended (`ac`).
  session_->authenticate(std::move(auth));
  reply_later(r, "ok", std::move(reply));
}

void Connection::on_close() {
  closed_ = true;
  if (options_.sessions) options_.sessions->remove(session_id_);
  session_->end();  // drops the listens, runs the onDisconnect writes
}

}  // namespace backside::proto::firebase
