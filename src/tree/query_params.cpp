#include "tree/query_params.h"

#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <charconv>

#include "tree/json_codec.h"
#include "tree/json_parse.h"

namespace backside::tree {

namespace json = boost::json;

namespace {

// Parses `text` as one JSON value, optionally followed by `,` and a JSON string key name (`startAt=2,"k2"`). With
// `text_values`, text that is neither is the string it spells.
Result<std::pair<json::value, std::optional<std::string>>> parse_bound_text(const std::string& name,
                                                                           const std::string& text,
                                                                           bool text_values) {
  auto not_a_bound = [&] {
    return invalid(name + " must be a JSON primitive, optionally followed by a comma and a JSON string key, got: " +
                   text);
  };
  auto text_or_error = [&]() -> Result<std::pair<json::value, std::optional<std::string>>> {
    if (text_values) return std::make_pair(json::value(json::string(text)), std::optional<std::string>());
    return not_a_bound();
  };
  // The value ends at the top-level comma that precedes a JSON string key, if any.
  json::value value;
  std::size_t used = text.size();
  boost::system::error_code ec;
  value = tree::parse_json_value(text, ec);
  if (ec) {
    std::size_t comma = text.rfind(",\"");
    if (comma == std::string::npos) return text_or_error();
    used = comma;
    value = tree::parse_json_value(std::string_view(text).substr(0, comma), ec);
    if (ec) return text_or_error();
  }
  if (value.is_object() || value.is_array()) return not_a_bound();
  std::optional<std::string> key;
  std::string_view rest(text.data() + used, text.size() - used);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (!rest.empty()) {
    if (rest.front() != ',') return text_or_error();
    rest.remove_prefix(1);
    boost::system::error_code key_ec;
    json::value key_value = json::parse(rest, key_ec);
    if (key_ec || !key_value.is_string()) return text_or_error();
    key = std::string(key_value.get_string());
  }
  return std::make_pair(std::move(value), std::move(key));
}

const std::string* find(const std::map<std::string, std::string>& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

}  // namespace

Result<std::optional<Query>> parse_query_params(const std::map<std::string, std::string>& params,
                                                const QueryParamsOptions& options) {
  static const char* kFilters[] = {"startAt", "endAt", "equalTo", "startAfter", "endBefore", "limitToFirst",
                                   "limitToLast"};
  const std::string* order_by = find(params, "orderBy");
  bool any_filter = false;
  for (const char* f : kFilters) any_filter = any_filter || find(params, f);
  if (!order_by) {
    if (!any_filter) return std::optional<Query>();
    if (!options.default_order) return invalid("orderBy must be defined when other query parameters are defined");
  }

  Query query;
  std::string index = "$priority";
  if (order_by) {
    boost::system::error_code ec;
    json::value order = json::parse(*order_by, ec);
    if (!ec && order.is_string()) {
      index = order.get_string();
    } else if (options.text_values) {
      index = *order_by;
    } else {
      return invalid("orderBy must be a valid JSON encoded path, e.g. orderBy=\"$key\" (URL-encoded), got: " +
                     *order_by);
    }
  }
  if (index == "$key") {
    query.index = Query::Index::key;
  } else if (index == "$value") {
    query.index = Query::Index::value;
  } else if (index == "$priority") {
    query.index = Query::Index::priority;
  } else {
    auto child = tree::Path::parse(index);
    if (!child || child->empty()) return invalid("orderBy is not a valid child path: " + index);
    query.index = Query::Index::child;
    query.child_path = std::move(*child);
  }
  bool key_index = query.index == Query::Index::key;

  auto make_bound = [&](const char* name, bool inclusive, std::string_view sentinel) -> Result<Query::Bound> {
    auto parsed = parse_bound_text(name, *find(params, name), options.text_values);
    if (!parsed) return parsed.error();
    auto& [value, key] = *parsed;
    if (key_index && !value.is_string()) return invalid(std::string(name) + " must be a string when orderBy is \"$key\"");
    if (key_index && key) return invalid(std::string(name) + " cannot take a key name when orderBy is \"$key\"");
    auto node = tree::from_json(value);
    if (!node) return node.error();
    Query::Bound bound{std::move(*node), std::move(key), inclusive};
    // startAfter/endBefore on a value index exclude the whole value (the SDK's sentinel names).
    if (!inclusive && !key_index && !bound.name) bound.name = std::string(sentinel);
    return bound;
  };

  const bool has_equal = find(params, "equalTo");
  if (has_equal && (find(params, "startAt") || find(params, "endAt") || find(params, "startAfter") ||
                    find(params, "endBefore"))) {
    return invalid("equalTo cannot be combined with startAt, endAt, startAfter or endBefore");
  }
  if (find(params, "startAt") && find(params, "startAfter")) return invalid("startAt and startAfter cannot both be set");
  if (find(params, "endAt") && find(params, "endBefore")) return invalid("endAt and endBefore cannot both be set");
  if (has_equal) {
    auto bound = make_bound("equalTo", true, {});
    if (!bound) return bound.error();
    query.start = *bound;
    query.end = std::move(*bound);
  }
  if (find(params, "startAt")) {
    auto bound = make_bound("startAt", true, {});
    if (!bound) return bound.error();
    query.start = std::move(*bound);
  }
  if (find(params, "startAfter")) {
    auto bound = make_bound("startAfter", false, tree::kMaxName);
    if (!bound) return bound.error();
    query.start = std::move(*bound);
  }
  if (find(params, "endAt")) {
    auto bound = make_bound("endAt", true, {});
    if (!bound) return bound.error();
    query.end = std::move(*bound);
  }
  if (find(params, "endBefore")) {
    auto bound = make_bound("endBefore", false, tree::kMinName);
    if (!bound) return bound.error();
    query.end = std::move(*bound);
  }

  const std::string* first = find(params, "limitToFirst");
  const std::string* last = find(params, "limitToLast");
  if (first && last) return invalid("limitToFirst and limitToLast cannot both be set");
  if (first || last) {
    const std::string& text = first ? *first : *last;
    std::size_t limit = 0;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (err != std::errc() || end != text.data() + text.size() || limit == 0) {
      return invalid(std::string(first ? "limitToFirst" : "limitToLast") + " must be a positive integer, got: " +
                     text);
    }
    query.limit = limit;
    query.limit_from_last = last != nullptr;
  }
  if (auto valid = query.validate(); !valid) return valid.error();
  return std::optional<Query>(std::move(query));
}

}  // namespace backside::tree
