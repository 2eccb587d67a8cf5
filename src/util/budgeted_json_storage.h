#pragma once
// Storage for the JSON a client sends, charged to the server-wide memory budget (util/memory_budget.h). A request
// body is held as parsed JSON from its door until the database has applied it, and parsed JSON costs up to ~16
// times its text (a 16 MB array of small numbers is 128 MB of values), so charging only the body's bytes would let
// a few large requests take the process far past the budget. The parser allocates from this resource; when the
// budget cannot give more, the allocation throws std::bad_alloc, which tree::parse_json_value reports as
// errc::not_enough_memory, and the door refuses the request in its own form.
//
// Charged in steps of kStep bytes, so that a small message touches the budget's counter once, not per allocation.
#include <boost/json/memory_resource.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>

#include "util/memory_budget.h"

namespace backside {

class BudgetedJsonResource final : public boost::json::memory_resource {
 public:
  static constexpr std::size_t kStep = 4096;

  explicit BudgetedJsonResource(MemoryBudget* budget) : charge_(budget, MemoryBudget::Use::parsed_request) {}

 private:
  // Every block gets this one alignment, whatever the caller asks (at most this): Boost.JSON 1.81 allocates an
  // object key with alignment 1 and frees it with the default alignment, and an aligned delete that does not match
  // its new is undefined (ASan: new-delete-type-mismatch; found by the HTTP request fuzzer, on a body that ends
  // inside an object).
  static constexpr std::size_t kAlignment = alignof(std::max_align_t);

  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    if (alignment > kAlignment) throw std::bad_alloc();  // Boost.JSON never asks for more
    {
      std::lock_guard lock(mutex_);
      if (used_ + bytes > charge_.bytes() && !charge_.resize((used_ + bytes + kStep - 1) / kStep * kStep)) {
        throw std::bad_alloc();
      }
      used_ += bytes;
    }
    return ::operator new(bytes, std::align_val_t(kAlignment));
  }
  void do_deallocate(void* pointer, std::size_t bytes, std::size_t) override {
    ::operator delete(pointer, std::align_val_t(kAlignment));  // unsized: clang lacks sized delete by default
    std::lock_guard lock(mutex_);
    used_ -= bytes;
    if (charge_.bytes() > used_ + 4 * kStep) charge_.resize((used_ + kStep - 1) / kStep * kStep);
  }
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override { return this == &other; }

  std::mutex mutex_;  // values parsed on an I/O thread are released on a database thread
  std::size_t used_ = 0;
  MemoryCharge charge_;
};

// A message up to this size is parsed into an arena: its values are carved out of a few blocks and freed all at
// once with the last of them, instead of one allocation (and one free) per value, which was a large part of the
// cost of a small write. Larger bodies keep exact per-value accounting: an arena never reuses what was freed while
// parsing, and over megabytes that slack would count against the budget.
inline constexpr std::size_t kJsonArenaMaxText = 64 * 1024;

// Storage for one client message's JSON of `text_bytes` bytes: charged to `budget` (or the default storage without a
// budget), in an arena when the message is small. Values parsed into an arena must not be changed from two threads
// at once (they pass from thread to thread, as every request does).
inline boost::json::storage_ptr budgeted_json_storage(MemoryBudget* budget, std::size_t text_bytes = SIZE_MAX) {
  boost::json::storage_ptr upstream;
  if (budget) upstream = boost::json::make_shared_resource<BudgetedJsonResource>(budget);
  if (text_bytes > kJsonArenaMaxText) return upstream;
  // Parsed JSON takes a few times its text: one block usually holds the whole message.
  const std::size_t first_block = std::max<std::size_t>(1024, 4 * text_bytes);
  return boost::json::make_shared_resource<boost::json::monotonic_resource>(first_block, std::move(upstream));
}

// Puts `parsed` into `slot` with its storage (the budget's charge, the arena). Assigning would not: a json::value
// keeps its own storage when assigned to and copies what it is given into it, which here would cost a second set of
// allocations and leave the copy outside the budget until the database has applied it.
inline void adopt_json(boost::json::value& slot, boost::json::value&& parsed) noexcept {
  std::destroy_at(&slot);
  std::construct_at(&slot, std::move(parsed));
}

}  // namespace backside
