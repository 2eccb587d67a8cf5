#pragma once
// The verification of one database directory that `backside check` runs on a data dir and `backside restore` on
// what it restores, before it restores it.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace backside::app {

// What is wrong with the database in `directory`, or nothing: its store opened read-only and read whole (every row
// decoded, the write-ahead log scanned), its rules.json compiled. `leaves` gets the number of leaves read.
std::vector<std::string> check_database(const std::filesystem::path& directory, std::size_t& leaves);

}  // namespace backside::app
