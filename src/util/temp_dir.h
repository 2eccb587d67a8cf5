#pragma once
// A directory of its own under the system's temporary directory, removed with everything in it when this goes:
// for tests and fuzzers that need a real store on disk.
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

namespace backside {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "backside-test") {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            (std::string(prefix) + "-" + std::to_string(random()) + std::to_string(random()));
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace backside
