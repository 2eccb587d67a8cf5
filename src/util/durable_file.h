#pragma once
// Replacing a small file so that a crash leaves either the old content or the new, never a mix, and the new one
// survives power loss once this returns: written beside it, fsync'ed, renamed over it (atomic), and the directory
// fsync'ed (the rename itself is durable). For settings and records kept as files (rules, tenants, accepted users).
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.h"

namespace backside {

// fsync of a directory, so that the renames and creations in it are durable; best effort.
inline void sync_directory(const std::filesystem::path& directory) {
  if (int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

inline Status write_file_durably(const std::filesystem::path& file, std::string_view bytes, int mode = 0644) {
  const std::filesystem::path temporary = file.string() + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Error{ErrorCode::unavailable, "Cannot write " + temporary.string()};
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  const bool ok = written == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error{ErrorCode::unavailable, "Cannot write " + temporary.string()};
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  if (ec) return Error{ErrorCode::unavailable, "Cannot replace " + file.string() + ": " + ec.message()};
  sync_directory(file.parent_path());
  return ok_status();
}

}  // namespace backside
