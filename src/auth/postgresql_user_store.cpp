#include "auth/postgresql_user_store.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace backside::auth {

namespace json = boost::json;
using store::PgConnection;
using store::PgParam;

namespace {

std::optional<json::object> record_of(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

// Appends to a data-modifying statement whose CTE `changed` returns a row when it changed the user $2 of directory
// $1: the directory's version + 1 and the log row naming $2, all in the one statement; it returns the new version.
// An upsert, so that a directory whose row went with its tenant (deleted and made again while this node held it
// open) counts from 1 again rather than losing the change.
constexpr std::string_view kLogged = R"SQL(,
bumped AS (INSERT INTO backside_user_directories AS d (tenant, version)
           SELECT $1, 1 WHERE EXISTS (SELECT 1 FROM changed)
           ON CONFLICT (tenant) DO UPDATE SET version = d.version + 1 RETURNING d.version)
INSERT INTO backside_user_changes (tenant, version, uid) SELECT $1, version, $2 FROM bumped RETURNING version)SQL";

}  // namespace

Result<std::unique_ptr<PostgresqlUserStore>> PostgresqlUserStore::open(
    std::shared_ptr<store::PgSharedConnection> connection, std::string tenant, std::int64_t changes_kept,
    std::chrono::milliseconds version_kept) {
  Status made = connection->run([&](PgConnection& pg) -> Status {
    auto inserted = pg.query("opening a user directory",
                             "INSERT INTO backside_user_directories (tenant) VALUES ($1) ON CONFLICT DO NOTHING",
                             {PgParam::text(tenant)});
    if (!inserted) return inserted.error();
    return ok_status();
  });
  if (!made) return made.error();
  return std::unique_ptr<PostgresqlUserStore>(
      new PostgresqlUserStore(std::move(connection), std::move(tenant), changes_kept, version_kept));
}

Status PostgresqlUserStore::create(const json::object& user) {
  const std::string uid = user_text(user, "localId");
  const std::string email = normalize_email(user_text(user, "email"));
  const std::string record = json::serialize(user);
  return connection_->run([&](PgConnection& pg) -> Status {
    // Any unique index refuses it: the uid's, or the directory's email index (another node may race us to it).
    auto added = pg.query("creating a user",
                          "INSERT INTO backside_users (tenant, uid, email, record) VALUES ($1, $2, $3, $4) "
                          "ON CONFLICT DO NOTHING",
                          {PgParam::text(tenant_), PgParam::text(uid), PgParam::text(email), PgParam::text(record)});
    if (!added) return added.error();
    if (added->affected_rows() == 1) return ok_status();
    auto email_taken = pg.query("creating a user",
                                "SELECT 1 FROM backside_users WHERE tenant = $1 AND email = $2 AND email <> ''",
                                {PgParam::text(tenant_), PgParam::text(email)});
    if (!email_taken) return email_taken.error();
    return invalid(email_taken->rows() > 0 ? "EMAIL_EXISTS" : "DUPLICATE_LOCAL_ID");
  });
}

Result<std::optional<json::object>> PostgresqlUserStore::find(const std::string& sql, const std::string& key) const {
  return connection_->run([&](PgConnection& pg) -> Result<std::optional<json::object>> {
    auto rows = pg.query("reading a user", sql, {PgParam::text(tenant_), PgParam::text(key)});
    if (!rows) return rows.error();
    if (rows->rows() == 0) return std::optional<json::object>();
    auto user = record_of(rows->value(0, 0));
    if (!user) return Error{ErrorCode::internal, "a user record in PostgreSQL is not a JSON object"};
    return user;
  });
}

Result<std::optional<json::object>> PostgresqlUserStore::read_by_uid(const std::string& uid) const {
  return find("SELECT record FROM backside_users WHERE tenant = $1 AND uid = $2", uid);
}

Result<std::optional<json::object>> PostgresqlUserStore::read_by_email(const std::string& email) const {
  const std::string normalized = normalize_email(email);
  if (normalized.empty()) return std::optional<json::object>();
  return find("SELECT record FROM backside_users WHERE tenant = $1 AND email = $2", normalized);
}

std::vector<json::object> PostgresqlUserStore::list() const {
  std::vector<json::object> users;
  Status read = connection_->run([&](PgConnection& pg) -> Status {
    return pg.for_each_row("listing users", "SELECT record FROM backside_users WHERE tenant = $1 ORDER BY uid",
                           {PgParam::text(tenant_)}, [&](const store::PgResult& row) -> Status {
                             if (auto user = record_of(row.value(0, 0))) users.push_back(std::move(*user));
                             return ok_status();
                           });
  });
  (void)read;  // as LMDB's: what could be read
  return users;
}

void PostgresqlUserStore::committed(PgConnection& pg, std::int64_t version) {
  {
    std::lock_guard lock(mutex_);
    ++own_commits_;
    remember_version(static_cast<std::uint64_t>(version) + 1);  // exact now: this node's change shows at once
  }
  if (version % (changes_kept_ / 10) != 0) return;
  // Pruning is best effort: a failure leaves more log than needed, which the next prune removes.
  (void)pg.query("pruning the user change log", "DELETE FROM backside_user_changes WHERE tenant = $1 AND version <= $2",
                 {PgParam::text(tenant_), PgParam::text(std::to_string(version - changes_kept_))});
}

Status PostgresqlUserStore::replace(const std::string& uid, const json::object& user) {
  const std::string email = normalize_email(user_text(user, "email"));
  const std::string record = json::serialize(user);
  return connection_->run([&](PgConnection& pg) -> Status {
    auto changed = pg.query(
        "updating a user",
        "WITH changed AS (UPDATE backside_users SET email = $3, record = $4 WHERE tenant = $1 AND uid = $2 AND NOT "
        "EXISTS (SELECT 1 FROM backside_users WHERE tenant = $1 AND email = $3 AND email <> '' AND uid <> $2) "
        "RETURNING uid)" + std::string(kLogged),
        {PgParam::text(tenant_), PgParam::text(uid), PgParam::text(email), PgParam::text(record)});
    if (!changed) return changed.error();
    if (changed->rows() == 1) {
      auto version = changed->integer(0, 0);
      if (!version) return version.error();
      committed(pg, *version);
      return ok_status();
    }
    auto exists = pg.query("updating a user", "SELECT 1 FROM backside_users WHERE tenant = $1 AND uid = $2",
                           {PgParam::text(tenant_), PgParam::text(uid)});
    if (!exists) return exists.error();
    if (exists->rows() == 0) return Error{ErrorCode::not_found, "USER_NOT_FOUND"};
    return invalid("EMAIL_EXISTS");
  });
}

Status PostgresqlUserStore::erase(const std::string& uid) {
  return connection_->run([&](PgConnection& pg) -> Status {
    auto changed = pg.query(
        "deleting a user",
        "WITH tokens AS (DELETE FROM backside_refresh_tokens WHERE tenant = $1 AND uid = $2), "
        "changed AS (DELETE FROM backside_users WHERE tenant = $1 AND uid = $2 RETURNING uid)" + std::string(kLogged),
        {PgParam::text(tenant_), PgParam::text(uid)});
    if (!changed) return changed.error();
    if (changed->rows() == 0) return Error{ErrorCode::not_found, "USER_NOT_FOUND"};
    auto version = changed->integer(0, 0);
    if (!version) return version.error();
    committed(pg, *version);
    return ok_status();
  });
}

namespace {

// The directory's version as the interface counts it: + 1, so that 0 keeps meaning "cannot tell".
Result<std::uint64_t> read_version(PgConnection& pg, const std::string& tenant) {
  auto found = pg.query("reading a user directory's version",
                        "SELECT version FROM backside_user_directories WHERE tenant = $1", {PgParam::text(tenant)});
  if (!found) return found.error();
  if (found->rows() != 1) return std::uint64_t{1};  // deleted with its tenant: as new
  auto version = found->integer(0, 0);
  if (!version) return version.error();
  return static_cast<std::uint64_t>(*version) + 1;
}

}  // namespace

void PostgresqlUserStore::remember_version(std::uint64_t version) const {
  version_read_ = version;
  version_read_at_ = std::chrono::steady_clock::now();
}

std::uint64_t PostgresqlUserStore::version() const {
  {
    std::lock_guard lock(mutex_);
    if (version_read_ != 0 && std::chrono::steady_clock::now() - version_read_at_ < version_kept_) {
      return version_read_;
    }
  }
  auto read = connection_->run([&](PgConnection& pg) -> Result<std::uint64_t> {
    auto version = read_version(pg, tenant_);
    if (!version) return version.error();
    std::lock_guard lock(mutex_);  // under the connection's turn: no commit of ours comes between
    remember_version(*version);
    return *version;
  });
  return read ? *read : 0;
}

UserStore::Versions PostgresqlUserStore::versions() const {
  auto read = connection_->run([&](PgConnection& pg) -> Result<Versions> {
    auto version = read_version(pg, tenant_);
    if (!version) return version.error();
    std::lock_guard lock(mutex_);  // under the connection's turn, so no commit of ours comes between the two
    remember_version(*version);
    return Versions{*version, own_commits_};
  });
  if (read) return *read;
  std::lock_guard lock(mutex_);
  return Versions{0, own_commits_};
}

std::optional<std::vector<std::string>> PostgresqlUserStore::changed_since(std::uint64_t version) const {
  if (version == 0) return std::nullopt;
  // The log holds the table's versions, one less than ours: the first change after ours is logged as `version`.
  auto read = connection_->run([&](PgConnection& pg) -> Result<std::optional<std::vector<std::string>>> {
    auto found = pg.query("reading the user change log",
                          "SELECT version, uid FROM backside_user_changes WHERE tenant = $1 AND version > $2 "
                          "ORDER BY version",
                          {PgParam::text(tenant_), PgParam::text(std::to_string(version - 1))});
    if (!found) return found.error();
    std::vector<std::string> uids;
    for (int row = 0; row < found->rows(); ++row) {
      auto at = found->integer(row, 0);
      if (!at) return at.error();
      // Every version has its row: the first one missing means it was pruned, and the log cannot tell.
      if (row == 0 && static_cast<std::uint64_t>(*at) != version) return std::optional<std::vector<std::string>>();
      uids.emplace_back(found->value(row, 1));
    }
    return std::optional(std::move(uids));
  });
  if (!read) return std::nullopt;
  return std::move(*read);
}

Status PostgresqlUserStore::add_refresh_token(const std::string& token, const std::string& uid) {
  return connection_->run([&](PgConnection& pg) -> Status {
    auto added = pg.query("storing a refresh token",
                          "INSERT INTO backside_refresh_tokens (tenant, digest, uid) VALUES ($1, $2, $3) "
                          "ON CONFLICT (tenant, digest) DO UPDATE SET uid = EXCLUDED.uid, revoked = false",
                          {PgParam::text(tenant_), PgParam::text(refresh_token_digest(token)), PgParam::text(uid)});
    if (!added) return added.error();
    return ok_status();
  });
}

std::optional<UserStore::RefreshTokenOwner> PostgresqlUserStore::owner_of_refresh_token(
    const std::string& token) const {
  auto read = connection_->run([&](PgConnection& pg) -> Result<std::optional<RefreshTokenOwner>> {
    auto found = pg.query("reading a refresh token",
                          "SELECT uid, revoked FROM backside_refresh_tokens WHERE tenant = $1 AND digest = $2",
                          {PgParam::text(tenant_), PgParam::text(refresh_token_digest(token))});
    if (!found) return found.error();
    if (found->rows() == 0) return std::optional<RefreshTokenOwner>();
    return std::optional(RefreshTokenOwner{std::string(found->value(0, 0)), found->value(0, 1) == "t"});
  });
  if (!read) return std::nullopt;
  return std::move(*read);
}

Status PostgresqlUserStore::revoke_refresh_tokens(const std::string& uid) {
  return connection_->run([&](PgConnection& pg) -> Status {
    auto revoked = pg.query("revoking refresh tokens",
                            "UPDATE backside_refresh_tokens SET revoked = true WHERE tenant = $1 AND uid = $2",
                            {PgParam::text(tenant_), PgParam::text(uid)});
    if (!revoked) return revoked.error();
    return ok_status();
  });
}

Status PostgresqlUserStore::remove_directory(store::PgSharedConnection& connection, const std::string& tenant) {
  return connection.run([&](PgConnection& pg) -> Status {
    auto removed = pg.query("deleting a user directory",
                            "WITH users AS (DELETE FROM backside_users WHERE tenant = $1), "
                            "tokens AS (DELETE FROM backside_refresh_tokens WHERE tenant = $1), "
                            "changes AS (DELETE FROM backside_user_changes WHERE tenant = $1) "
                            "DELETE FROM backside_user_directories WHERE tenant = $1",
                            {PgParam::text(tenant)});
    if (!removed) return removed.error();
    return ok_status();
  });
}

UserStorage users_in_postgresql(std::shared_ptr<store::PgSharedConnection> connection) {
  return {.open = [connection](const std::string& tenant) -> Result<std::unique_ptr<UserStore>> {
            auto store = PostgresqlUserStore::open(connection, tenant);
            if (!store) return store.error();
            return std::unique_ptr<UserStore>(std::move(*store));
          },
          .remove = [connection](const std::string& tenant) {
            return PostgresqlUserStore::remove_directory(*connection, tenant);
          }};
}

}  // namespace backside::auth
