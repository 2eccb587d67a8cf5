#include "store/write_ahead_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "util/secure_random.h"

namespace backside::store {
namespace {

constexpr std::array<char, 8> kMagic = {'B', 'S', 'W', 'A', 'L', '\0', '\0', '\1'};
constexpr std::uint64_t kRecordHeaderBytes = 16;  // length (u32), CRC (u32), epoch (u64)
// A checkpoint gives back the space of a log that grew past this (a huge commit, e.g. an import).
constexpr std::uint64_t kKeptBytes = std::uint64_t(64) << 20;
// The file grows by zero-filled steps of this size, so that an append overwrites allocated blocks and its
// fdatasync flushes data only, not file metadata.
constexpr std::uint64_t kGrowthBytes = std::uint64_t(1) << 20;

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
std::uint64_t get_le(std::string_view bytes, std::size_t offset, int width) {
  std::uint64_t value = 0;
  for (int i = 0; i < width; ++i) {
    value |= std::uint64_t(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

std::uint32_t record_crc(std::uint64_t epoch, std::string_view payload) {
  std::string prefix;
  put_u64(prefix, epoch);
  put_u32(prefix, static_cast<std::uint32_t>(payload.size()));
  boost::crc_32_type crc;
  crc.process_bytes(prefix.data(), prefix.size());
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

Error io_error(const std::string& what, const std::string& path, int error = errno) {
  return Error{ErrorCode::unavailable, "write-ahead log " + path + ": " + what + ": " + std::strerror(error)};
}

// The fault hook (write_ahead_log.h): per point, how many calls still fail (-1: all) and with which errno.
struct Fault {
  std::atomic<int> remaining{0};
  std::atomic<int> error{0};
};
std::array<Fault, 2> faults;

std::optional<int> take_fault(FaultPoint point) {
  Fault& fault = faults[static_cast<std::size_t>(point)];
  int remaining = fault.remaining.load();
  while (remaining != 0) {
    if (remaining < 0) return fault.error.load();
    if (fault.remaining.compare_exchange_weak(remaining, remaining - 1)) return fault.error.load();
  }
  return std::nullopt;
}

Status sync_file(int fd, const std::string& path) {
  if (std::optional<int> injected = take_fault(FaultPoint::sync)) return io_error("sync", path, *injected);
  if (::fdatasync(fd) != 0) return io_error("sync", path);
  return ok_status();
}

Status write_all(int fd, std::string_view bytes, std::uint64_t offset, const std::string& path) {
  if (std::optional<int> injected = take_fault(FaultPoint::write)) {
    // A full disk may take part of a write before refusing the rest: leave half of it behind.
    const std::size_t half = bytes.size() / 2;
    if (half > 0 && ::pwrite(fd, bytes.data(), half, static_cast<off_t>(offset)) < 0) return io_error("write", path);
    return io_error("write", path, *injected);
  }
  while (!bytes.empty()) {
    const ssize_t written = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      return io_error("write", path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
    offset += static_cast<std::uint64_t>(written);
  }
  return ok_status();
}

// Reads up to `size` bytes at `offset`; fewer at the end of the file.
Result<std::string> read_at(int fd, std::uint64_t offset, std::uint64_t size, const std::string& path) {
  std::string bytes(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return io_error("read", path);
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  bytes.resize(done);
  return bytes;
}

std::uint64_t random_epoch(std::uint64_t other_than) {
  std::uint64_t epoch = 0;
  while (epoch == 0 || epoch == other_than) secure_random_bytes(&epoch, sizeof epoch);
  return epoch;
}

// Whether every byte of the file from `offset` on is zero (a region never written, or wiped).
Result<bool> zero_from(int fd, std::uint64_t offset, const std::string& path) {
  constexpr std::uint64_t kChunk = std::uint64_t(1) << 20;
  for (;; offset += kChunk) {
    auto bytes = read_at(fd, offset, kChunk, path);
    if (!bytes) return bytes.error();
    if (std::any_of(bytes->begin(), bytes->end(), [](char c) { return c != '\0'; })) return false;
    if (bytes->size() < kChunk) return true;
  }
}

// The epoch in a header, if the header is valid.
std::optional<std::uint64_t> header_epoch(std::string_view header) {
  if (header.size() < 20 || std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0) return std::nullopt;
  boost::crc_32_type crc;
  crc.process_bytes(header.data(), 16);
  if (crc.checksum() != get_le(header, 16, 4)) return std::nullopt;
  return get_le(header, 8, 8);
}

}  // namespace

void inject_fault(FaultPoint point, int error, int count) {
  Fault& fault = faults[static_cast<std::size_t>(point)];
  fault.error = error;
  fault.remaining = count;
}

void clear_faults() {
  for (Fault& fault : faults) fault.remaining = 0;
}

std::string encode_batch(const WriteBatch& batch) {
  std::string out;
  for (const WriteBatch::Op& op : batch.ops()) {
    out.push_back(static_cast<char>(op.kind));
    put_u32(out, static_cast<std::uint32_t>(op.key.size()));
    out += op.key;
    put_u32(out, static_cast<std::uint32_t>(op.value.size()));
    out += op.value;
  }
  return out;
}

Result<WriteBatch> decode_batch(std::string_view payload) {
  WriteBatch batch;
  std::size_t at = 0;
  auto take = [&](std::string& out) {
    if (payload.size() - at < 4) return false;
    const std::uint64_t size = get_le(payload, at, 4);
    at += 4;
    if (payload.size() - at < size) return false;
    out.assign(payload.substr(at, size));
    at += size;
    return true;
  };
  while (at < payload.size()) {
    const auto kind = static_cast<unsigned char>(payload[at++]);
    if (kind > static_cast<unsigned char>(WriteBatch::Op::Kind::erase_exact)) {
      return Error{ErrorCode::internal, "write-ahead log record: unknown operation " + std::to_string(kind)};
    }
    WriteBatch::Op op{static_cast<WriteBatch::Op::Kind>(kind), {}, {}};
    if (!take(op.key) || !take(op.value)) return Error{ErrorCode::internal, "write-ahead log record: truncated"};
    batch.add(std::move(op));
  }
  return batch;
}


Result<std::unique_ptr<WriteAheadLog>> WriteAheadLog::open(const std::string& path) { return open_file(path, false); }

Result<std::unique_ptr<WriteAheadLog>> WriteAheadLog::open_read_only(const std::string& path) {
  return open_file(path, true);
}

Result<std::uint64_t> WriteAheadLog::epoch_on_disk() const {
  if (fd_ < 0) return epoch_;
  auto header = read_at(fd_, 0, 20, path_);
  if (!header) return header.error();
  return header_epoch(*header).value_or(0);
}

Result<std::unique_ptr<WriteAheadLog>> WriteAheadLog::open_file(const std::string& path, bool read_only) {
  const int fd = read_only ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC) : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 && read_only && errno == ENOENT) return std::unique_ptr<WriteAheadLog>(new WriteAheadLog(-1, path));
  if (fd < 0) return io_error("open", path);
  std::unique_ptr<WriteAheadLog> log(new WriteAheadLog(fd, path));
  // Read-only beside a live writer, a checkpoint during the scan can make the log look damaged (new records
  // over old ones), and so can an append read half-written while the records after it were read whole: damage
  // counts only if the epoch did not change meanwhile and a few scans a little apart all find it at the same place
  // (an append read half-written is at a new place each time the writer has moved on).
  int same_epoch_damage = 0;
  std::string last_damage;
  for (int attempt = 0;; ++attempt) {
    const off_t size = ::lseek(fd, 0, SEEK_END);
    if (size < 0) return io_error("size", path);
    log->allocated_ = static_cast<std::uint64_t>(size);

    auto header = read_at(fd, 0, 20, path);
    if (!header) return header.error();
    const std::optional<std::uint64_t> epoch = header_epoch(*header);
    if (!epoch) {
      // New, or torn while the very first header was written: then nothing follows the header, and nothing can
      // have been acknowledged from it. Anything after a bad header is a damaged log.
      auto blank = zero_from(fd, kHeaderBytes, path);
      if (!blank) return blank.error();
      if (!*blank) {
        return Error{ErrorCode::internal, "write-ahead log " + path +
                                              " is damaged: its header (bytes 0 to 19) fails its checksum but "
                                              "records follow it; refusing to open it (the file is left as it is)"};
      }
      if (read_only) return log;  // no records
      log->epoch_ = random_epoch(0);
      if (Status written = log->write_header(); !written) return written.error();
      if (Status synced = sync_file(fd, path); !synced) return synced.error();
      return log;
    }
    log->epoch_ = *epoch;
    Status scanned = log->scan();
    if (!scanned && read_only && attempt < 100) {
      auto now = log->epoch_on_disk();
      if (now && *now != log->epoch_) continue;
      if (scanned.error().message != last_damage) {
        last_damage = scanned.error().message;
        same_epoch_damage = 0;
      }
      if (now && ++same_epoch_damage < 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
    }
    if (!scanned) return scanned.error();
    break;
  }
  // A torn record is wiped now (or by the next append, if this fails: the log is usable either way).
  if (!read_only) (void)log->clear_dirty();
  return log;
}

namespace {

// The size of the record of `epoch` that starts at `at`, or 0 if none valid starts there.
Result<std::uint64_t> record_size_at(int fd, std::uint64_t at, std::uint64_t file_size, std::uint64_t epoch,
                                     const std::string& path) {
  if (file_size < at + kRecordHeaderBytes) return 0;
  auto header = read_at(fd, at, kRecordHeaderBytes, path);
  if (!header) return header.error();
  if (header->size() < kRecordHeaderBytes) return 0;
  // The epoch first: a record left from before the last checkpoint ends the log without reading its payload.
  if (get_le(*header, 8, 8) != epoch) return 0;
  const std::uint64_t length = get_le(*header, 0, 4);
  if (length == 0 || length > file_size - at - kRecordHeaderBytes) return 0;
  auto payload = read_at(fd, at + kRecordHeaderBytes, length, path);
  if (!payload) return payload.error();
  if (payload->size() != length || record_crc(epoch, *payload) != get_le(*header, 4, 4)) return 0;
  return kRecordHeaderBytes + length;
}

// The offset of the first valid record of `epoch` starting at or after `from`, or 0 if there is none: found by
// its epoch bytes (random, so they do not occur by chance), then checked whole.
Result<std::uint64_t> find_record_after(int fd, std::uint64_t from, std::uint64_t file_size, std::uint64_t epoch,
                                        const std::string& path) {
  std::string needle;
  put_u64(needle, epoch);
  constexpr std::uint64_t kChunk = std::uint64_t(1) << 20;
  for (std::uint64_t base = from + 8; base + 8 <= file_size; base += kChunk) {
    auto chunk = read_at(fd, base, kChunk + 7, path);  // 7 bytes of overlap: an epoch across two chunks
    if (!chunk) return chunk.error();
    for (std::size_t hit = chunk->find(needle); hit != std::string::npos && hit < kChunk;
         hit = chunk->find(needle, hit + 1)) {
      const std::uint64_t start = base + hit - 8;
      auto size = record_size_at(fd, start, file_size, epoch, path);
      if (!size) return size.error();
      if (*size != 0) return start;
    }
  }
  return 0;
}

}  // namespace

Status WriteAheadLog::scan() {
  std::uint64_t at = kHeaderBytes;
  for (;;) {
    auto size = record_size_at(fd_, at, allocated_, epoch_, path_);
    if (!size) return size.error();
    if (*size == 0) break;
    at += *size;
  }
  // No valid record at `at`: the end of the log, unless a valid record of this epoch follows (damage).
  auto later = find_record_after(fd_, at + 1, allocated_, epoch_, path_);
  if (!later) return later.error();
  if (*later != 0) {
    return Error{ErrorCode::internal, "write-ahead log " + path_ + " is damaged: the record at byte offset " +
                                          std::to_string(at) + " is invalid but a valid record follows at byte offset " +
                                          std::to_string(*later) +
                                          "; refusing to open it (the file is left as it is)"};
  }
  end_ = at;
  // A record of this epoch that fails its checks is a torn append: its bytes are wiped before the log grows.
  auto header = read_at(fd_, at, kRecordHeaderBytes, path_);
  if (!header) return header.error();
  if (header->size() == kRecordHeaderBytes && get_le(*header, 8, 8) == epoch_) {
    torn_at_ = at;
    dirty_until_ = std::min(allocated_, at + kRecordHeaderBytes + get_le(*header, 0, 4));
  }
  return ok_status();
}

WriteAheadLog::~WriteAheadLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status WriteAheadLog::write_header() {
  std::string header(kMagic.data(), kMagic.size());
  put_u64(header, epoch_);
  boost::crc_32_type crc;
  crc.process_bytes(header.data(), header.size());
  put_u32(header, crc.checksum());
  header.resize(kHeaderBytes, '\0');
  if (Status written = write_all(fd_, header, 0, path_); !written) return written;
  allocated_ = std::max(allocated_, kHeaderBytes);
  return ok_status();
}

Status WriteAheadLog::ensure_allocated(std::uint64_t end) {
  if (end <= allocated_) return ok_status();
  const std::uint64_t target = (end + kGrowthBytes - 1) / kGrowthBytes * kGrowthBytes;
  static const std::string zeros(kGrowthBytes, '\0');
  for (std::uint64_t at = allocated_; at < target;) {
    const std::uint64_t step = std::min<std::uint64_t>(target - at, zeros.size());
    if (Status written = write_all(fd_, std::string_view(zeros).substr(0, step), at, path_); !written) return written;
    at += step;
  }
  allocated_ = target;
  return ok_status();
}

Status WriteAheadLog::clear_dirty() {
  if (dirty_until_ <= end_) return ok_status();
  static const std::string zeros(kGrowthBytes, '\0');
  for (std::uint64_t at = end_; at < dirty_until_;) {
    const std::uint64_t step = std::min<std::uint64_t>(dirty_until_ - at, zeros.size());
    if (Status written = write_all(fd_, std::string_view(zeros).substr(0, step), at, path_); !written) return written;
    at += step;
  }
  if (Status synced = sync_file(fd_, path_); !synced) return synced;
  dirty_until_ = 0;
  return ok_status();
}

Status WriteAheadLog::append(const WriteBatch& batch) {
  const std::string payload = encode_batch(batch);
  if (payload.size() > UINT32_MAX) {
    return Error{ErrorCode::invalid_argument, "a single commit is larger than 4 GiB"};
  }
  std::string record;
  record.reserve(kRecordHeaderBytes + payload.size());
  put_u32(record, static_cast<std::uint32_t>(payload.size()));
  put_u32(record, record_crc(epoch_, payload));
  put_u64(record, epoch_);
  record += payload;
  const std::uint64_t record_size = record.size();
  // Leftovers of failed appends beyond this record are wiped by the same write.
  if (dirty_until_ > end_ + record_size) record.resize(dirty_until_ - end_, '\0');
  if (Status grown = ensure_allocated(end_ + record.size()); !grown) return grown;  // nothing of the record written
  Status written = write_all(fd_, record, end_, path_);
  if (written) written = sync_file(fd_, path_);
  if (!written) {
    // Some of the record may be in the file: wipe it, so that it is never replayed nor taken for damage.
    dirty_until_ = std::max(dirty_until_, end_ + record.size());
    (void)clear_dirty();
    return written;
  }
  dirty_until_ = 0;
  end_ += record_size;
  return ok_status();
}

Status WriteAheadLog::probe() {
  if (Status cleared = clear_dirty(); !cleared) return cleared;
  // A full step of room ahead of the log, and a write and a sync that work.
  if (Status grown = ensure_allocated(end_ + kGrowthBytes); !grown) return grown;
  static const std::string zeros(kRecordHeaderBytes, '\0');
  if (Status written = write_all(fd_, zeros, end_, path_); !written) return written;
  return sync_file(fd_, path_);
}

Status WriteAheadLog::replay(const std::function<Status(WriteBatch&&)>& apply) const {
  for (std::uint64_t at = kHeaderBytes; at < end_;) {
    auto record_header = read_at(fd_, at, kRecordHeaderBytes, path_);
    if (!record_header) return record_header.error();
    const std::uint64_t length = get_le(*record_header, 0, 4);
    auto payload = read_at(fd_, at + kRecordHeaderBytes, length, path_);
    if (!payload) return payload.error();
    auto batch = decode_batch(*payload);
    if (!batch) return batch.error();
    if (Status applied = apply(std::move(*batch)); !applied) return applied;
    at += kRecordHeaderBytes + length;
  }
  return ok_status();
}

Status WriteAheadLog::copy_records(const ByteSink& sink) const {
  if (fd_ < 0) return ok_status();
  constexpr std::uint64_t kChunk = std::uint64_t(1) << 20;
  for (std::uint64_t at = 0; at < end_; at += kChunk) {
    auto bytes = read_at(fd_, at, std::min(kChunk, end_ - at), path_);
    if (!bytes) return bytes.error();
    if (bytes->size() != std::min(kChunk, end_ - at)) {
      return Error{ErrorCode::unavailable, "write-ahead log " + path_ + " shrank while it was copied"};
    }
    if (Status taken = sink(*bytes); !taken) return taken;
  }
  return ok_status();
}

Result<bool> WriteAheadLog::try_lock_for_checkpoint() {
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  return io_error("lock for a checkpoint", path_);
}

void WriteAheadLog::unlock_after_checkpoint() { (void)::flock(fd_, LOCK_UN); }

Result<CheckpointHold> CheckpointHold::acquire(const std::string& log_path) {
  const int fd = ::open(log_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return CheckpointHold(-1);
  if (fd < 0) return io_error("open", log_path);
  while (::flock(fd, LOCK_SH) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    ::close(fd);
    return io_error("hold checkpoints off", log_path, error);
  }
  return CheckpointHold(fd);
}

CheckpointHold::~CheckpointHold() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

Status WriteAheadLog::reset() {
  const std::uint64_t old_epoch = epoch_;
  epoch_ = random_epoch(old_epoch);
  Status written = write_header();
  if (written) written = sync_file(fd_, path_);
  if (!written) {
    // The records stay valid under the old header (rewritten when the next checkpoint succeeds).
    epoch_ = old_epoch;
    return written;
  }
  end_ = kHeaderBytes;
  dirty_until_ = 0;  // what follows is of an earlier epoch now
  if (allocated_ > kKeptBytes && ::ftruncate(fd_, static_cast<off_t>(kHeaderBytes)) == 0) allocated_ = kHeaderBytes;
  return ok_status();
}

}  // namespace backside::store
