#include "proto/firebase/long_poll_session.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <charconv>

#include "proto/firebase/frame_codec.h"
#include "util/base64.h"
#include "util/log_throttle.h"
#include "util/secure_random.h"

namespace backside::proto::firebase {

namespace http = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using Params = std::unordered_map<std::string, std::string>;

namespace {

std::string random_token(std::size_t length) {
  return secure_random_string(length, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
}

std::shared_ptr<const std::string> control_message(std::string_view type) {
  return std::make_shared<const std::string>("{\"t\":\"c\",\"d\":{\"t\":\"" + std::string(type) + "\",\"d\":{}}}");
}

std::optional<std::uint64_t> to_number(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

Params parse_params(std::string_view target) {
  Params params;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return params;
  for (auto param : url->params()) params.emplace(std::string(param.key), std::string(param.value));
  return params;
}

net::HttpResponse make_response(unsigned version, bool keep_alive, std::string body,
                                std::string_view content_type = "application/javascript; charset=utf-8",
                                http::status status = http::status::ok) {
  net::HttpResponse response(status, version);
  response.set(http::field::content_type, content_type);
  response.set(http::field::cache_control, "no-cache, no-store, must-revalidate");
  response.keep_alive(keep_alive);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

// The JSONP prologue of a session: the two callbacks the SDK's iframe calls into its parent with.
std::string callbacks(const std::string& id) {
  return "function pLPCommand(c,a1,a2,a3,a4){parent.window[\"pLPCommand" + id + "\"]&&parent.window[\"pLPCommand" +
         id + "\"](c,a1,a2,a3,a4);}\nfunction pRTLPCB(pN,data){parent.window[\"pRTLPCB" + id +
         "\"]&&parent.window[\"pRTLPCB" + id + "\"](pN,data);}\n";
}

// What /.lp?dframe=t serves: a page that tells the server the client left when the SDK removes it.
constexpr std::string_view kDisconnectFrame =
    "<!DOCTYPE html><html><head><script>var sent=false;function leave(){if(sent)return;sent=true;"
    "var u=location.href.replace('dframe=t','disconn=t');"
    "try{if(navigator.sendBeacon&&navigator.sendBeacon(u))return;}catch(e){}"
    "try{var x=new XMLHttpRequest();x.open('GET',u,false);x.send(null);}catch(e){}}"
    "window.addEventListener('pagehide',leave);window.addEventListener('unload',leave);"
    "</script></head><body></body></html>";

bool valid_callback_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// LongPollSession

LongPollSession::LongPollSession(LongPollSessions& owner, std::string id, std::string password,
                                 const FirebaseOptions& firebase, const LongPollOptions& options)
    : owner_(owner),
      id_(std::move(id)),
      password_(std::move(password)),
      firebase_(firebase),
      options_(options),
      input_charge_(options.memory_budget, MemoryBudget::Use::incoming_message),
      queue_charge_(options.memory_budget, MemoryBudget::Use::outbound_queue),
      last_request_(Clock::now()) {}

LongPollSession::~LongPollSession() = default;

std::string LongPollSession::start(std::shared_ptr<Connection> connection, const std::string& callback_id) {
  std::lock_guard in(in_mutex_);
  connection_ = std::move(connection);
  connection_session_id_ = connection_->session_id();
  connection_->open();  // the handshake, into the queue
  std::lock_guard out(out_mutex_);
  std::string body = callbacks(callback_id) + "pLPCommand('start','" + id_ + "','" + password_ + "');pRTLPCB(0,[";
  bool first = true;
  for (const auto& message : queue_) {
    if (!first) body += ',';
    first = false;
    body += *message;
  }
  body += "]);";
  queue_.clear();
  queued_bytes_ = 0;
  queue_charge_.release();
  last_request_ = Clock::now();
  return body;
}

bool LongPollSession::send(const std::shared_ptr<const std::string>& message) {
  std::optional<Reply> reply;
  bool dropped = false;
  bool over_bound = false;
  {
    std::lock_guard out(out_mutex_);
    if (output_switched_) {
      if (!websocket_) return false;
      if (message->size() <= kMaxFrameBytes) return websocket_->send(message);
      for (auto& frame : split_message(message)) {
        if (!websocket_->send(std::move(frame))) return false;
      }
      return true;
    }
    if (closing_ || finish_wanted_) return false;
    queued_bytes_ += message->size();
    queue_.push_back(message);
    // Over its own bound, or over the server's memory budget (which logs that itself): dropped as a slow reader.
    over_bound = queued_bytes_ > options_.max_queue_bytes;
    if (over_bound || !queue_charge_.resize(queued_bytes_)) {
      dropped = true;
      queue_.clear();
      queued_bytes_ = 0;
      queue_charge_.release();
      reply = close_locked("it fell too far behind");
    } else if (held_) {
      reply = answer_locked(std::move(*held_));
      held_.reset();
    }
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  if (dropped) {
    if (over_bound) {
      spdlog::warn("firebase long-poll session {}: dropped, more than {} bytes waiting for a poll", id_,
                   options_.max_queue_bytes);
    }
    owner_.wake();
    return false;
  }
  return true;
}

void LongPollSession::close(std::uint16_t code, const std::string& reason) {
  std::optional<Reply> reply;
  {
    std::lock_guard out(out_mutex_);
    if (output_switched_) {
      if (websocket_) websocket_->close(code, reason);
      return;
    }
    reply = close_locked(reason);
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  owner_.wake();
}

std::optional<LongPollSession::Reply> LongPollSession::close_locked(const std::string& reason) {
  if (!closing_) spdlog::info("firebase long-poll session {} closing: {}", id_, reason);
  closing_ = true;
  finish_wanted_ = true;
  if (!held_) return std::nullopt;
  auto reply = answer_locked(std::move(*held_));
  held_.reset();
  return reply;
}

std::optional<LongPollSession::Reply> LongPollSession::answer_locked(Poll&& poll) {
  if (lp_done_) return Reply{std::move(poll.exchange), make_response(poll.version, poll.keep_alive, "")};
  std::int64_t number = next_response_++;
  std::string body = "pRTLPCB(" + std::to_string(number) + ",[";
  body.reserve(body.size() + queued_bytes_ + queue_.size() + 40);
  bool first = true;
  for (const auto& message : queue_) {
    if (!first) body += ',';
    first = false;
    body += *message;
  }
  body += "]);";
  queue_.clear();
  queued_bytes_ = 0;
  queue_charge_.release();
  if (closing_) {
    body += "pLPCommand('close'," + std::to_string(number) + ");";
    lp_done_ = true;
  }
  return Reply{std::move(poll.exchange), make_response(poll.version, poll.keep_alive, std::move(body))};
}

void LongPollSession::poll(const Params& params, unsigned version, bool keep_alive,
                           std::shared_ptr<net::HttpExchange> exchange) {
  auto now = Clock::now();
  {
    std::lock_guard in(in_mutex_);
    {
      std::lock_guard out(out_mutex_);
      last_request_ = now;
    }
    if (!finished_ && !input_switched_) {
      for (std::size_t i = 0;; ++i) {
        std::string index = std::to_string(i);
        auto seg = params.find("seg" + index);
        if (seg == params.end()) break;
        auto ts = params.find("ts" + index);
        auto d = params.find("d" + index);
        auto number = to_number(seg->second);
        auto total = ts == params.end() ? std::nullopt : to_number(ts->second);
        if (!number || !total || d == params.end() ||
            !take_segment(*number, *total, std::string(d->second))) {
          close(1002, "Malformed long-poll segment");
          break;
        }
        // Segments that wait for others are charged to the server's memory budget, as partial WebSocket messages.
        if (!input_charge_.resize(pending_bytes_ + message_.capacity())) {
          close(1008, "the server has no memory left for incoming messages (max_buffered_bytes); try again later");
          break;
        }
        if (finished_ || input_switched_) break;
      }
    }
  }
  std::vector<Reply> replies;
  {
    std::lock_guard out(out_mutex_);
    if (held_) {
      if (auto reply = answer_locked(std::move(*held_))) replies.push_back(std::move(*reply));
      held_.reset();
    }
    Poll current{std::move(exchange), version, keep_alive, now};
    if (lp_done_ || closing_ || !queue_.empty()) {
      if (auto reply = answer_locked(std::move(current))) replies.push_back(std::move(*reply));
    } else {
      held_ = std::move(current);
    }
  }
  for (auto& reply : replies) reply.exchange->reply(std::move(reply.response));
}

bool LongPollSession::take_segment(std::uint64_t number, std::uint64_t total, std::string&& data) {
  if (number < next_segment_) return true;  // a repeat
  if (total == 0) return false;
  pending_bytes_ += data.size();
  pending_segments_.emplace(number, std::make_pair(total, std::move(data)));
  // base64 is 4/3 of the message; allow a message's worth of early segments.
  std::size_t max_base64 = firebase_.max_message_bytes / 3 * 4 + 4;
  if (pending_segments_.size() > options_.max_pending_segments || pending_bytes_ > max_base64) return false;
  while (!pending_segments_.empty() && pending_segments_.begin()->first == next_segment_) {
    auto node = pending_segments_.extract(pending_segments_.begin());
    pending_bytes_ -= node.mapped().second.size();
    ++next_segment_;
    if (message_left_ == 0) message_left_ = node.mapped().first;
    message_ += node.mapped().second;
    if (message_.size() > max_base64) return false;
    if (--message_left_ == 0) {
      // The SDK's base64: web-safe alphabet, padded with '.' (the standard alphabet and '=' are accepted too).
      auto decoded = base64_decode(message_, ".=");
      if (!decoded) return false;
      message_.clear();
      deliver(std::move(*decoded));
      if (finished_ || input_switched_) return true;
    }
  }
  return true;
}

void LongPollSession::deliver(std::string&& message) {
  if (finished_ || !connection_) return;
  if (message.starts_with("{\"t\":\"c\"")) {
    json::error_code ec;
    json::value parsed = json::parse(message, ec);
    if (!ec && parsed.is_object()) {
      const json::value* inner = parsed.get_object().if_contains("d");
      if (inner && inner->is_object()) {
        const json::value* type = inner->get_object().if_contains("t");
        if (type && type->is_string() && type->get_string() == "n") return switch_to_websocket();
      }
    }
  }
  connection_->on_message(message);
}

void LongPollSession::switch_to_websocket() {
  std::optional<Reply> reply;
  bool switched = false;
  {
    std::lock_guard out(out_mutex_);
    if (!websocket_ || output_switched_ || closing_) {
      reply = close_locked("the client ended long-poll transmission without a WebSocket");
    } else {
      // What is queued and our end of transmission go out on long-poll (the client reads it to the `n`, then
      // what the WebSocket brought meanwhile); the long-poll channel closes; the rest goes on the WebSocket.
      queue_.push_back(control_message("n"));
      queued_bytes_ += queue_.back()->size();
      queue_charge_.resize(queued_bytes_);  // a few bytes that end the channel: never refused
      closing_ = true;
      output_switched_ = true;
      switched = true;
      if (held_) {
        reply = answer_locked(std::move(*held_));
        held_.reset();
      }
    }
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  if (!switched) {
    owner_.wake();
    return;
  }
  input_switched_ = true;
  spdlog::info("firebase connection {}: upgraded from long-poll session {} to WebSocket", connection_session_id_, id_);
  auto backlog = std::move(websocket_backlog_);
  websocket_backlog_.clear();
  websocket_backlog_bytes_ = 0;
  for (auto& frame : backlog) {
    if (finished_ || !connection_) break;
    connection_->on_frame(std::move(frame));
  }
}

bool LongPollSession::bind_websocket(std::shared_ptr<net::WebSocketConnection> socket) {
  std::lock_guard out(out_mutex_);
  if (closing_ || finish_wanted_ || websocket_ || output_switched_) return false;
  websocket_ = std::move(socket);
  websocket_->send(control_message("a"));
  return true;
}

void LongPollSession::websocket_frame(const std::shared_ptr<net::WebSocketConnection>& socket, std::string&& frame) {
  std::lock_guard in(in_mutex_);
  if (finished_ || !connection_) return;
  {
    std::lock_guard out(out_mutex_);
    if (websocket_ != socket) return;
  }
  if (websocket_acked_ && input_switched_) return connection_->on_frame(std::move(frame));
  if (!websocket_acked_) {
    // Before its switch ack the client only pings the new socket (to find it healthy): answer on it.
    json::error_code ec;
    json::value parsed = json::parse(frame, ec);
    if (ec || !parsed.is_object()) return;
    const json::value* inner = parsed.get_object().if_contains("d");
    if (!inner || !inner->is_object()) return;
    const json::value* type = inner->get_object().if_contains("t");
    if (!type || !type->is_string()) return;
    if (type->get_string() == "p") {
      std::lock_guard out(out_mutex_);
      if (websocket_) websocket_->send(control_message("o"));
    } else if (type->get_string() == "a") {
      websocket_acked_ = true;
    }
    return;
  }
  // Acked, but the long-poll channel has not ended yet: these requests wait for the ones still on long-poll.
  websocket_backlog_bytes_ += frame.size();
  websocket_backlog_.push_back(std::move(frame));
  if (websocket_backlog_bytes_ > firebase_.max_message_bytes) {
    websocket_backlog_.clear();
    websocket_backlog_bytes_ = 0;
    socket->close(1009, "Too much data before the end of long-poll transmission");
  }
}

void LongPollSession::websocket_closed(const std::shared_ptr<net::WebSocketConnection>& socket) {
  bool switched = false;
  {
    std::lock_guard out(out_mutex_);
    if (websocket_ != socket) return;
    websocket_.reset();
    switched = output_switched_;
  }
  if (switched) return finish();
  // The upgrade failed: the session goes on over long-poll.
  std::lock_guard in(in_mutex_);
  websocket_acked_ = false;
  websocket_backlog_.clear();
  websocket_backlog_bytes_ = 0;
}

bool LongPollSession::tick(Clock::time_point now) {
  std::optional<Reply> reply;
  bool timed_out = false;
  bool want_finish = false;
  bool forget = false;
  {
    std::lock_guard out(out_mutex_);
    if (held_ && now - held_->since >= std::chrono::seconds(options_.hold_seconds)) {
      reply = answer_locked(std::move(*held_));
      held_.reset();
    }
    bool idle = now - last_request_ >= std::chrono::seconds(options_.idle_seconds);
    if (!output_switched_ && !finish_wanted_ && idle) {
      timed_out = true;
      closing_ = true;
      finish_wanted_ = true;
    }
    want_finish = finish_wanted_;
    // Upgraded: the WebSocket keeps the session; the long-poll id is forgotten once its late polls stopped.
    forget = output_switched_ && idle;
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  if (timed_out) spdlog::info("firebase long-poll session {}: no poll for {} s, closing", id_, options_.idle_seconds);
  if (want_finish) {
    finish();
    return true;
  }
  return forget;
}

void LongPollSession::end(const char* reason) {
  std::optional<Reply> reply;
  {
    std::lock_guard out(out_mutex_);
    if (output_switched_) return;  // the WebSocket carries the connection now
    reply = close_locked(reason);
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  finish();
}

void LongPollSession::finish() {
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard in(in_mutex_);
    if (finished_) return;
    finished_ = true;
    connection = std::move(connection_);
    if (connection) connection->on_close();  // onDisconnect writes, listens dropped
    websocket_backlog_.clear();
    pending_segments_.clear();
    pending_bytes_ = 0;
    message_ = std::string();
    input_charge_.release();
  }
  std::optional<Reply> reply;
  std::shared_ptr<net::WebSocketConnection> socket;
  {
    std::lock_guard out(out_mutex_);
    closing_ = true;
    finish_wanted_ = false;
    if (held_) {
      reply = answer_locked(std::move(*held_));
      held_.reset();
    }
    socket = std::move(websocket_);
    queue_.clear();
    queued_bytes_ = 0;
    queue_charge_.release();
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  if (socket) socket->close(1000, "session closed");
  owner_.remove(*this);
}

// ---------------------------------------------------------------------------------------------------------------
// The WebSocket of an upgrade.

class UpgradeEndpoint : public net::WebSocketEndpoint {
 public:
  UpgradeEndpoint(std::shared_ptr<LongPollSession> session, std::shared_ptr<net::WebSocketConnection> socket)
      : session_(std::move(session)), socket_(std::move(socket)) {}
  void on_open() override {
    if (!session_->bind_websocket(socket_)) socket_->close(1008, "This long-poll session cannot be upgraded");
  }
  void on_message(std::string&& message) override { session_->websocket_frame(socket_, std::move(message)); }
  void on_close() override {
    session_->websocket_closed(socket_);
    session_.reset();
    socket_.reset();
  }

 private:
  std::shared_ptr<LongPollSession> session_;
  std::shared_ptr<net::WebSocketConnection> socket_;
};

namespace {

class ClosingEndpoint : public net::WebSocketEndpoint {
 public:
  explicit ClosingEndpoint(std::shared_ptr<net::WebSocketConnection> socket) : socket_(std::move(socket)) {}
  void on_open() override { socket_->close(1008, "Unknown long-poll session"); }
  void on_message(std::string&&) override {}
  void on_close() override { socket_.reset(); }

 private:
  std::shared_ptr<net::WebSocketConnection> socket_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// LongPollSessions

LongPollSessions::LongPollSessions(db::Registry& registry, const FirebaseOptions& firebase, LongPollOptions options)
    : registry_(registry),
      firebase_(firebase),
      options_(options),
      per_address_(options_.max_sessions_per_address, options_.per_address_exempt) {
  sweeper_ = std::thread([this] { sweep_loop(); });
}

LongPollSessions::~LongPollSessions() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  sweeper_.join();
}

void LongPollSessions::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void LongPollSessions::sweep_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
    std::vector<std::shared_ptr<LongPollSession>> sessions;
    sessions.reserve(sessions_.size());
    for (auto& [id, session] : sessions_) sessions.push_back(session);
    lock.unlock();
    auto now = Clock::now();
    for (auto& session : sessions) {
      if (session->tick(now)) remove(*session);
    }
    sessions.clear();
    lock.lock();
  }
}

void LongPollSessions::remove(const LongPollSession& session) {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(session.id_); it != sessions_.end() && it->second.get() == &session) {
    sessions_.erase(it);
    per_address_.remove(session.address_);
  }
  if (auto it = by_connection_.find(session.connection_session_id_); it != by_connection_.end()) {
    auto held = it->second.lock();
    if (!held || held.get() == &session) by_connection_.erase(it);
  }
}

std::shared_ptr<LongPollSession> LongPollSessions::find(const std::string& id, const std::string& password) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second->password_ != password) return nullptr;
  return it->second;
}

void LongPollSessions::close_all() {
  std::vector<std::shared_ptr<LongPollSession>> sessions;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, session] : sessions_) sessions.push_back(session);
  }
  for (auto& session : sessions) session->end("server shutting down");
}

void LongPollSessions::handle(const net::HttpRequest& request, std::shared_ptr<net::HttpExchange> exchange) {
  Params params = parse_params(request.target());
  unsigned version = request.version();
  bool keep_alive = request.keep_alive();
  auto get = [&](const char* key) -> std::string {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  };

  if (params.contains("start")) {
    std::string callback_id = get("cb");
    if (!valid_callback_id(callback_id)) {
      return exchange->reply(make_response(version, keep_alive, "{\"error\":\"Invalid long-poll callback id\"}",
                                           "application/json; charset=utf-8", http::status::bad_request));
    }
    std::string ns = get("ns");
    if (ns.empty()) ns = firebase_.default_namespace;
    auto database = registry_.get(ns);
    if (!database) {
      spdlog::info("firebase long-poll connection from {} refused: {}", exchange->remote_address(),
                   database.error().message);
      std::string reason = "Cannot open database \"" + ns + "\": " + database.error().message;
      std::string body = callbacks(callback_id) + "pLPCommand('start','0','0');pRTLPCB(0,[{\"t\":\"c\",\"d\":{\"t\":"
                         "\"s\",\"d\":" + json::serialize(json::value(reason)) + "}}]);";
      return exchange->reply(make_response(version, keep_alive, std::move(body)));
    }
    {
      std::lock_guard lock(mutex_);
      if (sessions_.size() >= options_.max_sessions) {
        std::size_t suppressed = 0;
        if (refusals_log_.allow(suppressed)) {
          spdlog::warn("firebase long-poll connection from {} refused: {} sessions open{}", exchange->remote_address(),
                       sessions_.size(),
                       suppressed ? "; " + std::to_string(suppressed) + " more refused since the last such line" : "");
        }
        return exchange->reply(make_response(version, keep_alive, "{\"error\":\"Too many long-poll sessions\"}",
                                             "application/json; charset=utf-8",
                                             http::status::service_unavailable));
      }
      // Counted now, so that parallel starts from one address cannot all pass; given back by remove().
      if (!per_address_.try_add(exchange->remote_address())) {
        std::size_t suppressed = 0;
        if (refusals_log_.allow(suppressed)) {
          spdlog::warn("firebase long-poll connection from {} refused: {} sessions open from that address "
                       "(max_connections_per_address){}",
                       exchange->remote_address(), options_.max_sessions_per_address,
                       suppressed ? "; " + std::to_string(suppressed) + " more refused since the last such line" : "");
        }
        return exchange->reply(make_response(version, keep_alive,
                                             "{\"error\":\"Too many long-poll sessions from your address\"}",
                                             "application/json; charset=utf-8",
                                             http::status::service_unavailable));
      }
    }
    // `ls`: the client's previous connection ends (proto/firebase/session_registry.h).
    if (const std::string replaces = get("ls"); !replaces.empty() && firebase_.sessions) {
      if (auto old = firebase_.sessions->find(replaces)) old->end_replaced();
    }
    auto session = std::make_shared<LongPollSession>(*this, random_token(16), random_token(16), firebase_, options_);
    session->address_ = exchange->remote_address();
    std::string host(request[http::field::host]);
    auto connection = std::make_shared<Connection>(**database, session, firebase_, std::move(host));
    std::string body = session->start(std::move(connection), callback_id);
    {
      std::lock_guard lock(mutex_);
      sessions_[session->id_] = session;
      by_connection_[session->connection_session_id_] = session;
    }
    spdlog::info("firebase long-poll session {} started from {} (connection {}, database \"{}\")", session->id_,
                 exchange->remote_address(), session->connection_session_id_, ns);
    return exchange->reply(make_response(version, keep_alive, std::move(body)));
  }

  if (params.contains("dframe")) {
    return exchange->reply(make_response(version, keep_alive, std::string(kDisconnectFrame), "text/html; charset=utf-8"));
  }

  auto session = find(get("id"), get("pw"));
  if (params.contains("disconn")) {
    if (session) session->end("the client left");
    return exchange->reply(make_response(version, keep_alive, "", "text/plain; charset=utf-8"));
  }
  if (!params.contains("id")) {
    return exchange->reply(make_response(version, keep_alive,
                                         "{\"error\":\"/.lp is the Firebase long-poll transport: start=t or id=..\"}",
                                         "application/json; charset=utf-8", http::status::bad_request));
  }
  if (!session) {
    // Unknown or expired: the client closes this transport and reconnects.
    return exchange->reply(make_response(version, keep_alive, "pLPCommand('close');"));
  }
  session->poll(params, version, keep_alive, std::move(exchange));
}

net::WebSocketAccept LongPollSessions::accept_upgrade(const std::string& session_id,
                                                      std::shared_ptr<net::WebSocketConnection> socket) {
  std::shared_ptr<LongPollSession> session;
  {
    std::lock_guard lock(mutex_);
    if (auto it = by_connection_.find(session_id); it != by_connection_.end()) session = it->second.lock();
  }
  net::WebSocketAccept accepted;
  accepted.max_message_bytes = firebase_.max_message_bytes;
  if (!session) {
    spdlog::info("firebase upgrade from {} refused: no long-poll session {}", socket->remote_address(), session_id);
    accepted.endpoint = std::make_shared<ClosingEndpoint>(std::move(socket));
    return accepted;
  }
  accepted.endpoint = std::make_shared<UpgradeEndpoint>(std::move(session), std::move(socket));
  return accepted;
}

}  // namespace backside::proto::firebase
