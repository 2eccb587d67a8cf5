#include <lmdb.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "store/store.h"
#include "store/write_ahead_log.h"
#include "tree/json_codec.h"

namespace backside::store {
namespace {

using tree::Node;
using tree::Path;
using tree::Priority;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("backside-store-test-" + std::to_string(std::random_device{}()) + "-" + std::to_string(counter++));
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

Node leaf(Node::Leaf value, std::optional<Priority> priority = std::nullopt) {
  return Node(std::move(value), std::move(priority));
}

Node object(std::vector<std::pair<std::string, Node>> entries, std::optional<Priority> priority = std::nullopt) {
  tree::Children children;
  for (auto& [key, value] : entries) children.emplace(key, std::make_unique<Node>(std::move(value)));
  return Node(std::move(children), std::move(priority));
}

Path path(std::string_view text) { return Path::parse(text).value(); }

std::string describe(const Node& node) { return tree::to_json(node, {.format = tree::Format::export_}); }

std::unique_ptr<Store> open_store(const std::string& directory, Durability durability = Durability::fsync,
                                  std::size_t map_size_bytes = std::size_t(1) << 30) {
  Result<std::unique_ptr<Store>> store = open_lmdb_store({directory, durability, map_size_bytes});
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? std::move(store).value() : nullptr;
}

void replace(Store& store, std::string_view at, const Node& value) {
  WriteBatch batch;
  batch.replace_subtree(path(at), value);
  const Result<std::uint64_t> committed = store.commit(batch);
  ASSERT_TRUE(committed.ok()) << committed.error().message;
}

Node load(Store& store) {
  Result<Snapshot> loaded = store.load();
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  return loaded.ok() ? std::move(loaded).value().root : Node();
}

#define EXPECT_TREE_EQ(actual, expected)                                                              \
  do {                                                                                                \
    const Node& actual_tree = (actual);                                                               \
    const Node& expected_tree = (expected);                                                           \
    EXPECT_TRUE(actual_tree == expected_tree) << describe(actual_tree) << "\n  expected\n"             \
                                              << describe(expected_tree);                             \
  } while (false)

// A value using every leaf type, number and string priorities on leaves and objects, unicode and numeric keys.
Node sample_tree() {
  return object({
      {"bools", object({{"yes", leaf(true)}, {"no", leaf(false, 2.0)}})},
      {"numbers", object({{"zero", leaf(0.0)},
                          {"negative", leaf(-1.5, "p")},
                          {"huge", leaf(1e300)},
                          {"tiny", leaf(-4.9e-324)},
                          {"integer", leaf(9007199254740991.0)}},
                         -7.25)},
      {"strings", object({{"empty", leaf(std::string())},
                          {"text", leaf(std::string("hello"), std::string("prio with\0nul", 13))},
                          {"unicode", leaf(std::string("ключ 😀 中文"))},
                          {"big", leaf(std::string(100000, 'x'))}})},
      {"ключ", object({{"😀", leaf(1.0)}, {"é", object({{"deep", leaf(std::string("down"))}}, std::string("é"))}})},
      {"9", leaf(9.0)},
      {"10", leaf(10.0)},
      {"-3", leaf(std::string("minus"))},
  }, std::string("root priority"));
}

TEST(LmdbStore, EmptyStoreLoadsNull) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  EXPECT_TRUE(load(*store).is_null());
}

// One node keeps no change log: the sequence counts this open's commits, and catch-up is refused with a reason.
TEST(LmdbStore, SequenceCountsCommitsSinceOpen) {
  TempDir dir;
  {
    auto store = open_store(dir.str());
    ASSERT_TRUE(store);
    WriteBatch batch;
    batch.replace_subtree(path("/a"), leaf(1.0));
    EXPECT_EQ(*store->commit(batch), 1u);
    EXPECT_EQ(*store->commit(batch), 2u);
    EXPECT_EQ(*store->commit(WriteBatch()), 2u);
    EXPECT_EQ(store->load()->sequence, 2u);
    auto changes = store->changes_since(0, 10);
    ASSERT_FALSE(changes.ok());
    EXPECT_EQ(changes.error().code, ErrorCode::unavailable);
    EXPECT_NE(changes.error().message.find("no change log"), std::string::npos) << changes.error().message;
  }
  auto reopened = open_store(dir.str());
  ASSERT_TRUE(reopened);
  Result<Snapshot> loaded = reopened->load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->sequence, 0u);
  EXPECT_TREE_EQ(loaded->root, object({{"a", leaf(1.0)}}));
}

TEST(LmdbStore, CreatesMissingDirectoriesPrivately) {
  TempDir dir;
  const std::string nested = dir.str() + "/a/b";
  ASSERT_TRUE(open_store(nested));
  const auto perms = std::filesystem::status(nested).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_all);
}

TEST(LmdbStore, RoundTripsNestedDataWithPriorities) {
  TempDir dir;
  const Node value = sample_tree();
  {
    auto store = open_store(dir.str());
    ASSERT_TRUE(store);
    replace(*store, "/", value);
    EXPECT_TREE_EQ(load(*store), value);
  }
  auto reopened = open_store(dir.str());
  ASSERT_TRUE(reopened);
  EXPECT_TREE_EQ(load(*reopened), value);
}

TEST(LmdbStore, RootLeafAndBack) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  replace(*store, "/", leaf(std::string("just a string"), 3.0));
  EXPECT_TREE_EQ(load(*store), leaf(std::string("just a string"), 3.0));
  const Node value = object({{"a", leaf(1.0)}});
  replace(*store, "/", value);
  EXPECT_TREE_EQ(load(*store), value);
}

TEST(LmdbStore, ReplaceSubtreeRemovesOldRows) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  replace(*store, "/", object({{"a", object({{"x", leaf(1.0)}, {"y", object({{"z", leaf(2.0)}}, 4.0)}})},
                               {"ab", leaf(true)},
                               {"a0", object({{"k", leaf(false)}})}}));

  replace(*store, "/a/y", leaf(3.0));
  EXPECT_TREE_EQ(load(*store), object({{"a", object({{"x", leaf(1.0)}, {"y", leaf(3.0)}})},
                                       {"ab", leaf(true)},
                                       {"a0", object({{"k", leaf(false)}})}}));

  replace(*store, "/a", Node());  // siblings whose names extend "a" stay
  EXPECT_TREE_EQ(load(*store), object({{"ab", leaf(true)}, {"a0", object({{"k", leaf(false)}})}}));

  replace(*store, "/a0", object({{"new", leaf(std::string("v"))}}));
  EXPECT_TREE_EQ(load(*store), object({{"ab", leaf(true)}, {"a0", object({{"new", leaf(std::string("v"))}})}}));
}

TEST(LmdbStore, SetObjectPriority) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  replace(*store, "/a", object({{"b", leaf(1.0)}}));

  WriteBatch batch;
  batch.set_object_priority(path("/a"), Priority(5.0));
  ASSERT_TRUE(store->commit(batch).ok());
  EXPECT_TREE_EQ(load(*store), object({{"a", object({{"b", leaf(1.0)}}, 5.0)}}));

  batch.clear();
  batch.set_object_priority(path("/a"), Priority(std::string("s")));
  ASSERT_TRUE(store->commit(batch).ok());
  EXPECT_TREE_EQ(load(*store), object({{"a", object({{"b", leaf(1.0)}}, std::string("s"))}}));

  batch.clear();
  batch.set_object_priority(path("/a"), std::nullopt);
  ASSERT_TRUE(store->commit(batch).ok());
  EXPECT_TREE_EQ(load(*store), object({{"a", object({{"b", leaf(1.0)}})}}));
}

TEST(LmdbStore, SetObjectPriorityRemovesALeafThatBecomesAnObject) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  replace(*store, "/a", leaf(1.0, 9.0));

  WriteBatch batch;
  batch.set_object_priority(path("/a"), std::nullopt);
  batch.replace_subtree(path("/a/b"), leaf(2.0));
  ASSERT_TRUE(store->commit(batch).ok());
  EXPECT_TREE_EQ(load(*store), object({{"a", object({{"b", leaf(2.0)}})}}));
}

TEST(LmdbStore, ObjectPriorityOfAnEmptyObjectIsDropped) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.set_object_priority(path("/a"), Priority(1.0));
  batch.set_object_priority(Path(), Priority(2.0));
  ASSERT_TRUE(store->commit(batch).ok());
  EXPECT_TRUE(load(*store).is_null());
}

TEST(LmdbStore, EraseAtRootClearsEverything) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  replace(*store, "/", sample_tree());
  replace(*store, "/", Node());
  EXPECT_TRUE(load(*store).is_null());
  replace(*store, "/x", leaf(1.0));
  EXPECT_TREE_EQ(load(*store), object({{"x", leaf(1.0)}}));
}

TEST(LmdbStore, BatchOpsApplyInOrder) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.replace_subtree(path("/a"), object({{"b", leaf(1.0)}, {"c", leaf(2.0)}}));
  batch.replace_subtree(path("/a/b"), Node());
  batch.replace_subtree(path("/d"), leaf(3.0));
  EXPECT_FALSE(batch.empty());
  ASSERT_TRUE(store->commit(batch).ok());
  EXPECT_TREE_EQ(load(*store), object({{"a", object({{"c", leaf(2.0)}})}, {"d", leaf(3.0)}}));
  EXPECT_TRUE(store->commit(WriteBatch()).ok());
}

TEST(LmdbStore, DurabilityNonePersistsAcrossReopen) {
  TempDir dir;
  const Node value = sample_tree();
  {
    auto store = open_store(dir.str(), Durability::none);
    ASSERT_TRUE(store);
    replace(*store, "/", value);
    replace(*store, "/extra", leaf(true));
  }
  auto reopened = open_store(dir.str());
  ASSERT_TRUE(reopened);
  Node expected = value;
  expected.set(path("/extra"), leaf(true));
  EXPECT_TREE_EQ(load(*reopened), expected);
}

TEST(LmdbStore, UsableFromAnotherThreadThanTheOpener) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  replace(*store, "/before", leaf(1.0));
  std::thread writer([&] {
    replace(*store, "/during", leaf(2.0));
    EXPECT_TREE_EQ(load(*store), object({{"before", leaf(1.0)}, {"during", leaf(2.0)}}));
  });
  writer.join();
  EXPECT_TREE_EQ(load(*store), object({{"before", leaf(1.0)}, {"during", leaf(2.0)}}));
}

TEST(LmdbStore, FailedCommitAppliesNothing) {
  // Durability none commits straight into LMDB: a batch that does not fit fails whole.
  TempDir dir;
  auto store = open_store(dir.str(), Durability::none, std::size_t(1) << 20);  // 1 MiB map
  ASSERT_TRUE(store);
  replace(*store, "/kept", leaf(1.0));

  WriteBatch batch;
  batch.replace_subtree(path("/kept"), Node());
  for (int i = 0; i < 64; ++i) batch.replace_subtree(path("/big" + std::to_string(i)), leaf(std::string(100000, 'b')));
  const Result<std::uint64_t> committed = store->commit(batch);
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.error().code, ErrorCode::unavailable);
  EXPECT_NE(committed.error().message.find("MDB_MAP_FULL"), std::string::npos) << committed.error().message;
  EXPECT_NE(committed.error().message.find(dir.str()), std::string::npos) << committed.error().message;

  EXPECT_TREE_EQ(load(*store), object({{"kept", leaf(1.0)}}));
  replace(*store, "/after", leaf(2.0));  // the store stays usable
  EXPECT_TREE_EQ(load(*store), object({{"kept", leaf(1.0)}, {"after", leaf(2.0)}}));
}

// The files of a store directory, copied while the store is open (the log as written so far).
void copy_file(const std::string& from, const std::string& to) {
  std::filesystem::create_directories(std::filesystem::path(to).parent_path());
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

std::unique_ptr<Store> open_with_checkpoint(const std::string& directory, std::uint64_t checkpoint_bytes,
                                            std::size_t map_size_bytes = std::size_t(1) << 30) {
  Result<std::unique_ptr<Store>> store =
      open_lmdb_store({directory, Durability::fsync, map_size_bytes, checkpoint_bytes});
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(LmdbStore, TheLogRestoresWhatLmdbNeverGot) {
  // LMDB as of the last checkpoint plus the log written since: exactly what a machine crash leaves behind.
  TempDir dir;
  TempDir crashed;
  {
    auto store = open_with_checkpoint(dir.str(), std::uint64_t(1) << 30);
    ASSERT_TRUE(store);
    replace(*store, "/", sample_tree());
  }  // closing checkpoints
  copy_file(dir.str() + "/data.mdb", crashed.str() + "/data.mdb");
  auto store = open_with_checkpoint(dir.str(), std::uint64_t(1) << 30);
  ASSERT_TRUE(store);
  replace(*store, "/numbers", Node());
  replace(*store, "/added/deep", leaf(std::string("yes"), 3.0));
  WriteBatch priority;
  priority.set_object_priority(path("/bools"), Priority(std::string("b")));
  ASSERT_TRUE(store->commit(priority).ok());
  copy_file(dir.str() + "/wal", crashed.str() + "/wal");
  const Node expected = load(*store);

  auto recovered = open_with_checkpoint(crashed.str(), std::uint64_t(1) << 30);
  ASSERT_TRUE(recovered);
  EXPECT_TREE_EQ(load(*recovered), expected);
  EXPECT_FALSE(describe(expected).find("numbers") != std::string::npos);
}

TEST(LmdbStore, ATornRecordEndsTheReplay) {
  TempDir dir;
  TempDir crashed;
  {
    auto store = open_with_checkpoint(dir.str(), std::uint64_t(1) << 30);
    ASSERT_TRUE(store);
    replace(*store, "/base", leaf(1.0));
  }
  copy_file(dir.str() + "/data.mdb", crashed.str() + "/data.mdb");
  auto store = open_with_checkpoint(dir.str(), std::uint64_t(1) << 30);
  ASSERT_TRUE(store);
  replace(*store, "/first", leaf(2.0));
  replace(*store, "/second", leaf(std::string(5000, 's')));
  copy_file(dir.str() + "/wal", crashed.str() + "/wal");
  store.reset();

  // Cut the second record short: keep its header and half its payload, zero the rest.
  {
    std::fstream wal(crashed.str() + "/wal", std::ios::binary | std::ios::in | std::ios::out);
    std::string bytes((std::istreambuf_iterator<char>(wal)), std::istreambuf_iterator<char>());
    const std::size_t first_end = 4096 + 16 + (bytes[4096] & 0xff) + ((bytes[4097] & 0xff) << 8);
    for (std::size_t i = first_end + 16 + 2500; i < first_end + 16 + 5100 && i < bytes.size(); ++i) bytes[i] = '\0';
    wal.seekp(0);
    wal.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto recovered = open_with_checkpoint(crashed.str(), std::uint64_t(1) << 30);
  ASSERT_TRUE(recovered);
  EXPECT_TREE_EQ(load(*recovered), object({{"base", leaf(1.0)}, {"first", leaf(2.0)}}));
  replace(*recovered, "/third", leaf(3.0));
  recovered.reset();
  auto reopened = open_with_checkpoint(crashed.str(), std::uint64_t(1) << 30);
  ASSERT_TRUE(reopened);
  EXPECT_TREE_EQ(load(*reopened), object({{"base", leaf(1.0)}, {"first", leaf(2.0)}, {"third", leaf(3.0)}}));
}

TEST(LmdbStore, RecordsOfAnEarlierEpochAreNeverReplayed) {
  // After a checkpoint the log is reused from the start; old records further on must not come back.
  TempDir dir;
  TempDir crashed;
  {
    auto store = open_with_checkpoint(dir.str(), std::uint64_t(1) << 30);
    ASSERT_TRUE(store);
    replace(*store, "/x", leaf(1.0));
    replace(*store, "/x", leaf(2.0));
    replace(*store, "/y", leaf(3.0));
  }  // checkpoint: LMDB has x=2, y=3; the log's next epoch begins
  copy_file(dir.str() + "/data.mdb", crashed.str() + "/data.mdb");
  auto store = open_with_checkpoint(dir.str(), std::uint64_t(1) << 30);
  ASSERT_TRUE(store);
  replace(*store, "/x", leaf(4.0));  // same size as the first old record: the second old one follows it intact
  copy_file(dir.str() + "/wal", crashed.str() + "/wal");
  auto recovered = open_with_checkpoint(crashed.str(), std::uint64_t(1) << 30);
  ASSERT_TRUE(recovered);
  EXPECT_TREE_EQ(load(*recovered), object({{"x", leaf(4.0)}, {"y", leaf(3.0)}}));
}

TEST(LmdbStore, AFailedCheckpointRefusesCommitsAndLosesNothing) {
  TempDir dir;
  // A 1 MiB map and a checkpoint after every commit: the big commit is acknowledged (it is in the log), its
  // checkpoint fails, and later commits are refused until the store can apply the log.
  const Node big = [] {
    std::vector<std::pair<std::string, Node>> entries;
    for (int i = 0; i < 64; ++i) entries.emplace_back("b" + std::to_string(i), leaf(std::string(100000, 'b')));
    return object(std::move(entries));
  }();
  {
    auto store = open_with_checkpoint(dir.str(), 1, std::size_t(1) << 20);
    ASSERT_TRUE(store);
    replace(*store, "/kept", leaf(1.0));
    WriteBatch batch;
    batch.replace_subtree(path("/big"), big);
    ASSERT_TRUE(store->commit(batch).ok());
    WriteBatch later;
    later.replace_subtree(path("/later"), leaf(2.0));
    const Result<std::uint64_t> refused = store->commit(later);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("MDB_MAP_FULL"), std::string::npos) << refused.error().message;
  }
  // Too small a map cannot apply the log: the store opens refusing commits, and still reads everything
  // acknowledged (LMDB plus the log, in memory); a bigger map replays it.
  {
    auto refusing = open_with_checkpoint(dir.str(), 1, std::size_t(1) << 20);
    ASSERT_TRUE(refusing);
    ASSERT_TRUE(refusing->refusing_commits());
    EXPECT_NE(refusing->refusing_commits()->message.find("MDB_MAP_FULL"), std::string::npos);
    EXPECT_TREE_EQ(load(*refusing), object({{"kept", leaf(1.0)}, {"big", big}}));
    WriteBatch later;
    later.replace_subtree(path("/later"), leaf(2.0));
    EXPECT_FALSE(refusing->commit(later).ok());
    EXPECT_FALSE(refusing->probe().ok());
  }
  auto reopened = open_with_checkpoint(dir.str(), 1);
  ASSERT_TRUE(reopened);
  EXPECT_TREE_EQ(load(*reopened), object({{"kept", leaf(1.0)}, {"big", big}}));
  EXPECT_FALSE(reopened->refusing_commits());
}

TEST(LmdbStore, ACommitRefusedByTheDiskIsNotVisibleAndTheStoreRecovers) {
  struct Case {
    FaultPoint point;
    int error;
    int count;  // -1: until cleared
  };
  for (const Case& c : {Case{FaultPoint::write, ENOSPC, 1}, Case{FaultPoint::write, EIO, 1},
                        Case{FaultPoint::sync, ENOSPC, 1}, Case{FaultPoint::sync, EIO, 1},
                        Case{FaultPoint::write, ENOSPC, -1}, Case{FaultPoint::sync, EIO, -1}}) {
    SCOPED_TRACE(std::string(c.point == FaultPoint::write ? "write " : "sync ") + std::strerror(c.error) +
                 (c.count < 0 ? " lasting" : " once"));
    TempDir dir;
    {
      auto store = open_store(dir.str());
      ASSERT_TRUE(store);
      replace(*store, "/kept", leaf(1.0));
      inject_fault(c.point, c.error, c.count);
      WriteBatch refused;
      refused.replace_subtree(path("/refused"), leaf(std::string(2000, 'r')));
      const Result<std::uint64_t> committed = store->commit(refused);
      ASSERT_FALSE(committed.ok());
      EXPECT_EQ(committed.error().code, ErrorCode::unavailable);
      EXPECT_NE(committed.error().message.find(std::strerror(c.error)), std::string::npos) << committed.error().message;
      // Read back without writing anything (the disk may still be full): the refused batch is not there.
      EXPECT_TREE_EQ(load(*store), object({{"kept", leaf(1.0)}}));
      if (c.count < 0) {
        EXPECT_FALSE(store->probe().ok());
        clear_faults();
      }
      EXPECT_TRUE(store->probe().ok());
      replace(*store, "/after", leaf(2.0));
      EXPECT_TREE_EQ(load(*store), object({{"kept", leaf(1.0)}, {"after", leaf(2.0)}}));
    }
    clear_faults();
    auto reopened = open_store(dir.str());
    ASSERT_TRUE(reopened);
    EXPECT_TREE_EQ(load(*reopened), object({{"kept", leaf(1.0)}, {"after", leaf(2.0)}}));
  }
}

TEST(LmdbStore, LoadOnAFullDiskReadsWithoutWriting) {
  // The log holds records LMDB has not got, and the checkpoint that load() tries first cannot sync: load()
  // still answers everything acknowledged, from LMDB plus the log.
  TempDir dir;
  auto store = open_with_checkpoint(dir.str(), std::uint64_t(1) << 30);
  ASSERT_TRUE(store);
  replace(*store, "/a", leaf(1.0));
  replace(*store, "/b", leaf(2.0));
  inject_fault(FaultPoint::sync, ENOSPC, -1);
  EXPECT_TREE_EQ(load(*store), object({{"a", leaf(1.0)}, {"b", leaf(2.0)}}));
  clear_faults();
}

// Cuts `file` to `size` bytes.
void truncate_file(const std::string& file, std::uintmax_t size) { std::filesystem::resize_file(file, size); }

Node many_rows() {
  std::vector<std::pair<std::string, Node>> entries;
  for (int i = 0; i < 400; ++i) entries.emplace_back("k" + std::to_string(i), leaf(std::string(1000, 'v')));
  return object(std::move(entries));
}

TEST(LmdbStore, ATruncatedDataFileIsRefusedNotMapped) {
  TempDir dir;
  {
    auto store = open_store(dir.str());
    ASSERT_TRUE(store);
    replace(*store, "/", many_rows());
  }  // closing checkpoints: everything is in data.mdb
  const std::string data = dir.str() + "/data.mdb";
  const std::uintmax_t size = std::filesystem::file_size(data);
  ASSERT_GT(size, std::uintmax_t(20 * 4096));
  truncate_file(data, size / 2);
  auto refused = open_lmdb_store({dir.str()});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::internal);
  EXPECT_NE(refused.error().message.find(data), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("truncated"), std::string::npos) << refused.error().message;
  EXPECT_EQ(std::filesystem::file_size(data), size / 2);  // not grown back, not rewritten
  EXPECT_FALSE(open_lmdb_store({.directory = dir.str(), .read_only = true}).ok());
}

TEST(LmdbStore, ADataFileCutBelowItsMetaPagesOrMissingIsRefused) {
  for (std::uintmax_t size : {std::uintmax_t(0), std::uintmax_t(100), std::uintmax_t(5000)}) {
    TempDir dir;
    {
      auto store = open_store(dir.str());
      ASSERT_TRUE(store);
      replace(*store, "/a", leaf(1.0));
    }
    truncate_file(dir.str() + "/data.mdb", size);
    auto refused = open_lmdb_store({dir.str()});
    ASSERT_FALSE(refused.ok()) << size;
    EXPECT_NE(refused.error().message.find("data.mdb is damaged"), std::string::npos) << refused.error().message;
  }
  TempDir dir;
  {
    auto store = open_store(dir.str());
    ASSERT_TRUE(store);
  }
  std::filesystem::remove(dir.str() + "/data.mdb");
  auto refused = open_lmdb_store({dir.str()});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("missing"), std::string::npos) << refused.error().message;
}

TEST(LmdbStore, ADamagedMetaPageIsRefused) {
  TempDir dir;
  {
    auto store = open_store(dir.str());
    ASSERT_TRUE(store);
    replace(*store, "/a", leaf(1.0));
  }
  // Both meta pages' magic (at the start of each page's meta, after the 16-byte page header).
  std::fstream file(dir.str() + "/data.mdb", std::ios::binary | std::ios::in | std::ios::out);
  for (std::streamoff page : {std::streamoff(0), std::streamoff(4096)}) {
    file.seekp(page + 16);
    file.write("XXXX", 4);
  }
  file.close();
  auto refused = open_lmdb_store({dir.str()});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("damaged"), std::string::npos) << refused.error().message;
}

TEST(LmdbStore, ALogDamagedMidwayRefusesTheStore) {
  TempDir dir;
  TempDir crashed;
  {
    auto store = open_with_checkpoint(dir.str(), std::uint64_t(1) << 30);
    ASSERT_TRUE(store);
    replace(*store, "/one", leaf(1.0));
    replace(*store, "/two", leaf(2.0));
    replace(*store, "/three", leaf(3.0));
    copy_file(dir.str() + "/data.mdb", crashed.str() + "/data.mdb");
    copy_file(dir.str() + "/wal", crashed.str() + "/wal");
  }
  {
    std::fstream wal(crashed.str() + "/wal", std::ios::binary | std::ios::in | std::ios::out);
    wal.seekp(4096 + 20);  // the first record's payload
    wal.write("\xff", 1);
  }
  auto refused = open_lmdb_store({crashed.str()});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::internal);
  EXPECT_NE(refused.error().message.find("byte offset 4096"), std::string::npos) << refused.error().message;
}

TEST(LmdbStore, BatchEncodingRoundTrips) {
  WriteBatch batch;
  batch.replace_subtree(path("/a/b"), sample_tree());
  batch.set_object_priority(path("/a"), std::nullopt);
  const std::string payload = encode_batch(batch);
  Result<WriteBatch> decoded = decode_batch(payload);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->ops().size(), batch.ops().size());
  for (std::size_t i = 0; i < batch.ops().size(); ++i) {
    EXPECT_EQ(decoded->ops()[i].kind, batch.ops()[i].kind);
    EXPECT_EQ(decoded->ops()[i].key, batch.ops()[i].key);
    EXPECT_EQ(decoded->ops()[i].value, batch.ops()[i].value);
  }
  for (std::size_t cut = 1; cut < 11; ++cut) {  // inside the last operation (11 bytes)
    EXPECT_FALSE(decode_batch(std::string_view(payload).substr(0, payload.size() - cut)).ok()) << cut;
  }
  EXPECT_FALSE(decode_batch(std::string(1, '\x07')).ok());
}

TEST(LmdbStore, OpenFailureNamesTheDirectory) {
  TempDir dir;
  std::filesystem::create_directories(dir.str());
  const std::string file = dir.str() + "/not-a-directory";
  std::ofstream(file) << "x";
  Result<std::unique_ptr<Store>> store = open_lmdb_store({file});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::unavailable);
  EXPECT_NE(store.error().message.find(file), std::string::npos) << store.error().message;

  EXPECT_EQ(open_lmdb_store({""}).error().code, ErrorCode::invalid_argument);
}

// Paths longer than LMDB's 511-byte key limit: 300-byte keys make two-level paths over 600 bytes, sharing
// their first 495 bytes.
TEST(LmdbStore, LongPaths) {
  TempDir dir;
  const std::string k1 = std::string(300, 'L') + "1";
  const std::string k2 = std::string(300, 'L') + "2";
  const std::string huge(768, 'H');
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);

  Node model = object({
      {k1, object({{k1, leaf(1.0)}, {k2, object({{"x", leaf(2.0)}, {"y", leaf(3.0, 1.0)}}, 8.0)}, {"s", leaf(4.0)}})},
      {k2, object({{k1, leaf(5.0)}})},
      {huge, object({{huge, leaf(std::string("deep"))}, {"short", leaf(false)}})},
  });
  replace(*store, "/", model);
  EXPECT_TREE_EQ(load(*store), model);

  // A range erase whose prefix reaches past the hashed part must leave siblings that share those bytes.
  const std::string k1k2 = "/" + k1 + "/" + k2;
  replace(*store, k1k2, Node());
  model.set(path(k1k2), Node());
  EXPECT_TREE_EQ(load(*store), model);

  replace(*store, k1k2 + "/z", leaf(6.0));
  model.set(path(k1k2 + "/z"), leaf(6.0));
  WriteBatch batch;
  batch.set_object_priority(path(k1k2), Priority(std::string("long")));
  ASSERT_TRUE(store->commit(batch).ok());
  model.set(path(k1k2), object({{"z", leaf(6.0)}}, std::string("long")));
  EXPECT_TREE_EQ(load(*store), model);

  replace(*store, "/" + huge + "/" + huge, Node());
  model.set(path("/" + huge + "/" + huge), Node());
  EXPECT_TREE_EQ(load(*store), model);

  store.reset();
  auto reopened = open_store(dir.str());
  ASSERT_TRUE(reopened);
  EXPECT_TREE_EQ(load(*reopened), model);
}

// Range erases that cross many LMDB pages, with short keys and with long (hashed) keys mixed in one run.
TEST(LmdbStore, LargeRangeErasesSpanManyPages) {
  TempDir dir;
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  const std::string long_key = std::string(300, 'L');
  const auto many = [](int count, const std::string& prefix) {
    tree::Children children;
    for (int i = 0; i < count; ++i) {
      children.emplace(prefix + std::to_string(i), std::make_unique<Node>(leaf(std::string(20, 'v'))));
    }
    return Node(std::move(children));
  };
  Node model = object({{"a", many(5000, "k")},
                       {"b", many(5000, "k")},
                       {"c", leaf(true)},
                       {long_key, object({{long_key + "x", many(300, "k")}, {long_key + "y", many(300, "k")}})}});
  replace(*store, "/", model);
  EXPECT_TREE_EQ(load(*store), model);

  for (const std::string& at : {std::string("/a"), "/" + long_key + "/" + long_key + "x"}) {
    replace(*store, at, Node());
    model.set(path(at), Node());
    EXPECT_TREE_EQ(load(*store), model);
  }
}

// Writes rows straight into the LMDB environment, bypassing the store.
void write_raw_rows(const std::string& directory, const std::vector<std::pair<std::string, std::string>>& rows) {
  std::filesystem::create_directories(directory);
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_open(env, directory.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
  for (const auto& [key, value] : rows) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  }
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(LmdbStore, CorruptRowsAreErrors) {
  const std::string a("a\0", 2);
  const std::string number_one = bytes({0x03, 0x00, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f});
  const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> cases = {
      {"empty value", {{a, ""}}},
      {"one-byte value", {{a, bytes({0x01})}}},
      {"unknown row kind", {{a, bytes({0x09, 0x00})}}},
      {"unknown priority kind", {{a, bytes({0x01, 0x07})}}},
      {"truncated number", {{a, bytes({0x03, 0x00, 1, 2, 3})}}},
      {"trailing bytes", {{a, bytes({0x02, 0x00, 0x00})}}},
      {"truncated number priority", {{a, bytes({0x02, 0x01, 1, 2})}}},
      {"truncated string priority", {{a, bytes({0x02, 0x02, 9, 0, 0, 0, 'a'})}}},
      {"object priority without priority", {{a, bytes({0x05, 0x00})}}},
      {"key without terminator", {{"a", number_one}}},
      {"key with an empty segment", {{std::string("a\0\0", 3), number_one}}},
      {"leaf with children", {{a, number_one}, {std::string("a\0b\0", 4), number_one}}},
      {"long key with a bad path", {{std::string(511, 'x'), bytes({5, 0, 0, 0, 'x', 'x'})}}},
  };
  for (const auto& [name, rows] : cases) {
    TempDir dir;
    write_raw_rows(dir.str(), rows);
    auto store = open_store(dir.str());
    ASSERT_TRUE(store) << name;
    Result<Snapshot> loaded = store->load();
    ASSERT_FALSE(loaded.ok()) << name << ": " << describe(loaded.value().root);
    EXPECT_EQ(loaded.error().code, ErrorCode::internal) << name;
    EXPECT_NE(loaded.error().message.find("corrupt"), std::string::npos) << name << ": " << loaded.error().message;
  }

  // The same shapes, well formed, load.
  TempDir dir;
  write_raw_rows(dir.str(), {{a, number_one}, {std::string("b\0", 2), bytes({0x02, 0x00})}});
  auto store = open_store(dir.str());
  ASSERT_TRUE(store);
  EXPECT_TREE_EQ(load(*store), object({{"a", leaf(1.0)}, {"b", leaf(true)}}));
}

// Random batches of replace_subtree / set_object_priority, compared after each commit with the same changes applied
// to an in-memory tree by Node::set. Like the database core, every write also rewrites the object rows of its
// ancestors (their priority if they are objects, nothing if they are gone; a leaf ancestor means the write was a
// no-op delete), which removes leaves that became objects and priorities of objects that became empty.
class RandomWorkload {
 public:
  explicit RandomWorkload(unsigned seed) : random_(seed) {}

  Path random_path() {
    std::vector<std::string> segments;
    const int depth = chance(5) ? 0 : 1 + pick(3);
    for (int i = 0; i < depth; ++i) segments.push_back(random_key());
    return Path(std::move(segments));
  }

  Node random_value(int depth) {
    const int kind = pick(10);
    if (kind < 2) return Node();
    if (kind < 6 || depth == 0) return leaf(random_leaf(), random_priority());
    tree::Children children;
    for (int i = 0, count = 1 + pick(3); i < count; ++i) {
      children.emplace(random_key(), std::make_unique<Node>(random_value(depth - 1)));
    }
    return Node(std::move(children), random_priority());
  }

  // Adds one random change to `batch` and applies it to `model`.
  void add_change(Node& model, WriteBatch& batch) {
    const Path at = random_path();
    if (chance(20)) {
      const Node* existing = model.find(at);
      if (existing == nullptr || !existing->has_children()) return;
      Node changed = *existing;
      changed.set_priority(random_priority());
      batch.set_object_priority(at, changed.priority());
      model.set(at, std::move(changed));
    } else {
      Node value = random_value(2);
      batch.replace_subtree(at, value);
      model.set(at, std::move(value));
    }
    std::vector<std::string> ancestor;
    for (std::size_t i = 0; i < at.size(); ++i) {
      const Path ancestor_path(ancestor);
      const Node* node = model.find(ancestor_path);
      if (node == nullptr) {
        batch.set_object_priority(ancestor_path, std::nullopt);
      } else if (node->has_children()) {
        batch.set_object_priority(ancestor_path, node->priority());
      }
      ancestor.push_back(at[i]);
    }
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }
  bool chance(int percent) { return pick(100) < percent; }

  std::string random_key() {
    static const std::vector<std::string> keys = {
        "a", "b", "ab", "a0", "10", "9", "-3", "007", "ключ", "😀", "é",
        std::string(300, 'L') + "1", std::string(300, 'L') + "2",
    };
    return keys[static_cast<std::size_t>(pick(static_cast<int>(keys.size())))];
  }

  Node::Leaf random_leaf() {
    switch (pick(4)) {
      case 0:
        return chance(50);
      case 1:
        return double(pick(2001) - 1000) / 8;
      case 2:
        return std::string(static_cast<std::size_t>(pick(20)), static_cast<char>('a' + pick(26)));
      default:
        return std::string("ü") + std::to_string(pick(100));
    }
  }

  std::optional<Priority> random_priority() {
    switch (pick(4)) {
      case 0:
        return Priority(double(pick(100)));
      case 1:
        return Priority(std::string(1, static_cast<char>('a' + pick(26))));
      default:
        return std::nullopt;
    }
  }

  std::mt19937 random_;
};

TEST(LmdbStore, RandomBatchesMatchAnInMemoryModel) {
  for (unsigned seed : {1u, 2u, 3u, 4u}) {
    TempDir dir;
    // Seeds 1-2 commit straight into LMDB; 3-4 through the log, with a checkpoint every ~4 KiB of records.
    auto store = seed <= 2 ? open_store(dir.str(), Durability::none) : open_with_checkpoint(dir.str(), 4096);
    ASSERT_TRUE(store);
    RandomWorkload workload(seed);
    Node model;
    for (int round = 0; round < 400; ++round) {
      WriteBatch batch;
      for (int i = 0, changes = 1 + round % 4; i < changes; ++i) workload.add_change(model, batch);
      const Result<std::uint64_t> committed = store->commit(batch);
      ASSERT_TRUE(committed.ok()) << committed.error().message;
      const Node loaded = load(*store);
      ASSERT_TRUE(loaded == model) << "seed " << seed << " round " << round << "\n"
                                   << describe(loaded) << "\n  expected\n" << describe(model);
    }
    store.reset();
    auto reopened = open_store(dir.str());
    ASSERT_TRUE(reopened);
    EXPECT_TREE_EQ(load(*reopened), model);
  }
}

}  // namespace
}  // namespace backside::store
