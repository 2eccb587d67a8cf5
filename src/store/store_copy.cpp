// Consistent copies of live stores, for backups (store.h: copy_store, copy_lmdb_environment).
//
// LMDB's own copy of a read transaction (mdb_env_copyfd2) writes the snapshot to a file descriptor; here that is a
// pipe, read on this thread, so that the bytes go to any sink (a backup file that hashes what it writes and shows
// progress) and LMDB never needs the destination's path.
//
// Which acknowledged writes are where: with durability fsync, a write is acknowledged once its record is in the
// write-ahead log; LMDB gets it only at the next checkpoint, which applies the log in one LMDB transaction and then
// starts the log over (a new epoch). So at any moment LMDB holds everything up to the last checkpoint and the log
// everything since. A copy of LMDB alone misses the log's records; a copy of the log taken after a checkpoint that
// came after the LMDB snapshot misses the records in between. The copy therefore holds checkpoints off
// (CheckpointHold) from before the snapshot until the log is copied: the snapshot is then "everything up to the
// last checkpoint" and the log "everything since", exactly, plus what was committed during the copy.
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "store/store.h"
#include "store/write_ahead_log.h"

namespace backside::store {
namespace {

namespace fs = std::filesystem;

struct EnvCloser {
  void operator()(MDB_env* env) const { mdb_env_close(env); }
};
using EnvHandle = std::unique_ptr<MDB_env, EnvCloser>;

Error copy_error(const std::string& directory, const std::string& what, const std::string& why) {
  return Error{ErrorCode::unavailable, "cannot copy the store in " + directory + ": " + what + ": " + why};
}

}  // namespace

Status copy_lmdb_environment(const std::string& directory, const ByteSink& data) {
  MDB_env* raw_env = nullptr;
  if (int rc = mdb_env_create(&raw_env)) return copy_error(directory, "mdb_env_create", mdb_strerror(rc));
  EnvHandle env(raw_env);
  // Read-only beside the writer; LMDB takes the map size the data file's meta page records.
  if (int rc = mdb_env_open(env.get(), directory.c_str(), MDB_RDONLY, 0600)) {
    return copy_error(directory, "opening it read-only", mdb_strerror(rc));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return copy_error(directory, "pipe", std::strerror(errno));
  int copied = 0;
  std::thread copier([&] {
    // Should the reading end close early, a write to the pipe fails with EPIPE instead of killing the process.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    copied = mdb_env_copyfd2(env.get(), pipe_fds[1], 0);
    ::close(pipe_fds[1]);
  });
  Status taken = ok_status();
  int read_error = 0;
  std::vector<char> buffer(std::size_t(1) << 20);
  for (;;) {
    const ssize_t got = ::read(pipe_fds[0], buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      read_error = errno;
      break;
    }
    if (got == 0) break;
    // After the sink failed, the rest is read and dropped so that LMDB's copy ends (and its read transaction).
    if (taken) taken = data(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
  }
  ::close(pipe_fds[0]);
  copier.join();
  if (read_error != 0) return copy_error(directory, "reading the copy", std::strerror(read_error));
  if (!taken) return taken;
  if (copied != 0) return copy_error(directory, "mdb_env_copyfd2", mdb_strerror(copied));
  return ok_status();
}

Status copy_store(const std::string& directory, const ByteSink& data, const ByteSink& log) {
  const std::string log_path = (fs::path(directory) / "wal").string();
  auto hold = CheckpointHold::acquire(log_path);
  if (!hold) return hold.error();
  // The log's epoch before the snapshot: if it changed by the end, a checkpoint ran in between (a writer that does
  // not honor the hold, e.g. an older server), and the copied log may lack records the snapshot lacks too.
  auto log_before = WriteAheadLog::open_read_only(log_path);
  if (!log_before) return log_before.error();
  auto epoch_before = (*log_before)->epoch_on_disk();
  if (!epoch_before) return epoch_before.error();

  if (Status copied = copy_lmdb_environment(directory, data); !copied) return copied;

  auto wal = WriteAheadLog::open_read_only(log_path);
  if (!wal) return wal.error();
  if (Status copied = (*wal)->copy_records(log); !copied) return copied;
  auto epoch_after = (*wal)->epoch_on_disk();
  if (!epoch_after) return epoch_after.error();
  if (*epoch_before != (*wal)->epoch() || *epoch_after != (*wal)->epoch()) {
    return Error{ErrorCode::unavailable,
                 "cannot copy the store in " + directory +
                     ": its write-ahead log was checkpointed during the copy although the copy held checkpoints "
                     "off (is an older backside serving it?); try again"};
  }
  return ok_status();
}

}  // namespace backside::store
