#pragma once
// The databases (namespaces) of one server, each in its own store directory and with its own writer thread.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "db/database.h"
#include "store/shared_settings.h"
#include "store/store.h"
#include "store/store_factory.h"

namespace backside::db {

struct RegistryOptions {
  std::string data_dir;
  // The rules of a database that has none of its own: closed (only the admin) by default, open with --dev.
  ActiveRulesPtr default_rules;
  store::Durability durability = store::Durability::fsync;
  // Where trees live: "lmdb" (files in each database's directory) or a postgresql:// URL (store/store_factory.h);
  // node_id names this node to the shared store's leases.
  std::string store = "lmdb";
  std::string node_id;
  std::size_t max_databases = 100;  // bounded: a client naming random namespaces cannot exhaust the server
  // true (--dev, as the emulator): any valid name opens a database, creating it on first use. false (production):
  // get() opens only databases that exist; create() (the admin, the `databases` option) makes new ones.
  bool create_on_first_use = false;
  std::size_t max_update_keys = kDefaultMaxUpdateKeys;
  // A node of a cluster (docs/cluster.md): owners publish their commits here, and a database another node owns
  // opens as a replica of it. Outlives the registry.
  cluster::Broker* broker = nullptr;
  // The shared store's onDisconnect operations (store/pending_disconnects.h). Outlives the registry.
  store::PendingDisconnects* pending_disconnects = nullptr;
  // With the shared store: which databases exist and their rules are the cluster's (store/shared_settings.h), not
  // this data directory's; another node's rules deploy reaches this node's databases within
  // `shared_rules_interval`. Outlives the registry.
  store::SharedSettings* shared = nullptr;
  std::chrono::milliseconds shared_rules_interval{1000};
};

class Registry {
 public:
  explicit Registry(RegistryOptions options);
  ~Registry();

  // The one place that decides whether a name may bring a database into existence. get() returns an open or
  // existing database (creating it only with create_on_first_use); an unknown name is ErrorCode::not_found and
  // leaves nothing on disk. create() opens or creates: for the admin and the server's own configuration.
  // Names: 1-100 of [A-Za-z0-9_-].
  Result<Database*> get(const std::string& name);
  Result<Database*> create(const std::string& name);
  // Opens every database already present in the data directory (start-up). A damaged database (its store
  // refuses it: ErrorCode::internal) is logged and skipped, the others open; get() and create()
  // of it then answer ErrorCode::unavailable with the damage until the server restarts. Fails only when the
  // data directory cannot be read.
  Status open_existing();
  // The databases found damaged (name -> what is wrong).
  std::map<std::string, std::string> damaged() const;

  // Validates and compiles `text`, creates the database if needed (an admin deploying rules), stores it durably as the database's rules (db/<name>/rules.json, replaced
  // atomically) and applies it to open listens. Invalid rules change nothing; the error names line and column.
  Status set_rules(const std::string& name, std::string text);
  std::vector<std::string> names() const;
  // The folder of database `name` in `data_dir`: its tree (LMDB + write-ahead log), rules.json and tenants.json.
  static std::string directory_in(const std::string& data_dir, const std::string& name);
  // Every open database with its name (thread-safe; the pointers live as long as the registry).
  std::vector<std::pair<std::string, const Database*>> open_databases() const;
  // Waits until every request queued so far to any database has been committed and answered, or until `deadline`:
  // false if the deadline came first. Draining uses it: writes taken before the doors close are answered.
  bool wait_answered(std::chrono::steady_clock::time_point deadline);
  // Stops every database after it has drained its queue.
  void stop_all();

  static bool valid_name(const std::string& name);
  static Result<ActiveRulesPtr> compile_rules(std::string text, bool configured = true);

 private:
  enum class Missing { refuse, create };
  Result<Database*> open(const std::string& name, Missing missing);
  std::string directory_of(const std::string& name) const;
  ActiveRulesPtr stored_rules(const std::string& name) const;  // default_rules if none stored

  RegistryOptions options_;
  store::StoreFactory stores_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Database>> databases_;
  std::map<std::string, std::string> damaged_;  // refused at open: never retried, never written

  // With shared settings: applies the rules other nodes deploy to the databases open here.
  void watch_shared_rules();
  std::int64_t shared_rules_seen_ = 0;  // the watcher's
  std::mutex watcher_mutex_;
  std::condition_variable watcher_wake_;
  bool watcher_stopping_ = false;
  std::thread watcher_;
};

}  // namespace backside::db
