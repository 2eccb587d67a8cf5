// libFuzzer target for whole rules files: the commented-JSON parser, the rules tree builder, every expression's
// compiler, and the read and write checks that walk the compiled tree (cascading .read/.write, .validate below
// each written location, wildcards) over an overlay like the database's. Any input must load or fail with an
// error, and every check must answer, never crash, hang or leak.
// Input: a rules file, optionally followed by a NUL byte and a JSON object used as a multi-path update at the root
// (keys are paths, values the data written there).
// Build: scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/rules.h"
#include "tree/json_codec.h"
#include "tree/json_parse.h"

namespace {

using namespace backside;

// The update's locations and values; invalid keys and values are dropped, and so are locations below another
// (the database refuses those before its rules check, which requires disjoint locations).
std::vector<std::pair<tree::Path, tree::Node>> parse_update(std::string_view text) {
  std::vector<std::pair<tree::Path, tree::Node>> writes;
  boost::json::parse_options options;
  options.max_depth = tree::kMaxDepth + 8;
  boost::system::error_code ec;
  const boost::json::value update = tree::parse_json_value(text, ec, options);
  if (ec || !update.is_object()) return writes;
  constexpr std::size_t kMaxKeys = 64;  // enough for interesting overlays; keeps each run fast
  for (const auto& [key, json] : update.get_object()) {
    if (writes.size() == kMaxKeys) break;
    auto path = tree::Path::parse(std::string_view(key));
    if (!path) continue;
    auto value = tree::from_json(json, {.base_depth = path->size()});
    if (!value) continue;
    writes.emplace_back(std::move(*path), std::move(*value));
  }
  std::sort(writes.begin(), writes.end(),
            [](const auto& a, const auto& b) { return a.first.segments() < b.first.segments(); });
  std::vector<std::pair<tree::Path, tree::Node>> disjoint;
  for (auto& write : writes) {
    if (!disjoint.empty() && disjoint.back().first.is_prefix_of(write.first)) continue;
    disjoint.push_back(std::move(write));
  }
  return disjoint;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  const std::string_view rules_text = input.substr(0, split);
  auto rules = rules::Rules::parse(rules_text);
  if (!rules) return 0;

  static const tree::Node root =
      tree::parse_json(R"({"users":{"u":{"name":"n","age":3},"v":{"name":7}},"items":{"a":{"owner":"u","n":1}},)"
                       R"("flag":true,"list":[1,"x",null]})")
          .value();
  static const identity::Identity user{
      .variable = std::make_shared<const boost::json::value>(
          boost::json::object{{"uid", "u"}, {"provider", "password"}, {"token", boost::json::object{{"admin", true}}}})};
  static const identity::Identity anonymous;
  static const std::vector<tree::Path> paths = {
      tree::Path(), tree::Path({"users"}), tree::Path({"users", "u"}), tree::Path({"users", "u", "name"}),
      tree::Path({"items", "a", "owner"}), tree::Path({"flag"}), tree::Path({"missing", "x", "y"})};
  const rules::QueryInfo query = {.order_by_child = "owner", .equal_to = tree::Node::Leaf(std::string("u")),
                                  .limit_to_first = 10};

  const auto writes = parse_update(split == std::string_view::npos ? std::string_view() : input.substr(split + 1));
  std::vector<tree::Path> locations;
  std::vector<std::pair<tree::Path, const tree::Node*>> overlay;
  for (const auto& [path, value] : writes) {
    locations.push_back(path);
    overlay.emplace_back(path, &value);
  }
  if (locations.empty()) {  // a set somewhere, so that every input exercises a write check
    static const tree::Node written = tree::parse_json(R"({"name":"w","age":{"y":1}})").value();
    locations.push_back(tree::Path({"users", "u"}));
    overlay.emplace_back(locations.back(), &written);
  }
  const rules::NodeView before(root);
  const rules::OverlayView after(root, std::move(overlay));

  for (const identity::Identity* auth : {&user, &anonymous}) {
    for (const tree::Path& path : paths) {
      const bool allowed = rules::can_read(**rules, path, root, *auth, 1700000000000, nullptr);
      rules::can_read(**rules, path, root, *auth, 1700000000000, &query);
      (*rules)->index_on(path);
      // Traced (the rules playground), the decision is the same.
      rules::Trace trace;
      if (rules::can_read(**rules, path, root, *auth, 1700000000000, nullptr, &trace) != allowed) std::abort();
    }
    const bool allowed = rules::check_write(**rules, locations, before, after, *auth, 1700000000000).ok();
    rules::Trace trace;
    if (rules::check_write(**rules, locations, before, after, *auth, 1700000000000, &trace).ok() != allowed) {
      std::abort();
    }
  }
  return 0;
}
