#include "auth/tenants.h"

#include <algorithm>
#include <cctype>

#include "util/secure_random.h"
#include "util/unix_time.h"

namespace backside::auth {

bool Tenants::valid_id(std::string_view id) {
  if (id.empty() || id.size() > 100) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

Status Tenants::check_display_name(std::string_view name) {
  if (name.empty()) return invalid("MISSING_DISPLAY_NAME");
  const bool valid = name.size() >= 4 && name.size() <= 20 && std::isalpha(static_cast<unsigned char>(name[0])) &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
                     });
  if (!valid) {
    return invalid("INVALID_DISPLAY_NAME : a tenant's display name is 4 to 20 letters, digits or '-', beginning "
                   "with a letter");
  }
  return ok_status();
}

Result<Tenant> Tenants::new_tenant(const std::string& display_name, const std::string& id) {
  if (auto valid = check_display_name(display_name); !valid) return valid.error();
  Tenant tenant{id, display_name, unix_millis()};
  if (tenant.id.empty()) {
    for (char c : display_name) tenant.id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    tenant.id += "-" + secure_random_string(5, "abcdefghijklmnopqrstuvwxyz0123456789");
  }
  if (!valid_id(tenant.id)) return invalid("INVALID_TENANT_ID");
  return tenant;
}

}  // namespace backside::auth
