#pragma once
// The outgoing items of one connection, oldest first. Unlike std::deque, which keeps a 512-byte block even when empty,
// it holds no memory while empty and little after (idle connections are most connections: the idle-connection memory
// target), and reuses its storage while busy. Not thread-safe: the session guards it.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace backside::net {

// Keeps storage for up to KeptCapacity items when it empties; more is given back.
template <class Item, std::size_t KeptCapacity = 8>
class BasicMessageQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  // The i-th item from the front.
  Item& operator[](std::size_t i) { return items_[head_ + i]; }

  void push_back(Item item) { items_.push_back(std::move(item)); }
  void push_front(Item item) {
    if (head_ > 0) {
      items_[--head_] = std::move(item);
    } else {
      items_.insert(items_.begin(), std::move(item));
    }
  }
  Item pop_front() {
    Item item = std::move(items_[head_++]);
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      // Busy and never empty: drop the consumed front so the storage does not grow with the items sent.
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return item;
  }
  void clear() {
    head_ = 0;
    if (items_.capacity() > KeptCapacity) {
      std::vector<Item>().swap(items_);  // a burst's storage is given back
    } else {
      items_.clear();
    }
  }
  // Empties the queue and gives back all of its storage.
  void release() {
    head_ = 0;
    std::vector<Item>().swap(items_);
  }

 private:
  std::vector<Item> items_;
  std::size_t head_ = 0;  // items_[head_] is the next item
};

using MessageQueue = BasicMessageQueue<std::shared_ptr<const std::string>>;

}  // namespace backside::net
