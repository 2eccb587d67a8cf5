#pragma once
// The outgoing messages of one connection, oldest first. Unlike std::deque, which keeps a 512-byte block even when
// empty, it holds no memory while empty and little after (idle connections are most connections: issue 3's memory
// target), and reuses its storage while busy. Not thread-safe: the session guards it.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace backside::net {

class MessageQueue {
 public:
  using Message = std::shared_ptr<const std::string>;

  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }

  void push_back(Message message) { items_.push_back(std::move(message)); }
  void push_front(Message message) {
    if (head_ > 0) {
      items_[--head_] = std::move(message);
    } else {
      items_.insert(items_.begin(), std::move(message));
    }
  }
  Message pop_front() {
    Message message = std::move(items_[head_++]);
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      // Busy and never empty: drop the consumed front so the storage does not grow with the messages sent.
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return message;
  }
  void clear() {
    head_ = 0;
    if (items_.capacity() > kKeptCapacity) {
      std::vector<Message>().swap(items_);  // a burst's storage is given back
    } else {
      items_.clear();
    }
  }

 private:
  static constexpr std::size_t kKeptCapacity = 8;
  std::vector<Message> items_;
  std::size_t head_ = 0;  // items_[head_] is the next message
};

}  // namespace backside::net
