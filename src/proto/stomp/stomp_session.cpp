#include "proto/stomp/stomp_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <map>

#include "db/write_path.h"
#include "proto/stomp/stomp_subscriber.h"
#include "tree/json_codec.h"
#include "tree/json_parse.h"
#include "tree/query_params.h"
#include "util/budgeted_json_storage.h"

namespace backside::proto::stomp {

namespace {

const char* status_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::invalid_token: return "invalid_token";
    case ErrorCode::hash_mismatch: return "hash_mismatch";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::internal: break;
  }
  return "internal";
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Query headers (docs/protocol.md §5): the REST query parameters under STOMP names, with the same meaning and checks.
Result<std::optional<tree::Query>> query_of(const Frame& frame) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"start-at", "startAt"},         {"end-at", "endAt"},          {"equal-to", "equalTo"},
      {"start-after", "startAfter"},   {"end-before", "endBefore"},  {"limit-to-first", "limitToFirst"},
      {"limit-to-last", "limitToLast"}};
  std::map<std::string, std::string> params;
  if (const std::string* order = frame.header("order-by")) {
    params["orderBy"] = boost::json::serialize(boost::json::value(*order));  // REST takes it as a JSON string
  }
  for (const auto& [header, param] : kNames) {
    if (const std::string* value = frame.header(header)) params[param] = *value;
  }
  if (params.empty()) return std::optional<tree::Query>();
  return tree::parse_query_params(params);
}

std::optional<std::string> receipt_of(const Frame& frame) {
  if (const std::string* r = frame.header("receipt")) return *r;
  return std::nullopt;
}

}  // namespace

StompSession::StompSession(db::Registry& registry, const auth::Authenticator& authenticator,
                           const StompOptions& options, std::shared_ptr<net::Connection> connection)
    : registry_(registry),
      authenticator_(authenticator),
      options_(options),
      connection_(connection),
      remote_address_(connection->remote_address()),
      frame_charge_(options.memory_budget, MemoryBudget::Use::incoming_frame),
      transactions_(options.memory_budget) {
  last_received_ms_ = last_sent_ms_ = steady_ms();
}

StompSession::~StompSession() = default;

void StompSession::on_bytes(std::string_view data) {
  if (closed_ || credential_ended()) return;
  last_received_ms_ = steady_ms();  // any byte counts, heart-beat EOLs included
  std::vector<Frame> frames;
  auto status = decoder_.feed(data, frames);
  for (Frame& frame : frames) {
    if (closed_) return;
    if (connecting_) {  // a password check is running: what follows CONNECT waits for its answer
      if (held_.size() >= kMaxHeldFrames) return protocol_error("too many frames before CONNECTED", nullptr);
      held_.push_back(std::move(frame));
      continue;
    }
    handle(frame);
  }
  if (!status.ok() && !closed_) return protocol_error(status.error().message, nullptr);
  // A partial frame is charged to the server's memory budget (logged there when refused, rate-limited).
  if (!closed_ && !frame_charge_.resize(decoder_.buffered_bytes())) {
    decoder_.abandon();
    frame_charge_.release();
    protocol_error("the server has no memory left for incoming frames (max_buffered_bytes); try again later",
                   nullptr);
  }
}

void StompSession::start_connect_deadline() {
  if (!options_.io || options_.connect_timeout_ms == 0) return;
  connect_timer_ = std::make_unique<boost::asio::steady_timer>(*options_.io);
  connect_timer_->expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
  connect_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self || ec) return;
    auto connection = self->connection_.lock();
    if (!connection) return;
    connection->post([self] {
      if (self->closed_ || self->connected_ || self->connecting_) return;
      spdlog::info("stomp: closing a connection from {} that sent no CONNECT within {} ms",
                   self->remote_address_, self->options_.connect_timeout_ms);
      self->protocol_error("no CONNECT frame within " + std::to_string(self->options_.connect_timeout_ms) + " ms",
                           nullptr);
    });
  });
}

void StompSession::on_closed() {
  closed_ = true;
  transactions_.clear();  // open transactions are aborted
  decoder_.abandon();
  frame_charge_.release();
  if (session_) session_->end();  // drops the subscriptions, runs the on-disconnect writes
}

void StompSession::send_frame(Frame frame) {
  send_bytes(std::make_shared<const std::string>(encode(frame, version_)));
}

void StompSession::send_bytes(std::shared_ptr<const std::string> bytes) {
  std::lock_guard lock(send_mutex_);
  if (sending_ended_) return;  // after the last frame (an ERROR, a DISCONNECT's receipt) nothing goes out
  last_sent_ms_ = steady_ms();
  if (auto connection = connection_.lock()) connection->send(std::move(bytes));
}

void StompSession::send_message(std::string head, const std::shared_ptr<const std::string>& body) {
  std::lock_guard lock(send_mutex_);
  if (sending_ended_) return;
  last_sent_ms_ = steady_ms();
  if (auto connection = connection_.lock()) connection->send(std::move(head), body);
}

void StompSession::server_shutting_down() {
  Frame error;
  error.command = "ERROR";
  error.add("message", "server shutting down");
  error.add("content-type", "text/plain");
  error.body = "The server is shutting down. Reconnect, to this server once it is back or to another one: what was "
               "acknowledged (a RECEIPT with status ok) is durable; a SEND without one may not have been applied.";
  closed_ = true;  // nothing more is read from the client
  std::lock_guard lock(send_mutex_);
  if (sending_ended_) return;
  sending_ended_ = true;  // no MESSAGE or RECEIPT after the ERROR
  if (auto connection = connection_.lock()) {
    connection->send(std::make_shared<const std::string>(encode(error, connected_ ? version_ : Version::v1_0)));
  }
}

void StompSession::end_with(std::shared_ptr<const std::string> last, std::string reason) {
  std::lock_guard lock(send_mutex_);
  if (sending_ended_) return;
  sending_ended_ = true;
  auto connection = connection_.lock();
  if (!connection) return;
  if (last) connection->send(std::move(last));
  connection->close(std::move(reason));
}

void StompSession::end_for_credential(const identity::CredentialExpiry& credential) {
  auto connection = connection_.lock();
  if (!connection) return;
  connection->post([self = shared_from_this(), account = credential.account_ended(), why = credential.why()] {
    self->protocol_error(account ? "authentication revoked: " + why + " Reconnect with a valid credential."
                                 : "authentication expired: the credential is no longer valid; reconnect with a "
                                   "fresh token",
                         nullptr);
  });
}

void StompSession::cancel_subscription(const StompSubscriber& subscriber, ErrorCode code,
                                       const std::string& message) {
  if (session_) session_->listen_ended(subscriber.id(), &subscriber);
  Frame frame;
  frame.command = "MESSAGE";
  frame.add("subscription", subscriber.id());
  frame.add("message-id", std::to_string(next_message_id()));
  frame.add("destination", subscriber.destination());
  frame.add("event", "cancel");
  frame.add("status", status_name(code));
  frame.add("content-type", "application/json");
  std::string body;
  tree::append_string(body, message);
  frame.body = std::move(body);
  send_frame(std::move(frame));
}

void StompSession::protocol_error(const std::string& message, const Frame* frame) {
  Frame error;
  error.command = "ERROR";
  error.add("message", message);
  if (frame) {
    if (const std::string* receipt = frame->header("receipt")) error.add("receipt-id", *receipt);
  }
  error.add("content-type", "text/plain");
  error.body = message;
  // Before CONNECTED no version is agreed: header values go unescaped (as in 1.0), which every client reads.
  closed_ = true;
  end_with(std::make_shared<const std::string>(encode(error, connected_ ? version_ : Version::v1_0)),
           "STOMP protocol error: " + message);
}

void StompSession::receipt(const Frame& frame) {
  if (const std::string* id = frame.header("receipt")) {
    Frame r;
    r.command = "RECEIPT";
    r.add("receipt-id", *id);
    send_frame(std::move(r));
  }
}

void StompSession::send_receipt(const std::optional<std::string>& receipt_id, const std::optional<Error>& error) {
  if (!receipt_id) return;
  Frame r;
  r.command = "RECEIPT";
  r.add("receipt-id", *receipt_id);
  r.add("status", error ? status_name(error->code) : "ok");
  if (error) r.add("message", error->message);
  send_frame(std::move(r));
}

void StompSession::handle(const Frame& frame) {
  const std::string& command = frame.command;
  if (!connected_) {
    if (command == "CONNECT" || command == "STOMP") return connect(frame);
    return protocol_error("the first frame must be CONNECT or STOMP, not " + command, &frame);
  }
  if (command == "SEND") return send(frame);
  if (command == "SUBSCRIBE") return subscribe(frame);
  if (command == "UNSUBSCRIBE") return unsubscribe(frame);
  if (command == "ACK" || command == "NACK") return receipt(frame);
  if (command == "DISCONNECT") {
    receipt(frame);
    closed_ = true;
    end_with(nullptr, "DISCONNECT");
    return;
  }
  if (command == "CONNECT" || command == "STOMP") return protocol_error("already connected", &frame);
  if (command == "BEGIN") return begin(frame);
  if (command == "COMMIT") return commit(frame);
  if (command == "ABORT") return abort(frame);
  protocol_error("unknown command " + command, &frame);
}

void StompSession::connect(const Frame& frame) {
  std::string accept = frame.header("accept-version") ? *frame.header("accept-version") : "1.0";
  auto offers = [&](std::string_view v) {
    std::size_t start = 0;
    while (start <= accept.size()) {
      auto comma = accept.find(',', start);
      std::string_view item = std::string_view(accept).substr(start, comma == std::string::npos ? std::string::npos
                                                                                               : comma - start);
      if (item == v) return true;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return false;
  };
  std::string version;
  if (offers("1.2")) {
    version_ = Version::v1_2, version = "1.2";
  } else if (offers("1.1")) {
    version_ = Version::v1_1, version = "1.1";
  } else if (offers("1.0")) {
    version_ = Version::v1_0, version = "1.0";
  } else {
    Frame error;
    error.command = "ERROR";
    error.add("version", "1.2,1.1,1.0");
    error.add("message", "supported protocol versions are 1.2, 1.1 and 1.0");
    closed_ = true;
    end_with(std::make_shared<const std::string>(encode(error, version_)), "no common STOMP version");
    return;
  }
  decoder_.set_version(version_);
  const std::string* named = frame.header("host");
  std::string host = named && !named->empty() ? *named : options_.default_namespace;
  if (!db::Registry::valid_name(host)) return protocol_error("invalid database name in host: " + host, &frame);
  auto database = registry_.get(host);
  if (!database) return protocol_error("cannot open database " + host + ": " + database.error().message, &frame);
  // The credential: the passcode as a token (login, if any, is informational; the token names its own tenant), or
  // login = an email address and passcode = its password, checked off this thread, among the project's users or
  // those of the tenant the `tenant` header names.
  const std::string* login = frame.header("login");
  const std::string* passcode = frame.header("passcode");
  if (login && passcode && login->find('@') != std::string::npos && options_.password_sign_in) {
    const std::string* tenant = frame.header("tenant");
    connecting_ = true;
    auto self = shared_from_this();
    options_.password_sign_in(host, tenant ? *tenant : std::string(), *login, *passcode, remote_address_,
                              [self, frame, version, database = *database](Result<identity::Identity> identity) mutable {
                                auto connection = self->connection_.lock();
                                if (!connection) return;
                                connection->post([self, frame = std::move(frame), version, database,
                                                        identity = std::move(identity)]() mutable {
                                  self->finish_connect(frame, version, database, std::move(identity));
                                });
                              });
    return;
  }
  // Without a passcode, a client certificate the TLS handshake verified (tls_client_certificates) names the client:
  // its common name is the uid, until the certificate's end.
  if (!passcode) {
    if (auto connection = connection_.lock()) {
      if (auto certificate = connection->client_certificate()) {
        boost::json::object claims{{"sub", certificate->common_name},
                                   {"firebase", boost::json::object{{"sign_in_provider", "tls_certificate"}}}};
        if (certificate->not_after > 0) claims["exp"] = certificate->not_after;
        return finish_connect(frame, version, *database, identity::Identity::from_token_claims(claims));
      }
    }
  }
  finish_connect(frame, version, *database,
                 authenticator_.authenticate(host, passcode ? std::string_view(*passcode) : std::string_view()));
}

void StompSession::finish_connect(const Frame& frame, const std::string& version, db::Database* database,
                                  Result<identity::Identity> identity) {
  connecting_ = false;
  if (closed_) return;
  if (!identity) return protocol_error("authentication failed: " + identity.error().message, &frame);
  session_ = session::ClientSession::create(
      *database, options_.limits,
      session::SessionHooks{
          .pause_reading = [connection = connection_](
                               bool paused) { if (auto open = connection.lock()) open->pause_reading(paused); },
          // The session ends at its credential's end (expiry or account), on its connection's thread.
          .credential_ended =
              [weak = weak_from_this()](const identity::CredentialExpiry& credential) {
                if (auto self = weak.lock()) self->end_for_credential(credential);
              },
          .label = "stomp connection from " + remote_address_,
          .door = metrics::Door::stomp},
      options_.io ? boost::asio::any_io_executor(options_.io->get_executor()) : boost::asio::any_io_executor());
  session_->authenticate(std::move(*identity));
  connected_ = true;
  static std::atomic<std::uint64_t> sessions{0};
  Frame connected;
  connected.command = "CONNECTED";
  connected.add("version", version);
  connected.add("session", "s" + std::to_string(++sessions));
  connected.add("server", "backside/0.1.0");
  // Heart-beats (spec §Heart-beating): we can send every `heartbeat_ms` and want to hear from the client as often.
  const std::uint64_t ours = options_.heartbeat_ms;
  std::uint64_t client_sends = 0;
  std::uint64_t client_wants = 0;
  if (const std::string* beat = frame.header("heart-beat")) {
    const auto comma = beat->find(',');
    auto number = [](std::string_view text, std::uint64_t& out) {
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
      return ec == std::errc() && end == text.data() + text.size() && !text.empty();
    };
    if (comma == std::string::npos || !number(std::string_view(*beat).substr(0, comma), client_sends) ||
        !number(std::string_view(*beat).substr(comma + 1), client_wants)) {
      return protocol_error("heart-beat must be two integers: \"cx,cy\"", &frame);
    }
  }
  const std::uint64_t send_every = ours && client_wants ? std::max(ours, client_wants) : 0;
  const std::uint64_t expect_every = ours && client_sends ? std::max(ours, client_sends) : 0;
  connected.add("heart-beat", std::to_string(ours) + "," + std::to_string(ours));
  send_bytes(std::make_shared<const std::string>(encode(connected, version_, false)));
  start_heartbeats(send_every, expect_every);
  std::vector<Frame> held;
  held.swap(held_);
  for (Frame& next : held) {
    if (closed_) return;
    handle(next);
  }
}

void StompSession::subscribe(const Frame& frame) {
  const std::string* id = frame.header("id");
  const std::string* destination = frame.header("destination");
  if (!id || !destination) return protocol_error("SUBSCRIBE needs id and destination headers", &frame);
  auto path = tree::Path::parse(*destination);
  if (!path) return protocol_error("invalid destination: " + path.error().message, &frame);
  if (session_->has_listen(*id)) return protocol_error("subscription id already in use: " + *id, &frame);
  auto subscriber =
      std::make_shared<StompSubscriber>(weak_from_this(), session_->credential(), *id, *destination, version_);
  const std::optional<std::string> receipt_id = receipt_of(frame);
  auto query = query_of(frame);
  if (!query) {
    cancel_subscription(*subscriber, query.error().code, query.error().message);
    return send_receipt(receipt_id, query.error());
  }
  Status started = session_->listen(
      *id, std::move(*path), std::move(*query), subscriber,
      [self = shared_from_this(), subscriber, receipt_id](const Result<sync::Hub::Handle>& handle) {
        if (!handle) {
          self->cancel_subscription(*subscriber, handle.error().code, handle.error().message);
          return self->send_receipt(receipt_id, handle.error());
        }
        self->send_receipt(receipt_id, std::nullopt);
      });
  if (!started) {
    cancel_subscription(*subscriber, started.error().code, started.error().message);
    send_receipt(receipt_id, started.error());
  }
}

void StompSession::unsubscribe(const Frame& frame) {
  const std::string* id = frame.header("id");
  if (!id) return protocol_error("UNSUBSCRIBE needs an id header", &frame);
  // An unknown id is answered, not punished: the server may have ended the subscription (event:cancel).
  session_->unlisten(*id);
  receipt(frame);
}

void StompSession::send(const Frame& frame) {
  const std::string* destination = frame.header("destination");
  if (!destination) return protocol_error("SEND needs a destination header", &frame);
  const std::string* transaction = frame.header("transaction");
  if (transaction && !transactions_.is_open(*transaction)) {
    return protocol_error("unknown transaction " + *transaction, &frame);
  }
  const std::optional<std::string> receipt_id = receipt_of(frame);
  db::WriteRequest request;
  std::string method = frame.header("method") ? *frame.header("method") : "set";
  // on-disconnect:set|update|remove|cancel names the operation to store instead of applying it now (docs/protocol.md
  // §7).
  const std::string* when = frame.header("on-disconnect");
  std::optional<Error> refused;
  if (when) {
    if (*when != "set" && *when != "update" && *when != "remove" && *when != "cancel") {
      return protocol_error("on-disconnect must be set, update, remove or cancel, not " + *when, &frame);
    }
    if (frame.header("if-match")) refused = invalid("if-match cannot be used with on-disconnect");
    method = *when == "cancel" ? "remove" : *when;
  }
  if (method == "set" || method == "remove") {
    request.op = db::WriteRequest::Op::set;
  } else if (method == "update") {
    request.op = db::WriteRequest::Op::update;
  } else if (method == "push") {
    request.op = db::WriteRequest::Op::push;
  } else {
    return protocol_error("unknown method " + method, &frame);
  }
  if (!refused) {
    auto path = tree::Path::parse(*destination);
    if (!path) {
      refused = invalid("invalid destination: " + path.error().message);
    } else {
      request.path = std::move(*path);
    }
  }
  if (!refused && method != "remove") {
    boost::json::parse_options options;
    options.max_depth = 100;
    boost::system::error_code ec;
    adopt_json(request.data, tree::parse_json_value(frame.body, ec, options,
                                                    budgeted_json_storage(options_.memory_budget, frame.body.size())));
    if (ec == boost::system::errc::not_enough_memory) {
      refused = Error{ErrorCode::unavailable,
                      "the server has no memory left for this SEND's data (max_buffered_bytes); try again later"};
    } else if (ec) {
      refused = invalid("the body is not valid JSON: " + ec.message());
    } else if (const std::string* priority = frame.header("priority")) {
      auto p = tree::parse_json_value(*priority, ec);
      if (ec || !(p.is_number() || p.is_string() || p.is_null())) {
        refused = invalid("priority must be a JSON number or string");
      } else if (request.op == db::WriteRequest::Op::update) {
        refused = invalid("priority cannot be used with method update");
      } else {
        boost::json::object wrapped;
        wrapped[".value"] = std::move(request.data);
        wrapped[".priority"] = std::move(p);
        request.data = std::move(wrapped);
      }
    }
  }
  if (refused) {
    spdlog::debug("stomp: SEND to {} refused: {}", *destination, refused->message);
    if (transaction) transactions_.fail(*transaction, *refused);  // the COMMIT fails with it
    return send_receipt(receipt_id, refused);
  }
  if (transaction) {
    auto buffered = transactions_.buffer(*transaction, std::move(request), frame.body.size(),
                                         when || frame.header("if-match"));
    if (buffered.protocol_error) return protocol_error(*buffered.protocol_error, &frame);
    return send_receipt(receipt_id, buffered.refused);  // buffered; the COMMIT's RECEIPT says whether it was written
  }
  if (when) return store_on_disconnect(*when, std::move(request), frame.body.size(), receipt_id);
  if (const std::string* if_match = frame.header("if-match")) {
    request.if_hash = *if_match == "null_etag" ? std::string() : *if_match;
  }
  request.want_hash = true;
  const std::size_t bytes = frame.body.size();
  session_->begin_request(bytes);
  session_->write(std::move(request), [self = shared_from_this(), receipt_id, bytes](db::WriteReply&& reply) {
    self->session_->end_request(bytes);
    if (!receipt_id) return;
    Frame r;
    r.command = "RECEIPT";
    r.add("receipt-id", *receipt_id);
    if (reply.error) {
      r.add("status", status_name(reply.error->code));
      r.add("message", reply.error->message);
      if (reply.error->code == ErrorCode::hash_mismatch) {
        // The current value and its hash, read together: a client can retry its compare-and-set at once.
        r.add("etag", reply.current_hash.empty() ? "null_etag" : reply.current_hash);
        r.add("content-type", "application/json");
        r.body = tree::to_json(reply.current);
      }
    } else {
      r.add("status", "ok");
      if (!reply.push_key.empty()) r.add("key", reply.push_key);
      if (!reply.new_hash.empty()) r.add("etag", reply.new_hash);
    }
    self->send_frame(std::move(r));
  });
}

void StompSession::store_on_disconnect(const std::string& when, db::WriteRequest request, std::size_t body_bytes,
                                       const std::optional<std::string>& receipt_id) {
  auto answer = [self = shared_from_this(), receipt_id](const Status& status) {
    self->send_receipt(receipt_id, status ? std::nullopt : std::optional<Error>(status.error()));
  };
  if (when == "cancel") {
    Status asked = session_->on_disconnect_cancel(std::move(request.path), std::move(answer));
    if (!asked) send_receipt(receipt_id, asked.error());
    return;
  }
  if (request.op == db::WriteRequest::Op::push) {
    return send_receipt(receipt_id, invalid("push cannot be used with on-disconnect"));
  }
  Status asked = request.op == db::WriteRequest::Op::update
                     ? session_->on_disconnect_update(std::move(request.path), std::move(request.data), body_bytes,
                                                      answer)
                     : session_->on_disconnect_set({std::move(request.path), false}, std::move(request.data),
                                                   body_bytes, answer);
  if (!asked) send_receipt(receipt_id, asked.error());
}

void StompSession::begin(const Frame& frame) {
  const std::string* id = frame.header("transaction");
  if (!id) return protocol_error("BEGIN needs a transaction header", &frame);
  if (Status begun = transactions_.begin(*id); !begun) return protocol_error(begun.error().message, &frame);
  receipt(frame);
}

void StompSession::abort(const Frame& frame) {
  const std::string* id = frame.header("transaction");
  if (!id) return protocol_error("ABORT needs a transaction header", &frame);
  if (Status aborted = transactions_.abort(*id); !aborted) return protocol_error(aborted.error().message, &frame);
  receipt(frame);
}

void StompSession::commit(const Frame& frame) {
  const std::string* id = frame.header("transaction");
  if (!id) return protocol_error("COMMIT needs a transaction header", &frame);
  auto committed = transactions_.commit(*id);
  if (!committed) return protocol_error(committed.error().message, &frame);
  const std::optional<std::string> receipt_id = receipt_of(frame);
  if (committed->failure) return send_receipt(receipt_id, committed->failure);
  if (!committed->write) return send_receipt(receipt_id, std::nullopt);
  session_->write(std::move(*committed->write), [self = shared_from_this(), receipt_id](db::WriteReply&& reply) {
    self->send_receipt(receipt_id, reply.error);
  });
}

void StompSession::start_heartbeats(std::uint64_t send_every, std::uint64_t expect_every) {
  if (!options_.io || (send_every == 0 && expect_every == 0)) return;
  send_every_ = static_cast<std::int64_t>(send_every);
  expect_every_ = static_cast<std::int64_t>(expect_every);
  const std::uint64_t shortest = send_every && expect_every ? std::min(send_every, expect_every)
                                                           : std::max(send_every, expect_every);
  tick_ = std::chrono::milliseconds(std::max<std::uint64_t>(shortest / 2, 20));
  heartbeat_timer_ = std::make_unique<boost::asio::steady_timer>(*options_.io);
  arm_heartbeat();
}

void StompSession::arm_heartbeat() {
  heartbeat_timer_->expires_after(tick_);
  heartbeat_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self || ec || self->closed_) return;
    const std::int64_t now = steady_ms();
    if (self->expect_every_ && now - self->last_received_ms_ > 2 * self->expect_every_) {
      spdlog::info("stomp: closing a connection silent for more than {} ms (heart-beat)", 2 * self->expect_every_);
      self->closed_ = true;
      self->end_with(nullptr, "heart-beat timeout");
      return;
    }
    if (self->send_every_ && now - self->last_sent_ms_ >= self->send_every_) {
      static const auto kEol = std::make_shared<const std::string>("\n");
      self->send_bytes(kEol);
    }
    self->arm_heartbeat();
  });
}

}  // namespace backside::proto::stomp
