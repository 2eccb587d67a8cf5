#include "auth/accepted_users.h"

#include <algorithm>
#include <condition_variable>
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

// {"accept": [...]}'s array, or nullopt when it is not one.
std::optional<std::vector<std::string>> parse_pools(std::string_view text) {
  boost::system::error_code parse_error;
  json::value parsed = json::parse(text, parse_error);
  const json::value* accept = !parse_error && parsed.is_object() ? parsed.get_object().if_contains("accept") : nullptr;
  if (!accept || !accept->is_array()) return std::nullopt;
  std::vector<std::string> pools;
  for (const auto& pool : accept->get_array()) {
    if (pool.is_string()) pools.emplace_back(pool.get_string());
  }
  return pools;
}

std::string serialize_pools(const std::vector<std::string>& pools) {
  json::array accept;
  for (const auto& pool : pools) accept.emplace_back(pool);
  return json::serialize(json::object{{"accept", std::move(accept)}});
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
  return write_file_durably(file, serialize_pools(*pools) + "\n");
}

Result<std::int64_t> AcceptedUsers::read_shared(std::int64_t version, Limits& limited) {
  return shared_->run([&](store::PgConnection& pg) -> Result<std::int64_t> {
    auto rows = pg.query("reading the accepted user pools",
                         "SELECT db, version, accept FROM backside_accepted_users WHERE version > $1 ORDER BY version",
                         {store::PgParam::text(std::to_string(version))});
    if (!rows) return rows.error();
    std::int64_t seen = version;
    for (int row = 0; row < rows->rows(); ++row) {
      auto at = rows->integer(row, 1);
      if (!at) return at.error();
      seen = std::max(seen, *at);
      const std::string database(rows->value(row, 0));
      if (rows->is_null(row, 2)) {
        limited.erase(database);
        continue;
      }
      // Only this code writes the column: text it cannot read fails closed, as a damaged file does.
      limited[database] = parse_pools(rows->value(row, 2)).value_or(std::vector<std::string>());
    }
    return seen;
  });
}

Status AcceptedUsers::refresh() {
  if (!shared_) return ok_status();
  std::int64_t version;
  std::uint64_t sets;
  Limits limited;
  {
    std::lock_guard lock(mutex_);
    version = shared_version_;
    sets = local_sets_;
    limited = limited_;
  }
  auto seen = read_shared(version, limited);
  if (!seen) return seen.error();
  std::lock_guard lock(mutex_);
  if (local_sets_ != sets) return ok_status();  // a set() of ours came between: the next refresh reads again
  limited_ = std::move(limited);
  shared_version_ = *seen;
  return ok_status();
}

void AcceptedUsers::watch(std::chrono::milliseconds period) {
  if (!shared_) return;
  watcher_ = std::jthread([this, period](std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    while (!wake.wait_for(lock, stop, period, [] { return false; }) && !stop.stop_requested()) (void)refresh();
  });
}

std::vector<std::string> AcceptedUsers::load() {
  std::vector<std::string> problems;
  if (shared_) {
    Limits limited;
    auto seen = read_shared(0, limited);
    if (!seen) return {"the accepted user pools cannot be read from PostgreSQL: " + seen.error().message};
    std::lock_guard lock(mutex_);
    limited_ = std::move(limited);
    shared_version_ = *seen;
    return problems;
  }
  std::map<std::string, std::vector<std::string>, std::less<>> limited;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir_ / "db", ec)) {
    const fs::path file = entry.path() / "tenants.json";
    if (!fs::exists(file, ec)) continue;
    const std::string database = entry.path().filename().string();
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto pools = parse_pools(text.str());
    limited[database] = pools.value_or(std::vector<std::string>());  // fails closed: no pool until it reads well
    if (!pools) {
      problems.push_back("database \"" + database + "\": " + file.string() +
                         " is damaged; the database accepts no user's ID token until the admin sets its tenants again");
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
  std::lock_guard lock(mutex_);  // one writer at a time: the file (or the row) and the table agree
  if (shared_) {
    auto stored = shared_->run([&](store::PgConnection& pg) -> Result<std::int64_t> {
      auto row = pg.query("storing the accepted user pools",
                          "INSERT INTO backside_accepted_users (db, version, accept) "
                          "VALUES ($1, nextval('backside_accepted_users_versions'), $2) "
                          "ON CONFLICT (db) DO UPDATE SET version = EXCLUDED.version, accept = EXCLUDED.accept "
                          "RETURNING version",
                          {store::PgParam::text(database),
                           pools ? store::PgParam::text(serialize_pools(*pools)) : store::PgParam::null()});
      if (!row) return row.error();
      return row->integer(0, 0);
    });
    if (!stored) return stored.error();
    // Ours is newer than anything read so far; deploys of others in between are read again by the next refresh.
    shared_version_ = std::min(shared_version_, *stored - 1);
    ++local_sets_;
  } else if (auto written = write(data_dir_, database, pools); !written) {
    return written;
  }
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
