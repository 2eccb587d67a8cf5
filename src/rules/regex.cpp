#include "rules/regex.h"

#include <re2/re2.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "util/excerpt.h"

namespace backside::rules {
namespace {

// RE2 refuses larger counts too; checking here gives the offset in the error.
constexpr int kMaxRepeat = 1000;
// Bounds the translator's recursion (one level per group).
constexpr int kMaxNesting = 200;
// Per compiled pattern: RE2 refuses a program that does not fit, and its lazily built DFA stays within it (past it
// RE2 falls back to its NFA, still linear). A rules file may hold many patterns.
constexpr std::int64_t kMaxMemoryBytes = std::int64_t(1) << 20;

// JavaScript's `.`: anything but a line terminator. JavaScript's `\s` over ASCII, as before (RE2's own \s lacks \v).
constexpr std::string_view kDot = R"([^\n\r\x{2028}\x{2029}])";
constexpr std::string_view kSpace = "[:space:]";
constexpr std::string_view kNotSpace = "[:^space:]";

// One member of a character class, or the single character an escape stands for.
struct ClassItem {
  std::string shorthand;  // \d \w [:space:] ... (emitted as is)
  char32_t code_point = 0;
};

// Checks a pattern against the ECMAScript subset of the rules language and writes the RE2 pattern with the same
// meaning. Every literal character is written as \x{...}, so no character of the input is RE2 syntax by accident.
class Translator {
 public:
  explicit Translator(std::string_view pattern) : p_(pattern) {}

  Result<std::string> run() {
    alternation();
    if (error_.empty() && i_ < p_.size()) set_error("unmatched ')'");
    if (!error_.empty()) return invalid(error_);
    return std::move(out_);
  }

 private:
  void set_error(std::string what) {
    if (!error_.empty()) return;
    error_ = "invalid regular expression /" + excerpt(p_) + "/ at offset " + std::to_string(i_) + ": " + what;
  }
  bool more() const { return i_ < p_.size() && error_.empty(); }

  void alternation() {
    concatenation();
    while (more() && p_[i_] == '|') {
      ++i_;
      out_ += '|';
      concatenation();
    }
  }

  void concatenation() {
    while (more() && p_[i_] != '|' && p_[i_] != ')') {
      const bool repeatable = atom();
      if (!error_.empty()) return;
      quantifier(repeatable);
    }
  }

  bool parse_int(int& out) {
    const std::size_t start = i_;
    long value = 0;
    while (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9') {
      value = value * 10 + (p_[i_++] - '0');
      if (value > kMaxRepeat) {
        set_error("repetition count above " + std::to_string(kMaxRepeat));
        return false;
      }
    }
    out = static_cast<int>(value);
    return i_ > start;
  }

  // At most one quantifier (JavaScript refuses `a**`), optionally lazy.
  void quantifier(bool repeatable) {
    if (!more()) return;
    const char c = p_[i_];
    if (c != '*' && c != '+' && c != '?' && c != '{') return;
    if (!repeatable) return set_error("nothing to repeat");
    ++i_;
    if (c != '{') {
      out_ += c;
    } else {
      int min = 0;
      if (!parse_int(min)) return set_error("expected a count after '{'");
      int max = min;
      bool unbounded = false;
      if (i_ < p_.size() && p_[i_] == ',') {
        ++i_;
        unbounded = i_ < p_.size() && p_[i_] == '}';
        if (!unbounded && !parse_int(max)) return set_error("expected a count after ','");
      }
      if (!error_.empty()) return;
      if (i_ >= p_.size() || p_[i_] != '}') return set_error("expected '}'");
      ++i_;
      if (!unbounded && max < min) return set_error("repetition range out of order");
      out_ += '{' + std::to_string(min) + (unbounded ? "," : max != min ? "," + std::to_string(max) : "") + '}';
    }
    if (more() && p_[i_] == '?') {
      ++i_;
      out_ += '?';
    }
    if (more() && (p_[i_] == '*' || p_[i_] == '+' || p_[i_] == '?' || p_[i_] == '{')) set_error("nothing to repeat");
  }

  // Emits one atom; false if it cannot take a quantifier (an anchor).
  bool atom() {
    const char c = p_[i_];
    switch (c) {
      case '(': {
        ++i_;
        if (p_.substr(i_, 2) == "?:") {
          i_ += 2;
        } else if (p_.substr(i_, 1) == "?") {
          set_error("only (...) and (?:...) groups are supported (no lookaround, no named groups)");
          return false;
        }
        if (++depth_ > kMaxNesting) {
          set_error("groups nested more than " + std::to_string(kMaxNesting) + " deep");
          return false;
        }
        out_ += "(?:";
        alternation();
        --depth_;
        if (!error_.empty()) return false;
        if (i_ >= p_.size() || p_[i_] != ')') {
          set_error("missing ')'");
          return false;
        }
        ++i_;
        out_ += ')';
        return true;
      }
      case '[': ++i_; char_class(); return true;
      case '.': ++i_; out_ += kDot; return true;
      case '^':
      case '$': ++i_; out_ += c; return false;
      case '\\': {
        ++i_;
        const ClassItem item = escape();
        if (!item.shorthand.empty()) {
          out_ += item.shorthand.front() == '[' ? "[" + item.shorthand + "]" : item.shorthand;
        } else {
          literal(item.code_point);
        }
        return true;
      }
      case '*': case '+': case '?': case '{':
        set_error("nothing to repeat");
        return false;
      default: {
        char32_t code_point = 0;
        if (!next_code_point(code_point)) return false;
        literal(code_point);
        return true;
      }
    }
  }

  // An escape after its backslash: a class shorthand or one character. Backreferences and escapes outside the
  // subset (\b, \x, \u, \p, ...) are refused.
  ClassItem escape() {
    if (i_ >= p_.size()) {
      set_error("trailing backslash");
      return {};
    }
    const char c = p_[i_];
    switch (c) {
      case 'd': case 'D': case 'w': case 'W': ++i_; return {.shorthand = std::string{'\\', c}};
      case 's': ++i_; return {.shorthand = std::string(kSpace)};
      case 'S': ++i_; return {.shorthand = std::string(kNotSpace)};
      case 'n': ++i_; return {.code_point = U'\n'};
      case 't': ++i_; return {.code_point = U'\t'};
      case 'r': ++i_; return {.code_point = U'\r'};
      case 'f': ++i_; return {.code_point = U'\f'};
      case 'v': ++i_; return {.code_point = U'\v'};
      case '0': ++i_; return {.code_point = 0};
      default: break;
    }
    if (c >= '1' && c <= '9') {
      ++i_;
      set_error("backreferences are not supported");
      return {};
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      ++i_;
      set_error(std::string("unsupported escape \\") + c);
      return {};
    }
    ClassItem item;
    next_code_point(item.code_point);
    return item;
  }

  // After '['. `[]` matches nothing and `[^]` any character, as in JavaScript.
  void char_class() {
    std::string members;
    bool negate = false;
    if (i_ < p_.size() && p_[i_] == '^') {
      negate = true;
      ++i_;
    }
    while (true) {
      if (i_ >= p_.size()) return set_error("unterminated character class");
      if (p_[i_] == ']') break;
      ClassItem low;
      if (p_[i_] == '\\') {
        ++i_;
        low = escape();
        if (!error_.empty()) return;
        if (!low.shorthand.empty()) {
          members += low.shorthand;  // a shorthand never starts a range: `[\d-z]` is \d, '-', 'z'
          continue;
        }
      } else if (!next_code_point(low.code_point)) {
        return;
      }
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        ClassItem high;
        if (p_[i_] == '\\') {
          ++i_;
          high = escape();
          if (!error_.empty()) return;
          if (!high.shorthand.empty()) return set_error("invalid range in character class");
        } else if (!next_code_point(high.code_point)) {
          return;
        }
        if (high.code_point < low.code_point) return set_error("character class range out of order");
        members += hex(low.code_point) + '-' + hex(high.code_point);
      } else {
        members += hex(low.code_point);
      }
    }
    ++i_;  // ']'
    if (members.empty()) {
      out_ += negate ? R"([\x{0}-\x{10FFFF}])" : R"([^\x{0}-\x{10FFFF}])";
      return;
    }
    out_ += (negate ? "[^" : "[") + members + ']';
  }

  // Reads one UTF-8 character of the pattern.
  bool next_code_point(char32_t& out) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(p_[i_ + k]); };
    const unsigned char lead = byte(0);
    std::size_t length = 1;
    char32_t value = lead;
    char32_t min = 0;
    if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      value = lead & 0x07;
      min = 0x10000;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      value = lead & 0x0F;
      min = 0x800;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      value = lead & 0x1F;
      min = 0x80;
    } else if (lead >= 0x80) {
      length = 0;  // a continuation byte, or a lead byte no valid character has
    }
    bool ok = length > 0 && i_ + length <= p_.size();
    for (std::size_t k = 1; ok && k < length; ++k) {
      ok = (byte(k) & 0xC0) == 0x80;
      value = (value << 6) | (byte(k) & 0x3F);
    }
    if (!ok || value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
      set_error("not valid UTF-8");
      return false;
    }
    i_ += length;
    out = value;
    return true;
  }

  static std::string hex(char32_t code_point) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "\\x{%X}", static_cast<unsigned>(code_point));
    return buffer;
  }
  void literal(char32_t code_point) {
    // Letters and digits as themselves (readable in RE2's errors); everything else escaped.
    const bool plain = (code_point >= 'a' && code_point <= 'z') || (code_point >= 'A' && code_point <= 'Z') ||
                       (code_point >= '0' && code_point <= '9');
    out_ += plain ? std::string(1, static_cast<char>(code_point)) : hex(code_point);
  }

  std::string_view p_;
  std::size_t i_ = 0;
  int depth_ = 0;
  std::string out_;
  std::string error_;
};

}  // namespace

Result<Regex> Regex::compile(std::string_view pattern, bool ignore_case) {
  if (pattern.size() > kMaxPatternBytes) {
    return invalid("regular expression /" + excerpt(pattern) + "/ is longer than " +
                   std::to_string(kMaxPatternBytes) + " bytes");
  }
  auto translated = Translator(pattern).run();
  if (!translated.ok()) return translated.error();
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_case_sensitive(!ignore_case);
  options.set_max_mem(kMaxMemoryBytes);
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(*translated, options);
  if (!re->ok()) {
    // What the subset check lets through but RE2 cannot build: nested counts past its limit, too large a program.
    const bool large = re->error_code() == RE2::ErrorPatternTooLarge || re->error_code() == RE2::ErrorRepeatSize;
    return invalid("regular expression /" + excerpt(pattern) + "/ is " +
                   (large ? std::string("too large") : "not supported: " + re->error()));
  }
  Regex regex;
  regex.re_ = std::move(re);
  return regex;
}

bool Regex::search(std::string_view text) const { return RE2::PartialMatch(text, *re_); }

}  // namespace backside::rules
