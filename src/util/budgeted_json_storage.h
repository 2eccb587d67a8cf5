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
#include <boost/json/storage_ptr.hpp>

#include <cstddef>
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

// Storage for one client message's JSON: charged to `budget`, or the default storage without a budget.
inline boost::json::storage_ptr budgeted_json_storage(MemoryBudget* budget) {
  if (!budget) return {};
  return boost::json::make_shared_resource<BudgetedJsonResource>(budget);
}

}  // namespace backside
