#include "auth/tenant_folders.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>

#include "util/durable_file.h"
#include "util/secure_random.h"
#include "util/unix_time.h"

namespace backside::auth {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view kAdopting = ".adopting-";
constexpr std::string_view kCreating = ".creating-";
constexpr std::string_view kDeleted = ".deleted-";

Error invalid_tenant_id() { return invalid("INVALID_TENANT_ID"); }
Error tenant_not_found() { return Error{ErrorCode::not_found, "TENANT_NOT_FOUND"}; }
Error duplicate_tenant_id() { return invalid("DUPLICATE_TENANT_ID"); }

std::string serialize(const Tenant& tenant) {
  return json::serialize(json::object{{"tenantId", tenant.id},
                                      {"displayName", tenant.display_name},
                                      {"createdAt", std::to_string(tenant.created_at_ms)}}) +
         "\n";
}

std::optional<Tenant> read_record(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value parsed = json::parse(text.str(), ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const json::object& record = parsed.get_object();
  Tenant tenant;
  if (const json::value* id = record.if_contains("tenantId"); id && id->is_string()) tenant.id = id->get_string();
  if (const json::value* name = record.if_contains("displayName"); name && name->is_string()) {
    tenant.display_name = name->get_string();
  }
  if (const json::value* created = record.if_contains("createdAt"); created && created->is_string()) {
    try {
      tenant.created_at_ms = std::stoll(std::string(created->get_string()));
    } catch (const std::exception&) {
      tenant.created_at_ms = 0;
    }
  }
  return tenant;
}

}  // namespace

Status TenantFolders::check(const std::string& id) const {
  if (!valid_id(id)) return invalid_tenant_id();
  std::error_code ec;
  if (!fs::exists(record_of(id), ec)) return tenant_not_found();
  return ok_status();
}

Result<Tenant> TenantFolders::get(const std::string& id) const {
  if (auto exists = check(id); !exists) return exists.error();
  auto record = read_record(record_of(id));
  if (!record) return Error{ErrorCode::unavailable, "cannot read the record of tenant " + id};
  record->id = id;  // the folder's name is the id, whatever the file says
  return *record;
}

std::vector<Tenant> TenantFolders::list() const {
  std::vector<Tenant> tenants;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!valid_id(name)) continue;  // work in progress ('.'-names) or not ours
    if (auto tenant = get(name)) tenants.push_back(std::move(*tenant));
  }
  std::sort(tenants.begin(), tenants.end(), [](const Tenant& a, const Tenant& b) {
    return std::tie(a.created_at_ms, a.id) < std::tie(b.created_at_ms, b.id);
  });
  return tenants;
}

Status TenantFolders::publish(const fs::path& staging, const Tenant& record) {
  if (auto written = write_file_durably(staging / "tenant.json", serialize(record)); !written) return written;
  const fs::path target = directory_ / record.id;
  std::error_code ec;
  if (fs::exists(target, ec)) return duplicate_tenant_id();
  fs::rename(staging, target, ec);  // atomic: the tenant appears whole
  if (ec) {
    if (fs::exists(target)) return duplicate_tenant_id();
    return Error{ErrorCode::unavailable, "cannot create tenant " + record.id + ": " + ec.message()};
  }
  sync_directory(directory_);
  return ok_status();
}

Result<Tenant> TenantFolders::create(const std::string& display_name, const std::string& id) {
  auto made = new_tenant(display_name, id);
  if (!made) return made.error();
  const Tenant& tenant = *made;
  std::lock_guard lock(mutex_);
  std::error_code ec;
  fs::create_directories(directory_, ec);
  const fs::path staging =
      directory_ / (std::string(kCreating) + tenant.id + "-" + secure_random_string(8, "abcdefghijklmnopqrstuvwxyz"));
  fs::create_directories(staging, ec);
  if (ec) return Error{ErrorCode::unavailable, "cannot create " + staging.string() + ": " + ec.message()};
  fs::permissions(staging, fs::perms::owner_all, ec);
  if (auto published = publish(staging, tenant); !published) {
    fs::remove_all(staging, ec);
    return published.error();
  }
  return tenant;
}

Result<Tenant> TenantFolders::rename(const std::string& id, const std::string& display_name) {
  if (auto valid = check_display_name(display_name); !valid) return valid.error();
  std::lock_guard lock(mutex_);
  auto tenant = get(id);
  if (!tenant) return tenant.error();
  tenant->display_name = display_name;
  if (auto written = write_file_durably(record_of(id), serialize(*tenant)); !written) return written.error();
  return tenant;
}

Status TenantFolders::remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (auto exists = check(id); !exists) return exists;
  // Out of sight first (one rename), then erased: a crash in between leaves a '.deleted-' folder recover() removes.
  const fs::path doomed =
      directory_ / (std::string(kDeleted) + id + "-" + secure_random_string(8, "abcdefghijklmnopqrstuvwxyz"));
  std::error_code ec;
  fs::rename(directory_ / id, doomed, ec);
  if (ec) return Error{ErrorCode::unavailable, "cannot delete tenant " + id + ": " + ec.message()};
  sync_directory(directory_);
  fs::remove_all(doomed, ec);
  return ok_status();
}

Status TenantFolders::adopt(const std::string& id, const std::string& display_name, const fs::path& users) {
  if (!valid_id(id)) return invalid_tenant_id();
  std::lock_guard lock(mutex_);
  std::error_code ec;
  if (fs::exists(directory_ / id, ec)) return duplicate_tenant_id();
  // Staged under a name of its own: the users move in (one rename), then the whole folder becomes the tenant (one
  // rename). A crash after the first leaves the staging folder with the users, which the next attempt completes.
  const fs::path staging = directory_ / (std::string(kAdopting) + id);
  fs::create_directories(staging, ec);
  if (ec) return Error{ErrorCode::unavailable, "cannot create " + staging.string() + ": " + ec.message()};
  fs::permissions(staging, fs::perms::owner_all, ec);
  if (users != staging / "users" && fs::exists(users, ec)) {
    if (fs::exists(staging / "users", ec)) {
      return Error{ErrorCode::unavailable, "cannot adopt " + users.string() + ": " + (staging / "users").string() +
                                               " is there already (from an earlier attempt): move one of them away"};
    }
    fs::rename(users, staging / "users", ec);
    if (ec) return Error{ErrorCode::unavailable, "cannot move " + users.string() + ": " + ec.message()};
    sync_directory(users.parent_path());
    sync_directory(staging);
  }
  return publish(staging, Tenant{id, display_name, unix_millis()});
}

void TenantFolders::recover() {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) entries.push_back(entry.path());
  for (const fs::path& path : entries) {
    const std::string name = path.filename().string();
    if (name.starts_with(kDeleted) || name.starts_with(kCreating)) {
      fs::remove_all(path, ec);  // a deletion to finish, or a creation that never became a tenant
    } else if (name.starts_with(kAdopting) && fs::exists(path / "users", ec)) {
      const std::string id = name.substr(kAdopting.size());
      (void)adopt(id, id, path / "users");  // finds the users in place; migrated tenants are named by their id
    }
  }
}

}  // namespace backside::auth
