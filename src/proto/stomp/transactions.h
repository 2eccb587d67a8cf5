#pragma once
// STOMP transactions (docs/protocol.md §6) of one connection: BEGIN opens one; its SENDs are buffered, merged in
// order as a sparse set of locations (db::SparseWrites: a later write inside an earlier one's location lands inside
// its value), and COMMIT applies them as one atomic multi-path write, checked against the rules like any write;
// ABORT (or the connection's end) drops them. Bounded in count and in bytes of buffered SEND bodies, which are
// charged to the server's memory budget. Only the connection's thread touches it.
#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "db/database.h"
#include "db/sparse_writes.h"
#include "util/memory_budget.h"
#include "util/result.h"

namespace backside::proto::stomp {

class Transactions {
 public:
  static constexpr std::size_t kMaxTransactions = 64;
  static constexpr std::size_t kMaxSends = 10000;  // per transaction
  // Bytes of SEND bodies all open transactions of one connection may buffer (counts alone allowed 64 x 10,000 x
  // 16 MiB). Crossing it is a protocol error: the connection ends and its transactions are dropped unwritten.
  static constexpr std::size_t kMaxBytes = std::size_t(16) << 20;

  explicit Transactions(MemoryBudget* budget) : charge_(budget, MemoryBudget::Use::transaction) {}

  bool is_open(const std::string& id) const { return open_.count(id) != 0; }
  // Errors here are protocol errors (the connection ends).
  Status begin(const std::string& id);
  Status abort(const std::string& id);

  // What a COMMIT applies: the write (none if nothing was buffered), or the first refused SEND's error.
  struct Commit {
    std::optional<Error> failure;
    std::optional<db::WriteRequest> write;
  };
  Result<Commit> commit(const std::string& id);  // an error: a protocol error

  // What buffering a SEND came to: buffered, refused (the SEND's receipt says why, and the COMMIT fails with the
  // first refusal), or a protocol error (the connection ends).
  struct Buffered {
    std::optional<Error> refused;
    std::optional<std::string> protocol_error;
  };
  // `request`: the SEND as a write (set or update; push, if-match and on-disconnect are refused by the caller's
  // `unsupported`). `body_bytes`: the size of the SEND's body.
  Buffered buffer(const std::string& id, db::WriteRequest request, std::size_t body_bytes, bool unsupported);

  // A SEND of transaction `id` was refused before it could be buffered: the COMMIT fails with the first refusal.
  void fail(const std::string& id, Error error);

  // Drops every open transaction unwritten (the connection ended).
  void clear();

 private:
  struct Transaction {
    db::SparseWrites writes;
    std::size_t sends = 0;
    std::size_t bytes = 0;          // of the buffered SEND bodies
    std::optional<Error> failure;  // the first refused SEND: the COMMIT fails with it
  };
  // Forgets a transaction's buffered bytes (committed or aborted).
  void release(const Transaction& transaction);

  std::map<std::string, Transaction> open_;
  std::size_t bytes_ = 0;  // of all open transactions
  MemoryCharge charge_;    // follows bytes_
};

}  // namespace backside::proto::stomp
