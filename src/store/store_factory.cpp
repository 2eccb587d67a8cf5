#include "store/store_factory.h"

#include "store/postgresql_connection.h"
#include "store/postgresql_store.h"

#include <charconv>
#include <cstdlib>
#include <string_view>
#include <system_error>

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
    // The address space LMDB reserves (64 GiB) does not fit under valgrind, which leaves the client less than that
    // in one piece: bench/instructions_bench.sh runs the server with BACKSIDE_LMDB_MAP_SIZE_BYTES set smaller. Not a
    // setting for production (a database larger than the map cannot grow); ignored unless a whole positive number.
    if (const char* env = std::getenv("BACKSIDE_LMDB_MAP_SIZE_BYTES")) {
      std::string_view text(env);
      std::size_t bytes = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bytes);
      if (ec == std::errc{} && end == text.data() + text.size() && bytes > 0) options.map_size_bytes = bytes;
    }
    return open_lmdb_store(options);
  }
  PostgresqlOptions options;
  options.url = settings_.store;
  options.database = name;
  options.node_id = settings_.node_id;
  options.durability = settings_.durability;
  options.replica_when_owned = settings_.replicas;
  return open_postgresql_store(options);
}

}  // namespace backside::store
