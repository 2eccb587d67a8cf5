#include <lmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "store/store.h"
#include "store/write_ahead_log.h"
#include "tree/json_codec.h"
#include "util/temp_dir.h"

namespace backside::store {
namespace {

namespace fs = std::filesystem;
using tree::Node;

std::unique_ptr<Store> open_store(const std::string& directory, std::uint64_t checkpoint_bytes) {
  auto store = open_lmdb_store({.directory = directory, .checkpoint_bytes = checkpoint_bytes});
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? std::move(store).value() : nullptr;
}

Status set(Store& store, const std::string& path, double value) {
  WriteBatch batch;
  batch.replace_subtree(tree::Path::parse(path).value(), Node::leaf(value));
  auto committed = store.commit(batch);
  if (!committed) return committed.error();
  return ok_status();
}

// A sink that appends to a file.
ByteSink file_sink(const fs::path& file) {
  return [file](std::string_view bytes) -> Status {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Error{ErrorCode::unavailable, "cannot write " + file.string()};
    return ok_status();
  };
}

// Runs `work` in a child process and returns its exit code. A backup runs in its own process, beside the server's:
// LMDB must not open one environment twice in a process (closing one handle drops the process's locks on it).
// `quiesce` (if any) is held across the fork: a thread of this process that holds it around its own work holds no
// other lock then (the allocator's, the sanitizer's), which the child would inherit locked and wait for forever.
int in_another_process(const std::function<int()>& work, std::mutex* quiesce = nullptr) {
  std::unique_lock<std::mutex> quiet;
  if (quiesce) quiet = std::unique_lock(*quiesce);
  const pid_t child = fork();
  if (child == 0) _exit(work());
  if (quiet) quiet.unlock();
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// Copies the store in `from` into the directory `to` (data.mdb and wal), as a backup does.
void copy_into(const std::string& from, const fs::path& to, std::mutex* quiesce = nullptr) {
  fs::create_directories(to);
  const int copied = in_another_process(
      [&] {
        const Status status = copy_store(from, file_sink(to / "data.mdb"), file_sink(to / "wal"));
        if (!status) std::fprintf(stderr, "copy_store: %s\n", status.error().message.c_str());
        return status ? 0 : 1;
      },
      quiesce);
  ASSERT_EQ(copied, 0);
}

Node load(const std::string& directory) {
  auto store = open_lmdb_store({.directory = directory});
  EXPECT_TRUE(store.ok()) << store.error().message;
  if (!store.ok()) return Node();
  auto root = (*store)->load();
  EXPECT_TRUE(root.ok()) << root.error().message;
  return root.ok() ? std::move(root->root) : Node();
}

// Rows in the LMDB file itself (not the log), read by another process; up to 250.
int lmdb_rows(const std::string& directory) {
  return in_another_process([&] {
    MDB_env* env = nullptr;
    MDB_stat stat{};
    if (mdb_env_create(&env) != 0 || mdb_env_open(env, directory.c_str(), MDB_RDONLY, 0600) != 0 ||
        mdb_env_stat(env, &stat) != 0) {
      return 255;
    }
    mdb_env_close(env);
    return static_cast<int>(std::min<std::size_t>(stat.ms_entries, 250));
  });
}

TEST(StoreCopy, TheCopyHoldsWritesThatAreOnlyInTheLog) {
  TempDir live;
  TempDir copy;
  auto store = open_store(live.str(), std::uint64_t(1) << 30);  // no checkpoint: the writes stay in the log
  ASSERT_TRUE(store);
  ASSERT_TRUE(set(*store, "/a", 1).ok());
  ASSERT_TRUE(set(*store, "/b/c", 2).ok());
  EXPECT_EQ(lmdb_rows(live.str()), 0);
  copy_into(live.str(), copy.path());
  EXPECT_EQ(tree::to_json(load(copy.str())), R"({"a":1,"b":{"c":2}})");
}

TEST(StoreCopy, ACheckpointIsPutOffWhileABackupHoldsItAndTheWritesGoOn) {
  TempDir live;
  auto store = open_store(live.str(), 1);  // a checkpoint after every commit
  ASSERT_TRUE(store);
  ASSERT_TRUE(set(*store, "/first", 1).ok());
  EXPECT_EQ(lmdb_rows(live.str()), 1);
  {
    auto hold = CheckpointHold::acquire(live.str() + "/wal");
    ASSERT_TRUE(hold.ok()) << hold.error().message;
    ASSERT_TRUE(set(*store, "/second", 2).ok());  // acknowledged, in the log only
    EXPECT_EQ(lmdb_rows(live.str()), 1);
    auto root = store->load();
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(tree::to_json(root->root), R"({"first":1,"second":2})");
  }
  ASSERT_TRUE(set(*store, "/third", 3).ok());  // the hold is gone: this commit's checkpoint takes everything
  EXPECT_EQ(lmdb_rows(live.str()), 3);
}

TEST(StoreCopy, ACopyBesideAWriterThatCheckpointsAfterEveryCommitHoldsEveryCommitBeforeIt) {
  TempDir live;
  TempDir copies;
  auto store = open_store(live.str(), 1);
  ASSERT_TRUE(store);
  std::atomic<int> acknowledged{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::mutex between_commits;  // the copy forks between two commits (in_another_process says why)
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      std::lock_guard lock(between_commits);
      if (!set(*store, "/n/" + std::to_string(i), i).ok()) {
        failed = true;
        return;
      }
      acknowledged = i + 1;
    }
  });
  struct StopWriter {  // also when an assertion below returns early
    std::atomic<bool>& stop;
    std::thread& writer;
    ~StopWriter() {
      stop = true;
      writer.join();
    }
  } stop_writer{stop, writer};
  for (int round = 0; round < 5; ++round) {
    while (acknowledged < 50 * (round + 1) && !failed) std::this_thread::yield();
    ASSERT_FALSE(failed) << "a commit failed";
    const int before = acknowledged;
    const fs::path copy = copies.path() / std::to_string(round);
    copy_into(live.str(), copy, &between_commits);
    const Node restored = load(copy.string());
    const Node* n = restored.find_child("n");
    ASSERT_NE(n, nullptr);
    for (int i = 0; i < before; ++i) {
      ASSERT_NE(n->find_child(std::to_string(i)), nullptr) << "commit " << i << " of " << before << ", round " << round;
    }
  }
}

TEST(StoreCopy, AFailingSinkStopsTheCopyWithItsError) {
  TempDir live;
  auto store = open_store(live.str(), 1);
  ASSERT_TRUE(store);
  ASSERT_TRUE(set(*store, "/a", 1).ok());
  const int copied = in_another_process([&] {
    const Status status = copy_store(
        live.str(), [](std::string_view) -> Status { return Error{ErrorCode::unavailable, "disk full"}; },
        [](std::string_view) { return ok_status(); });
    return !status && status.error().message == "disk full" ? 0 : 1;
  });
  EXPECT_EQ(copied, 0) << "the sink's error, and no hang";
}

TEST(StoreCopy, AMissingStoreIsAnError) {
  TempDir nothing;
  fs::create_directories(nothing.path());
  const Status copied = copy_store(nothing.str(), [](std::string_view) { return ok_status(); },
                                   [](std::string_view) { return ok_status(); });
  ASSERT_FALSE(copied.ok());
  EXPECT_NE(copied.error().message.find(nothing.str()), std::string::npos) << copied.error().message;
}

}  // namespace
}  // namespace backside::store
