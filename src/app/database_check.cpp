#include "app/database_check.h"

#include <fstream>
#include <sstream>

#include "db/registry.h"
#include "store/store.h"

namespace backside::app {

namespace fs = std::filesystem;

std::vector<std::string> check_database(const fs::path& directory, std::size_t& leaves) {
  std::vector<std::string> problems;
  auto store = store::open_lmdb_store({.directory = directory.string(), .read_only = true});
  if (!store) {
    problems.push_back(store.error().message);
  } else if (auto root = (*store)->load(); !root) {
    problems.push_back(root.error().message);
  } else {
    leaves = root->root.leaf_count();
  }
  const fs::path rules = directory / "rules.json";
  std::error_code ec;
  if (fs::exists(rules, ec)) {
    std::ifstream in(rules, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (auto compiled = db::Registry::compile_rules(text.str()); !compiled) {
      problems.push_back(rules.string() + " is damaged (the server applies closed rules): " +
                         compiled.error().message);
    }
  }
  return problems;
}

}  // namespace backside::app
