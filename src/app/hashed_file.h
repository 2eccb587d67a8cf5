#pragma once
// Files whose size and SHA-256 are known: a backup records them for every file it writes, and a restore checks
// every file it reads against them, so a damaged backup is reported instead of restored.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace backside::app {

class Sha256;

struct FileDigest {
  std::uint64_t bytes = 0;
  std::string sha256;  // lower-case hex
};

// Writes a new file front to back, hashing what it writes. finish() makes it durable (fsync) and returns its digest.
class HashedFileWriter {
 public:
  // Fails if the file exists: a backup or restore never overwrites what it did not make.
  static Result<HashedFileWriter> create(const std::filesystem::path& path);
  HashedFileWriter(HashedFileWriter&&) noexcept;
  HashedFileWriter& operator=(HashedFileWriter&&) = delete;
  ~HashedFileWriter();

  Status write(std::string_view bytes);
  Result<FileDigest> finish();
  const std::filesystem::path& path() const { return path_; }

 private:
  HashedFileWriter(int fd, std::filesystem::path path);

  int fd_;
  std::filesystem::path path_;
  std::unique_ptr<Sha256> hash_;
  std::uint64_t bytes_ = 0;
};

// Makes a directory's entries (files created or renamed in it) durable.
Status sync_directory(const std::filesystem::path& directory);

// Reads a file whole; `chunk_read` is called with the bytes of each chunk (progress, or a copy of the file).
Result<FileDigest> digest_file(const std::filesystem::path& path,
                               const std::function<Status(std::string_view chunk)>& chunk_read);

}  // namespace backside::app
