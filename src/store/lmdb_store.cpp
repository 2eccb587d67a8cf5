// The embedded store: one LMDB environment per database directory, one unnamed DB, one row per leaf / object
// priority.
//
// LMDB keys must be 1 to 511 bytes, but an encoded path (store.h) is empty for the root and can be far longer
// than 511 bytes (32 segments of up to 768 bytes). So the LMDB key of the row whose encoded path is E is:
//   E empty            -> one 0x00 byte (no encoded path starts with 0x00, so it still sorts first)
//   E under 511 bytes  -> E
//   E of 511 or more   -> E's first 495 bytes + the first 16 bytes of SHA-256(E): exactly 511 bytes, which is
//                         what marks a "long" row. SHA-256 because clients choose the keys: they must not be
//                         able to make two paths collide.
// A long row's LMDB value is E (4-byte little-endian length, then the bytes) followed by the row value.
// Long rows that share their first 495 bytes are adjacent but ordered by digest, not by path; load() sorts each
// such run, and erase_range reads the full path back to decide.
#include <lmdb.h>
#include <unistd.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/row_codec.h"
#include "store/store.h"
#include "store/tree_builder.h"
#include "store/write_ahead_log.h"

namespace backside::store {
namespace {

constexpr std::size_t kLongKeyBytes = 511;  // LMDB's default (and minimum supported) maximum key size
constexpr std::size_t kDigestBytes = 16;
constexpr std::size_t kHashedPrefixBytes = kLongKeyBytes - kDigestBytes;
constexpr std::size_t kLengthBytes = 4;

std::string_view as_view(const MDB_val& value) { return {static_cast<const char*>(value.mv_data), value.mv_size}; }
MDB_val as_val(std::string_view bytes) { return {bytes.size(), const_cast<char*>(bytes.data())}; }

bool is_long(std::string_view encoded_path) { return encoded_path.size() >= kLongKeyBytes; }

std::string lmdb_key(std::string_view encoded_path) {
  if (encoded_path.empty()) return std::string(1, '\0');
  if (!is_long(encoded_path)) return std::string(encoded_path);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(encoded_path.data()), encoded_path.size(), digest);
  std::string key(encoded_path.substr(0, kHashedPrefixBytes));
  key.append(reinterpret_cast<const char*>(digest), kDigestBytes);
  return key;
}

std::string long_row_value(std::string_view encoded_path, std::string_view row_value) {
  std::string value;
  value.reserve(kLengthBytes + encoded_path.size() + row_value.size());
  for (std::size_t i = 0; i < kLengthBytes; ++i) {
    value.push_back(static_cast<char>((encoded_path.size() >> (8 * i)) & 0xff));
  }
  value.append(encoded_path);
  value.append(row_value);
  return value;
}

// A row as the rest of the module sees it: encoded path and row value (views into the LMDB map).
struct StoredRow {
  std::string_view path;
  std::string_view value;
};

Result<StoredRow> logical_row(std::string_view key, std::string_view value) {
  if (key == std::string_view("\0", 1)) return StoredRow{{}, value};
  if (key.size() != kLongKeyBytes) return StoredRow{key, value};
  std::size_t length = 0;
  if (value.size() >= kLengthBytes) {
    for (std::size_t i = 0; i < kLengthBytes; ++i) {
      length |= std::size_t(static_cast<unsigned char>(value[i])) << (8 * i);
    }
  }
  if (value.size() < kLengthBytes || value.size() - kLengthBytes < length) {
    return Error{ErrorCode::internal, "corrupt store row " + describe_key(key) + ": truncated long-row path"};
  }
  const std::string_view path = value.substr(kLengthBytes, length);
  if (!is_long(path) || !path.starts_with(key.substr(0, kHashedPrefixBytes))) {
    return Error{ErrorCode::internal,
                 "corrupt store row " + describe_key(key) + ": long-row path does not match its key"};
  }
  return StoredRow{path, value.substr(kLengthBytes + length)};
}

struct EnvCloser {
  void operator()(MDB_env* env) const { mdb_env_close(env); }
};
using EnvHandle = std::unique_ptr<MDB_env, EnvCloser>;

struct CursorCloser {
  void operator()(MDB_cursor* cursor) const { mdb_cursor_close(cursor); }
};
using CursorHandle = std::unique_ptr<MDB_cursor, CursorCloser>;

// Aborts the transaction unless it was committed (mdb_txn_commit frees it whether or not it succeeds).
class Transaction {
 public:
  Transaction() = default;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  MDB_txn** out() { return &txn_; }
  MDB_txn* get() const { return txn_; }
  int commit() { return mdb_txn_commit(std::exchange(txn_, nullptr)); }

 private:
  MDB_txn* txn_ = nullptr;
};

class LmdbStore final : public Store {
 public:
  LmdbStore(EnvHandle env, MDB_dbi dbi, std::unique_ptr<WriteAheadLog> wal, LmdbOptions options)
      : env_(std::move(env)), dbi_(dbi), wal_(std::move(wal)), options_(std::move(options)) {}
  LmdbStore(const LmdbStore&) = delete;
  LmdbStore& operator=(const LmdbStore&) = delete;
  ~LmdbStore() override {
    if (options_.read_only) return;
    // A clean close leaves everything in LMDB, on disk, and an empty log.
    (void)checkpoint();
    if (options_.durability == Durability::none) mdb_env_sync(env_.get(), 1);
  }

  Result<Snapshot> load() override;
  Result<std::uint64_t> commit(const WriteBatch& batch) override;
  Result<std::vector<SequencedBatch>> changes_since(std::uint64_t, std::size_t) override {
    return Error{ErrorCode::unavailable, "store " + options_.directory +
                                             ": the embedded store keeps no change log (one node has no replica to "
                                             "catch up; a cluster uses --store postgresql://...)"};
  }
  Status probe() override;
  std::optional<Error> refusing_commits() const override { return checkpoint_failure_; }
  // Applies the log's records to LMDB in one transaction, syncs it, empties the log. On failure commits are
  // refused until a later checkpoint succeeds.
  Status checkpoint();

 private:
  // One LMDB transaction applying `batch` (durability none: the whole commit).
  Status apply_transaction(const WriteBatch& batch);
  // Calls `row` with every row (encoded path, row value) of a snapshot, in encoded-path order.
  Status for_each_row(const std::function<Status(std::string_view, std::string_view)>& row) const;
  // The durable tree: LMDB after a checkpoint (or LMDB with the log overlaid, when a checkpoint cannot be made).
  Result<tree::Node> load_tree();
  // load() beside a live writer: LMDB's snapshot with the log's records applied on top.
  Result<tree::Node> load_read_only();
  // LMDB's rows with `wal`'s records applied on top, in memory: the durable tree without writing anything.
  Result<tree::Node> load_overlaid(const WriteAheadLog& wal) const;
  static Result<tree::Node> overlay(std::map<std::string, std::string, std::less<>> rows, const WriteAheadLog& wal);
  Status checkpoint_once();
  Status apply(MDB_txn* txn, const WriteBatch::Op& op);
  Status erase_range(MDB_txn* txn, std::string_view prefix);
  Status put(MDB_txn* txn, std::string_view encoded_path, std::string_view row_value);
  Status erase_exact(MDB_txn* txn, std::string_view encoded_path);

  Error failure(std::string_view what, int rc) const {
    return {ErrorCode::unavailable,
            "store " + options_.directory + ": " + std::string(what) + " failed: " + mdb_strerror(rc)};
  }

  EnvHandle env_;
  MDB_dbi dbi_;
  std::unique_ptr<WriteAheadLog> wal_;
  std::optional<Error> checkpoint_failure_;
  LmdbOptions options_;
  // One node has no replicas: the sequence counts this process's commits (0 at open) and is not persisted, which
  // keeps the files exactly as they were.
  std::uint64_t sequence_ = 0;
};

Result<Snapshot> LmdbStore::load() {
  auto root = load_tree();
  if (!root) return root.error();
  return Snapshot{std::move(*root), sequence_};
}

Result<tree::Node> LmdbStore::load_tree() {
  if (options_.read_only) return load_read_only();
  // Without room for a checkpoint (a full disk), or with checkpoints held off by a backup, the tree is still LMDB
  // plus the log: read, not written.
  if (Status checkpointed = checkpoint(); !checkpointed || wal_->record_bytes() > 0) return load_overlaid(*wal_);
  TreeBuilder builder;
  if (Status read = for_each_row([&](std::string_view path, std::string_view value) { return builder.add(path, value); });
      !read) {
    return read.error();
  }
  return builder.finish();
}

Result<tree::Node> LmdbStore::load_read_only() {
  // The writer checkpoints by committing the log's records to LMDB, then starting a new epoch of the log. If the
  // epoch is the same before and after the snapshot, the snapshot holds at most the records read (applying them
  // again changes nothing); otherwise a later checkpoint may be in it too, so read again.
  for (int attempt = 0;; ++attempt) {
    auto wal = WriteAheadLog::open_read_only((std::filesystem::path(options_.directory) / "wal").string());
    if (!wal) return wal.error();
    std::map<std::string, std::string, std::less<>> rows;
    if (Status read = for_each_row([&](std::string_view path, std::string_view value) {
          rows.emplace(path, value);
          return ok_status();
        });
        !read) {
      return read.error();
    }
    auto epoch_after = (*wal)->epoch_on_disk();
    if (!epoch_after) return epoch_after.error();
    if (*epoch_after != (*wal)->epoch()) {
      if (attempt < 100) continue;
      return Error{ErrorCode::unavailable, "store " + options_.directory + ": checkpoints keep racing this read"};
    }
    return overlay(std::move(rows), **wal);
  }
}

Result<tree::Node> LmdbStore::load_overlaid(const WriteAheadLog& wal) const {
  std::map<std::string, std::string, std::less<>> rows;
  if (Status read = for_each_row([&](std::string_view path, std::string_view value) {
        rows.emplace(path, value);
        return ok_status();
      });
      !read) {
    return read.error();
  }
  return overlay(std::move(rows), wal);
}

Result<tree::Node> LmdbStore::overlay(std::map<std::string, std::string, std::less<>> rows,
                                      const WriteAheadLog& wal) {
  {
    Status replayed = wal.replay([&](WriteBatch&& batch) -> Status {
      for (const WriteBatch::Op& op : batch.ops()) {
        switch (op.kind) {
          case WriteBatch::Op::Kind::erase_range: {
            auto it = rows.lower_bound(op.key);
            while (it != rows.end() && it->first.starts_with(op.key)) it = rows.erase(it);
            break;
          }
          case WriteBatch::Op::Kind::put:
            rows.insert_or_assign(op.key, op.value);
            break;
          case WriteBatch::Op::Kind::erase_exact:
            rows.erase(op.key);
            break;
        }
      }
      return ok_status();
    });
    if (!replayed) return replayed.error();
    TreeBuilder builder;
    for (const auto& [path, value] : rows) {
      if (Status added = builder.add(path, value); !added) return added.error();
    }
    return builder.finish();
  }
}

Status LmdbStore::for_each_row(const std::function<Status(std::string_view, std::string_view)>& add) const {
  Transaction txn;
  if (int rc = mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, txn.out())) return failure("read transaction", rc);
  MDB_cursor* raw_cursor = nullptr;
  if (int rc = mdb_cursor_open(txn.get(), dbi_, &raw_cursor)) return failure("opening a cursor", rc);
  const CursorHandle cursor(raw_cursor);

  std::vector<StoredRow> run;
  MDB_val key;
  MDB_val value;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST);
  while (rc == 0) {
    if (key.mv_size < kHashedPrefixBytes) {
      Result<StoredRow> row = logical_row(as_view(key), as_view(value));
      if (!row) return row.error();
      if (Status added = add(row->path, row->value); !added) return added;
      rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
      continue;
    }
    // Keys sharing these first bytes may include long rows, which are in digest order: sort the run by path.
    const std::string_view run_prefix = as_view(key).substr(0, kHashedPrefixBytes);
    run.clear();
    while (rc == 0 && as_view(key).starts_with(run_prefix)) {
      Result<StoredRow> row = logical_row(as_view(key), as_view(value));
      if (!row) return row.error();
      run.push_back(*row);
      rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
    }
    std::sort(run.begin(), run.end(), [](const StoredRow& a, const StoredRow& b) { return a.path < b.path; });
    for (const StoredRow& row : run) {
      if (Status added = add(row.path, row.value); !added) return added;
    }
  }
  if (rc != MDB_NOTFOUND) return failure("reading", rc);
  return ok_status();
}

Result<std::uint64_t> LmdbStore::commit(const WriteBatch& batch) {
  if (options_.read_only) return Error{ErrorCode::internal, "store " + options_.directory + " is open read-only"};
  if (batch.empty()) return sequence_;
  if (options_.durability == Durability::none) {
    if (Status applied = apply_transaction(batch); !applied) return applied.error();
    return ++sequence_;
  }
  // After a failed checkpoint (LMDB full, disk full), commits are refused until one succeeds: what the log holds
  // was acknowledged and is kept, and the log does not grow without bound.
  if (checkpoint_failure_) {
    if (Status retried = checkpoint(); !retried) return retried.error();
  }
  if (Status logged = wal_->append(batch); !logged) return logged.error();  // the log is as it was
  if (wal_->record_bytes() >= options_.checkpoint_bytes) (void)checkpoint();
  return ++sequence_;  // durable in the log whatever the checkpoint did
}

Status LmdbStore::probe() {
  if (options_.read_only) return Error{ErrorCode::internal, "store " + options_.directory + " is open read-only"};
  if (options_.durability == Durability::none) return ok_status();  // LMDB alone: the next commit tells
  if (checkpoint_failure_) {
    if (Status retried = checkpoint(); !retried) return retried;
  }
  return wal_->probe();
}

Status LmdbStore::checkpoint() {
  Status done = checkpoint_once();
  if (done) {
    checkpoint_failure_.reset();
  } else {
    checkpoint_failure_ = done.error();
  }
  return done;
}

Status LmdbStore::checkpoint_once() {
  if (options_.read_only || wal_->record_bytes() == 0) return ok_status();
  // A backup copying this store holds checkpoints off (CheckpointHold): its copy of the log must still hold every
  // record its copy of LMDB lacks. The records stay in the log, durable; the next commit tries again.
  Result<bool> locked = wal_->try_lock_for_checkpoint();
  if (!locked) return locked.error();
  if (!*locked) return ok_status();
  struct Unlock {
    WriteAheadLog& wal;
    ~Unlock() { wal.unlock_after_checkpoint(); }
  } unlock{*wal_};
  Transaction txn;
  if (int rc = mdb_txn_begin(env_.get(), nullptr, 0, txn.out())) return failure("write transaction", rc);
  Status replayed = wal_->replay([&](WriteBatch&& batch) -> Status {
    for (const WriteBatch::Op& op : batch.ops()) {
      if (Status applied = apply(txn.get(), op); !applied) return applied;
    }
    return ok_status();
  });
  if (!replayed) return replayed;
  if (int rc = txn.commit()) return failure("checkpoint commit", rc);
  // With durability none the environment does not sync its commits: this checkpoint must be on disk before the
  // log forgets it.
  if (int rc = mdb_env_sync(env_.get(), 1)) return failure("checkpoint sync", rc);
  return wal_->reset();
}

Status LmdbStore::apply_transaction(const WriteBatch& batch) {
  Transaction txn;
  if (int rc = mdb_txn_begin(env_.get(), nullptr, 0, txn.out())) return failure("write transaction", rc);
  for (const WriteBatch::Op& op : batch.ops()) {
    if (Status applied = apply(txn.get(), op); !applied) return applied;
  }
  if (int rc = txn.commit()) return failure("commit", rc);
  return ok_status();
}

Status LmdbStore::apply(MDB_txn* txn, const WriteBatch::Op& op) {
  switch (op.kind) {
    case WriteBatch::Op::Kind::erase_range:
      return erase_range(txn, op.key);
    case WriteBatch::Op::Kind::put:
      return put(txn, op.key, op.value);
    case WriteBatch::Op::Kind::erase_exact:
      return erase_exact(txn, op.key);
  }
  return Error{ErrorCode::internal, "unknown write batch operation"};
}

Status LmdbStore::erase_range(MDB_txn* txn, std::string_view prefix) {
  if (prefix.empty()) {
    if (int rc = mdb_drop(txn, dbi_, 0)) return failure("clearing", rc);
    return ok_status();
  }
  // Every row whose path starts with `prefix` has an LMDB key starting with `scanned`; when the prefix reaches
  // into the hashed part of long keys, the range also holds other rows, told apart by their full path.
  const std::string_view scanned = prefix.substr(0, std::min(prefix.size(), kHashedPrefixBytes));
  const bool whole_range = prefix.size() <= kHashedPrefixBytes;
  MDB_cursor* raw_cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, dbi_, &raw_cursor)) return failure("opening a cursor", rc);
  const CursorHandle cursor(raw_cursor);

  MDB_val key = as_val(scanned);
  MDB_val value;
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
  while (rc == 0 && as_view(key).starts_with(scanned)) {
    bool doomed = whole_range;
    if (!doomed) {
      Result<StoredRow> row = logical_row(as_view(key), as_view(value));
      if (!row) return row.error();
      doomed = row->path.starts_with(prefix);
    }
    if (doomed && (rc = mdb_cursor_del(cursor.get(), 0)) != 0) return failure("deleting", rc);
    // After a delete the cursor already stands on the next row, and MDB_NEXT returns that row.
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return failure("reading", rc);
  return ok_status();
}

Status LmdbStore::put(MDB_txn* txn, std::string_view encoded_path, std::string_view row_value) {
  const std::string key = lmdb_key(encoded_path);
  std::string long_value;
  if (is_long(encoded_path)) {
    long_value = long_row_value(encoded_path, row_value);
    row_value = long_value;
  }
  MDB_val key_val = as_val(key);
  MDB_val value_val = as_val(row_value);
  if (int rc = mdb_put(txn, dbi_, &key_val, &value_val, 0)) return failure("writing", rc);
  return ok_status();
}

Status LmdbStore::erase_exact(MDB_txn* txn, std::string_view encoded_path) {
  const std::string key = lmdb_key(encoded_path);
  MDB_val key_val = as_val(key);
  const int rc = mdb_del(txn, dbi_, &key_val, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return failure("deleting", rc);
  return ok_status();
}

namespace fs = std::filesystem;

Error damaged_data_file(const fs::path& file, const std::string& why) {
  return Error{ErrorCode::internal,
               "store file " + file.string() + " is damaged: " + why + "; refusing to open it (the file is left as it is)"};
}

// Before LMDB sees the file: a missing or cut-down data file next to a log (which is created only after it)
// means lost data, not a new store — LMDB would silently start an empty one.
Status check_data_file_before_open(const fs::path& data_file, const fs::path& wal) {
  std::error_code ec;
  const bool has_log = fs::file_size(wal, ec) > 0 && !ec;
  ec.clear();
  const bool has_data = fs::exists(data_file, ec);
  if (!has_data) {
    if (has_log) return damaged_data_file(data_file, "it is missing but its write-ahead log exists");
    return ok_status();
  }
  const std::uintmax_t size = fs::file_size(data_file, ec);
  if (ec) return Error{ErrorCode::unavailable, "cannot read the size of " + data_file.string() + ": " + ec.message()};
  const auto page = static_cast<std::uintmax_t>(::sysconf(_SC_PAGESIZE));
  if (size < 2 * page && (size > 0 || has_log)) {
    return damaged_data_file(data_file, "it is " + std::to_string(size) + " bytes, shorter than its two meta pages");
  }
  return ok_status();
}

Status check_data_file_size(MDB_env* env, const fs::path& data_file) {
  MDB_envinfo info;
  MDB_stat stat;
  if (int rc = mdb_env_info(env, &info)) return Error{ErrorCode::unavailable, std::string("mdb_env_info: ") + mdb_strerror(rc)};
  if (int rc = mdb_env_stat(env, &stat)) return Error{ErrorCode::unavailable, std::string("mdb_env_stat: ") + mdb_strerror(rc)};
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(data_file, ec);
  if (ec) return Error{ErrorCode::unavailable, "cannot read the size of " + data_file.string() + ": " + ec.message()};
  const std::uintmax_t needed = (std::uintmax_t(info.me_last_pgno) + 1) * stat.ms_psize;
  if (size < needed) {
    return damaged_data_file(data_file, "it is " + std::to_string(size) + " bytes but its meta page counts " +
                                            std::to_string(info.me_last_pgno + 1) + " pages of " +
                                            std::to_string(stat.ms_psize) + " bytes (" + std::to_string(needed) +
                                            " bytes): truncated");
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<Store>> open_lmdb_store(const LmdbOptions& options) {
  if (options.directory.empty()) return invalid("store directory is not set");
  const std::string& directory = options.directory;
  std::error_code error;
  if (!options.read_only && std::filesystem::create_directories(directory, error)) {
    std::filesystem::permissions(directory, std::filesystem::perms::owner_all, error);
  }
  if (error) {
    return Error{ErrorCode::unavailable, "cannot create store directory " + directory + ": " + error.message()};
  }

  const auto fail = [&](std::string_view what, int rc) {
    return Error{ErrorCode::unavailable,
                 "cannot open store in " + directory + ": " + std::string(what) + ": " + mdb_strerror(rc)};
  };
  MDB_env* raw_env = nullptr;
  if (int rc = mdb_env_create(&raw_env)) return fail("mdb_env_create", rc);
  EnvHandle env(raw_env);
  if (mdb_env_get_maxkeysize(env.get()) < static_cast<int>(kLongKeyBytes)) {
    return Error{ErrorCode::unavailable, "cannot open store in " + directory + ": LMDB was built with keys under " +
                                             std::to_string(kLongKeyBytes) + " bytes"};
  }
  if (int rc = mdb_env_set_mapsize(env.get(), options.map_size_bytes)) return fail("mdb_env_set_mapsize", rc);
  const fs::path data_file = fs::path(directory) / "data.mdb";
  const fs::path wal_path = fs::path(directory) / "wal";
  if (Status intact = check_data_file_before_open(data_file, wal_path); !intact) return intact.error();
  unsigned flags = options.durability == Durability::none ? MDB_NOSYNC | MDB_NOMETASYNC : 0;
  if (options.read_only) flags |= MDB_RDONLY;
  if (int rc = mdb_env_open(env.get(), directory.c_str(), flags, 0600)) {
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
      return Error{ErrorCode::internal, "store file " + data_file.string() + " is damaged: " + mdb_strerror(rc) +
                                            "; refusing to open it (the file is left as it is)"};
    }
    return fail("mdb_env_open", rc);
  }
  // LMDB maps the file and trusts its meta page: a page past the end of a truncated file would be SIGBUS on
  // first touch. The file must hold every page the meta page counts.
  if (Status intact = check_data_file_size(env.get(), data_file); !intact) return intact.error();
  // Release reader slots left behind by crashed processes, which would otherwise pin old pages.
  int stale_readers = 0;
  if (int rc = mdb_reader_check(env.get(), &stale_readers)) return fail("mdb_reader_check", rc);

  Transaction txn;
  MDB_dbi dbi = 0;
  const unsigned txn_flags = options.read_only ? MDB_RDONLY : 0;
  if (int rc = mdb_txn_begin(env.get(), nullptr, txn_flags, txn.out())) return fail("mdb_txn_begin", rc);
  if (int rc = mdb_dbi_open(txn.get(), nullptr, 0, &dbi)) return fail("mdb_dbi_open", rc);
  if (int rc = txn.commit()) return fail("mdb_txn_commit", rc);
  auto wal = options.read_only ? WriteAheadLog::open_read_only(wal_path) : WriteAheadLog::open(wal_path);
  if (!wal) return Error{wal.error().code, "cannot open store in " + directory + ": " + wal.error().message};
  auto store = std::make_unique<LmdbStore>(std::move(env), dbi, std::move(*wal), options);
  // Whatever the log holds was acknowledged before the last stop: into LMDB with it. If that fails (a full disk),
  // the store still opens: load() overlays the log, and commits wait for a checkpoint that works
  // (refusing_commits()).
  (void)store->checkpoint();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace backside::store
