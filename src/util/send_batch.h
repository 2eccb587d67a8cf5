#pragma once
// A scope in which sends to connections are gathered instead of written one by one. A database's committer opens one
// around the deliveries of a turn: a connection that gets several events in the turn (several writes were
// committed together because the server is busy) then writes them all with one system call when the scope ends,
// instead of one per event. This is what lets a fan-out keep up under load: the busier it is, the larger the
// batches. Per thread; nested scopes join the outermost one.
//
// The seam between the database (which opens the scope and knows nothing of sockets) and net/ (whose connections
// join it: see SocketWriter).
#include <memory>
#include <vector>

namespace backside {

class SendBatch {
 public:
  // A connection with frames waiting for the end of the batch.
  class Member {
   public:
    virtual ~Member() = default;
    virtual void flush_batched() = 0;
  };

  SendBatch() : outermost_(current_ == nullptr) {
    if (outermost_) current_ = this;
  }
  ~SendBatch() {
    if (!outermost_) return;
    current_ = nullptr;  // what the flushes themselves send goes straight out
    for (const auto& member : members_) member->flush_batched();
    members_.clear();  // keeps its storage for the thread's next batch
  }
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  // Whether a batch is open on this thread.
  static bool open() { return current_ != nullptr; }
  // Flushes `member` when the open batch ends. Only while open().
  static void join(std::shared_ptr<Member> member) { members_.push_back(std::move(member)); }

 private:
  static inline thread_local SendBatch* current_ = nullptr;
  static inline thread_local std::vector<std::shared_ptr<Member>> members_;
  bool outermost_;
};

}  // namespace backside
