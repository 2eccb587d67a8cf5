#include "rules/commented_json.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace backside::rules {
namespace {

// Deeper nesting than any sensible rules file; bounds the parser's recursion.
constexpr int kMaxNesting = 128;

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  Result<JsonItem> run() {
    JsonItem item;
    if (!value(item, 0)) return invalid(error_);
    skip_space();
    if (!error_.empty()) return invalid(error_);
    if (i_ < s_.size()) return fail("unexpected text after the end of the JSON value");
    return item;
  }

 private:
  Error fail(const std::string& what) {
    error_ = "line " + std::to_string(pos_.line) + ", column " + std::to_string(pos_.column) + ": " + what;
    return invalid(error_);
  }
  bool failed(const std::string& what) {
    fail(what);
    return false;
  }

  void advance() {
    if (s_[i_] == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else {
      ++pos_.column;
    }
    ++i_;
  }

  void skip_space() {
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        advance();
      } else if (s_.substr(i_, 2) == "//") {
        while (i_ < s_.size() && s_[i_] != '\n') advance();
      } else if (s_.substr(i_, 2) == "/*") {
        const SourcePosition start = pos_;
        advance();
        advance();
        while (i_ < s_.size() && s_.substr(i_, 2) != "*/") advance();
        if (i_ >= s_.size()) {
          pos_ = start;
          fail("unterminated /* comment");
          return;
        }
        advance();
        advance();
      } else {
        return;
      }
    }
  }

  bool value(JsonItem& out, int depth) {
    skip_space();
    if (!error_.empty()) return false;
    if (depth > kMaxNesting) return failed("nesting too deep");
    out.position = pos_;
    if (i_ >= s_.size()) return failed("unexpected end of input");
    const char c = s_[i_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out.kind = JsonItem::Kind::string;
      return string(out.string, &out.string_positions);
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) return number(out);
    struct Word {
      std::string_view text;
      JsonItem::Kind kind;
      bool boolean;
    };
    for (const Word& word : {Word{"true", JsonItem::Kind::boolean, true}, Word{"false", JsonItem::Kind::boolean, false},
                             Word{"null", JsonItem::Kind::null, false}}) {
      if (s_.substr(i_, word.text.size()) == word.text) {
        for (std::size_t k = 0; k < word.text.size(); ++k) advance();
        out.kind = word.kind;
        out.boolean = word.boolean;
        return true;
      }
    }
    return failed(std::string("unexpected character '") + c + "'");
  }

  bool object(JsonItem& out, int depth) {
    out.kind = JsonItem::Kind::object;
    advance();  // '{'
    skip_space();
    if (i_ < s_.size() && s_[i_] == '}') {
      advance();
      return true;
    }
    while (true) {
      skip_space();
      if (!error_.empty()) return false;
      if (i_ >= s_.size() || s_[i_] != '"') return failed("expected a quoted key");
      const SourcePosition key_position = pos_;
      std::string key;
      if (!string(key, nullptr)) return false;
      for (const auto& member : out.members) {
        if (member.key == key) {
          pos_ = key_position;
          return failed("duplicate key \"" + key + "\"");
        }
      }
      skip_space();
      if (i_ >= s_.size() || s_[i_] != ':') return failed("expected ':'");
      advance();
      JsonItem item;
      if (!value(item, depth + 1)) return false;
      out.members.push_back({std::move(key), std::move(item)});
      skip_space();
      if (!error_.empty()) return false;
      if (i_ < s_.size() && s_[i_] == ',') {
        advance();
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        advance();
        return true;
      }
      return failed("expected ',' or '}'");
    }
  }

  bool array(JsonItem& out, int depth) {
    out.kind = JsonItem::Kind::array;
    advance();  // '['
    skip_space();
    if (i_ < s_.size() && s_[i_] == ']') {
      advance();
      return true;
    }
    while (true) {
      JsonItem item;
      if (!value(item, depth + 1)) return false;
      out.items.push_back(std::move(item));
      skip_space();
      if (!error_.empty()) return false;
      if (i_ < s_.size() && s_[i_] == ',') {
        advance();
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        advance();
        return true;
      }
      return failed("expected ',' or ']'");
    }
  }

  bool number(JsonItem& out) {
    const std::size_t start = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '+' ||
                              s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) {
      advance();
    }
    const auto [end, ec] = std::from_chars(s_.data() + start, s_.data() + i_, out.number);
    if (ec != std::errc() || end != s_.data() + i_ || !std::isfinite(out.number)) {
      pos_ = out.position;
      return failed("invalid number");
    }
    out.kind = JsonItem::Kind::number;
    return true;
  }

  unsigned hex4() {
    unsigned value = 0;
    for (int k = 0; k < 4; ++k) {
      if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_]))) {
        fail("invalid \\u escape");
        return 0;
      }
      const int c = std::tolower(static_cast<unsigned char>(s_[i_]));
      value = value * 16 + static_cast<unsigned>(std::isdigit(c) ? c - '0' : c - 'a' + 10);
      advance();
    }
    return value;
  }

  bool string(std::string& out, std::vector<SourcePosition>* positions) {
    advance();  // '"'
    while (true) {
      if (i_ >= s_.size()) return failed("unterminated string");
      const SourcePosition at = pos_;
      const char c = s_[i_];
      if (c == '"') {
        if (positions) positions->push_back(at);
        advance();
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return failed("control character in string");
      std::string decoded;
      advance();
      if (c != '\\') {
        decoded = c;
      } else {
        if (i_ >= s_.size()) return failed("unterminated string");
        const char e = s_[i_];
        advance();
        switch (e) {
          case '"': case '\\': case '/': decoded = e; break;
          case 'b': decoded = '\b'; break;
          case 'f': decoded = '\f'; break;
          case 'n': decoded = '\n'; break;
          case 'r': decoded = '\r'; break;
          case 't': decoded = '\t'; break;
          case 'u': {
            unsigned code = hex4();
            if (!error_.empty()) return false;
            if (code >= 0xD800 && code <= 0xDBFF && s_.substr(i_, 2) == "\\u") {
              advance();
              advance();
              const unsigned low = hex4();
              if (!error_.empty()) return false;
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            }
            if (code < 0x80) {
              decoded += static_cast<char>(code);
            } else if (code < 0x800) {
              decoded += static_cast<char>(0xC0 | (code >> 6));
              decoded += static_cast<char>(0x80 | (code & 0x3F));
            } else if (code < 0x10000) {
              decoded += static_cast<char>(0xE0 | (code >> 12));
              decoded += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
              decoded += static_cast<char>(0x80 | (code & 0x3F));
            } else {
              decoded += static_cast<char>(0xF0 | (code >> 18));
              decoded += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
              decoded += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
              decoded += static_cast<char>(0x80 | (code & 0x3F));
            }
            break;
          }
          default: pos_ = at; return failed(std::string("invalid escape \\") + e);
        }
      }
      out += decoded;
      if (positions) positions->insert(positions->end(), decoded.size(), at);
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  SourcePosition pos_;
  std::string error_;
};

}  // namespace

const char* JsonItem::kind_name() const {
  switch (kind) {
    case Kind::null: return "null";
    case Kind::boolean: return "a boolean";
    case Kind::number: return "a number";
    case Kind::string: return "a string";
    case Kind::array: return "an array";
    case Kind::object: return "an object";
  }
  return "?";
}

Result<JsonItem> parse_commented_json(std::string_view text) { return JsonParser(text).run(); }

}  // namespace backside::rules
