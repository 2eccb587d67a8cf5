#include "proto/firebase/long_poll_codec.h"

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>

#include "util/base64.h"

namespace backside::proto::firebase::long_poll {

namespace json = boost::json;

namespace {

std::optional<std::uint64_t> to_number(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The JSONP prologue of a session: the two callbacks the SDK's iframe calls into its parent with.
std::string callbacks(std::string_view id) {
  const std::string cb(id);
  return "function pLPCommand(c,a1,a2,a3,a4){parent.window[\"pLPCommand" + cb + "\"]&&parent.window[\"pLPCommand" +
         cb + "\"](c,a1,a2,a3,a4);}\nfunction pRTLPCB(pN,data){parent.window[\"pRTLPCB" + cb +
         "\"]&&parent.window[\"pRTLPCB" + cb + "\"](pN,data);}\n";
}

void append_array(std::string& out, const Messages& messages) {
  out += '[';
  bool first = true;
  for (const auto& message : messages) {
    if (!first) out += ',';
    first = false;
    out += *message;
  }
  out += ']';
}

}  // namespace

QueryParams parse_query(std::string_view target) {
  QueryParams params;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return params;
  for (auto param : url->params()) params.emplace(std::string(param.key), std::string(param.value));
  return params;
}

Segments read_segments(const QueryParams& params) {
  Segments out;
  for (std::size_t i = 0;; ++i) {
    const std::string index = std::to_string(i);
    auto seg = params.find("seg" + index);
    if (seg == params.end()) break;
    auto ts = params.find("ts" + index);
    auto d = params.find("d" + index);
    auto number = to_number(seg->second);
    auto total = ts == params.end() ? std::nullopt : to_number(ts->second);
    if (!number || !total || d == params.end()) {
      out.malformed = true;
      break;
    }
    out.segments.push_back(Segment{*number, *total, d->second});
  }
  return out;
}

std::optional<std::string> decode_base64(std::string_view in) { return base64_decode(in, ".="); }

bool valid_callback_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string start_script(std::string_view callback_id, std::string_view id, std::string_view password,
                         const Messages& messages) {
  std::string body = callbacks(callback_id);
  body += "pLPCommand('start','";
  body += id;
  body += "','";
  body += password;
  body += "');pRTLPCB(0,";
  append_array(body, messages);
  body += ");";
  return body;
}

std::string refused_start_script(std::string_view callback_id, std::string_view reason) {
  return callbacks(callback_id) + "pLPCommand('start','0','0');pRTLPCB(0,[{\"t\":\"c\",\"d\":{\"t\":\"s\",\"d\":" +
         json::serialize(json::value(std::string(reason))) + "}}]);";
}

std::string response_script(std::int64_t number, const Messages& messages, bool close) {
  std::size_t bytes = 0;
  for (const auto& message : messages) bytes += message->size() + 1;
  std::string body = "pRTLPCB(" + std::to_string(number) + ",";
  body.reserve(body.size() + bytes + 40);
  append_array(body, messages);
  body += ");";
  if (close) body += "pLPCommand('close'," + std::to_string(number) + ");";
  return body;
}

net::HttpResponse http_response(unsigned version, bool keep_alive, std::string body, std::string_view content_type,
                                boost::beast::http::status status) {
  namespace http = boost::beast::http;
  net::HttpResponse response(status, version);
  response.set(http::field::content_type, content_type);
  response.set(http::field::cache_control, "no-cache, no-store, must-revalidate");
  response.keep_alive(keep_alive);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

std::shared_ptr<const std::string> control_message(std::string_view type) {
  return std::make_shared<const std::string>("{\"t\":\"c\",\"d\":{\"t\":\"" + std::string(type) + "\",\"d\":{}}}");
}

std::optional<std::string> control_type(std::string_view message) {
  // Data messages, nearly all of the traffic, are told apart without parsing.
  if (!message.starts_with("{\"t\":\"c\"")) return std::nullopt;
  json::error_code ec;
  json::value parsed = json::parse(message, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const json::value* inner = parsed.get_object().if_contains("d");
  if (!inner || !inner->is_object()) return std::nullopt;
  const json::value* type = inner->get_object().if_contains("t");
  if (!type || !type->is_string()) return std::nullopt;
  return std::string(type->get_string());
}

}  // namespace backside::proto::firebase::long_poll
