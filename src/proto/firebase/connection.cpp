#include "proto/firebase/connection.h"

#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "db/write_path.h"
#include "proto/firebase/listen_subscriber.h"
#include "tree/json_codec.h"
#include "tree/json_parse.h"
#include "tree/query.h"
#include "util/secure_random.h"
#include "util/budgeted_json_storage.h"

namespace backside::proto::firebase {

namespace json = boost::json;
using tree::Node;
using tree::Path;

namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string random_session_id() {
  return secure_random_string(32, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
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

Connection::Connection(db::Database& database, std::shared_ptr<Transport> transport, const FirebaseOptions& options,
                       std::string host)
    : database_(database),
      transport_(std::move(transport)),
      options_(options),
      host_(std::move(host)),
      session_id_(random_session_id()),
      decoder_(options.max_message_bytes),
      on_disconnect_quota_(options.max_on_disconnect, options.max_on_disconnect_bytes),
      reassembly_charge_(options.memory_budget, MemoryBudget::Use::incoming_message),
      credit_(options.max_pending_requests, 0, [this](bool paused) {
        if (paused) {
          spdlog::debug("firebase connection {}: {} requests unanswered, reading paused", session_id_,
                        options_.max_pending_requests);
        } else {
          spdlog::debug("firebase connection {}: half of its requests answered, reading resumed", session_id_);
        }
        transport_->pause_reading(paused);
      }) {}

Connection::~Connection() = default;

void Connection::open() {
  json::object handshake;
  handshake["ts"] = now_ms();
  handshake["v"] = "5";
  handshake["h"] = host_;
  handshake["s"] = session_id_;
  transport_->send(control("h", handshake));
  if (options_.sessions) options_.sessions->add(session_id_, weak_from_this());
}

void Connection::end_replaced() {
  spdlog::info("firebase connection {}: replaced by a new connection of its client (ls)", session_id_);
  transport_->close(1000, "replaced by a new connection of the same client");
}

void Connection::protocol_error(const std::string& reason) {
  spdlog::info("firebase connection {}: protocol error: {}", session_id_, reason);
  transport_->send(control("e", json::value(reason)));
  transport_->close(1002, reason);
  closed_ = true;
}

void Connection::on_frame(std::string&& frame) {
  if (closed_) return;
  auto message = decoder_.feed(std::move(frame));
  if (!message) {
    spdlog::info("firebase connection {}: {}", session_id_, message.error().message);
    transport_->send(control("e", json::value(message.error().message)));
    transport_->close(1009, message.error().message);
    closed_ = true;
    return;
  }
  // The pieces of an unfinished message are charged to the server's memory budget, as partial WebSocket messages
  // are (the complete message is charged as parsed JSON from here on).
  if (!reassembly_charge_.resize(decoder_.buffered_bytes())) {
    decoder_.abandon();
    reassembly_charge_.release();
    const std::string reason = "the server has no memory left for incoming messages (max_buffered_bytes); try again later";
    transport_->send(control("e", json::value(reason)));
    transport_->close(1008, reason);
    closed_ = true;
    return;
  }
  if (*message) on_message(**message);
}

void end_expired_credential(Transport& transport, const db::CredentialExpiry& expiry) {
  // `invalid_token` when the account ended: the SDK then refreshes its token rather than retrying the same one, and
  // the Auth SDK finds the account disabled or gone.
  const bool account = expiry.account_ended();
  const json::object revoked{{"t", "d"},
                             {"d", {{"a", "ac"}, {"b", {{"s", account ? "invalid_token" : "expired_token"},
                                                        {"d", expiry.why()}}}}}};
  transport.send(std::make_shared<const std::string>(json::serialize(revoked)));
  transport.close(1000, account ? "auth revoked" : "auth token expired");
}

void Connection::on_message(std::string_view text) {
  if (closed_) return;
  if (expiry_->expired()) {  // nothing more is taken from a connection whose credential ended
    if (expiry_->take_end()) end_expired_credential(*transport_, *expiry_);
    return;
  }
  json::parse_options parse_options;
  parse_options.max_depth = 256;  // data nests 32 levels below its location, plus envelopes and wrappers
  json::error_code ec;
  json::value message =
      tree::parse_json_value(text, ec, parse_options, budgeted_json_storage(options_.memory_budget));
  if (ec == boost::system::errc::not_enough_memory) {
    return protocol_error("The server has no memory left for this message's data (max_buffered_bytes)");
  }
  if (ec) return protocol_error("Malformed message: not JSON (" + ec.message() + ")");
  if (!message.is_object()) return protocol_error("Malformed message: not a JSON object");
  const json::object& envelope = message.get_object();
  const json::value* type = envelope.if_contains("t");
  const json::value* data = envelope.if_contains("d");
  if (!type || !type->is_string() || !data || !data->is_object()) {
    return protocol_error("Malformed message: expected {\"t\":\"c\"|\"d\",\"d\":{...}}");
  }
  const json::object& inner = data->get_object();
  if (type->get_string() == "c") {
    const json::value* control_type = inner.if_contains("t");
    if (control_type && control_type->is_string() && control_type->get_string() == "p") {
      transport_->send(control("o", json::object()));
    }
    // Other control messages (switch-ack "a", end-transmission "n") concern transport upgrades: nothing to do.
    return;
  }
  if (type->get_string() != "d") return protocol_error("Malformed message: unknown message type");
  auto r = as_int(inner.if_contains("r"));
  const json::value* action = inner.if_contains("a");
  const json::value* body = inner.if_contains("b");
  if (!r) return protocol_error("Malformed request: \"r\" must be an integer");
  begin_request();
  if (!action || !action->is_string()) {
    return reply_error_later(*r, invalid("Malformed request: \"a\" must be a string"));
  }
  static const json::object kEmpty;
  if (body && !body->is_object()) {
    return reply_error_later(*r, invalid("Malformed request: \"b\" must be an object"));
  }
  dispatch(*r, action->get_string(), body ? body->get_object() : kEmpty);
}

void Connection::dispatch(std::int64_t r, std::string_view action, const Object& body) {
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

void Connection::send_reply(std::int64_t r, std::string_view status, const json::value& data) {
  std::string out = "{\"t\":\"d\",\"d\":{\"r\":";
  out += std::to_string(r);
  out += ",\"b\":{\"s\":";
  tree::append_string(out, status);
  out += ",\"d\":";
  out += json::serialize(data);
  out += "}}}";
  transport_->send(std::make_shared<const std::string>(std::move(out)));
  end_request();
}

void Connection::begin_request() { credit_.begin(); }

void Connection::end_request() { credit_.end(); }

void Connection::reply_later(std::int64_t r, std::string status, json::value data) {
  database_.run([self = shared_from_this(), r, status = std::move(status), data = std::move(data)](const Node&) {
    self->send_reply(r, status, data);
  });
}

void Connection::reply_error_later(std::int64_t r, const Error& error) {
  reply_later(r, status_of(error), json::value(error.message));
}

void Connection::handle_listen(std::int64_t r, const Object& body) {
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

  std::string key = path->to_string() + "\n" + (query ? query->identifier() : std::string());
  if (auto existing = listens_.find(key); existing != listens_.end()) {
    existing->second->cancel(database_);
    listens_.erase(existing);
  }
  if (listens_.size() >= options_.max_listens) {
    return reply_error_later(r, {ErrorCode::too_large, "Too many listens on one connection (the limit is " +
                                                           std::to_string(options_.max_listens) + ")"});
  }
  auto subscriber = std::make_shared<ListenSubscriber>(transport_, expiry_, *path, tag, std::move(wire_query), hash);
  listens_[key] = subscriber;
  database_.listen(*path, std::move(query), auth_, subscriber,
                   [self = shared_from_this(), subscriber, r](Result<sync::Hub::Handle> handle) {
                     subscriber->on_listen_result(self->database_, handle);
                     if (!handle) {
                       self->send_reply(r, status_of(handle.error()), json::value(handle.error().message));
                     } else {
                       self->send_reply(r, "ok", json::object());
                     }
                   });
}

void Connection::handle_unlisten(std::int64_t r, const Object& body) {
  auto path = path_of(body);
  if (!path) return reply_error_later(r, path.error());
  std::string identifier;
  if (const json::value* q = body.if_contains("q"); q && q->is_object()) {
    auto parsed = tree::Query::from_wire(q->get_object());
    if (!parsed) return reply_error_later(r, parsed.error());
    identifier = parsed->identifier();
  }
  if (auto it = listens_.find(path->to_string() + "\n" + identifier); it != listens_.end()) {
    it->second->cancel(database_);
    listens_.erase(it);
  }
  reply_later(r, "ok", "");
}

void Connection::handle_put(std::int64_t r, const Object& body) {
  auto location = location_of(body);
  if (!location) return reply_error_later(r, location.error());
  db::WriteRequest request;
  request.op = location->priority ? db::WriteRequest::Op::set_priority : db::WriteRequest::Op::set;
  request.path = std::move(location->path);
  if (const json::value* d = body.if_contains("d")) request.data = *d;
  if (const json::value* h = body.if_contains("h")) {
    if (!h->is_string()) return reply_error_later(r, invalid("Invalid hash: \"h\" must be a string"));
    request.if_hash = std::string(h->get_string());
  }
  request.auth = auth_;
  database_.write(std::move(request), [self = shared_from_this(), r](db::WriteReply&& reply) {
    if (reply.error) return self->send_reply(r, status_of(*reply.error), json::value(reply.error->message));
    self->send_reply(r, "ok", "");
  });
}

void Connection::handle_merge(std::int64_t r, const Object& body) {
  auto path = path_of(body);
  if (!path) return reply_error_later(r, path.error());
  const json::value* d = body.if_contains("d");
  if (!d || !d->is_object()) return reply_error_later(r, invalid("Invalid merge: \"d\" must be an object"));
  db::WriteRequest request;
  request.op = db::WriteRequest::Op::update;
  request.path = std::move(*path);
  request.data = *d;
  request.auth = auth_;
  database_.write(std::move(request), [self = shared_from_this(), r](db::WriteReply&& reply) {
    if (reply.error) return self->send_reply(r, status_of(*reply.error), json::value(reply.error->message));
    self->send_reply(r, "ok", "");
  });
}

void Connection::handle_get(std::int64_t r, const Object& body) {
  auto path = path_of(body);
  if (!path) return reply_error_later(r, path.error());
  std::optional<tree::Query> query;
  if (const json::value* q = body.if_contains("q"); q && q->is_object() && !q->get_object().empty()) {
    auto parsed = tree::Query::from_wire(q->get_object());
    if (!parsed) return reply_error_later(r, parsed.error());
    query = std::move(*parsed);
  }
  database_.read(*path, std::move(query), auth_,
                 [self = shared_from_this(), r](const Error* error, const Node& value) {
                   if (error) return self->send_reply(r, status_of(*error), json::value(error->message));
                   std::string out = "{\"t\":\"d\",\"d\":{\"r\":";
                   out += std::to_string(r);
                   out += ",\"b\":{\"s\":\"ok\",\"d\":";
                   tree::append_json(out, value, {.format = tree::Format::export_});
                   out += "}}}";
                   self->transport_->send(std::make_shared<const std::string>(std::move(out)));
                   self->end_request();
                 });
}

void Connection::handle_on_disconnect(std::int64_t r, std::string_view action, const Object& body) {
  auto self = shared_from_this();
  if (action == "oc") {
    auto path = path_of(body);
    if (!path) return reply_error_later(r, path.error());
    // On the writer queue, so that it comes after every earlier o/om has been checked and stored.
    database_.run([self, r, path = std::move(*path)](const Node&) {
      {
        std::lock_guard lock(self->on_disconnect_mutex_);
        self->on_disconnect_.cancel(path);
      }
      self->send_reply(r, "ok", "");
    });
    return;
  }
  auto location = location_of(body);
  if (!location) return reply_error_later(r, location.error());
  const json::value* d = body.if_contains("d");
  json::value data = d ? *d : json::value(nullptr);
  // Bounded in bytes as well as in count: what is stored stays in memory until the connection ends.
  if (Status admitted = on_disconnect_quota_.admit(json::serialize(data).size()); !admitted) {
    return reply_error_later(r, admitted.error());
  }
  if (action == "om") {
    if (location->priority) return reply_error_later(r, invalid("Invalid path for an update: ends in .priority"));
    if (!data.is_object()) return reply_error_later(r, invalid("Invalid onDisconnect update: \"d\" must be an object"));
  }
  // The operation is checked now as the write it will become (keys, depth, server values, and the security rules
  // for this connection's identity), so that a bad or forbidden operation fails here, not silently at disconnect.
  db::WriteRequest probe;
  probe.dry_run = true;
  probe.auth = auth_;
  probe.path = location->path;
  probe.op = action == "om"             ? db::WriteRequest::Op::update
             : location->priority       ? db::WriteRequest::Op::set_priority
                                        : db::WriteRequest::Op::set;
  probe.data = data;
  database_.write(std::move(probe), [self, r, update = action == "om", location = std::move(*location),
                                     data = std::move(data)](db::WriteReply&& reply) {
    if (reply.error) return self->send_reply(r, status_of(*reply.error), json::value(reply.error->message));
    {
      std::lock_guard lock(self->on_disconnect_mutex_);
      if (!update) {
        self->on_disconnect_.set(location, data);
      } else {
        for (const auto& [key, value] : data.get_object()) {
          auto relative = db::parse_write_path(std::string_view(key));  // checked by the probe
          if (relative) self->on_disconnect_.set({location.path.child(relative->path), relative->priority}, value);
        }
      }
    }
    self->send_reply(r, "ok", "");
  });
}

void Connection::handle_auth(std::int64_t r, std::string_view action, const Object& body) {
  if (action == "unauth") {
    auth_ = db::Auth();
    expiry_->clear();
    return reply_later(r, "ok", "");
  }
  const json::value* cred = body.if_contains("cred");
  if (!cred || !cred->is_string()) return reply_later(r, "invalid_token", "Could not parse auth token.");
  auto identity = options_.authenticator->authenticate(database_.name(), cred->get_string());
  if (!identity) return reply_later(r, "invalid_token", json::value(identity.error().message));
  db::Auth auth = std::move(*identity);
  if (auth.admin) {
    // firebase-admin acting as someone (databaseAuthVariableOverride): only an admin may choose who it is.
    if (const json::value* noauth = body.if_contains("noauth"); noauth && noauth->is_bool() && noauth->get_bool()) {
      auth = db::Auth();
    } else if (const json::value* authvar = body.if_contains("authvar"); authvar && authvar->is_object()) {
      auth = db::Auth::from_variable(authvar->get_object());
    }
  }
  const std::int64_t expires = auth.expires_at != 0 ? auth.expires_at : now_ms() / 1000 + 3600;
  json::object reply;
  reply["auth"] = auth.variable ? *auth.variable : json::value(nullptr);
  if (auth.admin) reply["admin"] = true;
  reply["expires"] = expires;
  // If the account behind the token ends, the connection ends at once (from whichever thread ends it).
  expiry_->set(auth, [transport = std::weak_ptr<Transport>(transport_),
                      expiry = std::weak_ptr<db::CredentialExpiry>(expiry_)] {
    auto open = transport.lock();
    auto credential = expiry.lock();
    if (open && credential && credential->take_end()) end_expired_credential(*open, *credential);
  });
  auth_ = std::move(auth);
  reply_later(r, "ok", std::move(reply));
}

void Connection::on_close() {
  closed_ = true;
  if (options_.sessions) options_.sessions->remove(session_id_);
  for (auto& [key, subscriber] : listens_) subscriber->cancel(database_);
  listens_.clear();
  // On the writer queue: every o/om still being checked is stored by then.
  database_.run([self = shared_from_this(), auth = auth_](const Node&) {
    std::optional<db::WriteRequest> request;
    {
      std::lock_guard lock(self->on_disconnect_mutex_);
      request = self->on_disconnect_.to_write(auth);
      self->on_disconnect_.clear();
    }
    if (!request) return;
    self->database_.write(std::move(*request), [session = self->session_id_](db::WriteReply&& reply) {
      if (reply.error) {
        spdlog::warn("firebase connection {}: onDisconnect write failed: {}", session, reply.error->message);
      }
    });
  });
}

}  // namespace backside::proto::firebase
