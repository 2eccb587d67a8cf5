#include "net/socket_writer.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include "util/send_batch.h"

namespace backside::net {

namespace {

std::size_t frame_size(const OutgoingFrame& frame) {
  return frame.header_size + frame.head.size() + (frame.payload ? frame.payload->size() : 0);
}

// The iovecs (at most 3) of what is left of `frame` after its first `skip` bytes (skip < frame_size(frame)); returns
// how many were written to `iov`.
std::size_t frame_iovecs(OutgoingFrame& frame, std::size_t skip, iovec* iov) {
  std::size_t count = 0;
  const auto add = [&](void* data, std::size_t size) {
    if (skip >= size) {
      skip -= size;
      return;
    }
    iov[count++] = {static_cast<char*>(data) + skip, size - skip};
    skip = 0;
  };
  add(frame.header.data(), frame.header_size);
  add(frame.head.data(), frame.head.size());
  if (frame.payload) add(const_cast<char*>(frame.payload->data()), frame.payload->size());
  return count;
}

// One non-blocking gather write; the bytes written, 0 if the socket is full, -errno on failure.
long send_iovecs(int fd, iovec* iov, std::size_t count) {
  msghdr message{};
  message.msg_iov = iov;
  message.msg_iovlen = count;
  for (;;) {
    const ssize_t written = ::sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (written >= 0) return written;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -errno;
  }
}

}  // namespace

SocketWriter::Outcome SocketWriter::push(OutgoingFrame frame) {
  const std::size_t size = frame_size(frame);
  std::lock_guard lock(mutex_);
  if (stopped_ || closing_) return Outcome::refused;
  if (size == 0) return Outcome::none;
  if (fd_ >= 0 && !waiting_ && queue_.empty() && SendBatch::open()) {
    queued_bytes_ = size;
    queue_.push_back(std::move(frame));
    if (!charge_locked()) return Outcome::over_budget;
    joined_ = true;
    return Outcome::join;
  }
  if (fd_ >= 0 && !waiting_ && queue_.empty() && !tls_) {
    // The common case of a fan-out: nothing queued, so the frame goes out now, from this thread, without a copy.
    iovec iov[3];
    const long written = send_iovecs(fd_, iov, frame_iovecs(frame, 0, iov));
    if (written < 0) {
      error_ = static_cast<int>(-written);
      return Outcome::failed;
    }
    if (static_cast<std::size_t>(written) == size) return Outcome::none;
    front_written_ = static_cast<std::size_t>(written);
    queued_bytes_ = size;
    queue_.push_back(std::move(frame));
    if (!charge_locked()) return Outcome::over_budget;
    waiting_ = true;
    return Outcome::wait;
  }
  if (const Outcome admitted = admit_locked(size); admitted != Outcome::none) return admitted;
  queue_.push_back(std::move(frame));
  if (tls_ && fd_ >= 0 && !waiting_ && !joined_) return flush_locked();
  return Outcome::none;  // not started, or behind a pending wait or flush that writes it
}

SocketWriter::Outcome SocketWriter::push_all(std::span<const OutgoingFrame> frames) {
  std::size_t size = 0;
  for (const auto& frame : frames) size += frame_size(frame);
  std::lock_guard lock(mutex_);
  if (stopped_ || closing_) return Outcome::refused;
  if (size == 0) return Outcome::none;
  if (const Outcome admitted = admit_locked(size); admitted != Outcome::none) return admitted;
  const bool write_now = fd_ >= 0 && !waiting_ && !joined_ && queue_.empty();
  for (const auto& frame : frames) queue_.push_back(frame);
  if (!write_now) return Outcome::none;
  if (SendBatch::open()) {
    joined_ = true;
    return Outcome::join;
  }
  return flush_locked();
}

void SocketWriter::trim() {
  std::lock_guard lock(mutex_);
  if (queue_.empty()) queue_.release();
}

SocketWriter::Outcome SocketWriter::start(int fd, OutgoingFrame first) {
  const std::size_t first_size = frame_size(first);
  std::lock_guard lock(mutex_);
  fd_ = fd;
  if (first_size > 0 && !stopped_) {
    queued_bytes_ += first_size;
    queue_.push_front(std::move(first));
    charge_.resize(queued_bytes_);  // a few hundred bytes that open the connection: taken even past the budget
  }
  if (stopped_) return Outcome::none;
  return flush_locked();
}

SocketWriter::Outcome SocketWriter::resume() {
  std::lock_guard lock(mutex_);
  waiting_ = false;
  if (stopped_ || fd_ < 0) return Outcome::none;
  return flush_locked();
}

SocketWriter::Outcome SocketWriter::flush_tls() {
  std::lock_guard lock(mutex_);
  if (stopped_ || fd_ < 0 || waiting_ || !tls_) return Outcome::none;
  return flush_locked();
}

SocketWriter::Outcome SocketWriter::flush() {
  std::lock_guard lock(mutex_);
  joined_ = false;
  if (stopped_ || fd_ < 0 || waiting_) return Outcome::none;
  return flush_locked();
}

SocketWriter::Outcome SocketWriter::close(OutgoingFrame last) {
  const std::size_t size = frame_size(last);
  std::lock_guard lock(mutex_);
  if (stopped_ || closing_) return Outcome::refused;
  closing_ = true;
  if (size > 0) {
    queued_bytes_ += size;
    queue_.push_back(std::move(last));
    // A close frame is a few bytes and ends the connection: it goes out even when the budget is spent.
    charge_.resize(queued_bytes_);
  }
  if (fd_ < 0 || waiting_ || joined_) return Outcome::none;
  return flush_locked();
}

SocketWriter::Outcome SocketWriter::admit_locked(std::size_t size) {
  // One frame larger than the bound is let through when nothing is waiting: only falling behind drops.
  const bool was_idle = queued_bytes_ == 0;
  queued_bytes_ += size;
  if (!was_idle && queued_bytes_ > max_queued_bytes_) {
    drop_locked();
    return Outcome::overflow;
  }
  return charge_locked() ? Outcome::none : Outcome::over_budget;
}

bool SocketWriter::charge_locked() {
  if (charge_.resize(queued_bytes_)) return true;
  drop_locked();
  return false;
}

void SocketWriter::drop_locked() {
  closing_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  front_written_ = 0;
  charge_.release();
}

bool SocketWriter::stop() {
  std::lock_guard lock(mutex_);
  if (stopped_) return false;
  stopped_ = true;
  closing_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  front_written_ = 0;
  tls_in_flight_ = 0;
  charge_.release();
  return true;
}

bool SocketWriter::closing() const {
  std::lock_guard lock(mutex_);
  return closing_;
}

namespace {
constexpr std::size_t kMaxIovecs = 192;  // 64 frames of three parts (IOV_MAX is 1024)
}  // namespace

SocketWriter::Outcome SocketWriter::flush_tls_locked() {
  // Frames are encrypted a batch at a time, and only once the ciphertext of the last batch is written: what the
  // channel holds stays under a batch, and what waits is the frames themselves (shared payloads, not copies).
  constexpr std::size_t kBatchBytes = 65536;
  for (;;) {
    const long sent = tls_->send_output(fd_);
    if (sent < 0) {
      error_ = static_cast<int>(-sent);
      return Outcome::failed;
    }
    if (tls_->output_size() > 0) {
      waiting_ = true;
      return Outcome::wait;
    }
    if (tls_in_flight_ > 0) {
      queued_bytes_ -= std::min(queued_bytes_, tls_in_flight_);
      tls_in_flight_ = 0;
      charge_.shrink_to(queued_bytes_);
    }
    if (queue_.empty()) {
      if (closing_ && !tls_close_sent_) {
        tls_close_sent_ = true;
        tls_->close_notify();
        continue;
      }
      return closing_ ? Outcome::drained : Outcome::none;
    }
    if (!tls_->established()) return Outcome::none;  // the handshake's flush_tls() brings them
    iovec iov[kMaxIovecs];
    std::size_t count = 0;
    std::size_t frames = 0;
    std::size_t bytes = 0;
    for (; frames < queue_.size() && count + 3 <= kMaxIovecs && bytes < kBatchBytes; ++frames) {
      count += frame_iovecs(queue_[frames], 0, iov + count);
      bytes += frame_size(queue_[frames]);
    }
    if (!tls_->encrypt(std::span<const iovec>(iov, count))) {
      error_ = EPROTO;
      return Outcome::failed;
    }
    for (std::size_t i = 0; i < frames; ++i) queue_.pop_front();
    tls_in_flight_ = bytes;
  }
}

SocketWriter::Outcome SocketWriter::flush_locked() {
  if (tls_) return flush_tls_locked();
  while (!queue_.empty()) {
    iovec iov[kMaxIovecs];
    std::size_t count = 0;
    for (std::size_t i = 0; i < queue_.size() && count + 3 <= kMaxIovecs; ++i) {
      count += frame_iovecs(queue_[i], i == 0 ? front_written_ : 0, iov + count);
    }
    const long written = send_iovecs(fd_, iov, count);
    if (written < 0) {
      error_ = static_cast<int>(-written);
      return Outcome::failed;
    }
    if (written == 0) {
      waiting_ = true;
      return Outcome::wait;
    }
    std::size_t done = front_written_ + static_cast<std::size_t>(written);
    while (!queue_.empty() && done >= frame_size(queue_[0])) {
      const std::size_t size = frame_size(queue_[0]);
      done -= size;
      queued_bytes_ -= std::min(queued_bytes_, size);
      queue_.pop_front();
    }
    front_written_ = done;
    charge_.shrink_to(queued_bytes_);
  }
  front_written_ = 0;
  return closing_ ? Outcome::drained : Outcome::none;
}

}  // namespace backside::net
