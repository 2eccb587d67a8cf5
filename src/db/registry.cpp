#include "db/registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <fstream>
#include <sstream>

#include "util/durable_file.h"

namespace backside::db {

namespace fs = std::filesystem;

Registry::Registry(RegistryOptions options)
    : options_(std::move(options)),
      stores_({.store = options_.store,
               .durability = options_.durability,
               .node_id = options_.node_id,
               .replicas = options_.broker != nullptr}) {
  if (options_.shared) watcher_ = std::thread([this] { watch_shared_rules(); });
}

Registry::~Registry() {
  {
    std::lock_guard lock(watcher_mutex_);
    watcher_stopping_ = true;
  }
  watcher_wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  stop_all();
}

void Registry::watch_shared_rules() {
  std::chrono::steady_clock::time_point failure_logged_at{};
  for (;;) {
    {
      std::unique_lock lock(watcher_mutex_);
      if (watcher_wake_.wait_for(lock, options_.shared_rules_interval, [&] { return watcher_stopping_; })) return;
    }
    auto deployed = options_.shared->rules_since(shared_rules_seen_);
    if (!deployed) {
      const auto now = std::chrono::steady_clock::now();
      if (now - failure_logged_at >= std::chrono::seconds(10)) {
        failure_logged_at = now;
        spdlog::warn("cannot read the cluster's rules now (retrying): {}", deployed.error().message);
      }
      continue;
    }
    for (auto& rules : *deployed) {
      shared_rules_seen_ = std::max(shared_rules_seen_, rules.version);
      Database* database = nullptr;
      {
        std::lock_guard lock(mutex_);
        if (auto it = databases_.find(rules.database); it != databases_.end()) database = it->second.get();
      }
      if (!database || database->rules()->text == rules.text) continue;  // not open here, or already these
      auto compiled = compile_rules(rules.text);
      if (!compiled) {
        spdlog::error("database {}: the cluster's rules (version {}) are invalid here, not applied: {}", rules.database,
                      rules.version, compiled.error().message);
        continue;
      }
      database->set_rules(std::move(*compiled));
      spdlog::info("database {}: rules deployed on another node applied (version {})", rules.database, rules.version);
    }
  }
}

bool Registry::valid_name(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<Database*> Registry::get(const std::string& name) {
  return open(name, options_.create_on_first_use ? Missing::create : Missing::refuse);
}

Result<Database*> Registry::create(const std::string& name) { return open(name, Missing::create); }

Result<Database*> Registry::open(const std::string& name, Missing missing) {
  if (!valid_name(name)) {
    return invalid("Invalid database name \"" + name + "\": use 1 to 100 letters, digits, '-' or '_'");
  }
  const auto open_or_damaged = [&]() -> std::optional<Result<Database*>> {
    if (auto it = databases_.find(name); it != databases_.end()) return Result<Database*>(it->second.get());
    if (auto it = damaged_.find(name); it != damaged_.end()) {
      // Clients get no file names or offsets: those are in the server log and `backside check`.
      return Result<Database*>(
          Error{ErrorCode::unavailable, "Database \"" + name + "\" is damaged and was not opened (see the server log)"});
    }
    return std::nullopt;
  };
  {
    std::lock_guard lock(mutex_);
    if (auto known = open_or_damaged()) return std::move(*known);
  }
  const fs::path directory = directory_of(name);
  std::error_code ec;
  bool exists_in_cluster = false;  // another node created it
  if (!fs::is_directory(directory, ec) && options_.shared) {
    // Asked outside the lock: a round trip (or PostgreSQL away) must not hold up requests to open databases.
    auto known = options_.shared->database_exists(name);
    if (!known) return Error{ErrorCode::unavailable, "Cannot look database \"" + name + "\" up: " + known.error().message};
    exists_in_cluster = *known;
  }
  std::lock_guard lock(mutex_);
  if (auto known = open_or_damaged()) return std::move(*known);  // opened meanwhile
  const bool existed = fs::is_directory(directory, ec);
  if (!existed && !exists_in_cluster && missing == Missing::refuse) {
    return Error{ErrorCode::not_found, "Database \"" + name + "\" does not exist; the admin creates databases (the "
                                       "databases option, or the admin's first write or rules deploy to it)"};
  }
  if (databases_.size() >= options_.max_databases) {
    return Error{ErrorCode::unavailable, "Too many databases: the limit is " + std::to_string(options_.max_databases)};
  }
  // A database this call creates and then fails to open leaves no directory behind.
  auto discard_new = [&] {
    if (!existed) fs::remove_all(directory, ec);
  };
  // The directory holds the database's rules and users whichever store keeps its tree (the embedded one puts its
  // files there too).
  std::error_code create_error;
  if (!existed && fs::create_directories(directory, create_error)) {
    fs::permissions(directory, fs::perms::owner_all, create_error);
  }
  if (create_error) {
    discard_new();
    return Error{ErrorCode::unavailable, "Cannot create " + directory.string() + ": " + create_error.message()};
  }
  auto store = stores_.open(name, directory.string());
  if (!store) {
    discard_new();
    // Damage is kept as found (for the operator and `backside check`): not opened again by later requests.
    if (existed && store.error().code == ErrorCode::internal) damaged_.emplace(name, store.error().message);
    return store.error();
  }
  const bool replica = (*store)->replica();
  DatabaseOptions database_options{
      .name = name, .store = std::move(*store), .rules = stored_rules(name), .max_update_keys = options_.max_update_keys};
  database_options.broker = options_.broker;
  database_options.pending_disconnects = options_.pending_disconnects;
  auto database = Database::open(std::move(database_options));
  if (!database) {
    discard_new();
    if (existed && database.error().code == ErrorCode::internal) damaged_.emplace(name, database.error().message);
    return database.error();
  }
  if (!existed && !exists_in_cluster) spdlog::info("database {} created", name);
  if (replica) spdlog::info("database {}: another node of the cluster owns it; this node holds a replica", name);
  Database* raw = database->get();
  databases_.emplace(name, std::move(*database));
  return raw;
}

Status Registry::open_existing() {
  if (options_.shared) {
    // Every database of the cluster: this node holds a replica of each (or owns it), so that its clients find
    // them open and it can take any of them over.
    auto names = options_.shared->databases();
    if (!names) return names.error();
    for (const auto& name : *names) {
      if (!valid_name(name)) continue;
      if (auto database = open(name, Missing::refuse); !database) {
        spdlog::error("database {} NOT OPENED: {}", name, database.error().message);
      }
    }
  }
  fs::path root = fs::path(options_.data_dir) / "db";
  std::error_code ec;
  if (!fs::exists(root, ec)) return ok_status();
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (!entry.is_directory()) continue;
    std::string name = entry.path().filename().string();
    if (!valid_name(name)) continue;
    auto database = open(name, Missing::create);  // it exists: never refused as unknown
    if (!database) {
      spdlog::error("database {} NOT OPENED: {}", name, database.error().message);
      continue;
    }
    spdlog::info("database {}: {} leaves loaded", name, (*database)->leaf_count_at_open());
  }
  if (ec) return Error{ErrorCode::unavailable, "Cannot read " + root.string() + ": " + ec.message()};
  return ok_status();
}

std::map<std::string, std::string> Registry::damaged() const {
  std::lock_guard lock(mutex_);
  return damaged_;
}

std::string Registry::directory_in(const std::string& data_dir, const std::string& name) {
  return (fs::path(data_dir) / "db" / name).string();
}

std::string Registry::directory_of(const std::string& name) const { return directory_in(options_.data_dir, name); }

Result<ActiveRulesPtr> Registry::compile_rules(std::string text, bool configured) {
  auto compiled = rules::Rules::parse(text);
  if (!compiled) return compiled.error();
  auto active = std::make_shared<ActiveRules>();
  active->text = std::move(text);
  active->compiled = std::move(*compiled);
  active->configured = configured;
  return ActiveRulesPtr(std::move(active));
}

ActiveRulesPtr Registry::stored_rules(const std::string& name) const {
  if (options_.shared) {
    auto shared = options_.shared->rules(name);
    if (!shared) {
      spdlog::error("database {}: cannot read its rules from the cluster ({}); only the admin may read or write until "
                    "they are deployed again", name, shared.error().message);
      return *compile_rules(R"({"rules": {".read": false, ".write": false}})");
    }
    if (*shared) {
      auto active = compile_rules((*shared)->text);
      if (active) return *active;
      spdlog::error("database {}: the cluster's rules are invalid here ({}); only the admin may read or write", name,
                    active.error().message);
      return *compile_rules(R"({"rules": {".read": false, ".write": false}})");
    }
    // None deployed to the cluster yet: the node's own file, if it has one (a node that joined a cluster).
  }
  const fs::path file = fs::path(directory_of(name)) / "rules.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return options_.default_rules;
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto active = compile_rules(text.str());
  if (!active) {
    // Only valid rules are ever stored, so this is damage: fail closed rather than open.
    spdlog::error("database {}: stored rules in {} are invalid ({}); only the admin may read or write", name,
                  file.string(), active.error().message);
    auto closed = compile_rules(R"({"rules": {".read": false, ".write": false}})");
    return *closed;
  }
  return *active;
}

Status Registry::set_rules(const std::string& name, std::string text) {
  auto active = compile_rules(std::move(text));
  if (!active) return active.error();
  auto database = create(name);
  if (!database) return database.error();
  if (options_.shared) {
    // Every node's: the others apply it within shared_rules_interval (watch_shared_rules).
    if (auto stored = options_.shared->put_rules(name, (*active)->text); !stored) return stored.error();
  } else {
    std::lock_guard lock(mutex_);  // one rules writer at a time
    if (auto written = write_file_durably(fs::path(directory_of(name)) / "rules.json", (*active)->text); !written) {
      return written;
    }
  }
  (*database)->set_rules(std::move(*active));
  return ok_status();
}

std::vector<std::string> Registry::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> result;
  for (const auto& [name, db] : databases_) result.push_back(name);
  return result;
}

std::vector<std::pair<std::string, const Database*>> Registry::open_databases() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, const Database*>> result;
  for (const auto& [name, database] : databases_) result.emplace_back(name, database.get());
  return result;
}

bool Registry::wait_answered(std::chrono::steady_clock::time_point deadline) {
  // A task on each database's queue runs only once every request queued before it is committed and answered.
  std::vector<std::future<void>> answered;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, database] : databases_) {
      auto reached = std::make_shared<std::promise<void>>();
      answered.push_back(reached->get_future());
      database->run([reached](const tree::Node&) { reached->set_value(); });
    }
  }
  for (auto& future : answered) {
    // A database already stopping takes no task (the promise goes unset): then it has no requests to wait for
    // either, only its queue to finish, which stop() does.
    if (future.wait_until(deadline) == std::future_status::timeout) return false;
  }
  return true;
}

void Registry::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto& [name, database] : databases_) database->stop();
}

}  // namespace backside::db
