#include "store/store_factory.h"

#include "store/postgresql_connection.h"
#include "store/postgresql_store.h"

namespace backside::store {

bool is_embedded_store(const std::string& value) { return value == "lmdb"; }

Status check_store_option(const std::string& value) {
  if (is_embedded_store(value)) return ok_status();
  if (!is_postgresql_url(value)) {
    return invalid("Invalid value for store: \"" + value + "\" (use lmdb, or postgresql://USER@HOST:PORT/DB)");
  }
  if (Status valid = check_postgresql_url(value); !valid) return invalid("Invalid value for store: " + valid.error().message);
  return ok_status();
}

Result<std::unique_ptr<Store>> StoreFactory::open(const std::string& name, const std::string& directory) const {
  if (is_embedded_store(settings_.store)) {
    LmdbOptions options;
    options.directory = directory;
    options.durability = settings_.durability;
    return open_lmdb_store(options);
  }
  PostgresqlOptions options;
  options.url = settings_.store;
  options.database = name;
  options.node_id = settings_.node_id;
  options.durability = settings_.durability;
  return open_postgresql_store(options);
}

}  // namespace backside::store
