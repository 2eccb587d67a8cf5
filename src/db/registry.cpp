#include "db/registry.h"

#include <spdlog/spdlog.h>

#include <filesystem>

namespace backside::db {

namespace fs = std::filesystem;

Registry::Registry(RegistryOptions options) : options_(std::move(options)) {}

Registry::~Registry() { stop_all(); }

bool Registry::valid_name(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<Database*> Registry::get(const std::string& name) {
  if (!valid_name(name)) {
    return invalid("Invalid database name \"" + name + "\": use 1 to 100 letters, digits, '-' or '_'");
  }
  std::lock_guard lock(mutex_);
  if (auto it = databases_.find(name); it != databases_.end()) return it->second.get();
  if (databases_.size() >= options_.max_databases) {
    return Error{ErrorCode::unavailable, "Too many databases: the limit is " + std::to_string(options_.max_databases)};
  }
  store::LmdbOptions store_options;
  store_options.directory = (fs::path(options_.data_dir) / "db" / name).string();
  store_options.durability = options_.durability;
  auto store = store::open_lmdb_store(store_options);
  if (!store) return store.error();
  auto database = Database::open({name, std::move(*store)});
  if (!database) return database.error();
  Database* raw = database->get();
  databases_.emplace(name, std::move(*database));
  return raw;
}

Status Registry::open_existing() {
  fs::path root = fs::path(options_.data_dir) / "db";
  std::error_code ec;
  if (!fs::exists(root, ec)) return ok_status();
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (!entry.is_directory()) continue;
    std::string name = entry.path().filename().string();
    if (!valid_name(name)) continue;
    auto database = get(name);
    if (!database) return database.error();
    spdlog::info("database {}: {} leaves loaded", name, (*database)->leaf_count_at_open());
  }
  if (ec) return Error{ErrorCode::unavailable, "Cannot read " + root.string() + ": " + ec.message()};
  return ok_status();
}

std::vector<std::string> Registry::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> result;
  for (const auto& [name, db] : databases_) result.push_back(name);
  return result;
}

void Registry::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto& [name, database] : databases_) database->stop();
}

}  // namespace backside::db
