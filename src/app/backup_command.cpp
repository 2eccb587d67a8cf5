// `backside backup DIR`: a consistent copy of everything a data dir holds that a restore needs, taken beside a
// running server (or a stopped one), read-only: it takes no lock the server holds.
//
// What a data dir holds, and how each part is copied:
//   db/<name>/data.mdb + wal   a database's store: LMDB's copy of a read transaction plus the write-ahead log's
//                              records after it, with checkpoints held off in between (store::copy_store), so the
//                              copy holds every write acknowledged before the backup began
//   auth/users/data.mdb,       the project's users and each tenant's (LMDB environments without a log): LMDB's
//   auth/tenants/<id>/users/   copy
//   db/<name>/rules.json,      regular files, copied as they are (the server replaces these by renaming a new file
//   db/<name>/tenants.json,    over them, so a read sees a whole file)
//   auth/tenants/<id>/tenant.json, auth/signing-key.pem, admin-token
// Not copied: backside.lock and LMDB's lock.mdb files (process state), *.tmp files (a rules deploy in flight).
// The walk is generic — any LMDB environment, any other regular file — so what a later version keeps in the data
// dir is backed up too. Every file goes into DIR with its size and SHA-256 in DIR/backup.json, written last.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "app/backup_manifest.h"
#include "app/commands.h"
#include "app/hashed_file.h"
#include "app/progress.h"
#include "store/store.h"

namespace backside::app {

namespace fs = std::filesystem;

namespace {

// One thing to copy: a store or an LMDB environment (a directory), or a file; relative to the data dir.
struct Item {
  enum class Kind { store, lmdb_environment, file } kind;
  fs::path relative;
  std::uint64_t estimated_bytes = 0;
};

bool is_process_state(const std::string& name) {
  return name == "backside.lock" || name == "lock.mdb" || name.ends_with(".tmp") || name.starts_with(".restore-");
}

std::uint64_t size_or_zero(const fs::path& file) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  return ec ? 0 : size;
}

Status collect(const fs::path& data_dir, const fs::path& relative, std::vector<Item>& items) {
  const fs::path directory = data_dir / relative;
  std::error_code ec;
  const bool environment = fs::is_regular_file(directory / "data.mdb", ec);
  const bool store = environment && fs::is_regular_file(directory / "wal", ec);
  if (environment) {
    items.push_back({store ? Item::Kind::store : Item::Kind::lmdb_environment, relative,
                     size_or_zero(directory / "data.mdb") + (store ? size_or_zero(directory / "wal") : 0)});
  }
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
  if (ec) return Error{ErrorCode::unavailable, "cannot read " + directory.string() + ": " + ec.message()};
  std::sort(entries.begin(), entries.end());
  for (const fs::directory_entry& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (is_process_state(name)) continue;
    if (environment && (name == "data.mdb" || (store && name == "wal"))) continue;
    if (entry.is_directory(ec)) {
      if (Status collected = collect(data_dir, relative / name, items); !collected) return collected;
    } else if (entry.is_regular_file(ec)) {
      items.push_back({Item::Kind::file, relative / name, size_or_zero(entry.path())});
    } else {
      spdlog::warn("not backed up: {} is neither a regular file nor a directory", entry.path().string());
    }
  }
  return ok_status();
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Writes the files of one backup under its directory, each with its digest in the manifest, and shows progress.
class BackupWriter {
 public:
  BackupWriter(fs::path destination, std::uint64_t estimated_bytes)
      : destination_(std::move(destination)), progress_("backup", estimated_bytes) {}

  // A file of the backup being written: open() it, pass its bytes to sink(), close() it.
  struct OpenFile {
    fs::path relative;
    HashedFileWriter file;
  };
  Result<OpenFile> open(const fs::path& relative) {
    if (Status made = make_directories(relative.parent_path()); !made) return made.error();
    auto file = HashedFileWriter::create(destination_ / relative);
    if (!file) return file.error();
    return OpenFile{relative, std::move(*file)};
  }
  store::ByteSink sink(OpenFile& open) {
    return [this, &open](std::string_view bytes) -> Status {
      if (Status written = open.file.write(bytes); !written) return written;
      copied_ += bytes.size();
      progress_.update(copied_);
      return ok_status();
    };
  }
  Status close(OpenFile& open) {
    auto digest = open.file.finish();
    if (!digest) return digest.error();
    manifest_.files.push_back({open.relative.generic_string(), *digest});
    return ok_status();
  }

  // Makes every directory and file durable, then writes the manifest (by a rename: all or nothing).
  Status finish(std::string created_at) {
    if (Status made = make_directories({}); !made) return made;  // a data dir with nothing in it
    for (const fs::path& directory : directories_) {
      if (Status synced = sync_directory(directory); !synced) return synced;
    }
    manifest_.created_at = std::move(created_at);
    const fs::path temporary = destination_ / (std::string(kBackupManifestName) + ".tmp");
    auto file = HashedFileWriter::create(temporary);
    if (!file) return file.error();
    if (Status written = file->write(manifest_json(manifest_)); !written) return written;
    if (auto done = file->finish(); !done) return done.error();
    std::error_code ec;
    fs::rename(temporary, destination_ / kBackupManifestName, ec);
    if (ec) return Error{ErrorCode::unavailable, "cannot rename " + temporary.string() + ": " + ec.message()};
    if (Status synced = sync_directory(destination_); !synced) return synced;
    progress_.finish();
    return ok_status();
  }

  const BackupManifest& manifest() const { return manifest_; }
  std::uint64_t copied_bytes() const { return copied_; }

 private:
  // Makes the directories of `relative` (under the destination, which is made first), private to the user.
  Status make_directories(const fs::path& relative) {
    fs::path directory = destination_;
    auto made = [&]() -> Status {
      if (std::find(directories_.begin(), directories_.end(), directory) != directories_.end()) return ok_status();
      std::error_code ec;
      fs::create_directories(directory, ec);
      if (!ec) fs::permissions(directory, fs::perms::owner_all, ec);
      if (ec) return Error{ErrorCode::unavailable, "cannot create " + directory.string() + ": " + ec.message()};
      directories_.push_back(directory);
      return ok_status();
    };
    if (Status top = made(); !top) return top;
    for (const fs::path& part : relative) {
      directory /= part;
      if (Status below = made(); !below) return below;
    }
    return ok_status();
  }

  fs::path destination_;
  Progress progress_;
  BackupManifest manifest_;
  std::vector<fs::path> directories_;  // made by this backup, parents first
  std::uint64_t copied_ = 0;
};

// The files of the backup an item makes: a store makes two at once (LMDB's snapshot, then the log after it).
std::vector<fs::path> files_of(const Item& item) {
  switch (item.kind) {
    case Item::Kind::store:
      return {item.relative / "data.mdb", item.relative / "wal"};
    case Item::Kind::lmdb_environment:
      return {item.relative / "data.mdb"};
    case Item::Kind::file:
      break;
  }
  return {item.relative};
}

Status copy_item(const fs::path& data_dir, const Item& item, BackupWriter& writer) {
  const fs::path source = data_dir / item.relative;
  std::vector<BackupWriter::OpenFile> files;
  for (const fs::path& relative : files_of(item)) {
    auto file = writer.open(relative);
    if (!file) return file.error();
    files.push_back(std::move(*file));
  }
  Status copied = ok_status();
  switch (item.kind) {
    case Item::Kind::store:
      copied = store::copy_store(source.string(), writer.sink(files[0]), writer.sink(files[1]));
      break;
    case Item::Kind::lmdb_environment:
      copied = store::copy_lmdb_environment(source.string(), writer.sink(files[0]));
      break;
    case Item::Kind::file:
      if (auto digest = digest_file(source, writer.sink(files[0])); !digest) copied = digest.error();
      break;
  }
  if (!copied) return copied;
  for (BackupWriter::OpenFile& file : files) {
    if (Status closed = writer.close(file); !closed) return closed;
  }
  return ok_status();
}

// The destination must be new or empty, and outside the data dir (a backup must not copy itself).
Status check_destination(const fs::path& data_dir, const fs::path& destination) {
  std::error_code ec;
  const fs::path data = fs::weakly_canonical(data_dir, ec);
  const fs::path target = fs::weakly_canonical(destination, ec);
  if (ec) return Error{ErrorCode::invalid_argument, "cannot resolve " + destination.string() + ": " + ec.message()};
  const auto [data_end, target_end] = std::mismatch(data.begin(), data.end(), target.begin(), target.end());
  if (data_end == data.end()) {
    return Error{ErrorCode::invalid_argument,
                 "the backup directory " + destination.string() + " is inside the data dir " + data_dir.string()};
  }
  if (fs::exists(destination, ec) && !(fs::is_directory(destination, ec) && fs::is_empty(destination, ec))) {
    return Error{ErrorCode::invalid_argument,
                 destination.string() + " is not empty: a backup goes into a new or empty directory"};
  }
  return ok_status();
}

}  // namespace

int backup_data_dir(const Config& config, const std::string& destination_text) {
  const fs::path data_dir(config.data_dir);
  const fs::path destination(destination_text);
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec)) {
    spdlog::error("no data dir at {}: nothing to back up", data_dir.string());
    return 1;
  }
  if (Status usable = check_destination(data_dir, destination); !usable) {
    spdlog::error("{}", usable.error().message);
    return 1;
  }
  const std::string created_at = utc_now_iso8601();
  std::vector<Item> items;
  if (Status collected = collect(data_dir, {}, items); !collected) {
    spdlog::error("{}", collected.error().message);
    return 1;
  }
  std::uint64_t estimated = 0;
  for (const Item& item : items) estimated += item.estimated_bytes;

  const bool existed = fs::exists(destination, ec);
  BackupWriter writer(destination, estimated);
  Status done = ok_status();
  for (const Item& item : items) {
    done = copy_item(data_dir, item, writer);
    if (!done) break;
  }
  if (done) done = writer.finish(created_at);
  if (!done) {
    // Nothing half-made stays behind: the directory was new or empty.
    if (existed) {
      for (fs::directory_iterator it(destination, ec), end; !ec && it != end; it.increment(ec)) {
        fs::remove_all(it->path(), ec);
      }
    } else {
      fs::remove_all(destination, ec);
    }
    spdlog::error("backup failed, nothing was kept in {}: {}", destination.string(), done.error().message);
    return 1;
  }
  const auto databases = std::count_if(items.begin(), items.end(), [](const Item& item) {
    return item.kind == Item::Kind::store;
  });
  std::printf("backed up %zu database(s), %zu files, %llu bytes from %s into %s\n", static_cast<std::size_t>(databases),
              writer.manifest().files.size(), static_cast<unsigned long long>(writer.copied_bytes()),
              data_dir.c_str(), destination.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace backside::app
