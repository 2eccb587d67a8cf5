#include "store/postgresql_store.h"


#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <mutex>
#include <utility>
#include <vector>

#include "store/postgresql_bytea_array.h"
#include "store/postgresql_connection.h"
#include "store/postgresql_schema.h"
#include "store/tree_builder.h"
#include "store/write_ahead_log.h"  // encode_batch / decode_batch: the change log's records are the WAL's payloads

namespace backside::store {
namespace {

// An int8 column of a binary result: 8 bytes, network byte order.
Result<std::int64_t> binary_int8(std::string_view bytes) {
  if (bytes.size() != 8) return Error{ErrorCode::internal, "PostgreSQL returned a bigint of " + std::to_string(bytes.size()) + " bytes"};
  std::uint64_t value = 0;
  for (char c : bytes) value = (value << 8) | static_cast<unsigned char>(c);
  return static_cast<std::int64_t>(value);
}

// The smallest key greater than every key that starts with `prefix` (an encoded path, which ends with 0x00).
std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

class PostgresqlStore final : public Store {
 public:
  PostgresqlStore(PostgresqlOptions options, std::unique_ptr<PgConnection> connection, std::int64_t epoch,
                  std::uint64_t sequence)
      : options_(std::move(options)),
        connection_(std::move(connection)),
        epoch_(std::to_string(epoch)),
        lease_seconds_(std::to_string(options_.lease_duration.count())),
        sequence_(sequence) {}
  PostgresqlStore(const PostgresqlStore&) = delete;
  PostgresqlStore& operator=(const PostgresqlStore&) = delete;
  ~PostgresqlStore() override {
    if (!options_.replica) release_lease();
  }

  Result<Snapshot> load() override;
  Result<std::uint64_t> commit(const WriteBatch& batch) override;
  Result<std::vector<SequencedBatch>> changes_since(std::uint64_t sequence, std::size_t max_batches) override;
  Status probe() override;
  bool replica() const override {
    std::lock_guard lock(mutex_);
    return options_.replica;
  }
  Status renew_lease() override;
  Result<std::optional<std::uint64_t>> take_over() override;
  void step_down() override {
    std::lock_guard lock(mutex_);
    if (options_.replica) return;
    if (!lease_lost_) release_lease();
    options_.replica = true;
    lease_lost_ = false;
  }
  bool lease_lost() const override {
    std::lock_guard lock(mutex_);
    return lease_lost_;
  }
  std::chrono::milliseconds lease_renewal_interval() const override {
    std::lock_guard lock(mutex_);
    return options_.replica ? std::chrono::milliseconds(0)
                            : std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_duration) / 3;
  }

 private:
  // Inside the commit's transaction: the batch's operations, in order.
  // The statements of one commit, and the bytes their parameters view.
  struct CommitPlan {
    std::vector<PgStatement> statements;
    std::deque<std::string> owned;  // a deque never moves what it holds
    std::string_view keep(std::string bytes) { return owned.emplace_back(std::move(bytes)); }
  };
  // Appends the statements that apply `batch` to the leaves.
  void plan_apply(const WriteBatch& batch, CommitPlan& plan);
  // Why the fenced update matched no row: another node's epoch, or a sequence this store did not expect.
  Error fenced();
  // A clean stop: the lease ends now, so another node may take the database at once.
  void release_lease();
  std::string where() const { return "database \"" + options_.database + "\" in " + connection_->describe(); }

  PostgresqlOptions options_;
  std::unique_ptr<PgConnection> connection_;
  // The committer thread (commits, lease renewals) and the writer thread (loads, catch-up, takeover) share the one
  // connection: one call at a time.
  mutable std::mutex mutex_;
  std::string epoch_;
  bool lease_lost_ = false;  // fenced(): another node holds the lease now
  const std::string lease_seconds_;
  std::uint64_t sequence_;  // of the last batch loaded or committed
};

Result<Snapshot> PostgresqlStore::load() {
  std::lock_guard lock(mutex_);
  if (Status connected = connection_->ensure_connected(); !connected) return connected.error();
  // The sequence and the rows from one snapshot: the tree is exactly the one at that sequence.
  if (Status begun = connection_->execute("starting a read", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      !begun) {
    return begun.error();
  }
  auto finish = [&](Error error) -> Error {
    connection_->rollback();
    return error;
  };
  auto row = connection_->query("reading the sequence", "SELECT seq FROM backside_databases WHERE name = $1",
                                {PgParam::text(options_.database)});
  if (!row) return finish(row.error());
  std::uint64_t sequence = 0;
  if (row->rows() == 1) {
    auto value = row->integer(0, 0);
    if (!value) return finish(value.error());
    sequence = static_cast<std::uint64_t>(*value);
  }
  TreeBuilder builder;
  Status read = connection_->for_each_row(
      "reading the tree", "SELECT path, value FROM backside_leaves WHERE db = $1 ORDER BY path",
      {PgParam::text(options_.database)},
      [&](const PgResult& leaf) { return builder.add(leaf.value(0, 0), leaf.value(0, 1)); });
  if (!read) return finish(read.error());
  if (Status ended = connection_->execute("ending a read", "COMMIT"); !ended) return finish(ended.error());
  auto root = builder.finish();
  if (!root) return Error{root.error().code, where() + ": " + root.error().message};
  sequence_ = sequence;
  return Snapshot{std::move(*root), sequence};
}

Result<std::uint64_t> PostgresqlStore::commit(const WriteBatch& batch) {
  std::lock_guard lock(mutex_);
  if (batch.empty()) return sequence_;
  if (options_.replica) {
    return Error{ErrorCode::unavailable, where() + ": this node holds a replica; only the owner commits"};
  }
  if (Status connected = connection_->ensure_connected(); !connected) return connected.error();
  // The whole commit is one pipeline: one round trip to PostgreSQL (and its fsync) however many statements.
  const std::uint64_t sequence = sequence_ + 1;
  CommitPlan plan;
  const std::string_view database = options_.database;
  plan.statements.push_back({"starting a commit", "BEGIN", {}});
  // Fencing: the sequence advances only while the lease is still ours (owner and epoch) and nothing else committed
  // (the expected sequence). The row stays locked until COMMIT, so a takeover waits for this commit or fences it.
  // A fenced commit divides by zero rows, which makes PostgreSQL skip the rest of the pipeline.
  const std::size_t fence = plan.statements.size();
  plan.statements.push_back(
      {"advancing the sequence",
       "WITH advanced AS (UPDATE backside_databases SET seq = seq + 1, lease_expires = now() + make_interval(secs => $4) "
       "WHERE name = $1 AND owner = $2 AND epoch = $3 AND seq = $5 RETURNING seq) SELECT 1 / count(*) FROM advanced",
       {PgParam::text(database), PgParam::text(options_.node_id), PgParam::text(epoch_), PgParam::text(lease_seconds_),
        PgParam::text(plan.keep(std::to_string(sequence_)))},
       true});
  plan_apply(batch, plan);
  plan.statements.push_back({"appending to the change log",
                             "INSERT INTO backside_changes (db, seq, batch) VALUES ($1, $2, $3)",
                             {PgParam::text(database), PgParam::text(plan.keep(std::to_string(sequence))),
                              PgParam::bytes(plan.keep(encode_batch(batch)))},
                             true});
  // Trimmed once every trim_every sequences rather than on every commit.
  if (options_.trim_every != 0 && sequence % options_.trim_every == 0 && sequence > options_.change_retention) {
    plan.statements.push_back({"trimming the change log", "DELETE FROM backside_changes WHERE db = $1 AND seq < $2",
                               {PgParam::text(database),
                                PgParam::text(plan.keep(std::to_string(sequence - options_.change_retention)))}});
  }
  // A COMMIT that gets no answer (the connection dropped) may or may not have happened: it is reported as a
  // failure, and the database reloads the tree and its sequence from what PostgreSQL holds.
  plan.statements.push_back({"committing", "COMMIT", {}});
  std::size_t failed_at = 0;
  auto committed = connection_->pipeline(plan.statements, &failed_at);
  if (!committed) {
    connection_->rollback();
    // Refused by the fence itself (not a lost connection): say who holds the lease now, or what else moved.
    if (failed_at == fence && committed.error().code == ErrorCode::internal && connection_->connected()) {
      return fenced();
    }
    return committed.error();
  }
  sequence_ = sequence;
  return sequence;
}

void PostgresqlStore::plan_apply(const WriteBatch& batch, CommitPlan& plan) {
  // The batch's net effect in a few statements however many writes it groups: every delete first, then the puts no
  // later delete removes, the last value of each key. That is the state the ops in order leave: a key's last op
  // decides it, and a put that a later delete covers is dropped.
  const auto& ops = batch.ops();
  std::set<std::string_view> later_ranges;  // erased by an op after the one being looked at
  std::set<std::string_view> later_exact;
  std::map<std::string_view, std::string_view> puts;
  bool root_erased = false;
  const auto covered = [&](std::string_view key) {
    if (root_erased || later_exact.contains(key)) return true;
    for (std::size_t i = 0; i < key.size(); ++i) {
      if (key[i] == '\0' && later_ranges.contains(key.substr(0, i + 1))) return true;  // each segment ends with 0x00
    }
    return false;
  };
  for (auto op = ops.rbegin(); op != ops.rend(); ++op) {
    switch (op->kind) {
      case WriteBatch::Op::Kind::put:
        if (!covered(op->key)) puts.emplace(op->key, op->value);  // in reverse: the first seen is the last written
        break;
      case WriteBatch::Op::Kind::erase_range:
        if (op->key.empty()) root_erased = true;
        later_ranges.insert(op->key);
        break;
      case WriteBatch::Op::Kind::erase_exact:
        later_exact.insert(op->key);
        break;
    }
  }
  const std::string_view database = options_.database;
  // Each statement carries at most statement_bytes of rows (or one row).
  if (root_erased) {
    plan.statements.push_back({"clearing the tree", "DELETE FROM backside_leaves WHERE db = $1", {PgParam::text(database)}});
  } else {
    ByteaArray lows;
    ByteaArray highs;
    std::size_t pending_bytes = 0;
    for (auto it = later_ranges.begin(); it != later_ranges.end(); ++it) {
      lows.add(*it);
      highs.add(prefix_end(*it));
      pending_bytes += 2 * it->size();
      if (pending_bytes >= options_.statement_bytes || std::next(it) == later_ranges.end()) {
        plan.statements.push_back({"deleting subtrees",
                                   "DELETE FROM backside_leaves l USING unnest($2::bytea[], $3::bytea[]) AS r(lo, hi) "
                                   "WHERE l.db = $1 AND l.path >= r.lo AND l.path < r.hi",
                                   {PgParam::text(database), PgParam::bytes(plan.keep(std::move(lows).take())),
                                    PgParam::bytes(plan.keep(std::move(highs).take()))},
                                   true});
        lows = ByteaArray();
        highs = ByteaArray();
        pending_bytes = 0;
      }
    }
  }
  ByteaArray keys;
  std::size_t pending_bytes = 0;
  for (auto it = later_exact.begin(); it != later_exact.end(); ++it) {
    keys.add(*it);
    pending_bytes += it->size();
    if (pending_bytes >= options_.statement_bytes || std::next(it) == later_exact.end()) {
      plan.statements.push_back({"deleting rows", "DELETE FROM backside_leaves WHERE db = $1 AND path = ANY($2::bytea[])",
                                 {PgParam::text(database), PgParam::bytes(plan.keep(std::move(keys).take()))},
                                 true});
      keys = ByteaArray();
      pending_bytes = 0;
    }
  }
  ByteaArray paths;
  ByteaArray values;
  pending_bytes = 0;
  for (auto it = puts.begin(); it != puts.end(); ++it) {
    paths.add(it->first);
    values.add(it->second);
    pending_bytes += it->first.size() + it->second.size();
    if (pending_bytes >= options_.statement_bytes || std::next(it) == puts.end()) {
      plan.statements.push_back(
          {"writing rows",
           "INSERT INTO backside_leaves (db, path, value) SELECT $1, p, v FROM unnest($2::bytea[], $3::bytea[]) AS "
           "r(p, v) ON CONFLICT (db, path) DO UPDATE SET value = EXCLUDED.value",
           {PgParam::text(database), PgParam::bytes(plan.keep(std::move(paths).take())),
            PgParam::bytes(plan.keep(std::move(values).take()))},
           true});
      paths = ByteaArray();
      values = ByteaArray();
      pending_bytes = 0;
    }
  }
}

Error PostgresqlStore::fenced() {
  auto row = connection_->query("reading the lease",
                                "SELECT owner, epoch, seq FROM backside_databases WHERE name = $1",
                                {PgParam::text(options_.database)});
  if (!row) return row.error();
  if (row->rows() != 1) return Error{ErrorCode::unavailable, where() + ": its lease row is gone"};
  const std::string owner(row->value(0, 0));
  const std::string epoch(row->value(0, 1));
  if (owner != options_.node_id || epoch != epoch_) {
    lease_lost_ = true;
    return Error{ErrorCode::unavailable, where() + ": this node (" + options_.node_id + ", epoch " + epoch_ +
                                             ") no longer holds the lease: node " + owner + " took it at epoch " +
                                             epoch + "; the write was not applied"};
  }
  return Error{ErrorCode::unavailable, where() + ": the sequence is " + std::string(row->value(0, 2)) +
                                           ", this node expected " + std::to_string(sequence_) +
                                           " (another writer?); the write was not applied"};
}

Result<std::vector<SequencedBatch>> PostgresqlStore::changes_since(std::uint64_t sequence, std::size_t max_batches) {
  std::lock_guard lock(mutex_);
  if (Status connected = connection_->ensure_connected(); !connected) return connected.error();
  if (Status begun = connection_->execute("starting a read", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      !begun) {
    return begun.error();
  }
  auto fail = [&](Error error) -> Error {
    connection_->rollback();
    return error;
  };
  auto current_row = connection_->query("reading the sequence", "SELECT seq FROM backside_databases WHERE name = $1",
                                        {PgParam::text(options_.database)});
  if (!current_row) return fail(current_row.error());
  std::uint64_t current = 0;
  if (current_row->rows() == 1) {
    auto value = current_row->integer(0, 0);
    if (!value) return fail(value.error());
    current = static_cast<std::uint64_t>(*value);
  }
  const std::string after = std::to_string(sequence);
  const std::string limit = std::to_string(max_batches);
  auto rows = connection_->query("reading the change log",
                                 "SELECT seq, batch FROM backside_changes WHERE db = $1 AND seq > $2 ORDER BY seq "
                                 "LIMIT $3",
                                 {PgParam::text(options_.database), PgParam::text(after), PgParam::text(limit)},
                                 /*binary_result=*/true);
  if (!rows) return fail(rows.error());
  if (Status ended = connection_->execute("ending a read", "COMMIT"); !ended) return fail(ended.error());
  if (sequence > current) {
    return Error{ErrorCode::invalid_argument, where() + ": sequence " + after + " is ahead of the store's (" +
                                                  std::to_string(current) + ")"};
  }
  std::vector<SequencedBatch> batches;
  std::uint64_t expected = sequence + 1;
  for (int i = 0; i < rows->rows(); ++i, ++expected) {
    auto seq = binary_int8(rows->value(i, 0));
    if (!seq) return seq.error();
    if (static_cast<std::uint64_t>(*seq) != expected) {
      return Error{ErrorCode::not_found, where() + ": the changes after sequence " + after +
                                             " are no longer kept (the change log starts at " +
                                             std::to_string(*seq) + "): load a snapshot"};
    }
    auto batch = decode_batch(rows->value(i, 1));
    if (!batch) {
      return Error{ErrorCode::internal, where() + ": change " + std::to_string(*seq) + " is damaged: " +
                                            batch.error().message};
    }
    batches.push_back({static_cast<std::uint64_t>(*seq), std::move(*batch)});
  }
  if (batches.empty() && current > sequence && max_batches > 0) {
    return Error{ErrorCode::not_found, where() + ": the changes after sequence " + after +
                                           " are no longer kept: load a snapshot"};
  }
  return batches;
}

Status PostgresqlStore::probe() {
  std::lock_guard lock(mutex_);
  if (Status connected = connection_->ensure_connected(); !connected) return connected;
  auto alive = connection_->query("probing", "SELECT 1", {});
  return alive ? ok_status() : Status(alive.error());
}

Result<std::optional<std::uint64_t>> PostgresqlStore::take_over() {
  std::lock_guard lock(mutex_);
  if (!options_.replica) return std::optional<std::uint64_t>(sequence_);
  if (Status connected = connection_->ensure_connected(); !connected) return connected.error();
  // Only a lease that ran out is taken; the row lock orders this against a late commit of the old owner, which is
  // then fenced by the new epoch.
  auto taken = connection_->query(
      "taking over the lease",
      "UPDATE backside_databases SET owner = $2, epoch = epoch + 1, lease_expires = now() + make_interval(secs => $3) "
      "WHERE name = $1 AND (owner IS NULL OR lease_expires IS NULL OR lease_expires <= now()) RETURNING epoch, seq",
      {PgParam::text(options_.database), PgParam::text(options_.node_id), PgParam::text(lease_seconds_)});
  if (!taken) return taken.error();
  if (taken->rows() != 1) return std::optional<std::uint64_t>();
  auto epoch = taken->integer(0, 0);
  if (!epoch) return epoch.error();
  auto sequence = taken->integer(0, 1);
  if (!sequence) return sequence.error();
  options_.replica = false;
  epoch_ = std::to_string(*epoch);
  sequence_ = static_cast<std::uint64_t>(*sequence);
  return std::optional<std::uint64_t>(sequence_);
}

Status PostgresqlStore::renew_lease() {
  std::lock_guard lock(mutex_);
  if (options_.replica) return ok_status();
  if (Status connected = connection_->ensure_connected(); !connected) return connected;
  auto renewed = connection_->query(
      "renewing the lease",
      "UPDATE backside_databases SET lease_expires = now() + make_interval(secs => $4) "
      "WHERE name = $1 AND owner = $2 AND epoch = $3 RETURNING seq",
      {PgParam::text(options_.database), PgParam::text(options_.node_id), PgParam::text(epoch_),
       PgParam::text(lease_seconds_)});
  if (!renewed) return renewed.error();
  if (renewed->rows() != 1) return fenced();
  return ok_status();
}

void PostgresqlStore::release_lease() {
  if (!connection_->connected()) return;  // nothing to release over a dead link: the lease expires by itself
  (void)connection_->query("releasing the lease",
                           "UPDATE backside_databases SET lease_expires = now() "
                           "WHERE name = $1 AND owner = $2 AND epoch = $3",
                           {PgParam::text(options_.database), PgParam::text(options_.node_id), PgParam::text(epoch_)});
}

}  // namespace

Result<std::unique_ptr<Store>> open_postgresql_store(const PostgresqlOptions& options) {
  if (Status valid = check_postgresql_url(options.url); !valid) return valid.error();
  if (options.database.empty()) return invalid("PostgreSQL store: no database name");
  if (options.node_id.empty()) return invalid("PostgreSQL store: no node id");
  auto connection = std::make_unique<PgConnection>(
      options.url, options.durability == Durability::none ? "SET synchronous_commit = off" : "");
  if (Status connected = connection->ensure_connected(); !connected) return connected.error();
  if (Status created = create_postgresql_schema(*connection); !created) return created.error();
  const std::string where = "database \"" + options.database + "\" in " + connection->describe();
  if (options.replica) {
    return std::unique_ptr<Store>(std::make_unique<PostgresqlStore>(options, std::move(connection), 0, 0));
  }
  // The lease is free, expired, or already this node's (restarted): take it with the next epoch.
  auto taken = connection->query(
      "taking the lease",
      "INSERT INTO backside_databases AS d (name, seq, owner, epoch, lease_expires) "
      "VALUES ($1, 0, $2, 1, now() + make_interval(secs => $3)) "
      "ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, epoch = d.epoch + 1, "
      "lease_expires = EXCLUDED.lease_expires "
      "WHERE d.owner IS NULL OR d.owner = EXCLUDED.owner OR d.lease_expires IS NULL OR d.lease_expires <= now() "
      "RETURNING epoch, seq",
      {PgParam::text(options.database), PgParam::text(options.node_id),
       PgParam::text(std::to_string(options.lease_duration.count()))});
  if (!taken) return taken.error();
  if (taken->rows() != 1) {
    auto holder = connection->query(
        "reading the lease",
        "SELECT owner, greatest(0, ceil(extract(epoch FROM lease_expires - now())))::bigint "
        "FROM backside_databases WHERE name = $1",
        {PgParam::text(options.database)});
    if (!holder) return holder.error();
    if (holder->rows() != 1) return Error{ErrorCode::unavailable, where + ": its lease row vanished while taking it"};
    if (options.replica_when_owned) {
      PostgresqlOptions replica = options;
      replica.replica = true;
      return std::unique_ptr<Store>(std::make_unique<PostgresqlStore>(replica, std::move(connection), 0, 0));
    }
    return Error{ErrorCode::unavailable, where + " is owned by node " + std::string(holder->value(0, 0)) +
                                             " (its lease runs " + std::string(holder->value(0, 1)) +
                                             " more seconds); this node cannot open it"};
  }
  auto epoch = taken->integer(0, 0);
  if (!epoch) return epoch.error();
  auto sequence = taken->integer(0, 1);
  if (!sequence) return sequence.error();
  return std::unique_ptr<Store>(std::make_unique<PostgresqlStore>(options, std::move(connection), *epoch,
                                                                   static_cast<std::uint64_t>(*sequence)));
}

}  // namespace backside::store
