#pragma once
// Persistence interface: one row per leaf (and one per object priority), keyed by the encoded path so that a
// subtree is one key range. Used only by a database's single writer thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tree/node.h"
#include "util/result.h"

namespace backside::store {

enum class Durability { fsync, none };

// A batch of changes applied atomically by Store::commit.
class WriteBatch {
 public:
  // Replaces everything at and below `path` with `value` (null removes the subtree) — one range delete plus one
  // row per leaf / priority of `value`.
  void replace_subtree(const tree::Path& path, const tree::Node& value);
  // Writes the row of an object's own priority at `path` (nullopt removes it) without touching its children;
  // also removes a leaf row at `path` (an ancestor that stopped being a leaf).
  void set_object_priority(const tree::Path& path, const std::optional<tree::Priority>& priority);
  bool empty() const { return ops_.empty(); }
  void clear() { ops_.clear(); }
  // Appends another batch's operations after this one's (group commit of several turns).
  void append(WriteBatch&& other) {
    ops_.insert(ops_.end(), std::make_move_iterator(other.ops_.begin()), std::make_move_iterator(other.ops_.end()));
  }

  struct Op {
    enum class Kind : unsigned char { erase_range, put, erase_exact } kind;
    std::string key;
    std::string value;
  };
  const std::vector<Op>& ops() const { return ops_; }
  void add(Op op) { ops_.push_back(std::move(op)); }

 private:
  std::vector<Op> ops_;
};

// The durable tree and the sequence of the last batch in it.
struct Snapshot {
  tree::Node root;
  std::uint64_t sequence = 0;
};

// A committed batch and its sequence (catch-up of a replica: docs/cluster.md).
struct SequencedBatch {
  std::uint64_t sequence = 0;
  WriteBatch batch;
};

// One database's persisted tree. Every batch it commits gets the next sequence number (1, 2, ...), so that the
// committed history is one ordered log that replicas can apply in order and catch up on.
class Store {
 public:
  virtual ~Store() = default;
  // Reads the whole persisted tree and its sequence. Later commits continue from that sequence.
  virtual Result<Snapshot> load() = 0;
  // Applies the batch atomically as the next sequence, which it returns; with Durability::fsync, returns only once
  // it is durable. On failure nothing of the batch is applied and load() returns what was durable before it. An
  // empty batch commits nothing and returns the current sequence.
  virtual Result<std::uint64_t> commit(const WriteBatch& batch) = 0;
  // The committed batches after `sequence`, in order, at most `max_batches` of them. ErrorCode::not_found when
  // some of them are no longer kept (the caller loads a snapshot instead); ErrorCode::unavailable when the store
  // keeps no change log (the embedded store) or cannot be read now.
  virtual Result<std::vector<SequencedBatch>> changes_since(std::uint64_t sequence, std::size_t max_batches) = 0;
  // Whether a commit could succeed now (after a failure: the disk has room again, I/O works). Cheap, changes no
  // data; a store that cannot tell answers ok (the next commit is the test).
  virtual Status probe() { return ok_status(); }
  // Why commits are refused at the moment (a failed checkpoint, e.g. at open on a full disk), if they are.
  virtual std::optional<Error> refusing_commits() const { return std::nullopt; }
  // A shared store (docs/cluster.md) opened as a replica: another node owns the database, commit() is refused.
  virtual bool replica() const { return false; }
  // The owner's lease on a shared store, extended while the owner is idle (commits extend it too). How often:
  // lease_renewal_interval(); zero for a store without a lease.
  virtual Status renew_lease() { return ok_status(); }
  // A replica takes the database over when the owner's lease has run out (the owner died): the lease becomes this
  // node's with the next epoch, and commit() works from then on. The sequence the store is at then, or nullopt
  // while the owner's lease holds. The caller applies the change log up to that sequence before committing.
  virtual Result<std::optional<std::uint64_t>> take_over() { return std::optional<std::uint64_t>(); }
  // Gives a taken-over lease back at once and is a replica again (the caller could not catch up, or another node
  // took the lease: lease_lost()).
  virtual void step_down() {}
  // A commit or a renewal found that another node took the lease over (this owner was fenced).
  virtual bool lease_lost() const { return false; }
  virtual std::chrono::milliseconds lease_renewal_interval() const { return std::chrono::milliseconds(0); }
};

struct LmdbOptions {
  std::string directory;  // created if missing
  // fsync: each commit is one record in the write-ahead log (`wal` in the directory) and one fdatasync; LMDB
  // catches up at checkpoints. none: commits go to LMDB without syncing.
  Durability durability = Durability::fsync;
  std::size_t map_size_bytes = std::size_t(64) << 30;  // address space reserved; the file grows as needed
  // A checkpoint (the log applied to LMDB in one synced transaction, the log emptied) happens once the log holds
  // this many bytes, and when the store closes.
  std::uint64_t checkpoint_bytes = std::uint64_t(16) << 20;
  // Reads beside a live server (export): LMDB opened read-only, the log read and overlaid, nothing written;
  // commit() fails.
  bool read_only = false;
};

// Opens (creating if needed) the LMDB environment in options.directory. A damaged store is refused with
// ErrorCode::internal and a message naming the file (and byte offsets, for the log); nothing is written to it.
// Opening never needs free disk space: when the log cannot be applied to LMDB, the store opens with
// refusing_commits() set, serves load(), and takes commits again once a checkpoint succeeds.
Result<std::unique_ptr<Store>> open_lmdb_store(const LmdbOptions& options);

// Receives the bytes of one copied file, in order; an error stops the copy.
using ByteSink = std::function<Status(std::string_view bytes)>;

// A consistent copy of a store (its directory) beside its live writer, for backups: LMDB's snapshot (data.mdb as
// mdb_env_copyfd2 writes it) to `data`, then the log records that the snapshot lacks (the `wal` file) to `log`.
// Checkpoints are held off from before the snapshot until the log is copied (CheckpointHold), so the two files,
// opened as a store, hold every write committed before the call began. Reads only; the writer is never blocked
// (its log grows while the copy runs).
Status copy_store(const std::string& directory, const ByteSink& data, const ByteSink& log);
// A consistent copy of the data file of any LMDB environment (a user store) beside its writers.
Status copy_lmdb_environment(const std::string& directory, const ByteSink& data);

// Key codec, exposed for tests and tools: each segment followed by a 0x00 byte (keys cannot contain control
// characters), so the rows of a subtree share the encoded path as a prefix.
std::string encode_path(const tree::Path& path);
tree::Path decode_path(std::string_view key);

}  // namespace backside::store
