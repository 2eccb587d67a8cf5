#include "app/backup_manifest.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace backside::app {

namespace json = boost::json;

namespace {

constexpr std::string_view kFormat = "backside-backup";
constexpr std::int64_t kVersion = 1;

Error damaged(const std::string& why) {
  return Error{ErrorCode::invalid_argument, std::string(kBackupManifestName) + " is damaged or not a backup's: " + why};
}

bool safe_relative_path(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_hex_sha256(std::string_view text) {
  return text.size() == 64 &&
         text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string manifest_json(const BackupManifest& manifest) {
  json::array files;
  for (const BackupFile& file : manifest.files) {
    files.push_back(json::object{{"path", file.path}, {"bytes", file.digest.bytes}, {"sha256", file.digest.sha256}});
  }
  json::object root{{"format", kFormat},
                    {"version", kVersion},
                    {"created_at", manifest.created_at},
                    {"files", std::move(files)}};
  return json::serialize(root) + "\n";
}

Result<BackupManifest> parse_backup_manifest(std::string_view text) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(text, ec);
  if (ec) return damaged("not JSON (" + ec.message() + ")");
  const json::object* root = parsed.if_object();
  if (root == nullptr) return damaged("not a JSON object");
  const json::value* format = root->if_contains("format");
  if (format == nullptr || !format->is_string() || format->get_string() != kFormat) {
    return damaged("its \"format\" is not \"" + std::string(kFormat) + "\"");
  }
  const json::value* version = root->if_contains("version");
  if (version == nullptr || !version->is_int64() || version->get_int64() != kVersion) {
    return damaged("its \"version\" is not " + std::to_string(kVersion) + " (made by a newer backside?)");
  }
  BackupManifest manifest;
  if (const json::value* created = root->if_contains("created_at"); created && created->is_string()) {
    manifest.created_at = created->get_string();
  }
  const json::value* files = root->if_contains("files");
  if (files == nullptr || !files->is_array()) return damaged("it has no \"files\" list");
  for (const json::value& entry : files->get_array()) {
    const json::object* file = entry.if_object();
    const json::value* path = file ? file->if_contains("path") : nullptr;
    const json::value* bytes = file ? file->if_contains("bytes") : nullptr;
    const json::value* sha256 = file ? file->if_contains("sha256") : nullptr;
    if (path == nullptr || !path->is_string() || bytes == nullptr || !(bytes->is_uint64() || bytes->is_int64()) ||
        sha256 == nullptr || !sha256->is_string() || !is_hex_sha256(sha256->get_string())) {
      return damaged("a \"files\" entry is not {path, bytes, sha256}: " + json::serialize(entry));
    }
    if (bytes->is_int64() && bytes->get_int64() < 0) return damaged("a negative size: " + json::serialize(entry));
    if (!safe_relative_path(path->get_string())) {
      return damaged("the path \"" + std::string(path->get_string()) + "\" is not inside the backup");
    }
    manifest.files.push_back(
        {std::string(path->get_string()),
         {bytes->is_uint64() ? bytes->get_uint64() : static_cast<std::uint64_t>(bytes->get_int64()),
          std::string(sha256->get_string())}});
  }
  return manifest;
}

std::optional<std::string> digest_mismatch(const BackupFile& expected, const FileDigest& found) {
  if (found.bytes < expected.digest.bytes) {
    return expected.path + " is truncated: " + std::to_string(found.bytes) + " bytes of " +
           std::to_string(expected.digest.bytes);
  }
  if (found.bytes > expected.digest.bytes) {
    return expected.path + " has grown: " + std::to_string(found.bytes) + " bytes, the backup wrote " +
           std::to_string(expected.digest.bytes);
  }
  if (found.sha256 != expected.digest.sha256) {
    return expected.path + " is damaged: its SHA-256 is " + found.sha256 + ", the backup wrote " +
           expected.digest.sha256;
  }
  return std::nullopt;
}

}  // namespace backside::app
