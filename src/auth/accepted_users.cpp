#include "auth/accepted_users.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>

#include "util/durable_file.h"

namespace backside::auth {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string pool_name(std::string_view tenant) {
  return tenant.empty() ? "the project's users" : "the users of tenant \"" + std::string(tenant) + "\"";
}

}  // namespace

fs::path AcceptedUsers::file_in(const fs::path& data_dir, const std::string& database) {
  return data_dir / "db" / database / "tenants.json";
}

Status AcceptedUsers::write(const fs::path& data_dir, const std::string& database, const Pools& pools) {
  const fs::path file = file_in(data_dir, database);
  std::error_code ec;
  if (!pools) {
    fs::remove(file, ec);
    if (ec) return Error{ErrorCode::unavailable, "cannot remove " + file.string() + ": " + ec.message()};
    return ok_status();
  }
  json::array accept;
  for (const auto& pool : *pools) accept.emplace_back(pool);
  return write_file_durably(file, json::serialize(json::object{{"accept", std::move(accept)}}) + "\n");
}

std::vector<std::string> AcceptedUsers::load() {
  std::vector<std::string> problems;
  std::map<std::string, std::vector<std::string>, std::less<>> limited;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir_ / "db", ec)) {
    const fs::path file = entry.path() / "tenants.json";
    if (!fs::exists(file, ec)) continue;
    const std::string database = entry.path().filename().string();
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code parse_error;
    json::value parsed = json::parse(text.str(), parse_error);
    std::vector<std::string>& pools = limited[database];  // fails closed: no pool until it reads well
    const json::value* accept = parsed.is_object() ? parsed.get_object().if_contains("accept") : nullptr;
    if (parse_error || !accept || !accept->is_array()) {
      problems.push_back("database \"" + database + "\": " + file.string() +
                         " is damaged; the database accepts no user's ID token until the admin sets its tenants again");
      continue;
    }
    for (const auto& pool : accept->get_array()) {
      if (pool.is_string()) pools.emplace_back(pool.get_string());
    }
  }
  std::lock_guard lock(mutex_);
  limited_ = std::move(limited);
  return problems;
}

AcceptedUsers::Pools AcceptedUsers::of(const std::string& database) const {
  std::lock_guard lock(mutex_);
  if (auto it = limited_.find(database); it != limited_.end()) return it->second;
  return std::nullopt;
}

Status AcceptedUsers::set(const std::string& database, Pools pools) {
  if (pools) {
    for (const auto& pool : *pools) {
      if (pool == kProject) continue;
      if (!Tenants::valid_id(pool)) return invalid("INVALID_TENANT_ID : \"" + pool + "\" is neither a tenant id nor @project");
      if (!tenants_.exists(pool)) return Error{ErrorCode::not_found, "TENANT_NOT_FOUND : " + pool};
    }
    std::sort(pools->begin(), pools->end());
    pools->erase(std::unique(pools->begin(), pools->end()), pools->end());
  }
  std::lock_guard lock(mutex_);  // one writer at a time: the file and the table agree
  if (auto written = write(data_dir_, database, pools); !written) return written;
  if (pools) {
    limited_[database] = std::move(*pools);
  } else {
    limited_.erase(database);
  }
  return ok_status();
}

std::optional<std::string> AcceptedUsers::refusal(std::string_view database, std::string_view tenant) const {
  std::lock_guard lock(mutex_);
  auto it = limited_.find(database);
  if (it == limited_.end()) return std::nullopt;
  const std::string_view pool = tenant.empty() ? kProject : tenant;
  if (std::find(it->second.begin(), it->second.end(), pool) != it->second.end()) return std::nullopt;
  return "Auth token is for " + pool_name(tenant) + ", which database \"" + std::string(database) +
         "\" does not accept.";
}

}  // namespace backside::auth
