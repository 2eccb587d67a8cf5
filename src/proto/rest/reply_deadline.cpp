#include "proto/rest/reply_deadline.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

namespace backside::proto::rest {

std::shared_ptr<ReplyDeadline> ReplyDeadline::start(boost::asio::any_io_executor timers,
                                                    std::chrono::milliseconds timeout,
                                                    std::function<void()> on_expired) {
  auto deadline = std::make_shared<ReplyDeadline>(std::move(timers), timeout, std::move(on_expired));
  if (deadline->timer_) {
    boost::asio::dispatch(deadline->timer_->get_executor(), [deadline] {
      deadline->timer_->async_wait([deadline](const boost::system::error_code& error) {
        if (error != boost::asio::error::operation_aborted) deadline->expire();
      });
    });
  }
  return deadline;
}

ReplyDeadline::ReplyDeadline(boost::asio::any_io_executor timers, std::chrono::milliseconds timeout,
                             std::function<void()> on_expired)
    : deadline_(std::chrono::steady_clock::now() + timeout), on_expired_(std::move(on_expired)) {
  if (timers) timer_.emplace(boost::asio::make_strand(std::move(timers)), deadline_);
}

bool ReplyDeadline::in_time() {
  if (answered_.load(std::memory_order_acquire)) return false;
  if (std::chrono::steady_clock::now() < deadline_) return true;
  expire();
  return false;
}

bool ReplyDeadline::take() {
  if (std::chrono::steady_clock::now() >= deadline_) {
    expire();
    return false;
  }
  if (answered_.exchange(true, std::memory_order_acq_rel)) return false;
  // The timer would only find the answer given; cancelling it now lets go of what its handler holds.
  if (timer_) {
    boost::asio::post(timer_->get_executor(), [self = shared_from_this()] { self->timer_->cancel(); });
  }
  return true;
}

void ReplyDeadline::expire() {
  if (answered_.exchange(true, std::memory_order_acq_rel)) return;
  on_expired_();
}

}  // namespace backside::proto::rest
