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
// Who is refused: a charge may be enrolled as evictable (the outbound queues). When a charge does not fit, the
// budget first takes back the largest evictable charge that is larger than the asker's own, as Redis's
// `maxmemory-clients` drops the clients using the most memory: its bytes are given back at once and its owner is
// told to drop the connection (the queue itself is freed right after, on the owner's thread). So a crowd of slow
// readers is dropped largest first, and a reading client, whose queue holds a frame for a moment, goes on.
//
// Thread-safe: an atomic counter; a mutex only around the list of evictable charges (enrol, withdraw, evict).
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_set>
#include <limits>
#include <optional>
#include <utility>

namespace backside {

class MemoryCharge;

class MemoryBudget {
 public:
  // What a charge buffers, for the refusal log.
  enum class Use : std::uint8_t {
    outbound_queue,     // bytes queued for a client that does not read them fast enough
    request_header,     // an HTTP request head being read
    request_body,       // an HTTP request body being read
    incoming_message,   // a partial WebSocket message
    incoming_frame,     // a partial STOMP frame
    transaction,        // SEND bodies buffered in open STOMP transactions
    response,           // an HTTP response being written
    parsed_request,     // a request's JSON, parsed, until the database has applied it
  };
  static constexpr std::size_t kUses = 8;

  explicit MemoryBudget(std::size_t limit_bytes) : limit_(limit_bytes) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  std::size_t limit() const { return limit_; }
  std::size_t used() const { return used_.load(std::memory_order_relaxed); }
  // Refusals so far for `use` (the log shows them only every 10 s).
  std::size_t refusals(Use use) const { return incidents_[index(use)].refusals.load(std::memory_order_relaxed); }
  // Evictable charges taken back so far.
  std::size_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  friend class MemoryCharge;
  struct Incident {
    std::atomic<std::size_t> refusals{0};
    std::atomic<std::int64_t> last_log_ms{std::numeric_limits<std::int64_t>::min() / 2};
  };
  static std::size_t index(Use use) { return static_cast<std::size_t>(use); }
  static const char* describe(Use use) {
    switch (use) {
      case Use::outbound_queue: return "dropping a client that does not read what is queued for it";
      case Use::request_header: return "answering 503 to a request head";
      case Use::request_body: return "answering 503 to a request body";
      case Use::incoming_message: return "closing a WebSocket with a partial message";
      case Use::incoming_frame: return "closing a STOMP connection with a partial frame";
      case Use::transaction: return "closing a STOMP connection with a growing transaction";
      case Use::response: return "answering 503 instead of a response";
      case Use::parsed_request: return "refusing a request whose parsed JSON does not fit";
    }
    return "refusing";
  }

  // Takes `bytes` if they fit, all or nothing.
  bool fits(std::size_t bytes) {
    std::size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || used > limit_ - bytes) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  // Takes `bytes` for `asker` (which holds `held`), evicting larger evictable charges to make room.
  bool try_take(std::size_t bytes, Use use, const MemoryCharge* asker, std::size_t held);
  void give_back(std::size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  void enrol(MemoryCharge* charge) {
    std::lock_guard lock(evictable_mutex_);
    evictable_.insert(charge);
  }
  void withdraw(MemoryCharge* charge) {
    std::lock_guard lock(evictable_mutex_);
    evictable_.erase(charge);
  }
  // Takes back the largest evictable charge larger than `than` (not `asker`); false if there is none.
  bool evict_largest(const MemoryCharge* asker, std::size_t than);

  void note_refusal(Use use, std::size_t bytes) {
    Incident& incident = incidents_[index(use)];
    const std::size_t count = incident.refusals.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = incident.last_log_ms.load(std::memory_order_relaxed);
    if (now - last < 10000 || !incident.last_log_ms.compare_exchange_strong(last, now)) return;
    spdlog::warn("memory budget (max_buffered_bytes = {}) exhausted: {} used, {} more asked; {} ({} refusals so far, "
                 "{} slow clients dropped to make room)",
                 limit_, used(), bytes, describe(use), count, evictions());
  }

  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
  std::atomic<std::size_t> evictions_{0};
  std::array<Incident, kUses> incidents_{};
  Incident eviction_log_;
  std::mutex evictable_mutex_;
  std::unordered_set<MemoryCharge*> evictable_;
};

class MemoryCharge {
 public:
  // A charge of nothing against `budget` (nullptr: no budget, every resize succeeds).
  explicit MemoryCharge(MemoryBudget* budget = nullptr, MemoryBudget::Use use = MemoryBudget::Use::outbound_queue)
      : budget_(budget), use_(use) {}
  // Moving takes the bytes, not an enrolment (an enrolled charge stays where it was enrolled).
  MemoryCharge(MemoryCharge&& other) noexcept
      : budget_(other.budget_), use_(other.use_), bytes_(other.take_all()) {}
  MemoryCharge& operator=(MemoryCharge&& other) noexcept {
    if (this != &other) {
      release();
      budget_ = other.budget_;
      use_ = other.use_;
      bytes_.store(other.take_all(), std::memory_order_relaxed);
    }
    return *this;
  }
  MemoryCharge(const MemoryCharge&) = delete;
  MemoryCharge& operator=(const MemoryCharge&) = delete;
  ~MemoryCharge() {
    if (on_evict_ && budget_) budget_->withdraw(this);
    release();
  }

  // Charges `bytes` up front; nullopt (nothing charged) if the budget cannot give them.
  static std::optional<MemoryCharge> take(MemoryBudget* budget, MemoryBudget::Use use, std::size_t bytes) {
    MemoryCharge charge(budget, use);
    if (!charge.resize(bytes)) return std::nullopt;
    return charge;
  }

  // Lets the budget take this charge back to make room for others, the largest first: it then gives the bytes
  // back itself, refuses any growth, and calls `on_evict` (under its lock: it must only post the drop of the
  // connection elsewhere, never block or call into the budget). Once, before the charge is used from other threads.
  void enrol(std::function<void()> on_evict) {
    if (!budget_ || on_evict_) return;
    on_evict_ = std::move(on_evict);
    budget_->enrol(this);
  }
  bool evicted() const { return evicted_.load(std::memory_order_acquire); }

  std::size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

  // Makes the charge `bytes`. Shrinking always succeeds; growing takes the difference from the budget, all or
  // nothing: false (the charge unchanged) if the budget cannot give it, or if the charge was evicted.
  // One thread at a time (the owner's lock); only the budget's eviction runs beside it.
  bool resize(std::size_t bytes) {
    std::size_t held = bytes_.load(std::memory_order_acquire);
    if (bytes <= held) {
      // An eviction may take everything meanwhile: then it has given the bytes back already.
      if (bytes_.compare_exchange_strong(held, bytes) && budget_) budget_->give_back(held - bytes);
      return true;
    }
    if (evicted()) return false;
    if (budget_ && !budget_->try_take(bytes - held, use_, this, held)) return false;
    if (!bytes_.compare_exchange_strong(held, bytes)) {  // evicted meanwhile: the budget has what it held
      if (budget_) budget_->give_back(bytes - held);
      return false;
    }
    return true;
  }
  // Shrinks to `bytes` if the charge is larger (a buffer that drained), never grows.
  void shrink_to(std::size_t bytes) {
    if (bytes < this->bytes()) resize(bytes);
  }
  void release() { resize(0); }

 private:
  friend class MemoryBudget;
  std::size_t take_all() {
    std::size_t held = bytes_.exchange(0, std::memory_order_acq_rel);
    return held;
  }

  MemoryBudget* budget_;
  MemoryBudget::Use use_;
  std::atomic<std::size_t> bytes_{0};
  std::atomic<bool> evicted_{false};
  std::function<void()> on_evict_;  // set once: enrolled
};

inline bool MemoryBudget::try_take(std::size_t bytes, Use use, const MemoryCharge* asker, std::size_t held) {
  // A few evictions at most per request: each frees more than the asker holds, so room comes quickly or not at all.
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (fits(bytes)) return true;
    if (!evict_largest(asker, held + bytes)) break;
  }
  note_refusal(use, bytes);
  return false;
}

inline bool MemoryBudget::evict_largest(const MemoryCharge* asker, std::size_t than) {
  std::lock_guard lock(evictable_mutex_);
  MemoryCharge* largest = nullptr;
  std::size_t largest_bytes = than;
  for (MemoryCharge* charge : evictable_) {
    const std::size_t bytes = charge->bytes();
    if (charge != asker && bytes > largest_bytes && !charge->evicted()) {
      largest = charge;
      largest_bytes = bytes;
    }
  }
  if (!largest) return false;
  largest->evicted_.store(true, std::memory_order_release);
  give_back(largest->take_all());
  const std::size_t count = evictions_.fetch_add(1, std::memory_order_relaxed) + 1;
  largest->on_evict_();
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::int64_t last = eviction_log_.last_log_ms.load(std::memory_order_relaxed);
  if (now - last >= 10000 && eviction_log_.last_log_ms.compare_exchange_strong(last, now)) {
    spdlog::warn("memory budget (max_buffered_bytes = {}) full: dropping the slow client with the largest queue ({} "
                 "bytes) to make room ({} dropped so far)",
                 limit_, largest_bytes, count);
  }
  return true;
}

}  // namespace backside
