#pragma once
// The REST `timeout` of one read (docs/rest.md): the read is answered once, by its value or, if the time is up
// first, by the timeout's error. A timer answers at the deadline even while the read still waits on the database's
// writer (behind earlier writes, or a large read); a value that comes later is dropped unrendered.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace backside::proto::rest {

class ReplyDeadline : public std::enable_shared_from_this<ReplyDeadline> {
 public:
  // From now, `timeout` to answer; `on_expired` gives the timeout's answer (once, on a thread of `timers` or on the
  // thread that finds the time up). Without `timers` (no I/O context) the expiry is found only by the checks below.
  static std::shared_ptr<ReplyDeadline> start(boost::asio::any_io_executor timers, std::chrono::milliseconds timeout,
                                              std::function<void()> on_expired);

  ReplyDeadline(boost::asio::any_io_executor timers, std::chrono::milliseconds timeout,
                std::function<void()> on_expired);

  // Whether the answer may still come in time, before work is spent on it. When the time is up (before the timer
  // has run, too) the expiry answers now, and false. Any thread.
  bool in_time();
  // Takes the answer: true if it is in time and nobody answered (the caller answers now; the timer is cancelled),
  // false if the expiry has answered or answers now. Any thread; true for one caller at most.
  bool take();

 private:
  void expire();

  const std::chrono::steady_clock::time_point deadline_;
  std::function<void()> on_expired_;
  std::atomic<bool> answered_{false};
  // On a strand of its own: it is started on the request's thread and cancelled from whichever takes the answer.
  std::optional<boost::asio::steady_timer> timer_;
};

}  // namespace backside::proto::rest
