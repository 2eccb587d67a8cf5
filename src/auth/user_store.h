#pragma once
// A directory of users (Firebase Auth accounts): the project's, or one tenant's (auth/user_directories.h). Records are
// JSON objects: {localId, email, passwordHash, provider, createdAt, lastLoginAt, disabled, displayName, customClaims}.
// Refresh tokens are kept only as their SHA-256. Two implementations: LmdbUserStore (one node, its data directory)
// and PostgresqlUserStore (a cluster: every node reads and writes the same users). Thread-safe.
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace backside::auth {

class UserStore {
 public:
  virtual ~UserStore() = default;

  // Creates a user; fails with "EMAIL_EXISTS" (invalid_argument) if the email is taken.
  virtual Status create(const boost::json::object& user) = 0;
  // The user `uid`, nullopt if there is none, or why the store cannot tell now (unavailable).
  virtual Result<std::optional<boost::json::object>> read_by_uid(const std::string& uid) const = 0;
  // The same, a failure to read taken as no user: for callers that only show or offer what they find.
  std::optional<boost::json::object> find_by_uid(const std::string& uid) const;
  // The user whose email is `email` (any case), nullopt if none, or why the store cannot tell now.
  virtual Result<std::optional<boost::json::object>> read_by_email(const std::string& email) const = 0;
  std::optional<boost::json::object> find_by_email(const std::string& email) const;
  // Replaces a user's record (the email index follows a changed email). USER_NOT_FOUND (not_found), EMAIL_EXISTS.
  Status update(const boost::json::object& user);
  // Removes a user and every refresh token of theirs. USER_NOT_FOUND (not_found).
  Status remove(const std::string& uid);
  virtual std::vector<boost::json::object> list() const = 0;

  // Changes whenever an account may have changed, from this process or any other: what was read at one version is
  // still true while it stays the same. 0: cannot tell now.
  virtual std::uint64_t version() const = 0;
  // A count of the commits that may have changed an account (from this process or any other), and how many of them
  // this object made, read together: a version that grew by more than this object's own commits was changed
  // elsewhere (`backside users`, another node), and AccountStandings rechecks the directory's live sign-ins.
  struct Versions {
    std::uint64_t version = 0;  // 0: cannot tell now
    std::uint64_t own_commits = 0;
  };
  virtual Versions versions() const = 0;
  // The uids whose accounts may have changed after `version` (one of versions()'), or nullopt when the store cannot
  // tell (then every live sign-in of the directory is rechecked).
  virtual std::optional<std::vector<std::string>> changed_since(std::uint64_t /*version*/) const {
    return std::nullopt;
  }
  // Whether the directory was deleted while this object was open (its tenant deleted, maybe made again under the
  // same id by another process): a store that no longer reaches the users it was opened on.
  virtual bool deleted() const = 0;
  // Runs `changed` (outside the store's lock) after this object updates or removes a user, with the user's uid: the
  // server ends the sessions of accounts that end (auth/id_tokens.h). Set it before the store is shared.
  void on_account_changed(std::function<void(const std::string& uid)> changed) {
    account_changed_ = std::move(changed);
  }

  virtual Status add_refresh_token(const std::string& token, const std::string& uid) = 0;
  struct RefreshTokenOwner {
    std::string uid;
    bool revoked = false;  // its sessions were ended: refreshing answers TOKEN_EXPIRED, as Firebase does
  };
  virtual std::optional<RefreshTokenOwner> owner_of_refresh_token(const std::string& token) const = 0;
  // Marks every refresh token of the user revoked (they are deleted with the user).
  virtual Status revoke_refresh_tokens(const std::string& uid) = 0;

 protected:
  virtual Status replace(const std::string& uid, const boost::json::object& user) = 0;
  virtual Status erase(const std::string& uid) = 0;

 private:
  std::function<void(const std::string& uid)> account_changed_;
};

std::string normalize_email(const std::string& email);
// Whether a user record is disabled (its `disabled` is true): it signs in no more, and its tokens are refused.
bool user_disabled(const boost::json::object& user);
// The text of a record's field `name` ("" if absent or not a string).
std::string user_text(const boost::json::object& user, const char* name);
// How a refresh token is kept: the hex of its SHA-256.
std::string refresh_token_digest(const std::string& token);

}  // namespace backside::auth
