#include "proto/auth_api/tenant_admin.h"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <algorithm>
#include <optional>
#include <tuple>

#include "proto/auth_api/identity_common.h"

namespace backside::proto::auth_api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kProjects = "/identitytoolkit.googleapis.com/v2/projects/";
constexpr std::size_t kMaxPage = 1000;  // firebase-admin's own bound on listTenants

json::object resource(const std::string& project, const auth::Tenant& tenant) {
  return json::object{{"name", "projects/" + project + "/tenants/" + tenant.id},
                      {"displayName", tenant.display_name},
                      {"allowPasswordSignup", true},
                      {"enableEmailLinkSignin", false},
                      {"enableAnonymousUser", true}};
}

// What a create or update body may ask for beyond the display name: only what Backside does anyway.
std::optional<std::string> unsupported(const json::object& body) {
  for (const auto& [name, value] : body) {
    if (name == "displayName") continue;
    const bool on = value.is_bool() && value.get_bool();
    const bool off = value.is_bool() && !value.get_bool();
    const bool as_backside =
        ((name == "allowPasswordSignup" || name == "enableAnonymousUser") && on) || (name == "enableEmailLinkSignin" && off);
    if (!as_backside) {
      return "INVALID_ARGUMENT : \"" + std::string(name) + "\" cannot be set: Backside's tenants have email/password "
             "and anonymous sign-in, and nothing else to configure";
    }
  }
  return std::nullopt;
}

// listTenants' page token: the position after the last tenant of the page, in creation order.
std::string page_token(const auth::Tenant& tenant) { return std::to_string(tenant.created_at_ms) + "_" + tenant.id; }
bool after(const auth::Tenant& tenant, const std::string& token) {
  const std::size_t sep = token.find('_');
  if (sep == std::string::npos) return true;
  std::int64_t created = 0;
  try {
    created = std::stoll(token.substr(0, sep));
  } catch (const std::exception&) {
    return true;
  }
  return std::tie(tenant.created_at_ms, tenant.id) > std::make_tuple(created, token.substr(sep + 1));
}

}  // namespace

bool TenantAdmin::handles(std::string_view path) { return path.starts_with(kProjects); }

void TenantAdmin::handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange) {
  Reply reply{std::move(exchange), request.version(), request.keep_alive()};
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  // After the prefix: "{project}/tenants" or "{project}/tenants/{id}".
  std::string_view rest = path.substr(kProjects.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return reply.error(404, "NOT_FOUND");
  const std::string project(rest.substr(0, slash));
  rest.remove_prefix(slash + 1);
  if (rest != "tenants" && !rest.starts_with("tenants/")) return reply.error(404, "NOT_FOUND : " + std::string(path));
  const std::string id(rest == "tenants" ? std::string_view() : rest.substr(8));
  if (rest != "tenants" && !auth::Tenants::valid_id(id)) return reply.error(400, "INVALID_TENANT_ID");
  if (!carries_admin_credential(request, authenticator_)) {
    return reply.error(401, "UNAUTHORIZED : the admin credential is required");
  }
  auth::Tenants& tenants = directories_.tenants();
  const http::verb method = request.method();

  json::object body;
  if (!request.body().empty()) {
    boost::system::error_code ec;
    json::value parsed = json::parse(request.body(), ec);
    if (ec || !parsed.is_object()) return reply.error(400, "INVALID_ARGUMENT : the body must be a JSON object");
    body = std::move(parsed.get_object());
  }
  auto display_name = [&body] { return text(body, "displayName"); };

  if (id.empty()) {
    if (method == http::verb::post) {  // createTenant
      if (auto refused = unsupported(body)) return reply.error(400, *refused);
      auto created = tenants.create(display_name());
      if (!created) return reply.error(400, created.error().message);
      return reply.json_body(200, resource(project, *created));
    }
    if (method != http::verb::get) return reply.error(405, "METHOD_NOT_ALLOWED");
    std::size_t page_size = kMaxPage;  // listTenants
    std::string token;
    if (auto url = boost::urls::parse_origin_form(target)) {
      for (auto param : url->params()) {
        if (param.key == "pageSize") {
          try {
            page_size = std::clamp<std::size_t>(std::stoul(std::string(param.value)), 1, kMaxPage);
          } catch (const std::exception&) {
            return reply.error(400, "INVALID_ARGUMENT : pageSize");
          }
        }
        if (param.key == "pageToken") token = param.value;
      }
    }
    json::array page;
    std::optional<auth::Tenant> last;
    bool more = false;
    for (const auto& tenant : tenants.list()) {
      if (!token.empty() && !after(tenant, token)) continue;
      if (page.size() == page_size) {
        more = true;
        break;
      }
      page.push_back(resource(project, tenant));
      last = tenant;
    }
    json::object out{{"tenants", std::move(page)}};
    if (more) out["nextPageToken"] = page_token(*last);
    return reply.json_body(200, out);
  }

  if (method == http::verb::get) {  // getTenant
    auto tenant = tenants.get(id);
    if (!tenant) return reply_directory_error(reply, tenant.error());
    return reply.json_body(200, resource(project, *tenant));
  }
  if (method == http::verb::patch) {  // updateTenant: the fields its updateMask names
    auto tenant = tenants.get(id);
    if (!tenant) return reply_directory_error(reply, tenant.error());
    json::object asked;
    if (auto url = boost::urls::parse_origin_form(target)) {
      for (auto param : url->params()) {
        if (param.key != "updateMask") continue;
        std::string_view fields = param.value;
        while (!fields.empty()) {
          const std::size_t comma = std::min(fields.find(','), fields.size());
          const std::string field(fields.substr(0, comma));
          asked[field] = body.contains(field) ? body.at(field) : json::value(nullptr);
          fields.remove_prefix(std::min(comma + 1, fields.size()));
        }
      }
    }
    if (auto refused = unsupported(asked)) return reply.error(400, *refused);
    if (asked.contains("displayName")) {
      auto renamed = tenants.rename(id, text(asked, "displayName"));
      if (!renamed) return reply.error(400, renamed.error().message);
      tenant = std::move(renamed);
    }
    return reply.json_body(200, resource(project, *tenant));
  }
  if (method == http::verb::delete_) {  // deleteTenant, with its users: their sessions end
    if (auto removed = directories_.remove_tenant(id); !removed) return reply_directory_error(reply, removed.error());
    return reply.json_body(200, json::object{});
  }
  reply.error(405, "METHOD_NOT_ALLOWED");
}

}  // namespace backside::proto::auth_api
