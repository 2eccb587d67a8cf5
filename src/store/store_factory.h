#pragma once
// Which backend keeps the databases' trees, chosen by the `store` option (docs/configuration.md, docs/cluster.md):
// "lmdb" (the default: one node, files in each database's directory) or a postgresql:// URL (the shared store).
#include <memory>
#include <string>

#include "store/store.h"
#include "util/result.h"

namespace backside::store {

struct StoreSettings {
  std::string store = "lmdb";  // or postgresql://USER@HOST:PORT/DB
  Durability durability = Durability::fsync;
  std::string node_id;  // the node taking leases (shared store); required with a postgresql:// store
  // A node of a cluster (a broker is configured): a database another node owns opens as a replica.
  bool replicas = false;
};

// Checks a value of the `store` option without connecting anywhere; the error says what is accepted.
Status check_store_option(const std::string& value);
// Whether the option names the embedded store.
bool is_embedded_store(const std::string& value);

class StoreFactory {
 public:
  explicit StoreFactory(StoreSettings settings) : settings_(std::move(settings)) {}
  // Opens (creating if needed) the store of database `name`; `directory` is its local folder (the embedded store's
  // files live there).
  Result<std::unique_ptr<Store>> open(const std::string& name, const std::string& directory) const;
  const StoreSettings& settings() const { return settings_; }

 private:
  StoreSettings settings_;
};

}  // namespace backside::store
