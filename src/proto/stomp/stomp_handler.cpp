#include "proto/stomp/stomp_handler.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>

#include "db/credential_expiry.h"
#include "db/database.h"
#include "db/on_disconnect.h"
#include "db/request_credit.h"
#include "db/write_path.h"
#include "proto/stomp/frame.h"
#include "proto/rest/rest_query.h"
#include "proto/stomp/message.h"
#include "tree/json_codec.h"
#include "tree/json_parse.h"
#include "util/budgeted_json_storage.h"
#include "util/excerpt.h"

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

class Session;

class StompSubscriber : public sync::Subscriber {
 public:
  StompSubscriber(std::weak_ptr<Session> session, std::string id, std::string destination, Version version)
      : session_(std::move(session)), id_(std::move(id)), destination_(std::move(destination)), version_(version) {}
  const std::string& render_key() const override { return render_key_for(version_); }
  std::shared_ptr<const std::string> render(const sync::ViewEvent& event) const override {
    return render_message_tail(event, version_);
  }
  void deliver(const std::shared_ptr<const std::string>& bytes) override;
  void revoked(const std::string& reason) override;
  const std::string& id() const { return id_; }
  const std::string& destination() const { return destination_; }
  std::atomic<bool> active{true};
  std::optional<sync::Hub::Handle> handle;  // guarded by the session's mutex

 private:
  std::weak_ptr<Session> session_;
  std::string id_;
  std::string destination_;
  Version version_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(db::Registry& registry, const auth::Authenticator& authenticator, const StompOptions& options,
          std::shared_ptr<Transport> transport)
      : registry_(registry),
        authenticator_(authenticator),
        options_(options),
        transport_(std::move(transport)),
        frame_charge_(options.memory_budget, MemoryBudget::Use::incoming_frame),
        transaction_charge_(options.memory_budget, MemoryBudget::Use::transaction),
        credit_(options.max_pending_requests, options.max_pending_bytes,
                [this](bool paused) {
                  spdlog::debug("stomp connection from {}: SENDs unanswered at their bound, reading {}",
                                transport_->remote_address(), paused ? "paused" : "resumed");
                  transport_->pause_reading(paused);
                }) {
    last_received_ms_ = last_sent_ms_ = steady_ms();
  }

  void on_bytes(std::string_view data) {
    if (closed_ || end_if_credential_expired()) return;
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

  // A connection must send CONNECT within the deadline, or it is closed: an unauthenticated client cannot hold a
  // connection (a file descriptor, a session) without ever saying who it is.
  void start_connect_deadline() {
    if (!options_.io || options_.connect_timeout_ms == 0) return;
    connect_timer_ = std::make_unique<boost::asio::steady_timer>(*options_.io);
    connect_timer_->expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
    connect_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      self->transport_->post([self] {
        if (self->closed_ || self->connected_ || self->connecting_) return;
        spdlog::info("stomp: closing a connection from {} that sent no CONNECT within {} ms",
                     self->transport_->remote_address(), self->options_.connect_timeout_ms);
        self->protocol_error("no CONNECT frame within " + std::to_string(self->options_.connect_timeout_ms) + " ms",
                             nullptr);
      });
    });
  }

  void on_closed() {
    closed_ = true;
    transactions_.clear();  // open transactions are aborted
    transaction_bytes_ = 0;
    transaction_charge_.release();
    decoder_.abandon();
    frame_charge_.release();
    std::map<std::string, std::shared_ptr<StompSubscriber>> subs;
    {
      std::lock_guard lock(mutex_);
      subs.swap(subscriptions_);
    }
    for (auto& [id, sub] : subs) cancel(*sub);
    if (!database_) return;
    // On the writer queue: every on-disconnect SEND still being checked is stored by then.
    database_->run([self = shared_from_this(), auth = auth_](const tree::Node&) {
      std::optional<db::WriteRequest> request;
      {
        std::lock_guard lock(self->on_disconnect_mutex_);
        request = self->on_disconnect_.to_write(auth);
        self->on_disconnect_.clear();
      }
      if (!request) return;
      self->database_->write(std::move(*request), [](db::WriteReply&& reply) {
        if (reply.error) spdlog::warn("stomp: on-disconnect write failed: {}", reply.error->message);
      });
    });
  }

  void send_frame(Frame frame) { send_bytes(std::make_shared<const std::string>(encode(frame, version_))); }
  void send_bytes(std::shared_ptr<const std::string> bytes) {
    std::lock_guard lock(send_mutex_);
    if (sending_ended_) return;  // after the last frame (an ERROR, a DISCONNECT's receipt) nothing goes out
    last_sent_ms_ = steady_ms();
    transport_->send(std::move(bytes));
  }
  // A MESSAGE: this subscription's head, then the body shared by every subscriber of the view (principle 4).
  void send_message(std::string head, const std::shared_ptr<const std::string>& body) {
    std::lock_guard lock(send_mutex_);
    if (sending_ended_) return;
    last_sent_ms_ = steady_ms();
    transport_->send(std::move(head), body);
  }
  // Sends `last` (if any) as the connection's last frame and closes it. Deliveries run on database threads, so the
  // check and the close are one step: no MESSAGE can slip in after an ERROR.
  void end_with(std::shared_ptr<const std::string> last, std::string reason) {
    std::lock_guard lock(send_mutex_);
    if (sending_ended_) return;
    sending_ended_ = true;
    if (last) transport_->send(std::move(last));
    transport_->close(std::move(reason));
  }
  std::uint64_t next_message_id() { return ++message_ids_; }

  // At the credential's expiry (an ID token's `exp`) the session ends, as a Firebase connection gets `ac`: an
  // ERROR frame, then the connection closes; nothing is delivered after it. Any thread.
  bool end_if_credential_expired() {
    if (!credential_.expired()) return false;
    if (credential_.take_end()) {
      protocol_error(credential_.account_ended()
                         ? "authentication revoked: " + credential_.why() + " Reconnect with a valid credential."
                         : "authentication expired: the credential is no longer valid; reconnect with a fresh token",
                     nullptr);
    }
    return true;
  }


  // Ends a subscription from the server side (refused or revoked by the rules, database closing): a MESSAGE with
  // `event:cancel` and a `status`, like the REST stream's cancel event; the connection stays open.
  void cancel_subscription(const StompSubscriber& sub, ErrorCode code, const std::string& message) {
    sub_active_off(sub);
    Frame frame;
    frame.command = "MESSAGE";
    frame.add("subscription", sub.id());
    frame.add("message-id", std::to_string(next_message_id()));
    frame.add("destination", sub.destination());
    frame.add("event", "cancel");
    frame.add("status", status_name(code));
    frame.add("content-type", "application/json");
    std::string body;
    tree::append_string(body, message);
    frame.body = std::move(body);
    send_frame(std::move(frame));
  }
  Version version() const { return version_; }

 private:
  void sub_active_off(const StompSubscriber& sub) {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(sub.id());
    if (it != subscriptions_.end() && it->second.get() == &sub) {
      it->second->active = false;
      subscriptions_.erase(it);
    }
  }

  void cancel(StompSubscriber& sub) {
    sub.active = false;
    std::optional<sync::Hub::Handle> handle;
    {
      std::lock_guard lock(mutex_);
      handle = sub.handle;
    }
    if (handle && database_) database_->unlisten(*handle);
  }

  void protocol_error(const std::string& message, const Frame* frame) {
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

  void receipt(const Frame& frame) {
    if (const std::string* id = frame.header("receipt")) {
      Frame r;
      r.command = "RECEIPT";
      r.add("receipt-id", *id);
      send_frame(std::move(r));
    }
  }

  void handle(const Frame& frame) {
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

  void connect(const Frame& frame) {
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
    // The credential: the passcode as a token (login, if any, is informational), or login = an email address and
    // passcode = its password, checked off this thread.
    const std::string* login = frame.header("login");
    const std::string* passcode = frame.header("passcode");
    if (login && passcode && login->find('@') != std::string::npos && options_.password_sign_in) {
      connecting_ = true;
      auto self = shared_from_this();
      options_.password_sign_in(host, *login, *passcode, transport_->remote_address(),
                                [self, frame, version, database = *database](Result<db::Auth> identity) mutable {
                                  self->transport_->post([self, frame = std::move(frame), version, database,
                                                          identity = std::move(identity)]() mutable {
                                    self->finish_connect(frame, version, database, std::move(identity));
                                  });
                                });
      return;
    }
    finish_connect(frame, version, *database,
                   authenticator_.authenticate(host, passcode ? std::string_view(*passcode) : std::string_view()));
  }

  void finish_connect(const Frame& frame, const std::string& version, db::Database* database,
                      Result<db::Auth> identity) {
    connecting_ = false;
    if (closed_) return;
    if (!identity) return protocol_error("authentication failed: " + identity.error().message, &frame);
    auth_ = std::move(*identity);
    // If the account behind the credential ends, the session ends at once, on its connection's thread.
    credential_.set(auth_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->transport_->post([self] { self->end_if_credential_expired(); });
    });
    database_ = database;
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

  void subscribe(const Frame& frame) {
    const std::string* id = frame.header("id");
    const std::string* destination = frame.header("destination");
    if (!id || !destination) return protocol_error("SUBSCRIBE needs id and destination headers", &frame);
    auto path = tree::Path::parse(*destination);
    if (!path) return protocol_error("invalid destination: " + path.error().message, &frame);
    auto sub = std::make_shared<StompSubscriber>(weak_from_this(), *id, *destination, version_);
    {
      std::lock_guard lock(mutex_);
      if (!subscriptions_.emplace(*id, sub).second) {
        return protocol_error("subscription id already in use: " + *id, &frame);
      }
    }
    std::optional<std::string> receipt_id;
    if (const std::string* r = frame.header("receipt")) receipt_id = *r;
    auto query = query_of(frame);
    if (!query) {
      cancel_subscription(*sub, query.error().code, query.error().message);
      return send_receipt(receipt_id, query.error());
    }
    auto self = shared_from_this();
    database_->listen(std::move(*path), std::move(*query), auth_, sub,
                      [self, sub, receipt_id](Result<sync::Hub::Handle> handle) {
                        if (!handle) {
                          self->cancel_subscription(*sub, handle.error().code, handle.error().message);
                          if (receipt_id) {
                            Frame r;
                            r.command = "RECEIPT";
                            r.add("receipt-id", *receipt_id);
                            r.add("status", status_name(handle.error().code));
                            r.add("message", handle.error().message);
                            self->send_frame(std::move(r));
                          }
                          return;
                        }
                        bool active;
                        {
                          std::lock_guard lock(self->mutex_);
                          sub->handle = *handle;
                          active = sub->active;
                        }
                        if (!active) {
                          self->database_->unlisten(*handle);
                        }
                        if (receipt_id) {
                          Frame r;
                          r.command = "RECEIPT";
                          r.add("receipt-id", *receipt_id);
                          self->send_frame(std::move(r));
                        }
                      });
  }

  void unsubscribe(const Frame& frame) {
    const std::string* id = frame.header("id");
    if (!id) return protocol_error("UNSUBSCRIBE needs an id header", &frame);
    std::shared_ptr<StompSubscriber> sub;
    {
      std::lock_guard lock(mutex_);
      if (auto it = subscriptions_.find(*id); it != subscriptions_.end()) {
        sub = it->second;
        subscriptions_.erase(it);
      }
    }
    // An unknown id is answered, not punished: the server may have ended the subscription (event:cancel).
    if (!sub) return receipt(frame);
    cancel(*sub);
    receipt(frame);
  }

  void send(const Frame& frame) {
    const std::string* destination = frame.header("destination");
    if (!destination) return protocol_error("SEND needs a destination header", &frame);
    Transaction* transaction = nullptr;
    if (const std::string* id = frame.header("transaction")) {
      auto it = transactions_.find(*id);
      if (it == transactions_.end()) return protocol_error("unknown transaction " + *id, &frame);
      transaction = &it->second;
    }
    std::optional<std::string> receipt_id;
    if (const std::string* r = frame.header("receipt")) receipt_id = *r;
    auto self = shared_from_this();
    auto fail = [&](ErrorCode code, const std::string& message) {
      spdlog::debug("stomp: SEND to {} failed: {}", *destination, message);
      if (transaction && !transaction->failure) transaction->failure = Error{code, message};
      if (!receipt_id) return;
      Frame r;
      r.command = "RECEIPT";
      r.add("receipt-id", *receipt_id);
      r.add("status", status_name(code));
      r.add("message", message);
      send_frame(std::move(r));
    };
    db::WriteRequest request;
    std::string method = frame.header("method") ? *frame.header("method") : "set";
    // on-disconnect:set|update|remove|cancel names the operation to store instead of applying it now (§7).
    const std::string* when = frame.header("on-disconnect");
    if (when) {
      if (*when != "set" && *when != "update" && *when != "remove" && *when != "cancel") {
        return protocol_error("on-disconnect must be set, update, remove or cancel, not " + *when, &frame);
      }
      if (frame.header("if-match")) return fail(ErrorCode::invalid_argument, "if-match cannot be used with on-disconnect");
      method = *when == "cancel" ? "remove" : *when;
    }
    if (method == "set") {
      request.op = db::WriteRequest::Op::set;
    } else if (method == "update") {
      request.op = db::WriteRequest::Op::update;
    } else if (method == "push") {
      request.op = db::WriteRequest::Op::push;
    } else if (method == "remove") {
      request.op = db::WriteRequest::Op::set;
    } else {
      return protocol_error("unknown method " + method, &frame);
    }
    auto path = tree::Path::parse(*destination);
    if (!path) return fail(ErrorCode::invalid_argument, "invalid destination: " + path.error().message);
    request.path = std::move(*path);
    request.auth = auth_;
    if (method != "remove") {
      boost::json::parse_options options;
      options.max_depth = 100;
      boost::system::error_code ec;
      request.data = tree::parse_json_value(frame.body, ec, options, budgeted_json_storage(options_.memory_budget));
      if (ec == boost::system::errc::not_enough_memory) {
        return fail(ErrorCode::unavailable,
                    "the server has no memory left for this SEND's data (max_buffered_bytes); try again later");
      }
      if (ec) return fail(ErrorCode::invalid_argument, "the body is not valid JSON: " + ec.message());
      if (const std::string* priority = frame.header("priority")) {
        auto p = tree::parse_json_value(*priority, ec);
        if (ec || !(p.is_number() || p.is_string() || p.is_null())) {
          return fail(ErrorCode::invalid_argument, "priority must be a JSON number or string");
        }
        if (request.op == db::WriteRequest::Op::update) {
          return fail(ErrorCode::invalid_argument, "priority cannot be used with method update");
        }
        boost::json::object wrapped;
        wrapped[".value"] = std::move(request.data);
        wrapped[".priority"] = std::move(p);
        request.data = std::move(wrapped);
      }
    }
    if (transaction) return buffer_in_transaction(*transaction, frame, std::move(request), receipt_id);
    if (when) return store_on_disconnect(*when, std::move(request), frame.body.size(), receipt_id);
    if (const std::string* if_match = frame.header("if-match")) {
      request.if_hash = *if_match == "null_etag" ? std::string() : *if_match;
    }
    request.want_hash = true;
    const std::size_t credit_bytes = frame.body.size();
    credit_.begin(credit_bytes);
    database_->write(std::move(request), [self, receipt_id, credit_bytes](db::WriteReply&& reply) {
      self->credit_.end(credit_bytes);
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

  static std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Sends an EOL when nothing else went out for `send_every` ms; closes the connection when nothing came in for
  // twice `expect_every` ms (the spec's tolerance for a late heart-beat). 0 = not negotiated.
  void start_heartbeats(std::uint64_t send_every, std::uint64_t expect_every) {
    if (!options_.io || (send_every == 0 && expect_every == 0)) return;
    send_every_ = static_cast<std::int64_t>(send_every);
    expect_every_ = static_cast<std::int64_t>(expect_every);
    const std::uint64_t shortest = send_every && expect_every ? std::min(send_every, expect_every)
                                                             : std::max(send_every, expect_every);
    tick_ = std::chrono::milliseconds(std::max<std::uint64_t>(shortest / 2, 20));
    heartbeat_timer_ = std::make_unique<boost::asio::steady_timer>(*options_.io);
    arm_heartbeat();
  }

  void arm_heartbeat() {
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

  std::atomic<std::int64_t> last_received_ms_{0};
  std::atomic<std::int64_t> last_sent_ms_{0};
  std::mutex send_mutex_;      // one sender at a time, and end_with() as one step
  bool sending_ended_ = false;  // under send_mutex_
  std::int64_t send_every_ = 0;
  std::int64_t expect_every_ = 0;
  std::chrono::milliseconds tick_{1000};
  std::unique_ptr<boost::asio::steady_timer> heartbeat_timer_;  // only its own handler re-arms it
  std::unique_ptr<boost::asio::steady_timer> connect_timer_;

  // Query headers (§5): the REST query parameters under STOMP names, with the same meaning and checks.
  static Result<std::optional<tree::Query>> query_of(const Frame& frame) {
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
    return rest::parse_rest_query(params);
  }

  // A RECEIPT (if one was asked for) with status ok or the error's status.
  void send_receipt(const std::optional<std::string>& receipt_id, const std::optional<Error>& error) {
    if (!receipt_id) return;
    Frame r;
    r.command = "RECEIPT";
    r.add("receipt-id", *receipt_id);
    r.add("status", error ? status_name(error->code) : "ok");
    if (error) r.add("message", error->message);
    send_frame(std::move(r));
  }

  // on-disconnect (§7): the write is checked now as it will run (data, keys, rules: a dry run) and stored; cancel
  // forgets what is stored at and below the destination. Both go through the writer queue, so they are ordered
  // with each other and with the close that runs the stored writes.
  void store_on_disconnect(const std::string& when, db::WriteRequest request, std::size_t body_bytes,
                           const std::optional<std::string>& receipt_id) {
    auto self = shared_from_this();
    if (when == "cancel") {
      database_->run([self, path = std::move(request.path), receipt_id](const tree::Node&) {
        {
          std::lock_guard lock(self->on_disconnect_mutex_);
          self->on_disconnect_.cancel(path);
        }
        self->send_receipt(receipt_id, std::nullopt);
      });
      return;
    }
    // Bounded in bytes as well as in count: what is stored stays in memory until the connection ends.
    if (Status admitted = on_disconnect_quota_.admit(body_bytes); !admitted) {
      return send_receipt(receipt_id, admitted.error());
    }
    if (request.op == db::WriteRequest::Op::push) {
      return send_receipt(receipt_id, invalid("push cannot be used with on-disconnect"));
    }
    request.dry_run = true;
    const bool update = request.op == db::WriteRequest::Op::update;
    tree::Path path = request.path;
    boost::json::value data = request.data;
    database_->write(std::move(request), [self, receipt_id, update, path = std::move(path),
                                          data = std::move(data)](db::WriteReply&& reply) {
      if (reply.error) return self->send_receipt(receipt_id, reply.error);
      {
        std::lock_guard lock(self->on_disconnect_mutex_);
        if (!update) {
          self->on_disconnect_.set({path, false}, data);
        } else {
          for (const auto& [key, value] : data.get_object()) {
            auto relative = db::parse_write_path(std::string_view(key));  // checked by the dry run
            if (relative) self->on_disconnect_.set({path.child(relative->path), relative->priority}, value);
          }
        }
      }
      self->send_receipt(receipt_id, std::nullopt);
    });
  }

  // Transactions (§6): the SENDs are buffered, merged in order as the sparse tree of locations db::OnDisconnect
  // keeps (a later write inside an earlier one's location lands inside its value), and applied at COMMIT as one
  // atomic multi-path write, checked against the rules like any write. Only the transport's strand touches them.
  struct Transaction {
    db::OnDisconnect writes;
    std::size_t sends = 0;
    std::size_t bytes = 0;  // of the buffered SEND bodies
    std::optional<Error> failure;  // the first refused SEND: the COMMIT fails with it
  };
  static constexpr std::size_t kMaxTransactions = 64;
  static constexpr std::size_t kMaxTransactionSends = 10000;
  // Bytes of SEND bodies all open transactions of one connection may buffer (counts alone allowed 64 x 10,000 x
  // 16 MiB). Crossing it is an ERROR: the connection ends and its transactions are dropped unwritten.
  static constexpr std::size_t kMaxTransactionBytes = std::size_t(16) << 20;

  // Forgets a transaction's buffered bytes (committed or aborted).
  void release_transaction(const Transaction& transaction) {
    transaction_bytes_ -= std::min(transaction_bytes_, transaction.bytes);
    transaction_charge_.shrink_to(transaction_bytes_);
  }

  void begin(const Frame& frame) {
    const std::string* id = frame.header("transaction");
    if (!id) return protocol_error("BEGIN needs a transaction header", &frame);
    if (transactions_.count(*id)) return protocol_error("transaction " + *id + " is already open", &frame);
    if (transactions_.size() >= kMaxTransactions) {
      return protocol_error("too many open transactions (the limit is " + std::to_string(kMaxTransactions) + ")",
                            &frame);
    }
    transactions_.emplace(*id, Transaction());
    receipt(frame);
  }

  void abort(const Frame& frame) {
    const std::string* id = frame.header("transaction");
    if (!id) return protocol_error("ABORT needs a transaction header", &frame);
    auto it = transactions_.find(*id);
    if (it == transactions_.end()) return protocol_error("unknown transaction " + *id, &frame);
    release_transaction(it->second);
    transactions_.erase(it);
    receipt(frame);
  }

  void commit(const Frame& frame) {
    const std::string* id = frame.header("transaction");
    if (!id) return protocol_error("COMMIT needs a transaction header", &frame);
    auto it = transactions_.find(*id);
    if (it == transactions_.end()) return protocol_error("unknown transaction " + *id, &frame);
    Transaction transaction = std::move(it->second);
    transactions_.erase(it);
    release_transaction(transaction);
    std::optional<std::string> receipt_id;
    if (const std::string* r = frame.header("receipt")) receipt_id = *r;
    if (transaction.failure) return send_receipt(receipt_id, transaction.failure);
    auto request = transaction.writes.to_write(auth_);
    if (!request) return send_receipt(receipt_id, std::nullopt);
    database_->write(std::move(*request), [self = shared_from_this(), receipt_id](db::WriteReply&& reply) {
      self->send_receipt(receipt_id, reply.error);
    });
  }

  void buffer_in_transaction(Transaction& transaction, const Frame& frame, db::WriteRequest request,
                             const std::optional<std::string>& receipt_id) {
    auto refuse = [&](Error error) {
      if (!transaction.failure) transaction.failure = error;
      send_receipt(receipt_id, error);
    };
    if (frame.header("on-disconnect") || frame.header("if-match") || request.op == db::WriteRequest::Op::push) {
      return refuse(invalid("push, if-match and on-disconnect cannot be used in a transaction"));
    }
    if (++transaction.sends > kMaxTransactionSends) {
      return refuse({ErrorCode::too_large, "Too many SENDs in one transaction (the limit is " +
                                               std::to_string(kMaxTransactionSends) + ")"});
    }
    const std::size_t bytes = frame.body.size();
    if (bytes > kMaxTransactionBytes - transaction_bytes_) {
      return protocol_error("the open transactions of this connection would buffer more than " +
                                std::to_string(kMaxTransactionBytes) + " bytes of SEND bodies",
                            &frame);
    }
    if (!transaction_charge_.resize(transaction_bytes_ + bytes)) {
      return protocol_error("the server has no memory left for transactions (max_buffered_bytes); try again later",
                            &frame);
    }
    transaction_bytes_ += bytes;
    transaction.bytes += bytes;
    if (request.op == db::WriteRequest::Op::update) {
      if (!request.data.is_object()) return refuse(invalid("Update data must be a JSON object"));
      std::vector<std::pair<db::WritePath, const boost::json::value*>> locations;
      for (const auto& [key, value] : request.data.get_object()) {
        auto relative = db::parse_write_path(std::string_view(key));
        if (!relative) return refuse(invalid("Invalid update key \"" + excerpt(key) + "\": " +
                                             relative.error().message));
        locations.emplace_back(db::WritePath{request.path.child(relative->path), relative->priority}, &value);
      }
      for (const auto& [location, value] : locations) transaction.writes.set(location, *value);
    } else {
      transaction.writes.set({request.path, false}, std::move(request.data));
    }
    send_receipt(receipt_id, std::nullopt);  // buffered; the COMMIT's RECEIPT says whether it was written
  }

  std::map<std::string, Transaction> transactions_;
  std::size_t transaction_bytes_ = 0;  // of all open transactions

  std::mutex on_disconnect_mutex_;  // stored from database callbacks
  db::OnDisconnect on_disconnect_;
  db::OnDisconnectQuota on_disconnect_quota_;

  db::Registry& registry_;
  const auth::Authenticator& authenticator_;
  const StompOptions& options_;
  db::Auth auth_;  // established by CONNECT
  std::shared_ptr<Transport> transport_;
  // The server-wide budget's share of this connection: its partial frame and its open transactions.
  MemoryCharge frame_charge_;
  MemoryCharge transaction_charge_;
  db::RequestCredit credit_;  // SENDs being written; after transport_, which it pauses
  Decoder decoder_;
  Version version_ = Version::v1_2;
  bool connected_ = false;
  std::atomic<bool> closed_{false};
  bool connecting_ = false;  // CONNECT's password check is running
  std::vector<Frame> held_;  // frames received meanwhile
  static constexpr std::size_t kMaxHeldFrames = 1000;
  db::CredentialExpiry credential_;
  db::Database* database_ = nullptr;
  std::atomic<std::uint64_t> message_ids_{0};
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<StompSubscriber>> subscriptions_;
};

void StompSubscriber::revoked(const std::string& reason) {
  if (!active.exchange(false)) return;
  auto session = session_.lock();
  if (!session) return;
  if (reason == "permission denied") {
    session->cancel_subscription(*this, ErrorCode::permission_denied, "Permission denied");
  } else {
    session->cancel_subscription(*this, ErrorCode::unavailable, reason);
  }
}

void StompSubscriber::deliver(const std::shared_ptr<const std::string>& bytes) {
  if (!active) return;
  auto session = session_.lock();
  if (!session || session->end_if_credential_expired()) return;
  session->send_message(message_head(id_, session->next_message_id(), destination_, version_), bytes);
}

class WebSocketTransport : public Transport {
 public:
  explicit WebSocketTransport(std::shared_ptr<net::WebSocketConnection> connection)
      : connection_(std::move(connection)) {}
  bool send(std::shared_ptr<const std::string> bytes) override { return connection_->send(std::move(bytes)); }
  bool send(std::string head, std::shared_ptr<const std::string> body) override {
    return connection_->send(std::move(head), std::move(body));
  }
  void close(std::string reason) override { connection_->close(1000, std::move(reason)); }
  void post(std::function<void()> fn) override { connection_->post(std::move(fn)); }
  const std::string& remote_address() const override { return connection_->remote_address(); }
  void pause_reading(bool paused) override { connection_->pause_reading(paused); }

 private:
  std::shared_ptr<net::WebSocketConnection> connection_;
};

class TcpTransport : public Transport {
 public:
  explicit TcpTransport(std::shared_ptr<net::StreamConnection> connection) : connection_(std::move(connection)) {}
  bool send(std::shared_ptr<const std::string> bytes) override { return connection_->send(std::move(bytes)); }
  bool send(std::string head, std::shared_ptr<const std::string> body) override {
    return connection_->send(std::move(head), std::move(body));
  }
  void close(std::string reason) override { connection_->close(std::move(reason)); }
  void post(std::function<void()> fn) override { connection_->post(std::move(fn)); }
  const std::string& remote_address() const override { return connection_->remote_address(); }
  void pause_reading(bool paused) override { connection_->pause_reading(paused); }

 private:
  std::shared_ptr<net::StreamConnection> connection_;
};

class TcpStomp : public net::StreamEndpoint {
 public:
  explicit TcpStomp(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  void on_bytes(std::string_view bytes) override { session_->on_bytes(bytes); }
  void on_close() override {
    session_->on_closed();
    session_.reset();  // breaks connection -> endpoint -> session -> transport -> connection
  }

 private:
  std::shared_ptr<Session> session_;
};

class WebSocketStomp : public net::WebSocketEndpoint {
 public:
  explicit WebSocketStomp(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  void on_message(std::string&& message) override { session_->on_bytes(message); }
  void on_close() override {
    session_->on_closed();
    session_.reset();  // breaks connection -> endpoint -> session -> transport -> connection
  }

 private:
  std::shared_ptr<Session> session_;
};

}  // namespace

std::shared_ptr<net::StreamEndpoint> StompHandler::accept_stream(std::shared_ptr<net::StreamConnection> connection) {
  auto transport = std::make_shared<TcpTransport>(std::move(connection));
  auto session = std::make_shared<Session>(registry_, authenticator_, options_, std::move(transport));
  session->start_connect_deadline();
  return std::make_shared<TcpStomp>(std::move(session));
}

net::WebSocketAccept StompHandler::accept_websocket(const net::HttpRequest& request,
                                                    std::shared_ptr<net::WebSocketConnection> connection) {
  // RFC 6455 §4.2.2: the answer is one of the tokens the client offered, compared whole (not a substring).
  std::vector<std::string> offered;
  auto [first, last] = request.equal_range(boost::beast::http::field::sec_websocket_protocol);
  for (auto field = first; field != last; ++field) {
    for (auto token : boost::beast::http::token_list(field->value())) offered.emplace_back(token);
  }
  std::string chosen;
  for (const char* candidate : {"v12.stomp", "v11.stomp", "v10.stomp"}) {
    if (std::find(offered.begin(), offered.end(), candidate) != offered.end()) {
      chosen = candidate;
      break;
    }
  }
  auto transport = std::make_shared<WebSocketTransport>(std::move(connection));
  auto session = std::make_shared<Session>(registry_, authenticator_, options_, std::move(transport));
  session->start_connect_deadline();
  net::WebSocketAccept accept;
  accept.endpoint = std::make_shared<WebSocketStomp>(std::move(session));
  accept.subprotocol = chosen;
  accept.max_message_bytes = 17 * 1024 * 1024;
  return accept;
}

}  // namespace backside::proto::stomp
