#pragma once
// What every node of a cluster shares besides the trees (docs/cluster.md), in PostgreSQL: which databases exist, each
// database's security rules, and named settings such as the ID-token signing key. A node on the embedded store
// keeps these in its data directory instead. Thread-safe: calls are serialized on one connection
// (store/postgresql_shared_connection.h), and block for a round trip.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace backside::store {

class PgSharedConnection;

class SharedSettings {
 public:
  // Connects and creates the tables if needed. unavailable when PostgreSQL cannot be reached.
  static Result<std::unique_ptr<SharedSettings>> open(const std::string& url);
  // Over a connection the caller shares with other users of it.
  explicit SharedSettings(std::shared_ptr<PgSharedConnection> connection) : connection_(std::move(connection)) {}

  // Whether database `name` exists in the cluster (some node created it).
  Result<bool> database_exists(const std::string& name);
  // Every database of the cluster.
  Result<std::vector<std::string>> databases();

  struct Rules {
    std::string database;
    std::int64_t version = 0;  // grows with every deploy, across databases
    std::string text;
  };
  // The rules deployed to `database`, if any.
  Result<std::optional<Rules>> rules(const std::string& database);
  // Deploys `text` (already checked) as the rules of `database`; returns its version.
  Result<std::int64_t> put_rules(const std::string& database, const std::string& text);
  // Rules deployed after `version` (any database), in version order: how a node hears of another's deploy.
  Result<std::vector<Rules>> rules_since(std::int64_t version);

  // Connections attempted since open (reconnects after a failure included).
  std::uint64_t connect_attempts();

  // The setting `name`; if there is none yet, `initial` is stored and returned (the first node to ask wins, the
  // others get its value).
  Result<std::string> setting_or_create(const std::string& name, const std::string& initial);

 private:
  std::shared_ptr<PgSharedConnection> connection_;
};

}  // namespace backside::store
