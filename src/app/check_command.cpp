// `backside check`: verifies every database of a data dir without changing anything (it can run beside a live
// server: the stores are opened read-only). Each database's LMDB file is checked against its meta page and read
// whole (every row decoded), its write-ahead log scanned for damage (store/write_ahead_log.h), its rules.json
// compiled. Prints one line per database; exits 1 if anything is damaged, naming the file and what is wrong.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/database_check.h"
#include "db/registry.h"

namespace backside::app {

namespace fs = std::filesystem;

int check_data_dir(const Config& config) {
  const fs::path root = fs::path(config.data_dir) / "db";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    std::printf("no databases in %s\n", config.data_dir.c_str());
    return 0;
  }
  std::vector<fs::path> directories;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_directory() && db::Registry::valid_name(entry.path().filename().string())) {
      directories.push_back(entry.path());
    }
  }
  if (ec) {
    std::printf("cannot read %s: %s\n", root.c_str(), ec.message().c_str());
    return 1;
  }
  std::sort(directories.begin(), directories.end());
  int damaged = 0;
  for (const fs::path& directory : directories) {
    std::size_t leaves = 0;
    const std::vector<std::string> problems = check_database(directory, leaves);
    const std::string name = directory.filename().string();
    if (problems.empty()) {
      std::printf("ok       %s (%zu leaves)\n", name.c_str(), leaves);
      continue;
    }
    ++damaged;
    for (const std::string& problem : problems) std::printf("DAMAGED  %s: %s\n", name.c_str(), problem.c_str());
  }
  std::printf("%zu database(s) checked, %d damaged\n", directories.size(), damaged);
  std::fflush(stdout);
  return damaged == 0 ? 0 : 1;
}

}  // namespace backside::app
