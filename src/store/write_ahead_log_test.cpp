// The write-ahead log on a failing disk (the fault hook) and on damaged files: a refused append leaves the log as
// it was, a torn tail is cut, damage in the middle or in the header is refused with its offset and never written.
#include "store/write_ahead_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "store/store.h"

namespace backside::store {
namespace {

namespace fs = std::filesystem;

class TempFile {
 public:
  TempFile() {
    std::random_device rd;
    directory_ = fs::temp_directory_path() / ("backside-wal-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(directory_);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    clear_faults();
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
  }
  std::string wal() const { return (directory_ / "wal").string(); }
  std::string dir() const { return directory_.string(); }

 private:
  fs::path directory_;
};

WriteBatch put(const std::string& key, const std::string& value) {
  WriteBatch batch;
  batch.add({WriteBatch::Op::Kind::put, key, value});
  return batch;
}

std::unique_ptr<WriteAheadLog> open_log(const std::string& path) {
  auto log = WriteAheadLog::open(path);
  EXPECT_TRUE(log.ok()) << log.error().message;
  return log.ok() ? std::move(*log) : nullptr;
}

// The keys of the records, in order.
std::vector<std::string> keys(const WriteAheadLog& log) {
  std::vector<std::string> out;
  const Status replayed = log.replay([&](WriteBatch&& batch) {
    for (const auto& op : batch.ops()) out.push_back(op.key);
    return ok_status();
  });
  EXPECT_TRUE(replayed.ok()) << replayed.error().message;
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

constexpr std::uint64_t kHeader = WriteAheadLog::kHeaderBytes;
constexpr std::uint64_t kRecordHeader = 16;

using Keys = std::vector<std::string>;

struct FaultCase {
  FaultPoint point;
  int error;
  const char* name;
};

class WriteAheadLogFault : public testing::TestWithParam<FaultCase> {};

TEST_P(WriteAheadLogFault, ARefusedAppendIsNeverReplayedAndTheLogKeepsWorking) {
  TempFile file;
  {
    auto log = open_log(file.wal());
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append(put("kept", "1")).ok());
    const std::uint64_t bytes_before = log->record_bytes();

    inject_fault(GetParam().point, GetParam().error);
    const Status refused = log->append(put("refused", std::string(3000, 'r')));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
    EXPECT_NE(refused.error().message.find(std::strerror(GetParam().error)), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find(file.wal()), std::string::npos) << refused.error().message;
    EXPECT_EQ(log->record_bytes(), bytes_before);
    EXPECT_EQ(keys(*log), (Keys{"kept"}));
    // Wiped at once: a crash now would not replay it either.
    EXPECT_EQ(read_file(file.wal()).find(std::string(100, 'r')), std::string::npos);

    // The fault was one call: the log takes the next append, shorter than the refused one.
    ASSERT_TRUE(log->append(put("after", "2")).ok());
    EXPECT_EQ(keys(*log), (Keys{"kept", "after"}));
  }
  // As a restart (or a crash) sees it: the refused record's bytes are gone, nothing looks damaged.
  auto reopened = open_log(file.wal());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(keys(*reopened), (Keys{"kept", "after"}));
  EXPECT_EQ(reopened->torn_tail_offset(), 0u);
  const std::string bytes = read_file(file.wal());
  EXPECT_EQ(bytes.find(std::string(100, 'r')), std::string::npos) << "the refused record's payload is still there";
}

TEST_P(WriteAheadLogFault, AFaultThatLastsRefusesEveryAppendUntilItClears) {
  TempFile file;
  auto log = open_log(file.wal());
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->append(put("kept", "1")).ok());
  inject_fault(GetParam().point, GetParam().error, -1);  // the disk stays full / broken
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(log->append(put("refused" + std::to_string(i), "x")).ok());
  EXPECT_FALSE(log->probe().ok());
  clear_faults();  // space returns
  EXPECT_TRUE(log->probe().ok());
  ASSERT_TRUE(log->append(put("after", "2")).ok());
  EXPECT_EQ(keys(*log), (Keys{"kept", "after"}));
  log.reset();
  auto reopened = open_log(file.wal());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(keys(*reopened), (Keys{"kept", "after"}));
}

INSTANTIATE_TEST_SUITE_P(Faults, WriteAheadLogFault,
                         testing::Values(FaultCase{FaultPoint::write, ENOSPC, "ENOSPC_on_write"},
                                         FaultCase{FaultPoint::write, EIO, "EIO_on_write"},
                                         FaultCase{FaultPoint::sync, ENOSPC, "ENOSPC_on_fsync"},
                                         FaultCase{FaultPoint::sync, EIO, "EIO_on_fsync"}),
                         [](const testing::TestParamInfo<FaultCase>& info) { return std::string(info.param.name); });

TEST(WriteAheadLog, AFailedWipeIsDoneByTheNextAppend) {
  // The sync of the append and the wipe after it both fail: the refused bytes stay until the next append.
  TempFile file;
  {
    auto log = open_log(file.wal());
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append(put("kept", "1")).ok());
    inject_fault(FaultPoint::sync, EIO, 2);
    ASSERT_FALSE(log->append(put("refused", std::string(3000, 'r'))).ok());
    ASSERT_TRUE(log->append(put("after", "2")).ok());
  }
  const std::string bytes = read_file(file.wal());
  EXPECT_EQ(bytes.find(std::string(100, 'r')), std::string::npos);
  auto reopened = open_log(file.wal());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(keys(*reopened), (Keys{"kept", "after"}));
}

// A log of three records, closed; returns the offsets of the records.
std::vector<std::uint64_t> three_records(const std::string& path) {
  auto log = open_log(path);
  std::vector<std::uint64_t> offsets;
  for (const char* key : {"one", "two", "three"}) {
    offsets.push_back(kHeader + log->record_bytes());
    EXPECT_TRUE(log->append(put(key, std::string(200, key[0]))).ok());
  }
  return offsets;
}

TEST(WriteAheadLog, ABitFlippedMidLogIsRefusedWithItsOffsetAndNotWritten) {
  TempFile file;
  const auto offsets = three_records(file.wal());
  std::string bytes = read_file(file.wal());
  bytes[offsets[1] + kRecordHeader + 100] ^= 0x10;  // inside the second record's payload
  write_file(file.wal(), bytes);

  auto refused = WriteAheadLog::open(file.wal());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::internal);
  const std::string& message = refused.error().message;
  EXPECT_NE(message.find(file.wal()), std::string::npos) << message;
  EXPECT_NE(message.find("byte offset " + std::to_string(offsets[1])), std::string::npos) << message;
  EXPECT_NE(message.find("byte offset " + std::to_string(offsets[2])), std::string::npos) << message;
  EXPECT_EQ(read_file(file.wal()), bytes);  // left as it is
  EXPECT_FALSE(WriteAheadLog::open_read_only(file.wal()).ok());
}

TEST(WriteAheadLog, AFlippedEpochOrLengthMidLogIsRefusedToo) {
  for (std::uint64_t field : {std::uint64_t(0), std::uint64_t(4), std::uint64_t(9)}) {  // length, CRC, epoch
    TempFile file;
    const auto offsets = three_records(file.wal());
    std::string bytes = read_file(file.wal());
    bytes[offsets[0] + field] ^= 0x01;
    write_file(file.wal(), bytes);
    auto refused = WriteAheadLog::open(file.wal());
    ASSERT_FALSE(refused.ok()) << "field at " << field;
    EXPECT_NE(refused.error().message.find("byte offset " + std::to_string(offsets[0])), std::string::npos)
        << refused.error().message;
  }
}

TEST(WriteAheadLog, ATornTailIsCutAndEarlierRecordsKept) {
  TempFile file;
  const auto offsets = three_records(file.wal());
  std::string bytes = read_file(file.wal());
  // The last append was cut short by a crash: its header and part of its payload made it.
  for (std::uint64_t i = offsets[2] + kRecordHeader + 50; i < offsets[2] + kRecordHeader + 200; ++i) bytes[i] = 0;
  write_file(file.wal(), bytes);
  {
    auto log = open_log(file.wal());
    ASSERT_TRUE(log);
    EXPECT_EQ(keys(*log), (Keys{"one", "two"}));
    EXPECT_EQ(log->torn_tail_offset(), offsets[2]);
    ASSERT_TRUE(log->append(put("four", "4")).ok());
  }
  auto reopened = open_log(file.wal());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(keys(*reopened), (Keys{"one", "two", "four"}));
  EXPECT_EQ(reopened->torn_tail_offset(), 0u);  // the torn bytes were wiped
}

TEST(WriteAheadLog, ABitFlipInTheLastRecordCountsAsATornTail) {
  // Indistinguishable from a torn append (docs/reliability.md): the log ends before it.
  TempFile file;
  const auto offsets = three_records(file.wal());
  std::string bytes = read_file(file.wal());
  bytes[offsets[2] + kRecordHeader + 10] ^= 0x01;
  write_file(file.wal(), bytes);
  auto log = open_log(file.wal());
  ASSERT_TRUE(log);
  EXPECT_EQ(keys(*log), (Keys{"one", "two"}));
}

TEST(WriteAheadLog, ADamagedHeaderIsRefused) {
  TempFile file;
  three_records(file.wal());
  std::string bytes = read_file(file.wal());
  bytes[9] ^= 0x01;  // inside the epoch
  write_file(file.wal(), bytes);
  auto refused = WriteAheadLog::open(file.wal());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("header"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find(file.wal()), std::string::npos) << refused.error().message;
  EXPECT_EQ(read_file(file.wal()), bytes);
  EXPECT_FALSE(WriteAheadLog::open_read_only(file.wal()).ok());
}

TEST(WriteAheadLog, AHeaderNeverWrittenStartsANewLog) {
  // A crash while the very first header was written: nothing follows it, nothing was acknowledged.
  TempFile file;
  write_file(file.wal(), std::string(100, '\0') + "BSW");
  auto log = open_log(file.wal());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->record_bytes(), 0u);
  ASSERT_TRUE(log->append(put("one", "1")).ok());
}

TEST(WriteAheadLog, EveryCheckpointDrawsANewRandomEpoch) {
  TempFile file;
  auto log = open_log(file.wal());
  ASSERT_TRUE(log);
  std::vector<std::uint64_t> epochs{log->epoch()};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(log->append(put("k", "v")).ok());
    ASSERT_TRUE(log->reset().ok());
    epochs.push_back(log->epoch());
  }
  for (std::size_t i = 1; i < epochs.size(); ++i) {
    EXPECT_NE(epochs[i], epochs[i - 1]);
    EXPECT_NE(epochs[i], epochs[i - 1] + 1) << "epochs must not be a counter";
  }
}

TEST(WriteAheadLog, RecordsOfAnEarlierEpochAfterTheEndAreNotDamage) {
  // After a checkpoint the log restarts at the header: the old epoch's records further on are stale, not damage.
  TempFile file;
  {
    auto log = open_log(file.wal());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->append(put("old" + std::to_string(i), std::string(300, 'o'))).ok());
    ASSERT_TRUE(log->reset().ok());
    ASSERT_TRUE(log->append(put("new", "n")).ok());
  }
  auto reopened = open_log(file.wal());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(keys(*reopened), (Keys{"new"}));
}

}  // namespace
}  // namespace backside::store
