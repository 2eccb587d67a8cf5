#include "proto/firebase/long_poll_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "proto/firebase/frame_codec.h"

namespace backside::proto::firebase {

using Clock = std::chrono::steady_clock;

LongPollSession::LongPollSession(std::string id, std::string password, std::string address,
                                 boost::asio::any_io_executor executor, const FirebaseOptions& firebase,
                                 const LongPollOptions& options, Forget forget)
    : id_(std::move(id)),
      password_(std::move(password)),
      address_(std::move(address)),
      executor_(std::move(executor)),
      firebase_(firebase),
      options_(options),
      forget_(std::move(forget)),
      segments_(firebase.max_message_bytes, options.max_pending_segments),
      input_charge_(options.memory_budget, MemoryBudget::Use::incoming_message),
      queue_charge_(options.memory_budget, MemoryBudget::Use::outbound_queue),
      last_request_(Clock::now()),
      hold_timer_(std::in_place, executor_),
      idle_timer_(std::in_place, executor_) {}

LongPollSession::~LongPollSession() = default;

std::string LongPollSession::start(std::shared_ptr<firebase::Connection> connection, const std::string& callback_id) {
  std::lock_guard in(in_mutex_);
  connection_ = std::move(connection);
  connection_session_id_ = connection_->session_id();
  // When the server's memory budget needs room, it may take back the largest outbound queues: this session's too,
  // which then ends as a slow reader.
  queue_charge_.enrol([weak = weak_from_this(), executor = executor_] {
    boost::asio::post(executor, [weak] {  // under the budget's lock: only post
      if (auto self = weak.lock()) self->drop_evicted();
    });
  });
  connection_->open();  // the handshake, into the queue
  std::lock_guard out(out_mutex_);
  counted_open_ =
      metrics::GaugeIncrement(metrics::server_metrics().open_connections(metrics::ConnectionKind::firebase_long_poll));
  std::string body = long_poll::start_script(callback_id, id_, password_, queue_);
  queue_.clear();
  queued_bytes_ = 0;
  queue_charge_.release();
  last_request_ = Clock::now();
  arm_idle_timer_locked(last_request_ + options_.idle_time);
  return body;
}

bool LongPollSession::send(std::string head, std::shared_ptr<const std::string> body) {
  head += *body;
  return send(std::make_shared<const std::string>(std::move(head)));
}

bool LongPollSession::send_all(std::span<const std::shared_ptr<const std::string>> messages) {
  for (const auto& message : messages) {
    if (!send(message)) return false;
  }
  return true;
}

void LongPollSession::post(std::function<void()> fn) {
  boost::asio::post(executor_, [self = shared_from_this(), fn = std::move(fn)] {
    std::lock_guard in(self->in_mutex_);
    fn();
  });
}

bool LongPollSession::send(std::shared_ptr<const std::string> message) {
  std::optional<Reply> reply;
  bool dropped = false;
  bool over_bound = false;
  {
    std::lock_guard out(out_mutex_);
    if (output_switched_) {
      return websocket_ && websocket_->send(std::move(message));  // split there if long (firebase_websocket)
    }
    if (closing_ || finish_wanted_) return false;
    queued_bytes_ += message->size();
    queue_.push_back(message);
    // Over its own bound, or over the server's memory budget (which logs that itself): dropped as a slow reader.
    over_bound = queued_bytes_ > options_.max_queue_bytes;
    if (over_bound || !queue_charge_.resize(queued_bytes_)) {
      dropped = true;
      metrics::server_metrics()
          .slow_clients_dropped(over_bound ? metrics::SlowClientDrop::queue_limit
                                           : metrics::SlowClientDrop::memory_budget)
          .add();
      reply = drop_queue_locked();
    } else {
      reply = release_held_locked();
    }
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  if (dropped) {
    if (over_bound) {
      spdlog::warn("firebase long-poll session {}: dropped, more than {} bytes waiting for a poll", id_,
                   options_.max_queue_bytes);
    }
    finish_later();
    return false;
  }
  return true;
}

void LongPollSession::close(std::uint16_t code, std::string reason) {
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
  finish_later();
}

std::optional<LongPollSession::Reply> LongPollSession::close_locked(const std::string& reason) {
  if (!closing_) spdlog::info("firebase long-poll session {} closing: {}", id_, reason);
  closing_ = true;
  finish_wanted_ = true;
  return release_held_locked();
}

std::optional<LongPollSession::Reply> LongPollSession::drop_queue_locked() {
  queue_.clear();
  queued_bytes_ = 0;
  queue_charge_.release();
  return close_locked("it fell too far behind");
}

void LongPollSession::drop_evicted() {
  std::optional<Reply> reply;
  {
    std::lock_guard out(out_mutex_);
    if (closing_ || output_switched_) return;  // ending anyway, or its output is the WebSocket's now
    reply = drop_queue_locked();
  }
  metrics::server_metrics().slow_clients_dropped(metrics::SlowClientDrop::memory_budget).add();
  if (reply) reply->exchange->reply(std::move(reply->response));
  // The budget logs its evictions (rate-limited); a crowd of them must not flood the log from here.
  spdlog::debug("firebase long-poll session {}: dropped, its queue being the largest, to make room in the memory "
                "budget", id_);
  finish();
}

std::optional<LongPollSession::Reply> LongPollSession::release_held_locked() {
  if (!held_) return std::nullopt;
  Poll poll = std::move(*held_);
  held_.reset();
  return answer_locked(std::move(poll));
}

std::optional<LongPollSession::Reply> LongPollSession::answer_locked(Poll&& poll) {
  // After the close command the client no longer reads this channel: late polls get an empty answer.
  if (lp_done_) return Reply{std::move(poll.exchange), long_poll::http_response(poll.version, poll.keep_alive, "")};
  const std::int64_t number = next_response_++;
  std::string body = long_poll::response_script(number, queue_, closing_);
  queue_.clear();
  queued_bytes_ = 0;
  queue_charge_.release();
  if (closing_) lp_done_ = true;
  return Reply{std::move(poll.exchange), long_poll::http_response(poll.version, poll.keep_alive, std::move(body))};
}

void LongPollSession::poll(const long_poll::QueryParams& params, unsigned version, bool keep_alive,
                           std::shared_ptr<net::HttpExchange> exchange) {
  const auto now = Clock::now();
  {
    std::lock_guard in(in_mutex_);
    {
      std::lock_guard out(out_mutex_);
      last_request_ = now;
    }
    if (!finished_ && !input_switched_) {
      auto parsed = long_poll::read_segments(params);
      bool stopped = false;  // by an error, or by the session's end or switch
      for (auto& segment : parsed.segments) {
        bool ok = segments_.add(std::move(segment));
        while (ok && !finished_ && !input_switched_) {
          auto message = segments_.next();
          if (!message) ok = false;
          else if (!*message) break;
          else deliver(std::move(**message));
        }
        if (!ok) {
          close(1002, "Malformed long-poll segment");
          stopped = true;
          break;
        }
        // Segments that wait for others are charged to the server's memory budget, as partial WebSocket messages.
        if (!input_charge_.resize(segments_.buffered_bytes())) {
          close(1008, "the server has no memory left for incoming messages (max_buffered_bytes); try again later");
          stopped = true;
          break;
        }
        if (finished_ || input_switched_) {
          stopped = true;
          break;
        }
      }
      if (parsed.malformed && !stopped) close(1002, "Malformed long-poll segment");
    }
  }
  std::vector<Reply> replies;
  {
    std::lock_guard out(out_mutex_);
    if (auto reply = release_held_locked()) replies.push_back(std::move(*reply));
    Poll current{std::move(exchange), version, keep_alive, now};
    if (lp_done_ || closing_ || !queue_.empty()) {
      if (auto reply = answer_locked(std::move(current))) replies.push_back(std::move(*reply));
    } else {
      held_ = std::move(current);
      arm_hold_timer_locked();
    }
  }
  for (auto& reply : replies) reply.exchange->reply(std::move(reply.response));
}

void LongPollSession::deliver(std::string&& message) {
  if (finished_ || !connection_) return;
  if (long_poll::control_type(message) == "n") return switch_to_websocket();
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
      queue_.push_back(long_poll::control_message("n"));
      queued_bytes_ += queue_.back()->size();
      queue_charge_.resize(queued_bytes_);  // a few bytes that end the channel: never refused
      closing_ = true;
      output_switched_ = true;
      counted_open_.release();  // the WebSocket counts the connection from now on
      switched = true;
      reply = release_held_locked();
    }
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  if (!switched) {
    finish_later();
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
  websocket_->send(long_poll::control_message("a"));
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
    auto type = long_poll::control_type(frame);
    if (type == "p") {
      std::lock_guard out(out_mutex_);
      if (websocket_) websocket_->send(long_poll::control_message("o"));
    } else if (type == "a") {
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

void LongPollSession::arm_hold_timer_locked() {
  if (!hold_timer_ || !held_) return;
  // Re-arming cancels the wait for the poll held before (answered by now).
  hold_timer_->expires_at(held_->since + options_.hold_time);
  hold_timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // a newer poll's wait replaced it, or the timers stopped
    if (auto self = weak.lock()) self->hold_expired();
  });
}

void LongPollSession::hold_expired() {
  std::optional<Reply> reply;
  {
    std::lock_guard out(out_mutex_);
    // A newer poll may have taken the held one's place just as its time came: that one waits its own time.
    if (held_ && Clock::now() - held_->since >= options_.hold_time) reply = release_held_locked();
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
}

void LongPollSession::arm_idle_timer_locked(Clock::time_point due) {
  if (!idle_timer_) return;
  // Set once per idle period rather than per poll: on expiry it looks at the last request and waits again.
  idle_timer_->expires_at(due);
  idle_timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // the timers stopped
    if (auto self = weak.lock()) self->idle_expired();
  });
}

void LongPollSession::idle_expired() {
  bool timed_out = false;
  bool forget = false;
  {
    std::lock_guard out(out_mutex_);
    if (!idle_timer_) return;  // stopped while this expiry was on its way
    const auto due = last_request_ + options_.idle_time;
    if (Clock::now() < due) return arm_idle_timer_locked(due);
    if (output_switched_) {
      // Upgraded: the WebSocket keeps the session; the long-poll id is forgotten once its late polls stopped.
      forget = true;
      stop_timers_locked();
    } else if (!finish_wanted_) {
      timed_out = true;
      closing_ = true;
      finish_wanted_ = true;
    }
  }
  if (forget) return forget_(*this);
  if (timed_out) {
    spdlog::info("firebase long-poll session {}: no poll for {} s, closing", id_,
                 std::chrono::duration<double>(options_.idle_time).count());
  }
  finish();
}

void LongPollSession::stop_timers_locked() {
  // Destroying a timer cancels its wait; its handler holds the session only weakly.
  hold_timer_.reset();
  idle_timer_.reset();
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

void LongPollSession::stop(const char* reason) {
  std::optional<Reply> reply;
  {
    std::lock_guard out(out_mutex_);
    if (!output_switched_) reply = close_locked(reason);
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  finish();
}

bool LongPollSession::finished() {
  std::lock_guard in(in_mutex_);
  return finished_;
}

void LongPollSession::finish_later() {
  boost::asio::post(executor_, [self = shared_from_this()] { self->finish(); });
}

void LongPollSession::finish() {
  std::shared_ptr<firebase::Connection> connection;
  {
    std::lock_guard in(in_mutex_);
    if (finished_) return;
    finished_ = true;
    connection = std::move(connection_);
    if (connection) connection->on_close();  // onDisconnect writes, listens dropped
    websocket_backlog_.clear();
    segments_.clear();
    input_charge_.release();
  }
  std::optional<Reply> reply;
  std::shared_ptr<net::WebSocketConnection> socket;
  {
    std::lock_guard out(out_mutex_);
    closing_ = true;
    finish_wanted_ = false;
    reply = release_held_locked();
    socket = std::move(websocket_);
    queue_.clear();
    queued_bytes_ = 0;
    queue_charge_.release();
    stop_timers_locked();
    counted_open_.release();
  }
  if (reply) reply->exchange->reply(std::move(reply->response));
  if (socket) socket->close(1000, "session closed");
  forget_(*this);
}

}  // namespace backside::proto::firebase
