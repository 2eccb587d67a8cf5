#include "auth/lmdb_user_store.h"

#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <filesystem>

namespace backside::auth {

namespace json = boost::json;

namespace {

Error failure(const char* what, int rc) { return Error{ErrorCode::unavailable, std::string(what) + ": " + mdb_strerror(rc)}; }

std::string token_key(const std::string& token) { return "r/" + refresh_token_digest(token); }

}  // namespace

Result<std::unique_ptr<LmdbUserStore>> LmdbUserStore::open(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  std::filesystem::permissions(directory, std::filesystem::perms::owner_all, ec);
  MDB_env* env = nullptr;
  if (int rc = mdb_env_create(&env)) return failure("mdb_env_create", rc);
  mdb_env_set_mapsize(env, std::size_t(1) << 30);
  if (int rc = mdb_env_open(env, directory.c_str(), 0, 0600)) {
    mdb_env_close(env);
    return failure("cannot open the user store", rc);
  }
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  if (int rc = mdb_txn_begin(env, nullptr, 0, &txn)) {
    mdb_env_close(env);
    return failure("mdb_txn_begin", rc);
  }
  if (int rc = mdb_dbi_open(txn, nullptr, 0, &dbi)) {
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return failure("mdb_dbi_open", rc);
  }
  mdb_txn_commit(txn);
  return std::unique_ptr<LmdbUserStore>(new LmdbUserStore(env, dbi));
}

LmdbUserStore::~LmdbUserStore() { mdb_env_close(env_); }

Result<std::optional<std::string>> LmdbUserStore::get(const std::string& key) const {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn)) return failure("mdb_txn_begin", rc);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v;
  std::optional<std::string> out;
  int rc = mdb_get(txn, dbi_, &k, &v);
  if (rc == 0) out = std::string(static_cast<const char*>(v.mv_data), v.mv_size);
  mdb_txn_abort(txn);
  if (rc != 0 && rc != MDB_NOTFOUND) return failure("mdb_get", rc);
  return out;
}

Status LmdbUserStore::write(const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn)) return failure("mdb_txn_begin", rc);
  bool changed = false;  // LMDB commits a transaction that changed nothing without a new transaction id
  for (const auto& [key, value] : changes) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    int rc;
    if (value) {
      MDB_val v{value->size(), const_cast<char*>(value->data())};
      rc = mdb_put(txn, dbi_, &k, &v, 0);
      changed = changed || rc == 0;
    } else {
      rc = mdb_del(txn, dbi_, &k, nullptr);
      changed = changed || rc == 0;
      if (rc == MDB_NOTFOUND) rc = 0;
    }
    if (rc) {
      mdb_txn_abort(txn);
      return failure("mdb_put", rc);
    }
  }
  if (int rc = mdb_txn_commit(txn)) return failure("mdb_txn_commit", rc);  // durable (fsync) before we answer
  if (changed) ++own_commits_;
  return ok_status();
}

Status LmdbUserStore::create(const json::object& user) {
  std::lock_guard lock(mutex_);
  const std::string uid = user_text(user, "localId");
  const std::string email = normalize_email(user_text(user, "email"));
  std::vector<std::pair<std::string, std::optional<std::string>>> changes{{"u/" + uid, json::serialize(user)}};
  if (!email.empty()) {
    auto existing = get("e/" + email);
    if (!existing) return existing.error();
    if (*existing) return invalid("EMAIL_EXISTS");
    changes.emplace_back("e/" + email, uid);
  }
  return write(changes);
}

Result<std::optional<json::object>> LmdbUserStore::read_by_uid(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  auto record = get("u/" + uid);
  if (!record) return record.error();
  if (!*record) return std::optional<json::object>();
  boost::system::error_code ec;
  json::value value = json::parse(**record, ec);
  if (ec || !value.is_object()) return Error{ErrorCode::internal, "the record of user " + uid + " is damaged"};
  return std::optional(std::move(value.get_object()));
}

Result<std::optional<json::object>> LmdbUserStore::read_by_email(const std::string& email) const {
  std::optional<std::string> uid;
  {
    std::lock_guard lock(mutex_);
    auto found = get("e/" + normalize_email(email));
    if (!found) return found.error();
    if (!*found) return std::optional<json::object>();
    uid = **found;
  }
  return read_by_uid(*uid);
}

Status LmdbUserStore::replace(const std::string& uid, const json::object& user) {
  auto old = find_by_uid(uid);
  std::lock_guard lock(mutex_);
  if (!old) return Error{ErrorCode::not_found, "USER_NOT_FOUND"};
  std::vector<std::pair<std::string, std::optional<std::string>>> changes{{"u/" + uid, json::serialize(user)}};
  const std::string old_email = normalize_email(user_text(*old, "email"));
  const std::string new_email = normalize_email(user_text(user, "email"));
  if (old_email != new_email) {
    if (!new_email.empty()) {
      auto taken = get("e/" + new_email);
      if (!taken) return taken.error();
      if (*taken) return invalid("EMAIL_EXISTS");
      changes.emplace_back("e/" + new_email, uid);
    }
    if (!old_email.empty()) changes.emplace_back("e/" + old_email, std::nullopt);
  }
  return write(changes);
}

Status LmdbUserStore::erase(const std::string& uid) {
  auto old = find_by_uid(uid);
  if (!old) return Error{ErrorCode::not_found, "USER_NOT_FOUND"};
  if (auto status = change_refresh_tokens(uid, /*erase=*/true); !status) return status;
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::optional<std::string>>> changes{{"u/" + uid, std::nullopt}};
  if (const std::string email = normalize_email(user_text(*old, "email")); !email.empty()) {
    changes.emplace_back("e/" + email, std::nullopt);
  }
  return write(changes);
}

std::uint64_t LmdbUserStore::version() const {
  MDB_envinfo info{};
  if (mdb_env_info(env_, &info) != 0) return 0;
  // +1: a store that was never written (transaction id 0) is still at a version, 0 meaning "unknown".
  return static_cast<std::uint64_t>(info.me_last_txnid) + 1;
}

bool LmdbUserStore::deleted() const {
  mdb_filehandle_t fd;
  struct stat info {};
  return mdb_env_get_fd(env_, &fd) == 0 && ::fstat(fd, &info) == 0 && info.st_nlink == 0;
}

UserStore::Versions LmdbUserStore::versions() const {
  std::lock_guard lock(mutex_);  // no commit of ours in between: write() runs under it
  return Versions{version(), own_commits_};
}

std::vector<json::object> LmdbUserStore::list() const {
  std::vector<json::object> users;
  std::lock_guard lock(mutex_);
  MDB_txn* txn = nullptr;
  if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn)) return users;
  MDB_cursor* cursor = nullptr;
  if (mdb_cursor_open(txn, dbi_, &cursor) == 0) {
    MDB_val k{2, const_cast<char*>("u/")};
    MDB_val v;
    for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      std::string_view key(static_cast<const char*>(k.mv_data), k.mv_size);
      if (key.substr(0, 2) != "u/") break;
      boost::system::error_code ec;
      json::value value = json::parse(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size), ec);
      if (!ec && value.is_object()) users.push_back(std::move(value.get_object()));
    }
    mdb_cursor_close(cursor);
  }
  mdb_txn_abort(txn);
  return users;
}

Status LmdbUserStore::add_refresh_token(const std::string& token, const std::string& uid) {
  std::lock_guard lock(mutex_);
  // "t/<uid>/<hash>" lists a user's tokens so that they can all be revoked.
  const std::string key = token_key(token);
  return write({{key, uid}, {"t/" + uid + "/" + key.substr(2), ""}});
}

std::optional<UserStore::RefreshTokenOwner> LmdbUserStore::owner_of_refresh_token(const std::string& token) const {
  std::lock_guard lock(mutex_);
  auto found = get(token_key(token));
  if (!found || !*found) return std::nullopt;
  const std::string& value = **found;
  if (!value.empty() && value.front() == kRevoked) return RefreshTokenOwner{value.substr(1), true};
  return RefreshTokenOwner{value, false};
}

Status LmdbUserStore::revoke_refresh_tokens(const std::string& uid) { return change_refresh_tokens(uid, false); }

// Every refresh token of `uid`: marked revoked (kept, so that a client presenting one learns why), or deleted.
Status LmdbUserStore::change_refresh_tokens(const std::string& uid, bool erase) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn)) return failure("mdb_txn_begin", rc);
  MDB_cursor* cursor = nullptr;
  const std::string prefix = "t/" + uid + "/";
  const std::string revoked = kRevoked + uid;
  if (mdb_cursor_open(txn, dbi_, &cursor) == 0) {
    MDB_val k{prefix.size(), const_cast<char*>(prefix.data())};
    MDB_val v;
    for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      std::string key(static_cast<const char*>(k.mv_data), k.mv_size);
      if (key.compare(0, prefix.size(), prefix) != 0) break;
      const std::string token = "r/" + key.substr(prefix.size());
      if (erase) {
        changes.emplace_back(key, std::nullopt);
        changes.emplace_back(token, std::nullopt);
        continue;
      }
      MDB_val tk{token.size(), const_cast<char*>(token.data())};
      MDB_val tv;
      if (mdb_get(txn, dbi_, &tk, &tv) == 0 && tv.mv_size > 0 && *static_cast<const char*>(tv.mv_data) == kRevoked) {
        continue;  // revoked before
      }
      changes.emplace_back(token, revoked);
    }
    mdb_cursor_close(cursor);
  }
  mdb_txn_abort(txn);
  if (changes.empty()) return ok_status();
  return write(changes);
}

}  // namespace backside::auth
