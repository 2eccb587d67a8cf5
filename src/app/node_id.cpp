#include "app/node_id.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/secure_random.h"

namespace backside::app {

namespace fs = std::filesystem;

Result<std::string> load_or_create_node_id(const std::string& data_dir) {
  const fs::path file = fs::path(data_dir) / "node-id";
  std::error_code ec;
  if (fs::exists(file, ec)) {
    std::ifstream in(file);
    std::string id;
    std::getline(in, id);
    if (id.empty() || id.size() > 200) {
      return Error{ErrorCode::internal, file.string() + " does not hold a node id (one line of 1 to 200 characters); "
                                        "remove it to get a new one"};
    }
    return id;
  }
  // The host name makes leases readable to an operator; the random part makes two nodes on one host distinct.
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  const std::string id = std::string(host[0] != '\0' ? host : "node") + "-" +
                         secure_random_string(12, "abcdefghijklmnopqrstuvwxyz0123456789");
  const fs::path temporary = fs::path(data_dir) / "node-id.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << id << '\n';
    out.flush();
    if (!out) return Error{ErrorCode::unavailable, "cannot write " + temporary.string()};
  }
  fs::rename(temporary, file, ec);
  if (ec) return Error{ErrorCode::unavailable, "cannot create " + file.string() + ": " + ec.message()};
  return id;
}

}  // namespace backside::app
