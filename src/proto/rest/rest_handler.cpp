#include "proto/rest/rest_handler.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <cstring>
#include <map>

#include "db/write_path.h"
#include "proto/rest/read_timeout.h"
#include "proto/rest/reply_deadline.h"
#include "proto/rest/sse_subscriber.h"
#include "proto/rest/write_size_limit.h"
#include "tree/query_params.h"
#include "tree/hash.h"
#include "tree/json_codec.h"
#include "tree/json_parse.h"
#include "util/budgeted_json_storage.h"

namespace backside::proto::rest {

namespace http = boost::beast::http;
namespace json = boost::json;
using tree::Node;

namespace {

constexpr std::string_view kNullEtag = "null_etag";
constexpr const char* kInvalidJson = "Invalid data; couldn't parse JSON object, array, or value.";
constexpr const char* kNoMemoryForData =
    "The server has no memory left for this request's data (max_buffered_bytes); try again later";

void set_common_headers(net::HttpResponse& response) {
  response.set(http::field::access_control_allow_origin, "*");
  response.set(http::field::cache_control, "no-cache");
}

unsigned status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return 400;
    case ErrorCode::too_large: return 413;
    case ErrorCode::permission_denied: return 401;
    case ErrorCode::invalid_token: return 401;
    case ErrorCode::hash_mismatch: return 412;
    case ErrorCode::not_found: return 404;
    case ErrorCode::unavailable: return 503;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

std::string etag_of(const std::string& hash) { return hash.empty() ? std::string(kNullEtag) : hash; }

}  // namespace

// Everything about one request that the reply needs once the database answers (from a database thread).
struct Call {
  std::shared_ptr<net::HttpExchange> exchange;
  unsigned version = 11;
  bool keep_alive = true;
  std::map<std::string, std::string> params;
  bool pretty = false;
  bool silent = false;
  tree::Format format = tree::Format::plain;

  net::HttpResponse json_response(unsigned status, std::string body) const {
    net::HttpResponse response(static_cast<http::status>(status), version);
    set_common_headers(response);
    if (silent && status < 300) {
      response.result(http::status::no_content);
    } else {
      response.set(http::field::content_type, "application/json; charset=utf-8");
      response.body() = std::move(body);
    }
    response.keep_alive(keep_alive);
    response.prepare_payload();
    return response;
  }
  void reply_json(unsigned status, std::string body) const { exchange->reply(json_response(status, std::move(body))); }
  void reply_node(unsigned status, const Node& node, const std::string* etag = nullptr) const {
    auto response = json_response(status, tree::to_json(node, {.format = format, .pretty = pretty}));
    if (etag) response.set(http::field::etag, *etag);
    exchange->reply(std::move(response));
  }
  net::HttpResponse error_reply(unsigned status, const std::string& message) const {
    auto response = error_response(status, message, version);
    response.keep_alive(keep_alive);
    return response;
  }
  net::HttpResponse error_reply(const Error& error) const { return error_reply(status_for(error.code), error.message); }
  void reply_error(unsigned status, const std::string& message) const { exchange->reply(error_reply(status, message)); }
  void reply_error(const Error& error) const { exchange->reply(error_reply(error)); }
  const std::string* param(const char* name) const {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  }
};

namespace {

// `?download=NAME` (already checked by valid_download_name) as RFC 6266 has it: an ASCII fallback in quotes, with
// anything that could end or escape the quoted string replaced, and the exact name percent-encoded in filename*.
std::string content_disposition(const std::string& name) {
  std::string fallback;
  std::string encoded;
  for (unsigned char c : name) {
    const bool plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%';
    fallback += plain ? static_cast<char>(c) : '_';
    // RFC 8187 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"
    if (std::isalnum(c) || (c != 0 && std::strchr("!#$&+-.^_`|~", c) != nullptr)) {
      encoded += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" + encoded;
}

// Renders a read: plain/export, shallow, JSONP callback, download.
net::HttpResponse read_response(const Call& call, const Node& value, bool shallow, const std::string* etag) {
  std::string body = shallow ? tree::to_shallow_json(value, call.pretty)
                             : tree::to_json(value, {.format = call.format, .pretty = call.pretty});
  std::string content_type = "application/json; charset=utf-8";
  if (const std::string* callback = call.param("callback")) {
    body = *callback + "(" + body + ");";
    content_type = "application/javascript; charset=utf-8";
  }
  auto response = call.json_response(200, std::move(body));
  if (!call.silent) response.set(http::field::content_type, content_type);
  if (etag) response.set(http::field::etag, *etag);
  if (const std::string* download = call.param("download")) {
    response.set(http::field::content_disposition, content_disposition(*download));
  }
  return response;
}

bool valid_callback_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '.')) return false;
  }
  return true;
}

// A download name is sent back in a header: no control characters (CR and LF would end it), bounded.
bool valid_download_name(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

net::HttpResponse error_response(unsigned status, const std::string& message, unsigned version) {
  net::HttpResponse response(static_cast<http::status>(status), version);
  set_common_headers(response);
  response.set(http::field::content_type, "application/json; charset=utf-8");
  std::string body = "{\"error\":";
  tree::append_string(body, message);
  body += "}";
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

// GET/PUT /.settings/rules.json?ns=NS (docs/rest.md): the admin reads or replaces a database's rules.
void RestHandler::handle_rules_settings(const net::HttpRequest& request, const Call& call, const std::string& ns,
                                        const identity::Identity& auth) {
  if (!auth.admin) return call.reply_error(401, "Permission denied: rules need the admin credential");
  const std::string method(request.method_string());
  if (method == "GET") {
    auto database = registry_.get(ns);
    if (!database) return call.reply_error(database.error());
    auto response = call.json_response(200, (*database)->rules()->text);
    return call.exchange->reply(std::move(response));
  }
  if (method != "PUT") return call.reply_error(405, "Use GET or PUT on /.settings/rules.json");
  if (auto status = registry_.set_rules(ns, request.body()); !status) return call.reply_error(status.error());
  call.reply_json(200, R"({"status":"ok"})");
}

// GET/PUT/DELETE /.settings/tenants.json?ns=NS (docs/auth.md): the admin reads or limits which pools of users the
// database accepts ID tokens of: {"accept": null} (every pool, the default) or {"accept": ["@project", "<tenant>"]}.
void RestHandler::handle_tenants_settings(const net::HttpRequest& request, const Call& call, const std::string& ns,
                                          const identity::Identity& auth) {
  if (!options_.accepted_users) return call.reply_error(404, "Not found: /.settings/tenants.json");
  if (!auth.admin) return call.reply_error(401, "Permission denied: tenants settings need the admin credential");
  auto database = registry_.get(ns);  // a database that exists: the setting lives in its folder
  if (!database) return call.reply_error(database.error());
  const std::string method(request.method_string());
  auto answer = [&](const auth::AcceptedUsers::Pools& pools) {
    json::value accept = nullptr;
    if (pools) {
      json::array names;
      for (const auto& pool : *pools) names.emplace_back(pool);
      accept = std::move(names);
    }
    call.reply_json(200, json::serialize(json::object{{"accept", std::move(accept)}}));
  };
  if (method == "GET") return answer(options_.accepted_users->of(ns));
  auth::AcceptedUsers::Pools pools;
  if (method == "PUT") {
    boost::system::error_code ec;
    json::value body = json::parse(request.body(), ec);
    const json::value* accept = !ec && body.is_object() ? body.get_object().if_contains("accept") : nullptr;
    if (!accept || !(accept->is_null() || accept->is_array())) {
      return call.reply_error(400, R"(The body must be {"accept": null} (every pool) or {"accept": ["@project", "<tenant id>", ...]})");
    }
    if (accept->is_array()) {
      pools.emplace();
      for (const auto& pool : accept->get_array()) {
        if (!pool.is_string()) return call.reply_error(400, "Each pool in \"accept\" is a string: a tenant id or @project");
        pools->emplace_back(pool.get_string());
      }
    }
  } else if (method != "DELETE") {
    return call.reply_error(405, "Use GET, PUT or DELETE on /.settings/tenants.json");
  }
  if (auto status = options_.accepted_users->set(ns, pools); !status) return call.reply_error(status.error());
  answer(options_.accepted_users->of(ns));
}

RestHandler::RestHandler(db::Registry& registry, RestOptions options)
    : registry_(registry), options_(std::move(options)) {}

void RestHandler::handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  auto call = std::make_shared<Call>();
  call->exchange = std::move(exchange);
  call->version = request.version();
  call->keep_alive = request.keep_alive();

  // Clients (curl with orderBy="$key", browsers) often leave quotes and the like unencoded: encode them.
  std::string target;
  for (unsigned char c : std::string_view(request.target())) {
    if (c <= 0x20 || c >= 0x7f || std::strchr("\"<>\\^`{|}", c)) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      target += '%';
      target += kHex[c >> 4];
      target += kHex[c & 15];
    } else {
      target += static_cast<char>(c);
    }
  }
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return call->reply_error(400, "Invalid request target: " + url.error().message());
  for (auto param : url->params()) call->params[param.key] = param.value;

  // Path: the decoded segments, minus the ".json" suffix.
  std::string path_text;
  for (auto segment : url->segments()) {
    path_text += '/';
    path_text += segment;
  }
  constexpr std::string_view kSuffix = ".json";
  if (path_text.size() < kSuffix.size() || path_text.compare(path_text.size() - kSuffix.size(), kSuffix.size(),
                                                              kSuffix) != 0) {
    return call->reply_error(404, "Not found: REST paths end in .json, e.g. /users/alice.json");
  }
  path_text.resize(path_text.size() - kSuffix.size());

  std::string ns = options_.default_namespace;
  if (const std::string* p = call->param("ns")) ns = *p;
  // The credential: ?auth=TOKEN (Firebase's REST form) or Authorization: Bearer TOKEN.
  std::string_view credential;
  if (const std::string* token = call->param("auth")) {
    credential = *token;
  } else if (auto header = request[http::field::authorization]; !header.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (header.size() <= kBearer.size() || !boost::algorithm::istarts_with(header, kBearer)) {
      return call->reply_error(401, "Authorization must be \"Bearer <token>\"");
    }
    credential = std::string_view(header).substr(kBearer.size());
  }
  auto identity = options_.authenticator->authenticate(ns, credential);
  if (!identity) return call->reply_error(identity.error());
  identity::Identity auth = std::move(*identity);

  if (path_text == "/.settings/rules") return handle_rules_settings(request, *call, ns, auth);
  if (path_text == "/.settings/tenants") return handle_tenants_settings(request, *call, ns, auth);

  auto location = db::parse_write_path(path_text);
  if (!location) return call->reply_error(400, location.error().message);

  // Method, with POST overrides (header or parameter).
  std::string method(request.method_string());
  if (method == "POST") {
    std::string override_method(request["X-HTTP-Method-Override"]);
    if (const std::string* p = call->param("x-http-method-override")) override_method = *p;
    if (!override_method.empty()) {
      for (auto& c : override_method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (override_method != "PUT" && override_method != "PATCH" && override_method != "DELETE" &&
          override_method != "GET" && override_method != "POST") {
        return call->reply_error(400, "Unsupported X-HTTP-Method-Override: " + override_method);
      }
      method = override_method;
    }
  }

  if (const std::string* print = call->param("print")) {
    if (*print == "pretty") {
      call->pretty = true;
    } else if (*print == "silent") {
      call->silent = true;
    } else {
      return call->reply_error(400, "print must be \"pretty\" or \"silent\"");
    }
  }
  if (const std::string* format = call->param("format")) {
    if (*format != "export") return call->reply_error(400, "format must be \"export\"");
    call->format = tree::Format::export_;
  }
  if (const std::string* callback = call->param("callback"); callback && !valid_callback_name(*callback)) {
    return call->reply_error(400, "callback must be a JavaScript identifier");
  }
  if (const std::string* download = call->param("download"); download && !valid_download_name(*download)) {
    return call->reply_error(400, "download must be a file name of 1 to 255 bytes without control characters");
  }
  // timeout bounds reads, writeSizeLimit writes; either is checked on every request, so a mistyped value is never
  // silently ignored.
  std::optional<ReadTimeout> timeout;
  if (const std::string* text = call->param("timeout")) {
    auto parsed = parse_read_timeout(*text);
    if (!parsed) return call->reply_error(parsed.error());
    timeout = std::move(*parsed);
  }
  std::optional<std::size_t> max_write_bytes;
  if (const std::string* text = call->param("writeSizeLimit")) {
    auto parsed = parse_write_size_limit(*text);
    if (!parsed) return call->reply_error(parsed.error());
    max_write_bytes = *parsed;
  }

  // Outside --dev only the admin brings a database into existence, by writing to it (as `PUT /.json?ns=NS` seeds one).
  const bool creates = auth.admin && (method == "PUT" || method == "PATCH" || method == "POST");
  auto database = creates ? registry_.create(ns) : registry_.get(ns);
  if (!database) return call->reply_error(database.error());
  db::Database& db = **database;

  const boost::asio::any_io_executor timers =
      options_.io ? boost::asio::any_io_executor(options_.io->get_executor()) : boost::asio::any_io_executor();
  if (method == "GET") {
    const std::string* shallow_param = call->param("shallow");
    bool shallow = shallow_param && *shallow_param == "true";
    if (shallow_param && *shallow_param != "true" && *shallow_param != "false") {
      return call->reply_error(400, "shallow must be true or false");
    }
    const bool stream = std::string_view(request[http::field::accept]).find("text/event-stream") != std::string::npos;
    // Shallow reads take a query, beyond Firebase, which refuses the pair: the Firebase Emulator UI's data viewer
    // lists a location's keys with shallow=true and the viewer's query, in the form it builds (limitToFirst without
    // orderBy for the SDK's default order, orderBy and bounds as text unless they are JSON). The query selects the
    // children, then they are rendered shallow.
    const bool listing = shallow && !stream;
    auto query = tree::parse_query_params(call->params, {.default_order = listing, .text_values = listing});
    if (!query) return call->reply_error(query.error());
    if (location->priority && (*query || shallow)) {
      return call->reply_error(400, "Queries are not supported on .priority");
    }

    if (stream) {
      if (location->priority) return call->reply_error(400, "Cannot stream .priority");
      SseSubscriber::start(call->exchange, db, call->format, location->path, std::move(*query), std::move(auth),
                           timers, std::move(timeout));
      return;
    }

    // With a timeout, the read is answered by whichever comes first: its value or the timeout's error.
    std::shared_ptr<ReplyDeadline> deadline;
    if (timeout) {
      deadline = ReplyDeadline::start(timers, timeout->duration, [call, message = timeout->expired_message()] {
        call->reply_error(400, message);
      });
    }
    bool want_etag = request["X-Firebase-ETag"] == "true";
    bool priority = location->priority;
    db.read(location->path, std::move(*query), std::move(auth),
            [call, shallow, want_etag, priority, deadline](const Error* error, const Node& value) -> db::ReadSend {
              if (deadline && !deadline->in_time()) return {};  // answered by the timeout: nothing to render
              net::HttpResponse response;
              if (error) {
                response = call->error_reply(*error);
              } else if (priority) {
                response = call->json_response(200, tree::priority_to_json(value.priority()));
              } else {
                std::string etag = want_etag ? etag_of(tree::node_hash(value)) : std::string();
                response = read_response(*call, value, shallow, want_etag ? &etag : nullptr);
              }
              return [call, deadline, response = std::make_shared<net::HttpResponse>(std::move(response))] {
                if (deadline && !deadline->take()) return;  // the time ran out before the answer could go
                call->exchange->reply(std::move(*response));
              };
            });
    return;
  }

  db::WriteRequest write;
  write.door = metrics::Door::rest;
  write.path = location->path;
  write.auth = std::move(auth);
  const bool sends_data = method == "PUT" || method == "POST" || method == "PATCH";
  if (max_write_bytes) write.size_limit = db::WriteSizeLimit{*max_write_bytes, sends_data ? request.body().size() : 0};
  if (sends_data) {
    if (request.body().empty()) return call->reply_error(400, kInvalidJson);
    // What the write sends may be over its writeSizeLimit alone: refused before the body is parsed.
    if (write.size_limit && write.size_limit->sent_bytes > write.size_limit->max_bytes) {
      return call->reply_error(400, std::string(db::kWriteTooBig));
    }
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = tree::kMaxDepth + 8;
    adopt_json(write.data, tree::parse_json_value(request.body(), ec, options,
                                                  budgeted_json_storage(options_.memory_budget, request.body().size())));
    if (ec == json::error::too_deep) return call->reply_error(400, "Data is too deep: more than 32 levels");
    if (ec == boost::system::errc::not_enough_memory) return call->reply_error(503, kNoMemoryForData);
    if (ec) return call->reply_error(400, kInvalidJson);
  }
  if (method == "PUT") {
    write.op = location->priority ? db::WriteRequest::Op::set_priority : db::WriteRequest::Op::set;
  } else if (method == "DELETE") {
    write.op = location->priority ? db::WriteRequest::Op::set_priority : db::WriteRequest::Op::set;
    write.data = nullptr;
  } else if (method == "PATCH") {
    if (location->priority) return call->reply_error(400, "PATCH is not supported on .priority");
    write.op = db::WriteRequest::Op::update;
    if (!write.data.is_object()) {
      return call->reply_error(400, "Invalid data; couldn't parse JSON object. PATCH needs a JSON object.");
    }
  } else if (method == "POST") {
    if (location->priority) return call->reply_error(400, "POST is not supported on .priority");
    write.op = db::WriteRequest::Op::push;
  } else {
    auto response = error_response(405, "Method not allowed: " + method, call->version);
    response.set(http::field::allow, "GET, PUT, POST, PATCH, DELETE, OPTIONS");
    return call->exchange->reply(std::move(response));
  }

  std::string if_match(request[http::field::if_match]);
  if (!if_match.empty()) write.if_hash = if_match == kNullEtag ? std::string() : if_match;
  bool want_etag = !if_match.empty() || request["X-Firebase-ETag"] == "true";
  write.want_hash = want_etag;
  write.want_written = !call->silent && (method == "PUT" || method == "PATCH");
  db::WriteRequest::Op op = write.op;
  bool priority = location->priority;
  db.write(std::move(write), [call, op, want_etag, priority, method](db::WriteReply&& reply) {
    if (reply.error) {
      if (reply.error->code == ErrorCode::hash_mismatch) {
        // The caller's precondition failed: show what is there now, and its ETag.
        std::string etag = etag_of(reply.current_hash);
        return call->reply_node(412, reply.current, &etag);
      }
      return call->reply_error(*reply.error);
    }
    std::string etag = etag_of(reply.new_hash);
    // No ETag for a writer that may not read the location: the hash of the data would tell it.
    const std::string* etag_ptr = want_etag && reply.readable ? &etag : nullptr;
    if (op == db::WriteRequest::Op::push) {
      std::string body = "{\"name\":";
      tree::append_string(body, reply.push_key);
      body += "}";
      auto response = call->json_response(200, std::move(body));
      if (etag_ptr) response.set(http::field::etag, *etag_ptr);
      return call->exchange->reply(std::move(response));
    }
    if (!reply.readable) {
      // The writer may not read what it wrote: the echo is its request, as sent.
      auto response = call->json_response(200, json::serialize(reply.sent));
      return call->exchange->reply(std::move(response));
    }
    if (method == "DELETE" || priority) {
      auto response = call->json_response(200, priority && method != "DELETE" ? tree::priority_to_json(reply.written.priority()) : "null");
      if (etag_ptr) response.set(http::field::etag, *etag_ptr);
      return call->exchange->reply(std::move(response));
    }
    if (op == db::WriteRequest::Op::update) {
      // PATCH echoes its body: every key as sent (paths included), nulls included, server values resolved.
      std::string body = "{";
      for (const auto& [key, value] : reply.written_entries) {
        if (body.size() > 1) body += ',';
        tree::append_string(body, key);
        body += ':';
        tree::append_json(body, value, {.format = call->format});
      }
      body += '}';
      auto response = call->json_response(200, std::move(body));
      if (etag_ptr) response.set(http::field::etag, *etag_ptr);
      return call->exchange->reply(std::move(response));
    }
    call->reply_node(200, reply.written, etag_ptr);
  });
}

}  // namespace backside::proto::rest
