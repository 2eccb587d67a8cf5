#include "tree/json_parse.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <boost/system/errc.hpp>
#include <charconv>
#include <new>
#include <string>

namespace backside::tree {

namespace json = boost::json;
using boost::system::error_code;

namespace {

// Builds the value like Boost's own parser does, but converts doubles from their text with std::from_chars.
class ExactNumberHandler {
 public:
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);

  explicit ExactNumberHandler(json::storage_ptr storage = {}) : stack(storage), storage_(std::move(storage)) {}

  json::value_stack stack;

  bool on_document_begin(error_code&) {
    stack.reset(storage_);
    return true;
  }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t n, error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(std::size_t n, error_code&) {
    stack.push_object(n);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_number_part(json::string_view s, error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, error_code&) {
    number_.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, error_code&) {
    number_.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, error_code&) {
    number_.append(s.data(), s.size());
    double exact = 0;
    auto [end, err] = std::from_chars(number_.data(), number_.data() + number_.size(), exact);
    if (err == std::errc() && end == number_.data() + number_.size()) d = exact;  // out of range: keep Boost's inf
    number_.clear();
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  std::string number_;  // the text of the number being read, when it arrives in pieces
  json::storage_ptr storage_;  // where the result's values (and the stack that builds them) are allocated
};

using ExactParser = json::basic_parser<ExactNumberHandler>;

}  // namespace

json::value parse_json_value(std::string_view text, error_code& ec, const json::parse_options& options,
                             json::storage_ptr storage) {
  try {
    ExactParser parser(options, std::move(storage));
    std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
    if (!ec && used != text.size()) ec = json::error::extra_data;
    if (ec) return nullptr;
    return parser.handler().stack.release();
  } catch (const std::bad_alloc&) {
    ec = boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
    return nullptr;
  }
}

struct JsonStreamParser::Impl {
  explicit Impl(const json::parse_options& options) : parser(options) {}
  ExactParser parser;
};

JsonStreamParser::JsonStreamParser(const json::parse_options& options) : impl_(std::make_unique<Impl>(options)) {}
JsonStreamParser::~JsonStreamParser() = default;

void JsonStreamParser::write(std::string_view piece, error_code& ec) {
  std::size_t used = impl_->parser.write_some(true, piece.data(), piece.size(), ec);
  if (!ec && used != piece.size()) ec = json::error::extra_data;
}

void JsonStreamParser::finish(error_code& ec) {
  impl_->parser.write_some(false, nullptr, 0, ec);
}

json::value JsonStreamParser::release() { return impl_->parser.handler().stack.release(); }

}  // namespace backside::tree
