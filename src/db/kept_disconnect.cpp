#include "db/kept_disconnect.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <exception>

#include "db/forwarded_write.h"
#include "db/sparse_writes.h"

namespace backside::db {

namespace json = boost::json;

namespace {

std::string location_text(const WritePath& location) {
  std::string text = location.path.to_string();
  if (location.priority) text += text == "/" ? ".priority" : "/.priority";
  return text;
}

// Values nest up to 32 levels below their location, inside the envelope.
const json::parse_options kParseOptions = [] {
  json::parse_options options;
  options.max_depth = 128;
  return options;
}();

}  // namespace

std::string encode_kept_set(const WritePath& location, const json::value& value, const identity::Identity& auth) {
  return json::serialize(json::object{{"set", location_text(location)}, {"value", value}, {"auth", encode_identity(auth)}});
}

std::string encode_kept_update(const tree::Path& path, const json::value& children, const identity::Identity& auth) {
  return json::serialize(json::object{{"update", path.to_string()}, {"value", children}, {"auth", encode_identity(auth)}});
}

std::string encode_kept_cancel(const tree::Path& path) {
  return json::serialize(json::object{{"cancel", path.to_string()}});
}

Result<std::optional<WriteRequest>> replay_kept(const std::vector<std::string>& operations) {
  SparseWrites writes;
  identity::Identity auth;
  try {
    for (const std::string& bytes : operations) {
      const json::value parsed = json::parse(bytes, {}, kParseOptions);
      const json::object& operation = parsed.as_object();
      if (const json::value* set = operation.if_contains("set")) {
        auto location = parse_write_path(std::string_view(set->as_string()));
        if (!location) return invalid("kept onDisconnect operation: " + location.error().message);
        const json::value* value = operation.if_contains("value");
        const json::value* identity = operation.if_contains("auth");
        if (!value || !identity) return invalid("kept onDisconnect operation: a set without its value or auth");
        auth = decode_identity(*identity);
        writes.set(*location, *value);
      } else if (const json::value* update = operation.if_contains("update")) {
        auto path = tree::Path::parse(update->as_string());
        if (!path) return invalid("kept onDisconnect operation: " + path.error().message);
        const json::value* value = operation.if_contains("value");
        const json::value* identity = operation.if_contains("auth");
        if (!value || !identity) return invalid("kept onDisconnect operation: an update without its value or auth");
        auth = decode_identity(*identity);
        writes.update(*path, value->as_object());
      } else if (const json::value* cancel = operation.if_contains("cancel")) {
        auto path = tree::Path::parse(cancel->as_string());
        if (!path) return invalid("kept onDisconnect operation: " + path.error().message);
        writes.cancel(*path);
      } else {
        return invalid("kept onDisconnect operation: neither a set nor a cancel");
      }
    }
  } catch (const std::exception& e) {
    return invalid(std::string("kept onDisconnect operation: ") + e.what());
  }
  return writes.to_write(std::move(auth));
}

}  // namespace backside::db
