#include "auth/user_store.h"

#include <openssl/sha.h>

#include <cctype>

namespace backside::auth {

namespace json = boost::json;

std::optional<json::object> UserStore::find_by_uid(const std::string& uid) const {
  auto user = read_by_uid(uid);
  if (!user) return std::nullopt;
  return std::move(*user);
}

std::optional<json::object> UserStore::find_by_email(const std::string& email) const {
  auto user = read_by_email(email);
  if (!user) return std::nullopt;
  return std::move(*user);
}

Status UserStore::update(const json::object& user) {
  const std::string uid = user_text(user, "localId");
  Status status = replace(uid, user);
  if (status && account_changed_) account_changed_(uid);
  return status;
}

Status UserStore::remove(const std::string& uid) {
  Status status = erase(uid);
  if (status && account_changed_) account_changed_(uid);
  return status;
}

std::string normalize_email(const std::string& email) {
  std::string out = email;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool user_disabled(const json::object& user) {
  const json::value* disabled = user.if_contains("disabled");
  return disabled && disabled->is_bool() && disabled->get_bool();
}

std::string user_text(const json::object& user, const char* name) {
  const json::value* v = user.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string refresh_token_digest(const std::string& token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * sizeof digest);
  for (unsigned char c : digest) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

}  // namespace backside::auth
