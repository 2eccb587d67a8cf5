#include "store/shared_settings.h"

#include "store/postgresql_connection.h"
#include "store/postgresql_schema.h"

namespace backside::store {

Result<std::unique_ptr<SharedSettings>> SharedSettings::open(const std::string& url) {
  if (Status valid = check_postgresql_url(url); !valid) return valid.error();
  auto connection = std::make_unique<PgConnection>(url, "");
  if (Status connected = connection->ensure_connected(); !connected) return connected.error();
  if (Status created = create_postgresql_schema(*connection); !created) return created.error();
  return std::unique_ptr<SharedSettings>(new SharedSettings(std::move(connection)));
}

SharedSettings::SharedSettings(std::unique_ptr<PgConnection> connection) : connection_(std::move(connection)) {}

SharedSettings::~SharedSettings() = default;

Status SharedSettings::connect() {
  const auto now = std::chrono::steady_clock::now();
  if (connect_failure_ && !connection_->connected() && now - connect_failed_at_ < std::chrono::seconds(1)) {
    return *connect_failure_;
  }
  if (!connection_->connected()) ++connect_attempts_;
  Status connected = connection_->ensure_connected();
  if (connected) {
    connect_failure_.reset();
  } else {
    connect_failure_ = connected.error();
    connect_failed_at_ = now;
  }
  return connected;
}

std::uint64_t SharedSettings::connect_attempts() {
  std::lock_guard lock(mutex_);
  return connect_attempts_;
}

Result<bool> SharedSettings::database_exists(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (Status connected = connect(); !connected) return connected.error();
  auto found = connection_->query("looking a database up", "SELECT 1 FROM backside_databases WHERE name = $1",
                                  {PgParam::text(name)});
  if (!found) return found.error();
  return found->rows() == 1;
}

Result<std::vector<std::string>> SharedSettings::databases() {
  std::lock_guard lock(mutex_);
  if (Status connected = connect(); !connected) return connected.error();
  auto found = connection_->query("listing the databases", "SELECT name FROM backside_databases ORDER BY name", {});
  if (!found) return found.error();
  std::vector<std::string> names;
  for (int row = 0; row < found->rows(); ++row) names.emplace_back(found->value(row, 0));
  return names;
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
  std::lock_guard lock(mutex_);
  if (Status connected = connect(); !connected) return connected.error();
  auto found = connection_->query("reading a database's rules",
                                  "SELECT db, version, text FROM backside_rules WHERE db = $1",
                                  {PgParam::text(database)});
  if (!found) return found.error();
  auto rules = rows_of_rules(*found);
  if (!rules) return rules.error();
  if (rules->empty()) return std::optional<Rules>();
  return std::optional<Rules>(std::move(rules->front()));
}

Result<std::int64_t> SharedSettings::put_rules(const std::string& database, const std::string& text) {
  std::lock_guard lock(mutex_);
  if (Status connected = connect(); !connected) return connected.error();
  auto stored = connection_->query(
      "deploying rules",
      "INSERT INTO backside_rules (db, version, text) VALUES ($1, nextval('backside_rules_versions'), $2) "
      "ON CONFLICT (db) DO UPDATE SET version = EXCLUDED.version, text = EXCLUDED.text RETURNING version",
      {PgParam::text(database), PgParam::text(text)});
  if (!stored) return stored.error();
  return stored->integer(0, 0);
}

Result<std::vector<SharedSettings::Rules>> SharedSettings::rules_since(std::int64_t version) {
  std::lock_guard lock(mutex_);
  if (Status connected = connect(); !connected) return connected.error();
  auto found = connection_->query("reading rules deployed since",
                                  "SELECT db, version, text FROM backside_rules WHERE version > $1 ORDER BY version",
                                  {PgParam::text(std::to_string(version))});
  if (!found) return found.error();
  return rows_of_rules(*found);
}

Result<std::string> SharedSettings::setting_or_create(const std::string& name, const std::string& initial) {
  std::lock_guard lock(mutex_);
  if (Status connected = connect(); !connected) return connected.error();
  auto inserted = connection_->query(
      "storing a setting", "INSERT INTO backside_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
      {PgParam::text(name), PgParam::bytes(initial)});
  if (!inserted) return inserted.error();
  auto found = connection_->query("reading a setting", "SELECT value FROM backside_settings WHERE name = $1",
                                  {PgParam::text(name)}, /*binary_result=*/true);
  if (!found) return found.error();
  if (found->rows() != 1) return Error{ErrorCode::unavailable, "the setting " + name + " vanished while it was read"};
  return std::string(found->value(0, 0));
}

}  // namespace backside::store
