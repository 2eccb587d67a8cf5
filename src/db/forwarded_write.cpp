#include "db/forwarded_write.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <exception>

#include "tree/json_codec.h"

namespace backside::db {

namespace json = boost::json;

namespace {

constexpr std::array<const char*, 4> kOps = {"set", "update", "push", "set_priority"};
constexpr std::array<const char*, 8> kCodes = {"invalid_argument", "permission_denied", "invalid_token",
                                               "hash_mismatch",    "too_large",         "not_found",
                                               "unavailable",      "internal"};

// Data nests up to 32 levels below its location, inside the envelope.
const json::parse_options kParseOptions = [] {
  json::parse_options options;
  options.max_depth = 128;
  return options;
}();

json::value node_json(const tree::Node& node) { return tree::to_json_value(node, tree::Format::export_); }

tree::Node json_node(const json::value& value) {
  auto node = tree::from_json(value);
  if (!node) throw std::invalid_argument(node.error().message);
  return std::move(*node);
}

const json::value& field(const json::object& object, const char* name) {
  const json::value* value = object.if_contains(name);
  if (!value) throw std::invalid_argument(std::string("no \"") + name + "\"");
  return *value;
}

}  // namespace

json::value encode_identity(const identity::Identity& auth) {
  json::object out;
  out["admin"] = auth.admin;
  out["variable"] = auth.variable ? *auth.variable : json::value(nullptr);
  out["expires_at"] = auth.expires_at;
  return out;
}

identity::Identity decode_identity(const json::value& value) {
  const json::object& in = value.as_object();
  identity::Identity auth;
  auth.admin = field(in, "admin").as_bool();
  if (const json::value& variable = field(in, "variable"); !variable.is_null()) {
    auth.variable = std::make_shared<const json::value>(variable);
  }
  auth.expires_at = field(in, "expires_at").to_number<std::int64_t>();
  return auth;
}

std::string encode_forwarded_write(const WriteRequest& request) {
  json::object out;
  out["op"] = kOps[static_cast<std::size_t>(request.op)];
  out["path"] = request.path.to_string();
  out["data"] = request.data;
  out["auth"] = encode_identity(request.auth);
  if (request.if_hash) out["if_hash"] = *request.if_hash;
  out["want_written"] = request.want_written;
  out["want_hash"] = request.want_hash;
  if (request.size_limit) {
    out["size_limit"] = json::array{request.size_limit->max_bytes, request.size_limit->sent_bytes};
  }
  return json::serialize(out);
}

Result<WriteRequest> decode_forwarded_write(std::string_view bytes) {
  try {
    const json::value parsed = json::parse(bytes, {}, kParseOptions);
    const json::object& in = parsed.as_object();
    WriteRequest request;
    const json::string& op = field(in, "op").as_string();
    std::size_t index = 0;
    while (index < kOps.size() && op != kOps[index]) ++index;
    if (index == kOps.size()) return invalid("forwarded write: unknown op " + std::string(op));
    request.op = static_cast<WriteRequest::Op>(index);
    auto path = tree::Path::parse(field(in, "path").as_string());
    if (!path) return path.error();
    request.path = std::move(*path);
    request.data = field(in, "data");
    request.auth = decode_identity(field(in, "auth"));
    if (const json::value* hash = in.if_contains("if_hash")) request.if_hash = std::string(hash->as_string());
    request.want_written = field(in, "want_written").as_bool();
    request.want_hash = field(in, "want_hash").as_bool();
    if (const json::value* limit = in.if_contains("size_limit")) {
      request.size_limit = WriteSizeLimit{.max_bytes = limit->as_array().at(0).to_number<std::size_t>(),
                                          .sent_bytes = limit->as_array().at(1).to_number<std::size_t>()};
    }
    return request;
  } catch (const std::exception& e) {
    return invalid(std::string("forwarded write: ") + e.what());
  }
}

std::string encode_forwarded_reply(const WriteReply& reply) {
  json::object out;
  if (reply.error) {
    out["error"] = json::object{{"code", kCodes[static_cast<std::size_t>(reply.error->code)]},
                                {"message", reply.error->message}};
  }
  out["sequence"] = reply.sequence;
  if (!reply.push_key.empty()) out["push_key"] = reply.push_key;
  out["written"] = node_json(reply.written);
  json::array entries;
  for (const auto& [key, value] : reply.written_entries) entries.push_back(json::array{json::string(key), node_json(value)});
  out["written_entries"] = std::move(entries);
  out["new_hash"] = reply.new_hash;
  out["readable"] = reply.readable;
  out["sent"] = reply.sent;
  out["current"] = node_json(reply.current);
  out["current_hash"] = reply.current_hash;
  return json::serialize(out);
}

Result<WriteReply> decode_forwarded_reply(std::string_view bytes) {
  try {
    const json::value parsed = json::parse(bytes, {}, kParseOptions);
    const json::object& in = parsed.as_object();
    WriteReply reply;
    if (const json::value* error = in.if_contains("error")) {
      const json::string& code = field(error->as_object(), "code").as_string();
      std::size_t index = 0;
      while (index < kCodes.size() && code != kCodes[index]) ++index;
      reply.error = Error{index < kCodes.size() ? static_cast<ErrorCode>(index) : ErrorCode::internal,
                          std::string(field(error->as_object(), "message").as_string())};
    }
    reply.sequence = field(in, "sequence").to_number<std::uint64_t>();
    if (const json::value* key = in.if_contains("push_key")) reply.push_key = std::string(key->as_string());
    reply.written = json_node(field(in, "written"));
    for (const json::value& entry : field(in, "written_entries").as_array()) {
      reply.written_entries.emplace_back(std::string(entry.as_array().at(0).as_string()),
                                         json_node(entry.as_array().at(1)));
    }
    reply.new_hash = std::string(field(in, "new_hash").as_string());
    reply.readable = field(in, "readable").as_bool();
    reply.sent = field(in, "sent");
    reply.current = json_node(field(in, "current"));
    reply.current_hash = std::string(field(in, "current_hash").as_string());
    return reply;
  } catch (const std::exception& e) {
    return invalid(std::string("forwarded reply: ") + e.what());
  }
}

}  // namespace backside::db
