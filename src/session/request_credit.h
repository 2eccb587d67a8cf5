#pragma once
// How much work one client connection may have queued in the core and not yet answered, whatever its door: a count
// of requests and the bytes of their payloads. At either bound the door stops reading from the connection (TCP
// backpressure reaches the client); reading resumes once both are back to half. A client therefore cannot grow a
// database's writer queue without bound and make every other client of that database wait.
//
// Thread-safe: requests begin on the connection's I/O thread and end on a database's thread.
#include <algorithm>
#include <cstddef>
#include <functional>
#include <mutex>
#include <utility>

namespace backside::session {

class RequestCredit {
 public:
  // `pause(true)` stops reading, `pause(false)` resumes it. Called under the credit's lock: it must only post to the
  // connection's strand, never block or call back into the credit.
  RequestCredit(std::size_t max_requests, std::size_t max_bytes, std::function<void(bool paused)> pause)
      : max_requests_(max_requests), max_bytes_(max_bytes), pause_(std::move(pause)) {}

  // A request carrying `bytes` of payload was taken from the connection.
  void begin(std::size_t bytes = 0) {
    std::lock_guard lock(mutex_);
    ++requests_;
    bytes_ += bytes;
    if (!paused_ && (requests_ >= max_requests_ || (max_bytes_ && bytes_ >= max_bytes_))) {
      paused_ = true;
      pause_(true);
    }
  }

  // That request was answered.
  void end(std::size_t bytes = 0) {
    std::lock_guard lock(mutex_);
    if (requests_ > 0) --requests_;
    bytes_ -= std::min(bytes_, bytes);
    if (paused_ && requests_ <= max_requests_ / 2 && (!max_bytes_ || bytes_ <= max_bytes_ / 2)) {
      paused_ = false;
      pause_(false);
    }
  }

  std::size_t requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  bool paused() const {
    std::lock_guard lock(mutex_);
    return paused_;
  }

 private:
  const std::size_t max_requests_;
  const std::size_t max_bytes_;  // 0 = no byte bound
  std::function<void(bool)> pause_;
  mutable std::mutex mutex_;
  std::size_t requests_ = 0;
  std::size_t bytes_ = 0;
  bool paused_ = false;
};

}  // namespace backside::session
