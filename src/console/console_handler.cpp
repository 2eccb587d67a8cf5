#include "console/console_handler.h"

#include <sys/stat.h>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "console/console_assets.h"
#include "proto/rest/rest_handler.h"
#include "proto/rest/sse_subscriber.h"
#include "tree/json_codec.h"
#include "tree/query.h"
#include "tree/query_params.h"

namespace backside::console {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kConsole = "/console";
constexpr std::string_view kDatabases = "/.console/api/databases";
constexpr std::string_view kChildren = "/.console/api/children";
constexpr std::string_view kChanges = "/.console/api/changes";

// The console runs only its own files: no inline script or style (an injected <script> or on* attribute does not
// run), nothing fetched from elsewhere, no framing (clickjacking), no forms posted anywhere, no <base> rewriting.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Without a limit, a page of children stops here (a query without limitToFirst/Last over a huge node).
constexpr std::size_t kMaxChildrenWithoutLimit = 1000;

net::HttpResponse json_reply(unsigned version, bool keep_alive, unsigned status, std::string body) {
  net::HttpResponse response(static_cast<http::status>(status), version);
  response.set(http::field::content_type, "application/json; charset=utf-8");
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.body() = std::move(body);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

net::HttpResponse error_reply(const net::HttpRequest& request, unsigned status, const std::string& message) {
  auto response = proto::rest::error_response(status, message, request.version());
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  return response;
}

unsigned status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return 400;
    case ErrorCode::permission_denied: return 401;
    case ErrorCode::not_found: return 404;
    case ErrorCode::unavailable: return 503;
    default: return 500;
  }
}

std::map<std::string, std::string> query_params(std::string_view target) {
  std::map<std::string, std::string> params;
  if (auto url = boost::urls::parse_origin_form(target)) {
    for (auto param : url->params()) params[param.key] = param.value;
  }
  return params;
}

// The bytes a directory takes on disk (allocated blocks, so a sparse LMDB map counts what it uses); nullopt when
// it cannot be read.
std::optional<std::uintmax_t> disk_usage(const std::filesystem::path& directory) {
  std::error_code ec;
  std::uintmax_t total = 0;
  std::filesystem::recursive_directory_iterator it(directory, ec), end;
  if (ec) return std::nullopt;
  for (; it != end; it.increment(ec)) {
    if (ec) return std::nullopt;
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      total += static_cast<std::uintmax_t>(info.st_blocks) * 512;
    }
  }
  return total;
}

}  // namespace

const ConsoleAsset* find_console_asset(std::string_view path) {
  auto assets = console_assets();
  auto it = std::lower_bound(assets.begin(), assets.end(), path,
                             [](const ConsoleAsset& asset, std::string_view p) { return asset.path < p; });
  return it != assets.end() && it->path == path ? &*it : nullptr;
}

ConsoleHandler::ConsoleHandler(db::Registry& registry, ConsoleOptions options)
    : registry_(registry), options_(std::move(options)) {}

bool ConsoleHandler::handles(std::string_view path) {
  return path == kConsole || path.starts_with("/console/") || path == kDatabases || path == kChildren ||
         path == kChanges;
}

void ConsoleHandler::handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    auto response = error_reply(request, 405, "Use GET on " + std::string(path));
    response.set(http::field::allow, "GET, HEAD");
    return exchange->reply(std::move(response));
  }
  if (path == kConsole || path.starts_with("/console/")) return serve_asset(request, path, exchange);

  // The API: the admin credential in the Authorization header only. ?auth= is refused on purpose: a console that
  // put its token in URLs would leave it in proxies' logs and the browser's history.
  std::string_view credential;
  if (auto header = request[http::field::authorization];
      header.size() > 7 && boost::algorithm::istarts_with(header, "Bearer ")) {
    credential = header.substr(7);
  }
  auto identity = options_.authenticator->authenticate(options_.default_namespace, credential);
  if (credential.empty() || !identity || !identity->admin) {
    auto response = error_reply(request, 401,
                                "Permission denied: the console's API needs the admin token (Authorization: Bearer "
                                "<admin token>; it is in <data_dir>/admin-token)");
    response.set(http::field::www_authenticate, "Bearer realm=\"backside console\"");
    return exchange->reply(std::move(response));
  }
  if (path == kDatabases) return databases(request, exchange);
  if (path == kChildren) return children(request, exchange);
  changes(request, exchange);
}

void ConsoleHandler::serve_asset(const net::HttpRequest& request, std::string_view path,
                                 const std::shared_ptr<net::HttpExchange>& exchange) const {
  if (path == kConsole) {
    // The page's relative URLs resolve against /console/, so the page lives there.
    net::HttpResponse response(http::status::moved_permanently, request.version());
    response.set(http::field::location, "/console/");
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    return exchange->reply(std::move(response));
  }
  std::string_view name = path.substr(kConsole.size() + 1);
  if (name.empty()) name = "index.html";
  const ConsoleAsset* asset = find_console_asset(name);
  if (!asset) return exchange->reply(error_reply(request, 404, "Not found: " + std::string(path)));

  const bool unchanged = request[http::field::if_none_match] == asset->etag;
  net::HttpResponse response(unchanged ? http::status::not_modified : http::status::ok, request.version());
  response.set(http::field::content_type, asset->content_type);
  response.set(http::field::etag, asset->etag);
  // Revalidated at each load (a 304 when unchanged): a new server version is never shown with the old files.
  response.set(http::field::cache_control, "no-cache");
  response.set("Content-Security-Policy", kContentSecurityPolicy);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.keep_alive(request.keep_alive());
  if (!unchanged && request.method() == http::verb::get) response.body() = std::string(asset->bytes);
  response.prepare_payload();
  if (!unchanged && request.method() == http::verb::head) response.content_length(asset->bytes.size());
  exchange->reply(std::move(response));
}

void ConsoleHandler::databases(const net::HttpRequest& request, const std::shared_ptr<net::HttpExchange>& exchange) {
  std::string body = "{\"default\":";
  tree::append_string(body, options_.default_namespace);
  body += ",\"store\":";
  tree::append_string(body, options_.store == "lmdb" ? "lmdb" : "postgresql");
  body += ",\"databases\":[";
  const auto damaged = registry_.damaged();
  std::vector<std::string> names = registry_.names();
  for (const auto& [name, why] : damaged) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  bool first = true;
  for (const auto& name : names) {
    if (!first) body += ',';
    first = false;
    body += "{\"name\":";
    tree::append_string(body, name);
    // With the shared (PostgreSQL) store a database's directory holds only its settings: its size there would
    // mislead, so it is not given.
    std::optional<std::uintmax_t> size;
    if (options_.store == "lmdb") size = disk_usage(db::Registry::directory_in(options_.data_dir, name));
    body += ",\"disk_bytes\":";
    body += size ? std::to_string(*size) : "null";
    if (auto it = damaged.find(name); it != damaged.end()) {
      body += ",\"damaged\":";
      tree::append_string(body, it->second);
    }
    body += '}';
  }
  body += "]}";
  exchange->reply(json_reply(request.version(), request.keep_alive(), 200, std::move(body)));
}

void ConsoleHandler::children(const net::HttpRequest& request, const std::shared_ptr<net::HttpExchange>& exchange) {
  auto params = query_params(request.target());
  std::string ns = options_.default_namespace;
  if (auto it = params.find("ns"); it != params.end()) ns = it->second;
  auto path = tree::Path::parse(params.contains("path") ? params["path"] : "/");
  if (!path) return exchange->reply(error_reply(request, 400, path.error().message));
  // The REST API's query parameters, read exactly as REST reads them (JSON values, filters need orderBy).
  auto query = tree::parse_query_params(params);
  if (!query) return exchange->reply(error_reply(request, 400, query.error().message));
  auto database = registry_.get(ns);
  if (!database) return exchange->reply(error_reply(request, status_of(database.error().code), database.error().message));

  // Without a query: the first children in key order, as the console pages them.
  tree::Query window;
  if (*query) {
    window = std::move(**query);
  } else {
    window.index = tree::Query::Index::key;
    window.limit = 50;
  }
  (*database)->run([exchange, version = request.version(), keep_alive = request.keep_alive(), path = *path,
                    window = std::move(window)](const tree::Node& root) {
    std::string body = "{\"path\":";
    tree::append_string(body, path.to_string());
    const tree::Node* node = root.find(path);
    if (!node || node->is_null()) {
      body += ",\"exists\":false}";
    } else if (!node->has_children()) {
      body += ",\"exists\":true,";
      proto::rest::append_node_summary(body, node);
      body += '}';
    } else {
      body += ",\"exists\":true,\"count\":";
      body += std::to_string(node->child_count());
      std::vector<std::string> keys = tree::evaluate_keys(*node, window);
      const bool cut = !window.limit && keys.size() > kMaxChildrenWithoutLimit;
      if (cut) keys.resize(kMaxChildrenWithoutLimit);
      if (cut) body += ",\"truncated\":true";
      body += ",\"children\":[";
      bool first = true;
      for (const auto& key : keys) {
        if (!first) body += ',';
        first = false;
        body += "{\"key\":";
        tree::append_string(body, key);
        body += ',';
        proto::rest::append_node_summary(body, node->find_child(key));
        body += '}';
      }
      body += "]}";
    }
    exchange->reply(json_reply(version, keep_alive, 200, std::move(body)));
  });
}

void ConsoleHandler::changes(const net::HttpRequest& request, const std::shared_ptr<net::HttpExchange>& exchange) {
  auto params = query_params(request.target());
  std::string ns = options_.default_namespace;
  if (auto it = params.find("ns"); it != params.end()) ns = it->second;
  auto database = registry_.get(ns);
  if (!database) return exchange->reply(error_reply(request, status_of(database.error().code), database.error().message));
  proto::rest::SseSubscriber::start(exchange, **database, tree::Format::plain, tree::Path(), std::nullopt,
                                    identity::Identity::admin_identity(),
                                    io_ ? boost::asio::any_io_executor(io_->get_executor())
                                        : boost::asio::any_io_executor(),
                                    std::nullopt, proto::rest::SseSubscriber::Rendering::changes);
}

}  // namespace backside::console
