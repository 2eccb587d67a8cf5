#pragma once
// The write-ahead log in front of LMDB (durability `fsync`): a commit is one appended record and one fdatasync of
// an already-allocated file region, instead of LMDB's two syncs (data pages, then meta page) per transaction.
// LMDB is brought up to date at checkpoints: every record since the last checkpoint applied in one synced LMDB
// transaction, after which the log starts over. Opening a store replays what the log holds.
//
// File layout: a 4096-byte header (magic, epoch, CRC-32 of both), then records: payload length (u32), CRC-32 of
// (epoch, length, payload) (u32), epoch (u64), payload (the batch's operations). All integers little-endian. A
// checkpoint draws a new random epoch instead of erasing the file, so a record left from an earlier epoch ends the
// replay (its epoch differs), as does a record torn by a crash. The epoch is random (not a counter) so that a
// stale record, or record-shaped bytes inside a client's value, cannot pass for a record of the current epoch.
//
// Damage. Opening the log tells two kinds of bad record apart:
//   - a torn tail: the first bad record has no valid record of the current epoch anywhere after it. That is what
//     a crash during an append leaves (the record was never acknowledged): the log ends there, and the writer
//     zeroes the torn bytes.
//   - mid-log damage: a valid record of the current epoch follows the bad one, so acknowledged records would be
//     lost. The log is refused (ErrorCode::internal, naming the file and both byte offsets) and never written.
// A header that fails its CRC while the file holds anything after it is refused too. A flipped byte inside the
// very last record cannot be told from a torn append and is treated as one (documented in docs/reliability.md).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "store/store.h"
#include "util/result.h"

namespace backside::store {

class WriteAheadLog {
 public:
  // Opens (creating if missing) the log at `path` and finds the end of its valid records; a damaged log is an
  // error and stays as it is.
  static Result<std::unique_ptr<WriteAheadLog>> open(const std::string& path);
  // Opens the log of a store another process may be writing, to read it only; a missing log holds no records.
  static Result<std::unique_ptr<WriteAheadLog>> open_read_only(const std::string& path);
  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;
  ~WriteAheadLog();

  // Appends one record and waits until it is on disk. On failure the log is as it was: the record's region is
  // zeroed again (now, or before the next append if zeroing fails too), so a refused record is never replayed
  // and its leftovers are never mistaken for damage.
  Status append(const WriteBatch& batch);
  // Whether an append could succeed now (the disk has room, writes and syncs work): zeroes what a failed append
  // left, makes sure the next bytes are allocated, syncs. Changes no record.
  Status probe();
  // Calls `apply` with each record since the last checkpoint, in order.
  Status replay(const std::function<Status(WriteBatch&&)>& apply) const;
  // Bytes of records since the last checkpoint.
  std::uint64_t record_bytes() const { return end_ - kHeaderBytes; }
  // Empties the log (a new epoch); call only once everything it held is durable elsewhere.
  Status reset();
  // The epoch this log was opened at, and the one in the file now (another process checkpointed if they differ).
  std::uint64_t epoch() const { return epoch_; }
  Result<std::uint64_t> epoch_on_disk() const;
  // Where a torn record was found (and discarded) at open; 0 if none.
  std::uint64_t torn_tail_offset() const { return torn_at_; }
  // Passes the log as a valid log file holding the same records — its header, then its records since the last
  // checkpoint — to `sink`, in order (a backup's copy of the log). A missing log passes nothing.
  Status copy_records(const ByteSink& sink) const;

  // A checkpoint takes the log's checkpoint lock (an exclusive flock on the log file) without waiting: false when
  // a backup holds checkpoints off (CheckpointHold), and the checkpoint is put off until a later commit.
  Result<bool> try_lock_for_checkpoint();
  void unlock_after_checkpoint();

  static constexpr std::uint64_t kHeaderBytes = 4096;

 private:
  WriteAheadLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  static Result<std::unique_ptr<WriteAheadLog>> open_file(const std::string& path, bool read_only);
  // Finds the end of the valid records; mid-log damage is an error.
  Status scan();
  Status write_header();
  Status ensure_allocated(std::uint64_t end);
  // Zeroes [end_, dirty_until_) and syncs: bytes of failed appends, or of a torn record.
  Status clear_dirty();

  int fd_;
  std::string path_;
  std::uint64_t epoch_ = 0;
  std::uint64_t end_ = kHeaderBytes;  // where the next record goes
  std::uint64_t allocated_ = 0;       // file size: zero-filled ahead of `end_` so appends do not grow the file
  std::uint64_t dirty_until_ = 0;     // > end_: bytes after end_ that a failed append may have written
  std::uint64_t torn_at_ = 0;
};

// Held by a backup (often in another process than the store's writer) while it copies LMDB and then the log:
// no checkpoint can move records from the log into LMDB in between, so the copied log holds exactly the records
// the copied LMDB lacks. A shared flock on the log file; acquiring waits for a running checkpoint to finish. While
// it is held the writer's log grows past its checkpoint size (checkpoints resume at the next commit after).
class CheckpointHold {
 public:
  // A missing log (a store that was never opened for writing) holds nothing: there is no writer to hold off.
  static Result<CheckpointHold> acquire(const std::string& log_path);
  CheckpointHold(CheckpointHold&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  CheckpointHold& operator=(CheckpointHold&&) = delete;
  ~CheckpointHold();

 private:
  explicit CheckpointHold(int fd) : fd_(fd) {}
  int fd_;
};

// Test hook (fault injection): the next `count` write (pwrite) or sync (fdatasync) calls of every write-ahead log
// fail with `error` (ENOSPC, EIO, ...). A failing write first writes half of its bytes, as a full disk can.
// count < 0: every call fails until clear_faults().
enum class FaultPoint { write, sync };
void inject_fault(FaultPoint point, int error, int count = 1);
void clear_faults();

// Serialized form of a batch's operations (a record's payload); exposed for tests.
std::string encode_batch(const WriteBatch& batch);
Result<WriteBatch> decode_batch(std::string_view payload);

}  // namespace backside::store
