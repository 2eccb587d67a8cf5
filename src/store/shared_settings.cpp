#include "store/shared_settings.h"

#include "store/postgresql_shared_connection.h"

namespace backside::store {

Result<std::unique_ptr<SharedSettings>> SharedSettings::open(const std::string& url) {
  auto connection = PgSharedConnection::open(url);
  if (!connection) return connection.error();
  return std::make_unique<SharedSettings>(std::move(*connection));
}

std::uint64_t SharedSettings::connect_attempts() { return connection_->connect_attempts(); }

Result<bool> SharedSettings::database_exists(const std::string& name) {
  return connection_->run([&](PgConnection& connection) -> Result<bool> {
    auto found = connection.query("looking a database up", "SELECT 1 FROM backside_databases WHERE name = $1",
                                    {PgParam::text(name)});
    if (!found) return found.error();
    return found->rows() == 1;
  });
}

Result<std::vector<std::string>> SharedSettings::databases() {
  return connection_->run([&](PgConnection& connection) -> Result<std::vector<std::string>> {
    auto found = connection.query("listing the databases", "SELECT name FROM backside_databases ORDER BY name", {});
    if (!found) return found.error();
    std::vector<std::string> names;
    for (int row = 0; row < found->rows(); ++row) names.emplace_back(found->value(row, 0));
    return names;
  });
}

namespace {

Result<std::vector<SharedSettings::Rules>> rows_of_rules(const PgResult& result) {
  std::vector<SharedSettings::Rules> rules;
  for (int row = 0; row < result.rows(); ++row) {
    auto version = result.integer(row, 1);
    if (!version) return version.error();
    rules.push_back({std::string(result.value(row, 0)), *version, std::string(result.value(row, 2))});
  }
  return rules;
}

}  // namespace

Result<std::optional<SharedSettings::Rules>> SharedSettings::rules(const std::string& database) {
  return connection_->run([&](PgConnection& connection) -> Result<std::optional<SharedSettings::Rules>> {
    auto found = connection.query("reading a database's rules",
                                    "SELECT db, version, text FROM backside_rules WHERE db = $1",
                                    {PgParam::text(database)});
    if (!found) return found.error();
    auto rules = rows_of_rules(*found);
    if (!rules) return rules.error();
    if (rules->empty()) return std::optional<Rules>();
    return std::optional<Rules>(std::move(rules->front()));
  });
}

Result<std::int64_t> SharedSettings::put_rules(const std::string& database, const std::string& text) {
  return connection_->run([&](PgConnection& connection) -> Result<std::int64_t> {
    auto stored = connection.query(
        "deploying rules",
        "INSERT INTO backside_rules (db, version, text) VALUES ($1, nextval('backside_rules_versions'), $2) "
        "ON CONFLICT (db) DO UPDATE SET version = EXCLUDED.version, text = EXCLUDED.text RETURNING version",
        {PgParam::text(database), PgParam::text(text)});
    if (!stored) return stored.error();
    return stored->integer(0, 0);
  });
}

Result<std::vector<SharedSettings::Rules>> SharedSettings::rules_since(std::int64_t version) {
  return connection_->run([&](PgConnection& connection) -> Result<std::vector<SharedSettings::Rules>> {
    auto found = connection.query("reading rules deployed since",
                                    "SELECT db, version, text FROM backside_rules WHERE version > $1 ORDER BY version",
                                    {PgParam::text(std::to_string(version))});
    if (!found) return found.error();
    return rows_of_rules(*found);
  });
}

Result<std::string> SharedSettings::setting_or_create(const std::string& name, const std::string& initial) {
  return connection_->run([&](PgConnection& connection) -> Result<std::string> {
    auto inserted = connection.query(
        "storing a setting", "INSERT INTO backside_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        {PgParam::text(name), PgParam::bytes(initial)});
    if (!inserted) return inserted.error();
    auto found = connection.query("reading a setting", "SELECT value FROM backside_settings WHERE name = $1",
                                    {PgParam::text(name)}, /*binary_result=*/true);
    if (!found) return found.error();
    if (found->rows() != 1) return Error{ErrorCode::unavailable, "the setting " + name + " vanished while it was read"};
    return std::string(found->value(0, 0));
  });
}

}  // namespace backside::store
