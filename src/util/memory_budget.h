#pragma once
// The server-wide budget for memory that clients control: bytes they send that we buffer (HTTP request bodies,
// partial WebSocket messages and STOMP frames, STOMP transactions) and bytes we queue for them that they do not
// read (outbound queues of sockets and event streams). Per-connection bounds alone do not bound the process: they
// multiply by the number of connections. As Redis's client output limits and `maxmemory` do, every such buffer is
// charged here, and when the budget (config `max_buffered_bytes`) is spent the client asking for more is refused
// or dropped, never the server.
//
// A MemoryCharge is what one buffer holds: move-only, it follows the buffer's size (resize) and gives its bytes
// back when it is destroyed. Charges with no budget (unit tests, tools) always succeed. Refusals are logged here,
// once per kind of use every 10 s with a count, so a flood of refused clients cannot flood the log.
//
// Queued output is charged per connection at its full size even where the payload is shared by many subscribers
// (net/socket_writer.h): the budget then over-counts a fan-out, which only makes it stricter.
//
// Thread-safe: one atomic counter.
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace backside {

class MemoryBudget {
 public:
  // What a charge buffers, for the refusal log.
  enum class Use : std::uint8_t {
    outbound_queue,     // bytes queued for a client that does not read them fast enough
    request_body,       // an HTTP request body being read
    incoming_message,   // a partial WebSocket message
    incoming_frame,     // a partial STOMP frame
    transaction,        // SEND bodies buffered in open STOMP transactions
    response,           // an HTTP response being written
  };
  static constexpr std::size_t kUses = 6;

  explicit MemoryBudget(std::size_t limit_bytes) : limit_(limit_bytes) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  std::size_t limit() const { return limit_; }
  std::size_t used() const { return used_.load(std::memory_order_relaxed); }
  // Refusals so far for `use` (the log shows them only every 10 s).
  std::size_t refusals(Use use) const { return incidents_[index(use)].refusals.load(std::memory_order_relaxed); }

  // Takes `bytes` if they fit, all or nothing.
  bool try_take(std::size_t bytes, Use use) {
    std::size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || used > limit_ - bytes) {
        note_refusal(use, bytes, used);
        return false;
      }
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void give_back(std::size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

 private:
  struct Incident {
    std::atomic<std::size_t> refusals{0};
    std::atomic<std::int64_t> last_log_ms{std::numeric_limits<std::int64_t>::min() / 2};
  };
  static std::size_t index(Use use) { return static_cast<std::size_t>(use); }
  static const char* describe(Use use) {
    switch (use) {
      case Use::outbound_queue: return "dropping a client that does not read what is queued for it";
      case Use::request_body: return "answering 503 to a request body";
      case Use::incoming_message: return "closing a WebSocket with a partial message";
      case Use::incoming_frame: return "closing a STOMP connection with a partial frame";
      case Use::transaction: return "closing a STOMP connection with a growing transaction";
      case Use::response: return "answering 503 instead of a response";
    }
    return "refusing";
  }

  void note_refusal(Use use, std::size_t bytes, std::size_t used) {
    Incident& incident = incidents_[index(use)];
    const std::size_t count = incident.refusals.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = incident.last_log_ms.load(std::memory_order_relaxed);
    if (now - last < 10000 || !incident.last_log_ms.compare_exchange_strong(last, now)) return;
    spdlog::warn("memory budget (max_buffered_bytes = {}) exhausted: {} used, {} more asked; {} ({} refusals so far)",
                 limit_, used, bytes, describe(use), count);
  }

  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
  std::array<Incident, kUses> incidents_{};
};

class MemoryCharge {
 public:
  // A charge of nothing against `budget` (nullptr: no budget, every resize succeeds).
  explicit MemoryCharge(MemoryBudget* budget = nullptr, MemoryBudget::Use use = MemoryBudget::Use::outbound_queue)
      : budget_(budget), use_(use) {}
  MemoryCharge(MemoryCharge&& other) noexcept
      : budget_(other.budget_), use_(other.use_), bytes_(std::exchange(other.bytes_, 0)) {}
  MemoryCharge& operator=(MemoryCharge&& other) noexcept {
    if (this != &other) {
      release();
      budget_ = other.budget_;
      use_ = other.use_;
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  MemoryCharge(const MemoryCharge&) = delete;
  MemoryCharge& operator=(const MemoryCharge&) = delete;
  ~MemoryCharge() { release(); }

  // Charges `bytes` up front; nullopt (nothing charged) if the budget cannot give them.
  static std::optional<MemoryCharge> take(MemoryBudget* budget, MemoryBudget::Use use, std::size_t bytes) {
    MemoryCharge charge(budget, use);
    if (!charge.resize(bytes)) return std::nullopt;
    return charge;
  }

  std::size_t bytes() const { return bytes_; }

  // Makes the charge `bytes`. Shrinking always succeeds; growing takes the difference from the budget, all or
  // nothing: false (the charge unchanged) if the budget cannot give it.
  bool resize(std::size_t bytes) {
    if (bytes <= bytes_) {
      if (budget_) budget_->give_back(bytes_ - bytes);
      bytes_ = bytes;
      return true;
    }
    if (budget_ && !budget_->try_take(bytes - bytes_, use_)) return false;
    bytes_ = bytes;
    return true;
  }
  // Shrinks to `bytes` if the charge is larger (a buffer that drained), never grows.
  void shrink_to(std::size_t bytes) {
    if (bytes < bytes_) resize(bytes);
  }
  void release() { resize(0); }

 private:
  MemoryBudget* budget_;
  MemoryBudget::Use use_;
  std::size_t bytes_ = 0;
};

}  // namespace backside
