#pragma once
// A backup's table of contents, `backup.json` at its top: every file the backup holds with its size and SHA-256.
// Written last, once every file is durable, so a backup without one did not finish; a restore restores nothing
// unless every file matches it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/hashed_file.h"
#include "util/result.h"

namespace backside::app {

inline constexpr std::string_view kBackupManifestName = "backup.json";

struct BackupFile {
  std::string path;  // relative to the backup's directory, '/'-separated, as in the data dir
  FileDigest digest;
};

struct BackupManifest {
  std::string created_at;  // when the backup began, UTC, ISO 8601
  std::vector<BackupFile> files;
};

std::string manifest_json(const BackupManifest& manifest);
// Refuses anything but a manifest this version understands, and any path that is absolute or leaves the backup
// (a ".." segment): a restore writes only below its data dir.
Result<BackupManifest> parse_backup_manifest(std::string_view json);
// What is wrong with a file of the backup, read whole, against its entry: nullopt if it matches.
std::optional<std::string> digest_mismatch(const BackupFile& expected, const FileDigest& found);

}  // namespace backside::app
