// `backside restore DIR`: puts a backup (`backside backup`) into the data dir, with the server stopped.
//
// Nothing is restored unless everything is: every file of the backup is copied into a staging directory inside the
// data dir while its size and SHA-256 are checked against the backup's manifest, every database copied is then
// verified as `backside check` does, and only then do the staged files replace the data dir's contents (one
// rename each, in the same file system). A damaged backup — a truncated file, a flipped byte, a missing file — is
// reported file by file and leaves the data dir as it was. The data dir's lock is held throughout, so no server
// starts on it meanwhile, and a data dir a server holds is refused.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app/backup_manifest.h"
#include "app/commands.h"
#include "app/data_dir_lock.h"
#include "app/database_check.h"
#include "app/hashed_file.h"
#include "app/progress.h"

namespace backside::app {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStaging = ".restore-staging";
constexpr const char* kLockFile = "backside.lock";

Result<BackupManifest> read_manifest(const fs::path& backup) {
  const fs::path file = backup / kBackupManifestName;
  std::error_code ec;
  if (!fs::is_directory(backup, ec)) return Error{ErrorCode::not_found, "no backup at " + backup.string()};
  if (!fs::exists(file, ec)) {
    return Error{ErrorCode::not_found, backup.string() + " is not a complete backup: it has no " +
                                           std::string(kBackupManifestName) + " (a backup that did not finish has none)"};
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Error{ErrorCode::unavailable, "cannot read " + file.string()};
  auto manifest = parse_backup_manifest(text.str());
  if (!manifest) return Error{manifest.error().code, file.string() + ": " + manifest.error().message};
  return manifest;
}

// The data dir's entries other than its lock and a staging directory.
std::vector<std::string> contents_of(const fs::path& data_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(data_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name != kLockFile && name != kStaging) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status make_private_directories(const fs::path& directory) {
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (!ec) fs::permissions(directory, fs::perms::owner_all, ec);
  if (ec) return Error{ErrorCode::unavailable, "cannot create " + directory.string() + ": " + ec.message()};
  return ok_status();
}

// Copies every file of the backup into `staging`, checking each against the manifest: the problems found, one per
// damaged or missing file (all of them, not just the first).
std::vector<std::string> stage(const fs::path& backup, const BackupManifest& manifest, const fs::path& staging) {
  std::uint64_t total = 0;
  for (const BackupFile& file : manifest.files) total += file.digest.bytes;
  Progress progress("restore", total);
  std::uint64_t done = 0;
  std::vector<std::string> problems;
  for (const BackupFile& file : manifest.files) {
    const fs::path target = staging / file.path;
    if (Status made = make_private_directories(target.parent_path()); !made) {
      problems.push_back(made.error().message);
      continue;
    }
    auto writer = HashedFileWriter::create(target);
    if (!writer) {
      problems.push_back(writer.error().message);
      continue;
    }
    auto found = digest_file(backup / file.path, [&](std::string_view chunk) -> Status {
      if (Status written = writer->write(chunk); !written) return written;
      done += chunk.size();
      progress.update(done);
      return ok_status();
    });
    if (!found) {
      problems.push_back(file.path + ": " + found.error().message);
      continue;
    }
    if (auto mismatch = digest_mismatch(file, *found)) {
      problems.push_back(*mismatch);
      continue;
    }
    if (auto written = writer->finish(); !written) problems.push_back(written.error().message);
  }
  // Every directory made, so that the files' names are durable too.
  std::error_code ec;
  std::vector<fs::path> directories{staging};
  for (fs::recursive_directory_iterator it(staging, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) directories.push_back(it->path());
  }
  for (const fs::path& directory : directories) {
    if (Status synced = sync_directory(directory); !synced) problems.push_back(synced.error().message);
  }
  if (problems.empty()) progress.finish();
  return problems;
}

// Every database the backup holds, verified where it was staged, as `backside check` would.
std::vector<std::string> check_staged_databases(const fs::path& staging) {
  std::vector<std::string> problems;
  std::error_code ec;
  for (fs::directory_iterator it(staging / "db", ec), end; !ec && it != end; it.increment(ec)) {
    if (!fs::is_regular_file(it->path() / "data.mdb", ec)) continue;
    std::size_t leaves = 0;
    for (const std::string& problem : check_database(it->path(), leaves)) {
      problems.push_back("database " + it->path().filename().string() + ": " + problem);
    }
  }
  return problems;
}

// Replaces the data dir's contents with the staged ones: what was there goes (only with --force does anything
// stand there), then each staged entry is renamed into place.
Status swap_in(const fs::path& data_dir, const fs::path& staging) {
  std::error_code ec;
  for (const std::string& name : contents_of(data_dir)) {
    fs::remove_all(data_dir / name, ec);
    if (ec) return Error{ErrorCode::unavailable, "cannot remove " + (data_dir / name).string() + ": " + ec.message()};
  }
  for (const std::string& name : contents_of(staging)) {
    fs::rename(staging / name, data_dir / name, ec);
    if (ec) return Error{ErrorCode::unavailable, "cannot move " + name + " into " + data_dir.string() + ": " + ec.message()};
  }
  if (Status synced = sync_directory(data_dir); !synced) return synced;
  fs::remove_all(staging, ec);
  return ok_status();
}

}  // namespace

int restore_data_dir(const Config& config, const std::string& backup_text, bool force) {
  const fs::path backup(backup_text);
  const fs::path data_dir(config.data_dir);
  auto manifest = read_manifest(backup);
  if (!manifest) {
    spdlog::error("{}; nothing was restored", manifest.error().message);
    return 1;
  }
  auto lock = DataDirLock::acquire(config.data_dir);
  if (!lock) {
    spdlog::error("cannot restore into {}: {}", data_dir.string(), lock.error().message);
    return 1;
  }
  if (const std::vector<std::string> present = contents_of(data_dir); !present.empty() && !force) {
    std::string listed;
    for (const std::string& name : present) listed += (listed.empty() ? "" : ", ") + name;
    spdlog::error("the data dir {} is not empty (it holds {}): restore replaces it only with --force; nothing was "
                  "restored",
                  data_dir.string(), listed);
    return 1;
  }
  const fs::path staging = data_dir / kStaging;
  std::error_code ec;
  fs::remove_all(staging, ec);  // left by a restore that was interrupted
  if (Status made = make_private_directories(staging); !made) {
    spdlog::error("{}; nothing was restored", made.error().message);
    return 1;
  }
  std::vector<std::string> problems = stage(backup, *manifest, staging);
  if (problems.empty()) problems = check_staged_databases(staging);
  if (!problems.empty()) {
    fs::remove_all(staging, ec);
    for (const std::string& problem : problems) spdlog::error("damaged backup: {}", problem);
    spdlog::error("the backup in {} is damaged ({} problem(s)); nothing was restored, {} is as it was",
                  backup.string(), problems.size(), data_dir.string());
    return 1;
  }
  if (Status swapped = swap_in(data_dir, staging); !swapped) {
    spdlog::error("restore failed while moving the verified files into place: {}; the backup is intact: run the "
                  "restore again with --force",
                  swapped.error().message);
    return 1;
  }
  std::printf("restored %zu files of the backup made %s from %s into %s\n", manifest->files.size(),
              manifest->created_at.c_str(), backup.c_str(), data_dir.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace backside::app
