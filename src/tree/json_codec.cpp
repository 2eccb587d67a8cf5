#include "tree/json_codec.h"

#include "tree/json_parse.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace backside::tree {
namespace json = boost::json;
namespace {

constexpr std::string_view kInvalidJson = "Invalid data; couldn't parse JSON object, array, or value.";
// JSON nesting may exceed the data depth by the wrappers of the deepest leaf: {".value": {".sv": {...}}}.
constexpr std::size_t kMaxJsonDepth = kMaxDepth + 3;
// Integral doubles below this print as integers; all of them are exact.
constexpr double kMaxSafeInteger = 9007199254740992.0;  // 2^53

Error too_deep() { return invalid("Data too deep: more than 32 levels"); }

Result<double> finite_number(double value) {
  if (!std::isfinite(value)) return invalid("Invalid number: NaN and Infinity are not allowed");
  return value == 0 ? 0.0 : value;  // -0 becomes 0, as JSON.stringify renders it
}

Result<double> number_from_json(const json::value& value) {
  switch (value.kind()) {
    case json::kind::int64: return static_cast<double>(value.get_int64());
    case json::kind::uint64: return static_cast<double>(value.get_uint64());
    default: return finite_number(value.get_double());
  }
}

const Node* child_of(const Node* node, std::string_view key) {
  const Children* children = node == nullptr ? nullptr : node->children();
  if (children == nullptr) return nullptr;
  const auto it = children->find(key);
  return it == children->end() ? nullptr : it->second.get();
}

// JSON -> normalized Node (Firebase's JSON forms and server values). `depth` is the number of path segments of the
// location being built; `existing` is the current data there (only consulted to resolve increments).
class Normalizer {
 public:
  explicit Normalizer(const ParseOptions& options) : options_(options) {}

  Result<Node> node(const json::value& value, const Node* existing, std::size_t depth, bool inside_dot_value) {
    switch (value.kind()) {
      case json::kind::null: return Node();
      case json::kind::bool_: return Node(Node::Leaf(value.get_bool()));
      case json::kind::int64:
      case json::kind::uint64:
      case json::kind::double_: {
        Result<double> number = number_from_json(value);
        if (!number) return number.error();
        return Node(Node::Leaf(*number));
      }
      case json::kind::string: {
        const json::string& text = value.get_string();
        if (text.size() > kMaxStringBytes) {
          return Error{ErrorCode::too_large, "String value too long: more than 10485760 bytes"};
        }
        return Node(Node::Leaf(std::string(text)));
      }
      case json::kind::array: return array(value.get_array(), existing, depth);
      case json::kind::object: return object(value.get_object(), existing, depth, inside_dot_value);
    }
    return invalid(std::string(kInvalidJson));
  }

  Result<std::optional<Priority>> priority(const json::value& value) {
    if (value.is_null()) return std::optional<Priority>();
    if (value.is_number()) {
      Result<double> number = number_from_json(value);
      if (!number) return number.error();
      return std::optional<Priority>(*number);
    }
    if (value.is_string()) return std::optional<Priority>(std::string(value.get_string()));
    if (const json::object* object = value.if_object(); object != nullptr && object->size() == 1) {
      if (const json::value* sv = object->if_contains(".sv");
          sv != nullptr && sv->is_string() && sv->get_string() == "timestamp") {
        if (options_.server_values == nullptr) return invalid("Server values are not allowed here");
        return std::optional<Priority>(options_.server_values->now_ms);
      }
    }
    return invalid("Invalid priority " + json::serialize(value) + ": must be a number, a string or null");
  }

 private:
  Result<Node> array(const json::array& array, const Node* existing, std::size_t depth) {
    if (array.empty()) return Node();
    if (depth + 1 > kMaxDepth) return too_deep();
    Children children;
    for (std::size_t i = 0; i < array.size(); ++i) {
      std::string key = std::to_string(i);
      Result<Node> child = node(array[i], child_of(existing, key), depth + 1, false);
      if (!child) return child.error();
      if (!child->is_null()) {
        children.emplace_hint(children.end(), std::move(key), std::make_unique<Node>(std::move(*child)));
      }
    }
    return Node(std::move(children));
  }

  Result<Node> object(const json::object& object, const Node* existing, std::size_t depth, bool inside_dot_value) {
    const json::value* priority_json = object.if_contains(".priority");
    const json::value* dot_value = object.if_contains(".value");
    const json::value* server_value = object.if_contains(".sv");
    if (inside_dot_value && (priority_json != nullptr || dot_value != nullptr)) {
      return invalid("Invalid data: a \".value\" may not itself contain \".value\" or \".priority\"");
    }
    // The pseudo-keys .value and .sv stand for the whole node; only .priority may accompany them.
    const std::size_t pseudo_key_size = priority_json != nullptr ? 2 : 1;
    if ((dot_value != nullptr || server_value != nullptr) && object.size() != pseudo_key_size) {
      return invalid("Invalid data: \".value\" and \".sv\" may only be combined with \".priority\"");
    }
    std::optional<Priority> priority;
    if (priority_json != nullptr) {
      Result<std::optional<Priority>> parsed = this->priority(*priority_json);
      if (!parsed) return parsed.error();
      priority = std::move(*parsed);
    }
    Result<Node> result = dot_value != nullptr      ? node(*dot_value, existing, depth, true)
                          : server_value != nullptr ? resolve(*server_value, existing)
                                                    : children(object, existing, depth);
    if (result) result->set_priority(std::move(priority));
    return result;
  }

  Result<Node> children(const json::object& object, const Node* existing, std::size_t depth) {
    Children children;
    for (const json::key_value_pair& entry : object) {
      const std::string_view key = entry.key();
      if (key == ".priority") continue;
      if (std::string error = key_error(key); !error.empty()) return invalid(std::move(error));
      if (depth + 1 > kMaxDepth) return too_deep();
      Result<Node> child = node(entry.value(), child_of(existing, key), depth + 1, false);
      if (!child) return child.error();
      // Exported data lists keys in order; the hint makes building such objects linear.
      if (!child->is_null()) children.emplace_hint(children.end(), key, std::make_unique<Node>(std::move(*child)));
    }
    return Node(std::move(children));
  }

  // {".sv": spec} -> its value now.
  Result<Node> resolve(const json::value& spec, const Node* existing) {
    if (options_.server_values == nullptr) return invalid("Server values are not allowed here");
    if (spec.is_string() && spec.get_string() == "timestamp") return Node(Node::Leaf(options_.server_values->now_ms));
    if (const json::object* object = spec.if_object(); object != nullptr && object->size() == 1) {
      if (const json::value* delta = object->if_contains("increment"); delta != nullptr && delta->is_number()) {
        Result<double> amount = number_from_json(*delta);
        if (!amount) return amount.error();
        const Node::Leaf* current = existing == nullptr ? nullptr : existing->leaf_value();
        const double* base = current == nullptr ? nullptr : std::get_if<double>(current);
        Result<double> sum = finite_number(base == nullptr ? *amount : *base + *amount);
        if (!sum) return sum.error();
        return Node(Node::Leaf(*sum));
      }
    }
    return invalid("Invalid server value: {\".sv\":" + json::serialize(spec) + "}");
  }

  const ParseOptions& options_;
};

// Writes JSON punctuation, compact or indented like JSON.stringify(value, null, 2).
class JsonWriter {
 public:
  JsonWriter(std::string& out, bool pretty) : out_(out), pretty_(pretty) {}

  std::string& out() { return out_; }
  void open(char bracket) {
    out_ += bracket;
    ++level_;
    first_ = true;
  }
  void close(char bracket) {
    --level_;
    if (!first_) newline();
    out_ += bracket;
    first_ = false;
  }
  // Starts an array element.
  void item() {
    if (!first_) out_ += ',';
    newline();
    first_ = false;
  }
  // Starts an object member; its value follows.
  void key(std::string_view key) {
    item();
    append_string(out_, key);
    out_ += pretty_ ? ": " : ":";
  }

 private:
  void newline() {
    if (!pretty_) return;
    out_ += '\n';
    out_.append(2 * level_, ' ');
  }

  std::string& out_;
  bool pretty_;
  std::size_t level_ = 0;
  bool first_ = true;
};

// The array index a key stands for in the plain format (/^(0|[1-9]\d*)$/), else nullopt. Longer keys can never
// satisfy maxKey < 2 * count, so they are simply not indices.
std::optional<std::size_t> array_index(std::string_view key) {
  if (key.empty() || key.size() > 15 || (key[0] == '0' && key.size() > 1)) return std::nullopt;
  std::size_t index = 0;
  for (const char c : key) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + static_cast<std::size_t>(c - '0');
  }
  return index;
}

// The SDK's val() rule: all keys are array indices and the largest is below twice the count. Returns the
// array length then.
std::optional<std::size_t> array_length(const Children& children) {
  std::size_t max_index = 0;
  for (const auto& entry : children) {
    const std::optional<std::size_t> index = array_index(entry.first);
    if (!index) return std::nullopt;
    max_index = std::max(max_index, *index);
  }
  if (max_index >= 2 * children.size()) return std::nullopt;
  return max_index + 1;
}

void append_leaf(std::string& out, const Node::Leaf& leaf) {
  if (const bool* boolean = std::get_if<bool>(&leaf)) {
    out += *boolean ? "true" : "false";
  } else if (const double* number = std::get_if<double>(&leaf)) {
    append_number(out, *number);
  } else {
    append_string(out, std::get<std::string>(leaf));
  }
}

void append_priority(std::string& out, const Priority& priority) {
  if (const double* number = std::get_if<double>(&priority)) {
    append_number(out, *number);
  } else {
    append_string(out, std::get<std::string>(priority));
  }
}

// `on_leaf` runs after each leaf is rendered (a no-op for to_json; write_json flushes there).
template <typename OnLeaf>
void write_node(JsonWriter& writer, const Node& node, Format format, OnLeaf& on_leaf) {
  const bool with_priority = format == Format::export_ && node.priority().has_value();
  if (const Children* children = node.children()) {
    if (format == Format::plain) {
      if (const std::optional<std::size_t> length = array_length(*children)) {
        writer.open('[');
        std::size_t next = 0;
        for (const auto& [key, child] : *children) {
          for (const std::size_t index = *array_index(key); next < index; ++next) {
            writer.item();
            writer.out() += "null";
          }
          writer.item();
          write_node(writer, *child, format, on_leaf);
          ++next;
        }
        writer.close(']');
        return;
      }
    }
    writer.open('{');
    for (const auto& [key, child] : *children) {
      writer.key(key);
      write_node(writer, *child, format, on_leaf);
    }
    if (with_priority) {
      writer.key(".priority");
      append_priority(writer.out(), *node.priority());
    }
    writer.close('}');
    return;
  }
  const Node::Leaf* leaf = node.leaf_value();
  if (leaf == nullptr) {
    writer.out() += "null";
  } else if (with_priority) {
    writer.open('{');
    writer.key(".value");
    append_leaf(writer.out(), *leaf);
    writer.key(".priority");
    append_priority(writer.out(), *node.priority());
    writer.close('}');
    on_leaf();
  } else {
    append_leaf(writer.out(), *leaf);
    on_leaf();
  }
}

// Number.prototype.toString for a finite, non-integral or large value: shortest round-trip digits placed as
// ECMAScript's Number::toString places them.
void append_js_number(std::string& out, double value) {
  char buffer[32];
  const char* end = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific).ptr;
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));  // "-d.ddde+XX"
  const std::size_t e = text.find('e');
  std::string_view mantissa = text.substr(0, e);
  if (mantissa[0] == '-') {
    out += '-';
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (const char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string_view exponent_text = text.substr(e + 1);
  if (exponent_text[0] == '+') exponent_text.remove_prefix(1);
  int exponent = 0;
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);

  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // value = 0.digits * 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out += '.';
    out.append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += n - 1 >= 0 ? "e+" : "e-";
    out += std::to_string(std::abs(n - 1));
  }
}

json::value number_value(double value) {
  if (std::trunc(value) == value && std::fabs(value) < kMaxSafeInteger) return static_cast<std::int64_t>(value);
  return value;
}

json::value leaf_value(const Node::Leaf& leaf) {
  if (const bool* boolean = std::get_if<bool>(&leaf)) return *boolean;
  if (const double* number = std::get_if<double>(&leaf)) return number_value(*number);
  return json::string(std::get<std::string>(leaf));
}

json::value priority_value(const Priority& priority) {
  if (const double* number = std::get_if<double>(&priority)) return number_value(*number);
  return json::string(std::get<std::string>(priority));
}

}  // namespace

Result<Node> parse_json(std::string_view text, const ParseOptions& options) {
  json::parse_options parse_options;
  parse_options.max_depth = kMaxJsonDepth;
  boost::system::error_code error;
  const json::value value = parse_json_value(text, error, parse_options);
  if (error == json::error::too_deep) return too_deep();
  if (error) return invalid(std::string(kInvalidJson));
  return from_json(value, options);
}

Result<Node> from_json(const json::value& value, const ParseOptions& options) {
  return Normalizer(options).node(value, options.existing, options.base_depth, false);
}

Result<std::optional<Priority>> priority_from_json(const json::value& value, const ParseOptions& options) {
  return Normalizer(options).priority(value);
}

std::string to_json(const Node& node, const RenderOptions& options) {
  std::string out;
  append_json(out, node, options);
  return out;
}

void append_json(std::string& out, const Node& node, const RenderOptions& options) {
  JsonWriter writer(out, options.pretty);
  auto nothing = [] {};
  write_node(writer, node, options.format, nothing);
}

void write_json(const Node& node, const RenderOptions& options, std::size_t chunk_bytes,
                const std::function<void(std::string& out, std::uint64_t leaves)>& flush) {
  std::string out;
  out.reserve(chunk_bytes + 4096);
  std::uint64_t leaves = 0;
  JsonWriter writer(out, options.pretty);
  auto on_leaf = [&] {
    ++leaves;
    if (out.size() >= chunk_bytes) flush(out, leaves);
  };
  write_node(writer, node, options.format, on_leaf);
  flush(out, leaves);
}

void append_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";  // as JSON.stringify; normalized nodes never hold one
  } else if (std::trunc(value) == value && std::fabs(value) < kMaxSafeInteger) {
    char buffer[24];
    out.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, static_cast<std::int64_t>(value)).ptr);
  } else {
    append_js_number(out, value);
  }
}

void append_string(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t copied = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(value, copied, i - copied);
    copied = i + 1;
    out += '\\';
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '\b': out += 'b'; break;
      case '\f': out += 'f'; break;
      case '\n': out += 'n'; break;
      case '\r': out += 'r'; break;
      case '\t': out += 't'; break;
      default:
        out += "u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(value, copied);
  out += '"';
}

std::string to_shallow_json(const Node& node, bool pretty) {
  std::string out;
  JsonWriter writer(out, pretty);
  const Children* children = node.children();
  if (children == nullptr) {
    auto nothing = [] {};
    write_node(writer, node, Format::plain, nothing);
    return out;
  }
  writer.open('{');
  for (const auto& entry : *children) {
    writer.key(entry.first);
    out += "true";
  }
  writer.close('}');
  return out;
}

json::value to_json_value(const Node& node, Format format) {
  const bool with_priority = format == Format::export_ && node.priority().has_value();
  if (const Children* children = node.children()) {
    if (format == Format::plain) {
      if (const std::optional<std::size_t> length = array_length(*children)) {
        json::array array(*length, nullptr);
        for (const auto& [key, child] : *children) array[*array_index(key)] = to_json_value(*child, format);
        return array;
      }
    }
    json::object object;
    object.reserve(children->size() + (with_priority ? 1 : 0));
    for (const auto& [key, child] : *children) object.emplace(key, to_json_value(*child, format));
    if (with_priority) object.emplace(".priority", priority_value(*node.priority()));
    return object;
  }
  const Node::Leaf* leaf = node.leaf_value();
  if (leaf == nullptr) return nullptr;
  if (!with_priority) return leaf_value(*leaf);
  return json::object{{".value", leaf_value(*leaf)}, {".priority", priority_value(*node.priority())}};
}

std::string priority_to_json(const std::optional<Priority>& priority) {
  if (!priority) return "null";
  std::string out;
  append_priority(out, *priority);
  return out;
}

}  // namespace backside::tree
