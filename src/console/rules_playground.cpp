#include "console/rules_playground.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include "db/write_path.h"
#include "proto/rest/rest_handler.h"
#include "rules/rules.h"
#include "tree/json_parse.h"
#include "util/budgeted_json_storage.h"
#include "util/unix_time.h"

namespace backside::console {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "/.console/api/";
constexpr std::string_view kSimulate = "/.console/api/rules/simulate";
constexpr const char* kBodyShape =
    R"(The body must be a JSON object: {"operation": "read" | "write", "path": "/a/b", "auth": null | {"uid": "...", )"
    R"("token": {...}}, "data": <for a write>, "rules": <optional rules source>})";

// Where the reply goes, with what the request said about the connection.
struct Reply {
  std::shared_ptr<net::HttpExchange> exchange;
  unsigned version = 11;
  bool keep_alive = true;

  void json(unsigned status, std::string body) const {
    net::HttpResponse response(static_cast<http::status>(status), version);
    response.set(http::field::content_type, "application/json; charset=utf-8");
    response.set(http::field::cache_control, "no-store");
    response.set(http::field::access_control_allow_origin, "*");  // as REST: authorization is by token
    response.body() = std::move(body);
    response.keep_alive(keep_alive);
    response.prepare_payload();
    exchange->reply(std::move(response));
  }
  void error(unsigned status, const std::string& message) const { exchange->reply(error_response(status, message)); }
  net::HttpResponse error_response(unsigned status, const std::string& message) const {
    auto response = proto::rest::error_response(status, message, version);
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(keep_alive);
    return response;
  }
  void error(const Error& e) const {
    unsigned status = 500;
    switch (e.code) {
      case ErrorCode::invalid_argument: status = 400; break;
      case ErrorCode::too_large: status = 413; break;
      case ErrorCode::permission_denied:
      case ErrorCode::invalid_token: status = 401; break;
      case ErrorCode::hash_mismatch: status = 412; break;
      case ErrorCode::not_found: status = 404; break;
      case ErrorCode::unavailable: status = 503; break;
      case ErrorCode::internal: status = 500; break;
    }
    error(status, e.message);
  }
};

// A simulated request, checked and ready to run.
struct Simulation {
  bool write = false;
  db::WritePath location;
  identity::Identity auth;
  json::value data;  // write: the value to set (null deletes)
  std::shared_ptr<const rules::Rules> rules;  // the override; null: the database's
};

// The rules' `auth` from {"uid": "...", "token": {claims}}: the claims as an ID token of that user would carry
// them (sub, and user_id when given, are the uid), read by the same code as ID tokens on every door.
Result<identity::Identity> simulated_auth(const json::value& value) {
  if (value.is_null()) return identity::Identity();
  if (!value.is_object()) return invalid(R"("auth" must be null (signed out) or {"uid": "...", "token": {...}})");
  const json::object& auth = value.get_object();
  for (const auto& [key, member] : auth) {
    if (key != "uid" && key != "token") {
      return invalid("Unknown field \"auth." + std::string(key) + "\": auth has \"uid\" and \"token\"");
    }
  }
  const json::value* uid = auth.if_contains("uid");
  if (!uid || !uid->is_string() || uid->get_string().empty()) {
    return invalid(R"("auth.uid" must be a non-empty string (use "auth": null for a signed-out request))");
  }
  json::object claims;
  if (const json::value* token = auth.if_contains("token"); token && !token->is_null()) {
    if (!token->is_object()) return invalid(R"("auth.token" must be an object of claims)");
    claims = token->get_object();
  }
  for (const char* name : {"sub", "user_id"}) {
    if (const json::value* claim = claims.if_contains(name); claim && *claim != *uid) {
      return invalid("\"auth.token." + std::string(name) + "\" must be the uid (" + json::serialize(*uid) +
                     ") or left out");
    }
  }
  claims["sub"] = *uid;
  return identity::Identity::from_token_claims(claims);
}

Result<Simulation> parse_simulation(const json::value& body) {
  if (!body.is_object()) return invalid(kBodyShape);
  const json::object& request = body.get_object();
  for (const auto& [key, value] : request) {
    if (key != "operation" && key != "path" && key != "auth" && key != "data" && key != "rules") {
      return invalid("Unknown field \"" + std::string(key) + "\". " + kBodyShape);
    }
  }
  Simulation simulation;
  const json::value* operation = request.if_contains("operation");
  if (!operation || !operation->is_string() ||
      (operation->get_string() != "read" && operation->get_string() != "write")) {
    return invalid(R"("operation" must be "read" or "write")");
  }
  simulation.write = operation->get_string() == "write";

  const json::value* path = request.if_contains("path");
  if (!path || !path->is_string()) return invalid(R"("path" must be a string, e.g. "/users/alice")");
  auto location = db::parse_write_path(path->get_string());
  if (!location) return invalid("Invalid path " + json::serialize(*path) + ": " + location.error().message);
  simulation.location = std::move(*location);

  auto auth = simulated_auth(request.contains("auth") ? request.at("auth") : json::value(nullptr));
  if (!auth) return auth.error();
  simulation.auth = std::move(*auth);

  const json::value* data = request.if_contains("data");
  if (simulation.write) {
    if (!data) return invalid(R"(A write needs "data": the value to write (null deletes))");
    simulation.data = *data;
  } else if (data && !data->is_null()) {
    return invalid(R"("data" is for writes: a read has none)");
  }

  if (const json::value* text = request.if_contains("rules"); text && !text->is_null()) {
    if (!text->is_string()) {
      return invalid(R"("rules" must be the rules source as a string ({"rules": {...}}, comments allowed))");
    }
    auto parsed = rules::Rules::parse(text->get_string());
    if (!parsed) return parsed.error();
    simulation.rules = std::move(*parsed);
  }
  return simulation;
}

// What the console shows above the trace: the rule that decided, in words.
std::string outcome_message(const Simulation& simulation, bool allowed, const rules::Trace& trace) {
  const std::string operation = simulation.write ? "Write" : "Read";
  const std::string kind = simulation.write ? ".write" : ".read";
  const std::string at = simulation.location.path.to_string();
  using Result = rules::TraceEntry::Result;
  if (allowed) {
    std::string message = operation + " allowed";
    for (const auto& entry : trace.entries) {
      if (entry.kind != rules::RuleKind::validate && entry.result == Result::allow) {
        message += " by " + entry.rule_path;
        break;
      }
    }
    for (const auto& entry : trace.entries) {
      if (entry.kind == rules::RuleKind::validate) return message + "; every .validate of the new data passed";
    }
    return message;
  }
  if (!trace.entries.empty()) {
    const rules::TraceEntry& last = trace.entries.back();
    if (last.kind == rules::RuleKind::validate) {
      std::string message = "Permission denied: " + last.rule_path + " refused the new data at " +
                            last.path.to_string();
      if (last.result == Result::error) message += " (" + last.error + ")";
      return message;
    }
    return "Permission denied: no " + kind + " rule from the root to " + at + " allowed it";
  }
  return "Permission denied: no " + kind + " rule applies to " + at + " (denied by default)";
}

std::string simulation_reply(const Simulation& simulation, bool allowed, const rules::Trace& trace) {
  json::array entries;
  entries.reserve(trace.entries.size());
  for (const rules::TraceEntry& entry : trace.entries) {
    json::object item;
    item["rule_path"] = entry.rule_path;
    item["path"] = entry.path.to_string();
    item["kind"] = rules::kind_name(entry.kind);
    item["expression"] = entry.expression;
    item["result"] = rules::result_name(entry.result);
    if (entry.result == rules::TraceEntry::Result::error) item["error"] = entry.error;
    if (entry.result == rules::TraceEntry::Result::skipped) item["note"] = entry.error;
    entries.emplace_back(std::move(item));
  }
  json::object reply;
  reply["allowed"] = allowed;
  reply["message"] = outcome_message(simulation, allowed, trace);
  reply["trace"] = std::move(entries);
  if (trace.omitted > 0) reply["trace_omitted"] = trace.omitted;  // past rules::Trace::kMaxEntries
  return json::serialize(reply);
}

}  // namespace

RulesPlayground::RulesPlayground(db::Registry& registry, RulesPlaygroundOptions options)
    : registry_(registry), options_(std::move(options)) {}

bool RulesPlayground::handles(std::string_view path) { return path.starts_with(kPrefix); }

void RulesPlayground::handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  const Reply reply{exchange, request.version(), request.keep_alive()};
  std::string_view target = request.target();
  const std::string path(target.substr(0, target.find('?')));
  std::string ns = options_.default_namespace;
  std::string credential;
  if (auto url = boost::urls::parse_origin_form(target)) {
    for (auto param : url->params()) {
      if (param.key == "ns") ns = param.value;
      if (param.key == "auth") credential = param.value;
    }
  }
  if (auto header = request[http::field::authorization]; credential.empty() && !header.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (header.size() <= kBearer.size() || !boost::algorithm::istarts_with(header, kBearer)) {
      return reply.error(401, "Authorization must be \"Bearer <token>\"");
    }
    credential = std::string(header.substr(kBearer.size()));
  }
  if (credential.empty()) {
    auto response = reply.error_response(
        401, "The console API needs the admin credential: Authorization: Bearer <admin token>");
    response.set(http::field::www_authenticate, "Bearer realm=\"backside console\"");
    return exchange->reply(std::move(response));
  }
  auto identity = options_.authenticator->authenticate(ns, credential);
  if (!identity) return reply.error(401, identity.error().message);
  if (!identity->admin) return reply.error(403, "Permission denied: the console API is for the admin credential only");

  if (path == kSimulate) {
    if (request.method() != http::verb::post) {
      auto response = reply.error_response(405, "Use POST on " + path);
      response.set(http::field::allow, "POST");
      return exchange->reply(std::move(response));
    }
    return simulate(request, ns, exchange);
  }
  reply.error(404, "Not found: " + path);
}

void RulesPlayground::simulate(const net::HttpRequest& request, const std::string& ns,
                          const std::shared_ptr<net::HttpExchange>& exchange) {
  const Reply reply{exchange, request.version(), request.keep_alive()};
  // The body is bounded by max_body_bytes, as a rules deploy and a write are, and its parsed JSON is charged to
  // the memory budget, as a write's is.
  if (request.body().empty()) return reply.error(400, kBodyShape);
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = tree::kMaxDepth + 9;  // the data, inside the body object
  json::value body = tree::parse_json_value(request.body(), ec, options, budgeted_json_storage(options_.memory_budget, request.body().size()));
  if (ec == json::error::too_deep) return reply.error(400, "Data is too deep: more than 32 levels");
  if (ec == boost::system::errc::not_enough_memory) {
    return reply.error(503, "The server has no memory left for this request's data (max_buffered_bytes); try again later");
  }
  if (ec) return reply.error(400, "Invalid JSON body: " + ec.message());
  auto parsed = parse_simulation(body);
  if (!parsed) return reply.error(400, parsed.error().message);
  auto simulation = std::make_shared<Simulation>(std::move(*parsed));

  auto database = registry_.get(ns);
  if (!database) return reply.error(database.error());
  db::Database& db = **database;
  auto trace = std::make_shared<rules::Trace>();

  if (!simulation->write) {
    // As Database::read decides: can_read over the committed tree, on the writer thread, at the server's time.
    std::shared_ptr<const rules::Rules> rules = simulation->rules ? simulation->rules : db.rules()->compiled;
    const bool queued = db.run([reply, simulation, rules, trace](const tree::Node& root) {
      const bool allowed = rules::can_read(*rules, simulation->location.path, root, simulation->auth,
                                           static_cast<double>(unix_millis()), nullptr, trace.get());
      reply.json(200, simulation_reply(*simulation, allowed, *trace));
    });
    if (!queued) reply.error(503, "The database is closed");
    return;
  }

  // A write takes the database's own write path as a dry run: the same data checks and rules as a real one.
  db::WriteRequest write;
  write.op = simulation->location.priority ? db::WriteRequest::Op::set_priority : db::WriteRequest::Op::set;
  write.path = simulation->location.path;
  write.data = std::move(simulation->data);
  write.auth = simulation->auth;
  write.simulation = db::WriteRequest::Simulation{simulation->rules, trace};
  db.write(std::move(write), [reply, simulation, trace](db::WriteReply&& answer) {
    if (answer.error && answer.error->code != ErrorCode::permission_denied) return reply.error(*answer.error);
    reply.json(200, simulation_reply(*simulation, !answer.error, *trace));
  });
}

}  // namespace backside::console
