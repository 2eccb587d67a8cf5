#pragma once
// The write-ahead log in front of LMDB (durability `fsync`): a commit is one appended record and one fdatasync of
// an already-allocated file region, instead of LMDB's two syncs (data pages, then meta page) per transaction.
// LMDB is brought up to date at checkpoints: every record since the last checkpoint applied in one synced LMDB
// transaction, after which the log starts over. Opening a store replays what the log holds.
//
// File layout: a 4096-byte header (magic, epoch, CRC-32 of both), then records: payload length (u32), CRC-32 of
// (epoch, length, payload) (u32), epoch (u64), payload (the batch's operations). All integers little-endian. A
// checkpoint increments the epoch instead of erasing the file, so a record left from an earlier epoch ends the
// replay (its epoch differs, and its CRC would fail), as does a record torn by a crash.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "store/store.h"
#include "util/result.h"

namespace backside::store {

class WriteAheadLog {
 public:
  // Opens (creating if missing) the log at `path` and finds the end of its valid records.
  static Result<std::unique_ptr<WriteAheadLog>> open(const std::string& path);
  // Opens the log of a store another process may be writing, to read it only; a missing log holds no records.
  static Result<std::unique_ptr<WriteAheadLog>> open_read_only(const std::string& path);
  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;
  ~WriteAheadLog();

  // Appends one record and waits until it is on disk. On failure the log is unchanged (a partly written record
  // is overwritten by the next append and never replayed: its CRC fails).
  Status append(const WriteBatch& batch);
  // Calls `apply` with each record since the last checkpoint, in order.
  Status replay(const std::function<Status(WriteBatch&&)>& apply) const;
  // Bytes of records since the last checkpoint.
  std::uint64_t record_bytes() const { return end_ - kHeaderBytes; }
  // Empties the log (a new epoch); call only once everything it held is durable elsewhere.
  Status reset();
  // The epoch this log was opened at, and the one in the file now (another process checkpointed if they differ).
  std::uint64_t epoch() const { return epoch_; }
  Result<std::uint64_t> epoch_on_disk() const;

  static constexpr std::uint64_t kHeaderBytes = 4096;

 private:
  WriteAheadLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  static Result<std::unique_ptr<WriteAheadLog>> open_file(const std::string& path, bool read_only);
  Status write_header();
  Status ensure_allocated(std::uint64_t end);

  int fd_;
  std::string path_;
  std::uint64_t epoch_ = 0;
  std::uint64_t end_ = kHeaderBytes;  // where the next record goes
  std::uint64_t allocated_ = 0;       // file size: zero-filled ahead of `end_` so appends do not grow the file
};

// Serialized form of a batch's operations (a record's payload); exposed for tests.
std::string encode_batch(const WriteBatch& batch);
Result<WriteBatch> decode_batch(std::string_view payload);

}  // namespace backside::store
