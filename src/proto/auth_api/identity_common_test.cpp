#include "proto/auth_api/identity_common.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "auth/user_directories.h"
#include "db/registry.h"

namespace backside::proto::auth_api {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("backside-identity-common-test-" + std::to_string(rd()));
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

// The tenant errors as the server wires them: the users of a database through the Registry.
TEST(IdentityCommon, ATenantWhoseDirectoryDoesNotOpenIsAnInvalidTenantId) {
  TempDir dir;
  db::RegistryOptions options;
  options.data_dir = dir.path.string();
  options.default_rules = *db::Registry::compile_rules(R"({"rules": {".read": false, ".write": false}})");
  options.max_databases = 1;
  options.create_on_first_use = true;  // as with --dev; without it an unknown name is refused (registry_test.cpp)
  db::Registry registry(options);
  auth::UserDirectories directories("main",
                                    [&registry](const std::string& name) { return registry.users_directory(name); });

  // No database name: the code alone, as Firebase sends it.
  for (const std::string& name : std::vector<std::string>{"no/such", "a b", std::string(101, 'x')}) {
    auto directory = directories.of(name);
    ASSERT_FALSE(directory) << name;
    EXPECT_EQ(invalid_tenant(directory.error()), "INVALID_TENANT_ID") << name;
  }
  // A database name that cannot open: the code and why.
  ASSERT_TRUE(directories.of("main"));
  auto another = directories.of("shop");
  ASSERT_FALSE(another);
  EXPECT_EQ(invalid_tenant(another.error()), "INVALID_TENANT_ID : Too many databases: the limit is 1");
}

}  // namespace
}  // namespace backside::proto::auth_api
