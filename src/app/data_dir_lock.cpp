#include "app/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace backside::app {

Result<DataDirLock> DataDirLock::acquire(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Error{ErrorCode::unavailable, "Cannot create data directory " + data_dir + ": " + ec.message()};
  std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, ec);
  std::string path = (std::filesystem::path(data_dir) / "backside.lock").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error{ErrorCode::unavailable, "Cannot open " + path + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Error{ErrorCode::unavailable,
                 "Data directory " + data_dir + " is in use by another backside process (stop it first)"};
  }
  return DataDirLock(fd);
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace backside::app
