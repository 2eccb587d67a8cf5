#include "store/write_ahead_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

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

Error io_error(const std::string& what, const std::string& path) {
  return Error{ErrorCode::unavailable, "write-ahead log " + path + ": " + what + ": " + std::strerror(errno)};
}

Status write_all(int fd, std::string_view bytes, std::uint64_t offset, const std::string& path) {
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

// The epoch in a header, if the header is valid.
std::optional<std::uint64_t> header_epoch(std::string_view header) {
  if (header.size() < 20 || std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0) return std::nullopt;
  boost::crc_32_type crc;
  crc.process_bytes(header.data(), 16);
  if (crc.checksum() != get_le(header, 16, 4)) return std::nullopt;
  return get_le(header, 8, 8);
}

}  // namespace

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
  const off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) return io_error("size", path);
  log->allocated_ = static_cast<std::uint64_t>(size);

  auto header = read_at(fd, 0, 20, path);
  if (!header) return header.error();
  const std::optional<std::uint64_t> epoch = header_epoch(*header);
  if (!epoch && read_only) return log;  // no records
  if (!epoch) {
    // New, or torn while the very first header was written (nothing can have been acknowledged from it).
    log->epoch_ = 1;
    if (Status written = log->write_header(); !written) return written.error();
    if (::fdatasync(fd) != 0) return io_error("sync", path);
    return log;
  }
  log->epoch_ = *epoch;

  // Find the end of the valid records.
  std::uint64_t at = kHeaderBytes;
  for (;;) {
    auto record_header = read_at(fd, at, kRecordHeaderBytes, path);
    if (!record_header) return record_header.error();
    if (record_header->size() < kRecordHeaderBytes) break;
    const std::uint64_t length = get_le(*record_header, 0, 4);
    // The epoch first: a record left from before the last checkpoint ends the log without reading its payload.
    if (get_le(*record_header, 8, 8) != log->epoch_) break;
    if (length == 0 || length > log->allocated_ - at - kRecordHeaderBytes) break;
    auto payload = read_at(fd, at + kRecordHeaderBytes, length, path);
    if (!payload) return payload.error();
    if (payload->size() != length || record_crc(log->epoch_, *payload) != get_le(*record_header, 4, 4)) break;
    at += kRecordHeaderBytes + length;
  }
  log->end_ = at;
  return log;
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
  if (Status grown = ensure_allocated(end_ + record.size()); !grown) return grown;
  if (Status written = write_all(fd_, record, end_, path_); !written) return written;
  if (::fdatasync(fd_) != 0) return io_error("sync", path_);
  end_ += record.size();
  return ok_status();
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

Status WriteAheadLog::reset() {
  ++epoch_;
  Status written = write_header();
  if (written && ::fdatasync(fd_) != 0) written = io_error("sync", path_);
  if (!written) {
    --epoch_;  // the records stay valid under the old header
    return written;
  }
  end_ = kHeaderBytes;
  if (allocated_ > kKeptBytes && ::ftruncate(fd_, static_cast<off_t>(kHeaderBytes)) == 0) allocated_ = kHeaderBytes;
  return ok_status();
}

}  // namespace backside::store
