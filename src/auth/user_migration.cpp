#include "auth/user_migration.h"

#include "auth/accepted_users.h"
#include "util/durable_file.h"

namespace backside::auth {

namespace fs = std::filesystem;

UserMigration migrate_database_users(const fs::path& data_dir, const std::string& default_database, TenantFolders& tenants) {
  UserMigration report;
  tenants.recover();  // adoptions a crash cut short are finished before anything is looked at
  const fs::path project = data_dir / "auth" / "users";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir / "db", ec)) {
    const fs::path users = entry.path() / "users";
    if (!fs::is_directory(users, ec)) continue;
    const std::string database = entry.path().filename().string();
    const bool is_default = database == default_database;
    if (is_default ? fs::exists(project, ec) : tenants.exists(database)) {
      report.conflicts.push_back(
          "the users of database \"" + database + "\" (" + users.string() + ", from an earlier version) were not " +
          "moved: " + (is_default ? "the project has users already (" + project.string() + ")"
                                  : "a tenant \"" + database + "\" exists already") +
          ". Move one of them away and restart (docs/auth.md, \"From per-database users\")");
      continue;
    }
    // First what the database accepts (rewritten until the users have moved: a crash in between keeps it closed),
    // then the users, in one rename.
    const AcceptedUsers::Pools before{{is_default ? std::string(AcceptedUsers::kProject) : database}};
    if (auto limited = AcceptedUsers::write(data_dir, database, before); !limited) {
      report.conflicts.push_back("the users of database \"" + database + "\" were not moved: " + limited.error().message);
      continue;
    }
    if (is_default) {
      fs::create_directories(project.parent_path(), ec);
      fs::rename(users, project, ec);
      if (ec) {
        report.conflicts.push_back("cannot move " + users.string() + " to " + project.string() + ": " + ec.message());
        continue;
      }
      sync_directory(project.parent_path());
      sync_directory(entry.path());
      report.moved.push_back("the users of the default database \"" + database + "\" are now the project's users (" +
                             project.string() + "); database \"" + database +
                             "\" still accepts only them (PUT /.settings/tenants.json to change that)");
      continue;
    }
    if (auto adopted = tenants.adopt(database, database, users); !adopted) {
      report.conflicts.push_back("cannot move the users of database \"" + database + "\" to tenant \"" + database +
                                 "\": " + adopted.error().message);
      continue;
    }
    report.moved.push_back("the users of database \"" + database + "\" are now the users of tenant \"" + database +
                           "\" (" + tenants.users_directory(database).string() + "): apps set auth.tenantId = '" +
                           database + "'; database \"" + database + "\" still accepts only them");
  }
  return report;
}

}  // namespace backside::auth
