#include "app/hashed_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace backside::app {
namespace {

Error file_error(const std::string& what, const std::filesystem::path& path, int error = errno) {
  return Error{ErrorCode::unavailable, "cannot " + what + " " + path.string() + ": " + std::strerror(error)};
}

std::string hex(const unsigned char* bytes, unsigned size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned i = 0; i < size; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
  return out;
}

}  // namespace

// SHA-256 of bytes added in pieces (OpenSSL's EVP interface).
class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(context_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(context_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void add(std::string_view bytes) { EVP_DigestUpdate(context_, bytes.data(), bytes.size()); }
  std::string hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    EVP_DigestFinal_ex(context_, digest, &size);
    return hex(digest, size);
  }

 private:
  EVP_MD_CTX* context_;
};

HashedFileWriter::HashedFileWriter(int fd, std::filesystem::path path)
    : fd_(fd), path_(std::move(path)), hash_(std::make_unique<Sha256>()) {}

HashedFileWriter::HashedFileWriter(HashedFileWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      hash_(std::move(other.hash_)),
      bytes_(other.bytes_) {}

HashedFileWriter::~HashedFileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Result<HashedFileWriter> HashedFileWriter::create(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return file_error("create", path);
  return HashedFileWriter(fd, path);
}

Status HashedFileWriter::write(std::string_view bytes) {
  hash_->add(bytes);
  bytes_ += bytes.size();
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd_, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return file_error("write", path_);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return ok_status();
}

Result<FileDigest> HashedFileWriter::finish() {
  if (::fsync(fd_) != 0) return file_error("sync", path_);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return file_error("close", path_);
  return FileDigest{bytes_, hash_->hex_digest()};
}

Status sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return file_error("open", directory);
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (synced != 0) return file_error("sync", directory, error);
  return ok_status();
}

Result<FileDigest> digest_file(const std::filesystem::path& path,
                               const std::function<Status(std::string_view chunk)>& chunk_read) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return file_error("open", path);
  Sha256 hash;
  std::vector<char> buffer(std::size_t(1) << 20);
  std::uint64_t total = 0;
  Result<FileDigest> result = Error{ErrorCode::internal, "unreachable"};
  for (;;) {
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      result = file_error("read", path);
      break;
    }
    if (got == 0) {
      result = FileDigest{total, hash.hex_digest()};
      break;
    }
    const std::string_view chunk(buffer.data(), static_cast<std::size_t>(got));
    hash.add(chunk);
    total += chunk.size();
    if (Status taken = chunk_read(chunk); !taken) {
      result = taken.error();
      break;
    }
  }
  ::close(fd);
  return result;
}

}  // namespace backside::app
