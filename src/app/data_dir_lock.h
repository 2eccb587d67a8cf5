#pragma once
// An exclusive lock on a data directory, so that a server and an offline import never write it at once.
#include <string>

#include "util/result.h"

namespace backside::app {

class DataDirLock {
 public:
  static Result<DataDirLock> acquire(const std::string& data_dir);
  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace backside::app
