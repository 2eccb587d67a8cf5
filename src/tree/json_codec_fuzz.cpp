// libFuzzer target for the JSON -> Node codec (built by scripts/fuzz.sh). Beyond "no crash, no leak, no UB":
// whatever parses must render to export JSON that parses back to the same node with the same hash, and the plain
// rendering must be valid JSON.
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tree/hash.h"
#include "tree/json_codec.h"

using namespace backside::tree;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ServerValues server_values{1.7e12};
  Node existing = Node::leaf(5.0);
  ParseOptions options{.base_depth = size % 4, .server_values = &server_values, .existing = &existing};
  auto parsed = parse_json(text, options);
  if (!parsed) return 0;
  std::string exported = to_json(*parsed, {.format = Format::export_});
  auto again = parse_json(exported, {.base_depth = options.base_depth});
  if (!again || !(*again == *parsed) || node_hash(*again) != node_hash(*parsed)) std::abort();
  boost::system::error_code ec;
  boost::json::parse(to_json(*parsed, {.format = Format::plain, .pretty = (size & 1) != 0}), ec);
  if (ec) std::abort();
  return 0;
}
