// `backside rules check FILE`.
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.h"
#include "rules/rules.h"

namespace backside::app {

int check_rules_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << file << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto rules = rules::Rules::parse(text.str());
  if (!rules) {
    std::cout << file << ": " << rules.error().message << "\n";
    return 1;
  }
  std::cout << "ok\n";
  return 0;
}

}  // namespace backside::app
