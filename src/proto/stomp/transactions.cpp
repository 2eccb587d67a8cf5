#include "proto/stomp/transactions.h"

#include <algorithm>
#include <vector>

#include "db/write_path.h"
#include "util/excerpt.h"

namespace backside::proto::stomp {

Status Transactions::begin(const std::string& id) {
  if (open_.count(id)) return invalid("transaction " + id + " is already open");
  if (open_.size() >= kMaxTransactions) {
    return invalid("too many open transactions (the limit is " + std::to_string(kMaxTransactions) + ")");
  }
  open_.emplace(id, Transaction());
  return ok_status();
}

Status Transactions::abort(const std::string& id) {
  auto it = open_.find(id);
  if (it == open_.end()) return invalid("unknown transaction " + id);
  release(it->second);
  open_.erase(it);
  return ok_status();
}

Result<Transactions::Commit> Transactions::commit(const std::string& id) {
  auto it = open_.find(id);
  if (it == open_.end()) return invalid("unknown transaction " + id);
  Transaction transaction = std::move(it->second);
  open_.erase(it);
  release(transaction);
  Commit commit;
  if (transaction.failure) {
    commit.failure = std::move(transaction.failure);
  } else {
    commit.write = transaction.writes.to_write(identity::Identity());  // the session sets its identity
  }
  return commit;
}

Transactions::Buffered Transactions::buffer(const std::string& id, db::WriteRequest request,
                                            std::size_t body_bytes, bool unsupported) {
  Transaction& transaction = open_.at(id);
  auto refuse = [&](Error error) {
    if (!transaction.failure) transaction.failure = error;
    return Buffered{.refused = std::move(error)};
  };
  if (unsupported || request.op == db::WriteRequest::Op::push) {
    return refuse(invalid("push, if-match and on-disconnect cannot be used in a transaction"));
  }
  if (++transaction.sends > kMaxSends) {
    return refuse({ErrorCode::too_large,
                   "Too many SENDs in one transaction (the limit is " + std::to_string(kMaxSends) + ")"});
  }
  if (body_bytes > kMaxBytes - bytes_) {
    return Buffered{.protocol_error = "the open transactions of this connection would buffer more than " +
                                      std::to_string(kMaxBytes) + " bytes of SEND bodies"};
  }
  if (!charge_.resize(bytes_ + body_bytes)) {
    return Buffered{.protocol_error =
                        "the server has no memory left for transactions (max_buffered_bytes); try again later"};
  }
  bytes_ += body_bytes;
  transaction.bytes += body_bytes;
  if (request.op == db::WriteRequest::Op::update) {
    if (!request.data.is_object()) return refuse(invalid("Update data must be a JSON object"));
    std::vector<std::pair<db::WritePath, const boost::json::value*>> locations;
    for (const auto& [key, value] : request.data.get_object()) {
      auto relative = db::parse_write_path(std::string_view(key));
      if (!relative) {
        return refuse(invalid("Invalid update key \"" + excerpt(key) + "\": " + relative.error().message));
      }
      locations.emplace_back(db::WritePath{request.path.child(relative->path), relative->priority}, &value);
    }
    for (const auto& [location, value] : locations) transaction.writes.set(location, *value);
  } else {
    transaction.writes.set({request.path, false}, std::move(request.data));
  }
  return {};
}

void Transactions::fail(const std::string& id, Error error) {
  Transaction& transaction = open_.at(id);
  if (!transaction.failure) transaction.failure = std::move(error);
}

void Transactions::release(const Transaction& transaction) {
  bytes_ -= std::min(bytes_, transaction.bytes);
  charge_.shrink_to(bytes_);
}

void Transactions::clear() {
  open_.clear();
  bytes_ = 0;
  charge_.release();
}

}  // namespace backside::proto::stomp
