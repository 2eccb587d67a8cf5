#include "rules/expression.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

namespace backside::rules {
namespace {

struct Token {
  enum class Kind { end, number, string, identifier, punct, regex };
  Kind kind = Kind::end;
  std::string text;  // punctuator, identifier, decoded string, regex pattern
  double number = 0;
  std::string flags;  // regex flags
  std::size_t offset = 0;
};

struct Failure {
  ExpressionError error;
};

[[noreturn]] void fail(std::size_t offset, std::string message) { throw Failure{{offset, std::move(message)}}; }

void append_utf8(std::string& out, unsigned code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  std::vector<Token> run() {
    std::vector<Token> tokens;
    while (true) {
      while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      Token token;
      token.offset = i_;
      if (i_ >= s_.size()) {
        tokens.push_back(token);
        return tokens;
      }
      const char c = s_[i_];
      // A '/' right after '(' cannot be division: it opens a regular expression literal.
      const bool regex_allowed = !tokens.empty() && tokens.back().kind == Token::Kind::punct &&
                                 tokens.back().text == "(";
      if (std::isdigit(static_cast<unsigned char>(c)) ||
          (c == '.' && i_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_ + 1])))) {
        lex_number(token);
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
        const std::size_t start = i_++;
        while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == '$')) {
          ++i_;
        }
        token.kind = Token::Kind::identifier;
        token.text = s_.substr(start, i_ - start);
      } else if (c == '"' || c == '\'') {
        lex_string(token);
      } else if (c == '/' && regex_allowed) {
        lex_regex(token);
      } else {
        lex_punct(token);
      }
      tokens.push_back(std::move(token));
    }
  }

 private:
  void lex_number(Token& token) {
    const std::size_t start = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) ++i_;
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    const std::string text(s_.substr(start, i_ - start));
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
      fail(start, "invalid number '" + text + "'");
    }
    if (i_ < s_.size() && (std::isalpha(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) {
      fail(i_, "unexpected character after number");
    }
    token.kind = Token::Kind::number;
    token.number = value;
  }

  unsigned hex(std::size_t count) {
    unsigned value = 0;
    for (std::size_t k = 0; k < count; ++k) {
      if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_]))) fail(i_, "invalid escape sequence");
      const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[i_++])));
      value = value * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : h - 'a' + 10);
    }
    return value;
  }

  void lex_string(Token& token) {
    const char quote = s_[i_++];
    token.kind = Token::Kind::string;
    while (true) {
      if (i_ >= s_.size()) fail(token.offset, "unterminated string");
      const char c = s_[i_++];
      if (c == quote) return;
      if (c != '\\') {
        token.text += c;
        continue;
      }
      if (i_ >= s_.size()) fail(token.offset, "unterminated string");
      const char e = s_[i_++];
      switch (e) {
        case 'n': token.text += '\n'; break;
        case 't': token.text += '\t'; break;
        case 'r': token.text += '\r'; break;
        case 'b': token.text += '\b'; break;
        case 'f': token.text += '\f'; break;
        case 'v': token.text += '\v'; break;
        case '0': token.text += '\0'; break;
        case 'x': append_utf8(token.text, hex(2)); break;
        case 'u': append_utf8(token.text, hex(4)); break;
        default: token.text += e; break;
      }
    }
  }

  void lex_regex(Token& token) {
    const std::size_t start = ++i_;
    bool in_class = false;
    while (true) {
      if (i_ >= s_.size()) fail(token.offset, "unterminated regular expression");
      const char c = s_[i_];
      if (c == '\\') {
        i_ += 2;
        continue;
      }
      if (c == '[') in_class = true;
      if (c == ']') in_class = false;
      if (c == '/' && !in_class) break;
      ++i_;
    }
    token.kind = Token::Kind::regex;
    token.text = s_.substr(start, i_ - start);
    ++i_;
    while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) token.flags += s_[i_++];
    if (!token.flags.empty() && token.flags != "i") fail(token.offset, "unsupported regular expression flags '" + token.flags + "'");
  }

  void lex_punct(Token& token) {
    static constexpr std::string_view kPuncts[] = {"===", "!==", "==", "!=", "<=", ">=", "&&", "||", "<", ">", "+",
                                                   "-",   "*",   "/",  "%",  "!",  "?",  ":",  "(",  ")", "[", "]",
                                                   ".",   ","};
    for (std::string_view p : kPuncts) {
      if (s_.substr(i_, p.size()) == p) {
        token.kind = Token::Kind::punct;
        token.text = p;
        i_ += p.size();
        return;
      }
    }
    if (s_[i_] == '=') fail(i_, "assignment is not allowed (use ==)");
    fail(i_, std::string("unexpected character '") + s_[i_] + "'");
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

const char* type_name(Type type) {
  switch (type) {
    case Type::any: return "any";
    case Type::boolean: return "boolean";
    case Type::number: return "number";
    case Type::string: return "string";
    case Type::null: return "null";
    case Type::snapshot: return "RuleDataSnapshot";
    case Type::query: return "query";
    case Type::regex: return "regular expression";
    case Type::string_list: return "array";
  }
  return "?";
}

// Signature of a method: argument types and result.
struct Method {
  std::vector<Type> arguments;
  Type result;
};

const std::map<std::string, Method, std::less<>>& snapshot_methods() {
  static const std::map<std::string, Method, std::less<>> methods = {
      {"val", {{}, Type::any}},
      {"child", {{Type::string}, Type::snapshot}},
      {"parent", {{}, Type::snapshot}},
      {"hasChild", {{Type::string}, Type::boolean}},
      {"hasChildren", {{}, Type::boolean}},  // or one string_list argument: checked specially
      {"exists", {{}, Type::boolean}},
      {"getPriority", {{}, Type::any}},
      {"isNumber", {{}, Type::boolean}},
      {"isString", {{}, Type::boolean}},
      {"isBoolean", {{}, Type::boolean}},
  };
  return methods;
}

const std::map<std::string, Method, std::less<>>& string_methods() {
  static const std::map<std::string, Method, std::less<>> methods = {
      {"contains", {{Type::string}, Type::boolean}},
      {"beginsWith", {{Type::string}, Type::boolean}},
      {"endsWith", {{Type::string}, Type::boolean}},
      {"replace", {{Type::string, Type::string}, Type::string}},
      {"toLowerCase", {{}, Type::string}},
      {"toUpperCase", {{}, Type::string}},
      {"matches", {{Type::regex}, Type::boolean}},
  };
  return methods;
}

const std::map<std::string, Type, std::less<>>& query_fields() {
  static const std::map<std::string, Type, std::less<>> fields = {
      {"orderByKey", Type::boolean}, {"orderByPriority", Type::boolean}, {"orderByValue", Type::boolean},
      {"orderByChild", Type::any},   {"startAt", Type::any},            {"endAt", Type::any},
      {"equalTo", Type::any},        {"limitToFirst", Type::any},       {"limitToLast", Type::any},
  };
  return fields;
}

// How deeply the grammar may recurse (parentheses, `?:`, `!`, arguments); bounds the parser's stack.
constexpr int kMaxNesting = 200;

bool accepts(Type actual, Type wanted) { return actual == wanted || actual == Type::any; }

class Parser {
 public:
  Parser(std::vector<Token> tokens, RuleKind kind, const std::vector<std::string>& wildcards)
      : t_(std::move(tokens)), kind_(kind), wildcards_(wildcards) {}

  ExprPtr run() {
    auto expr = expression();
    if (peek().kind != Token::Kind::end) fail(peek().offset, "unexpected '" + peek().text + "'");
    if (!accepts(expr->type, Type::boolean)) {
      fail(0, std::string("rule expression must be boolean, not ") + type_name(expr->type));
    }
    return expr;
  }

 private:
  const Token& peek() const { return t_[pos_]; }
  bool is_punct(std::string_view p) const { return peek().kind == Token::Kind::punct && peek().text == p; }
  const Token& take() { return t_[pos_ == t_.size() - 1 ? pos_ : pos_++]; }
  void expect(std::string_view p) {
    if (!is_punct(p)) {
      fail(peek().offset, "expected '" + std::string(p) + "'" +
                              (peek().kind == Token::Kind::end ? " at end of expression" : ""));
    }
    take();
  }

  static std::unique_ptr<Expr> make(Expr::Kind kind, Type type, std::string name = {}) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->type = type;
    e->name = std::move(name);
    return e;
  }

  // Every recursion of the grammar passes through expression() or a prefix operator in unary().
  struct Nesting {
    int& depth;
    Nesting(int& d, std::size_t offset) : depth(++d) {
      if (depth > kMaxNesting) fail(offset, "expression nested too deeply");
    }
    ~Nesting() { --depth; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
  };

  // Appends `operand` to `parent`, refusing a tree deeper than the evaluator may recurse.
  static void adopt(Expr& parent, ExprPtr operand, std::size_t offset) {
    parent.depth = std::max(parent.depth, operand->depth + 1);
    parent.operands.push_back(std::move(operand));
    if (parent.depth > kMaxExpressionDepth) {
      fail(offset, "expression too deep: more than " + std::to_string(kMaxExpressionDepth) +
                       " levels of operators, calls and members");
    }
  }

  ExprPtr expression() {
    const Nesting nesting(depth_, peek().offset);
    auto cond = logical_or();
    if (!is_punct("?")) return cond;
    const std::size_t at = take().offset;
    require(*cond, Type::boolean, at, "'?' condition");
    auto yes = expression();
    expect(":");
    auto no = expression();
    const Type type = yes->type == no->type ? yes->type : Type::any;
    auto e = make(Expr::Kind::conditional, type, "?");
    adopt(*e, std::move(cond), at);
    adopt(*e, std::move(yes), at);
    adopt(*e, std::move(no), at);
    return e;
  }

  void require(const Expr& e, Type wanted, std::size_t offset, const std::string& what) {
    if (!accepts(e.type, wanted)) {
      fail(offset, what + " must be " + type_name(wanted) + ", not " + type_name(e.type));
    }
  }

  ExprPtr binary(ExprPtr left, const Token& op, ExprPtr right) {
    const std::string& o = op.text;
    Type type = Type::boolean;
    const auto operand_types_ok = [&](std::initializer_list<Type> allowed) {
      for (const Expr* side : {left.get(), right.get()}) {
        bool ok = side->type == Type::any;
        for (Type t : allowed) ok = ok || side->type == t;
        if (!ok) fail(op.offset, "operator " + o + " cannot be applied to " + type_name(side->type));
      }
    };
    if (o == "==" || o == "===" || o == "!=" || o == "!==") {
      for (const Expr* side : {left.get(), right.get()}) {
        if (side->type == Type::regex || side->type == Type::string_list || side->type == Type::query ||
            side->type == Type::snapshot) {
          fail(op.offset, "operator " + o + " cannot be applied to " + type_name(side->type));
        }
      }
    } else if (o == "<" || o == "<=" || o == ">" || o == ">=") {
      operand_types_ok({Type::number, Type::string});
      if (left->type != Type::any && right->type != Type::any && left->type != right->type) {
        fail(op.offset, "operator " + o + " compares " + type_name(left->type) + " with " + type_name(right->type));
      }
    } else if (o == "+") {
      operand_types_ok({Type::number, Type::string});
      type = left->type == Type::string || right->type == Type::string ? Type::string
             : left->type == Type::number && right->type == Type::number ? Type::number
                                                                          : Type::any;
    } else {
      operand_types_ok({Type::number});
      type = Type::number;
    }
    auto e = make(Expr::Kind::binary, type, o);
    adopt(*e, std::move(left), op.offset);
    adopt(*e, std::move(right), op.offset);
    return e;
  }

  // A chain of && or || is one node with an operand per term: long chains of conditions (common in generated
  // rules) stay shallow, and the evaluator walks them in a loop.
  ExprPtr chain(std::string_view op, ExprPtr (Parser::*next)()) {
    auto first = (this->*next)();
    if (!is_punct(op)) return first;
    auto e = make(Expr::Kind::binary, Type::boolean, std::string(op));
    const auto add = [&](ExprPtr operand, std::size_t at) {
      if (!accepts(operand->type, Type::boolean)) {
        fail(at, "operator " + e->name + " cannot be applied to " + type_name(operand->type));
      }
      adopt(*e, std::move(operand), at);
    };
    add(std::move(first), peek().offset);
    while (is_punct(op)) {
      const std::size_t at = take().offset;
      add((this->*next)(), at);
    }
    return e;
  }

  // One precedence level of left-associative binary operators.
  template <typename Next>
  ExprPtr level(std::initializer_list<std::string_view> ops, Next next) {
    auto left = (this->*next)();
    while (true) {
      bool found = false;
      for (std::string_view op : ops) found = found || is_punct(op);
      if (!found) return left;
      const Token op = take();
      left = binary(std::move(left), op, (this->*next)());
    }
  }

  ExprPtr logical_or() { return chain("||", &Parser::logical_and); }
  ExprPtr logical_and() { return chain("&&", &Parser::equality); }
  ExprPtr equality() { return level({"===", "!==", "==", "!="}, &Parser::relational); }
  ExprPtr relational() { return level({"<=", ">=", "<", ">"}, &Parser::additive); }
  ExprPtr additive() { return level({"+", "-"}, &Parser::multiplicative); }
  ExprPtr multiplicative() { return level({"*", "/", "%"}, &Parser::unary); }

  ExprPtr unary() {
    if (is_punct("!") || is_punct("-")) {
      const Nesting nesting(depth_, peek().offset);
      const Token op = take();
      auto operand = unary();
      const Type wanted = op.text == "!" ? Type::boolean : Type::number;
      require(*operand, wanted, op.offset, "operand of " + op.text);
      auto e = make(Expr::Kind::unary, wanted, op.text);
      adopt(*e, std::move(operand), op.offset);
      return e;
    }
    return member();
  }

  ExprPtr member() {
    auto target = primary();
    while (true) {
      if (is_punct(".")) {
        take();
        const Token& name = take();
        if (name.kind != Token::Kind::identifier) fail(name.offset, "expected a name after '.'");
        if (is_punct("(")) {
          target = call(std::move(target), name);
        } else {
          target = property(std::move(target), name);
        }
      } else if (is_punct("[")) {
        const std::size_t at = take().offset;
        auto key = expression();
        expect("]");
        if (target->type != Type::any) fail(at, std::string("cannot index a ") + type_name(target->type));
        auto e = make(Expr::Kind::index, Type::any);
        adopt(*e, std::move(target), at);
        adopt(*e, std::move(key), at);
        target = std::move(e);
      } else if (is_punct("(")) {
        fail(peek().offset, "only methods can be called");
      } else {
        return target;
      }
    }
  }

  ExprPtr property(ExprPtr target, const Token& name) {
    Type type = Type::any;
    switch (target->type) {
      case Type::any: break;
      case Type::string:
        if (name.text != "length") fail(name.offset, "unknown string property '" + name.text + "'");
        type = Type::number;
        break;
      case Type::query: {
        const auto it = query_fields().find(name.text);
        if (it == query_fields().end()) fail(name.offset, "unknown query property '" + name.text + "'");
        type = it->second;
        break;
      }
      case Type::snapshot:
        if (snapshot_methods().contains(name.text)) fail(name.offset, "method '" + name.text + "' must be called");
        fail(name.offset, "unknown RuleDataSnapshot property '" + name.text + "'");
      default:
        fail(name.offset, std::string("a ") + type_name(target->type) + " has no property '" + name.text + "'");
    }
    auto e = make(Expr::Kind::member, type, name.text);
    adopt(*e, std::move(target), name.offset);
    return e;
  }

  ExprPtr call(ExprPtr target, const Token& name) {
    const std::map<std::string, Method, std::less<>>* methods = nullptr;
    if (target->type == Type::snapshot) {
      methods = &snapshot_methods();
    } else if (target->type == Type::string || target->type == Type::any) {
      methods = &string_methods();  // on `any`, checked again at run time
    } else {
      fail(name.offset, std::string("a ") + type_name(target->type) + " has no method '" + name.text + "'");
    }
    const auto it = methods->find(name.text);
    if (it == methods->end()) {
      fail(name.offset, std::string("unknown ") + (target->type == Type::snapshot ? "RuleDataSnapshot" : "string") +
                            " method '" + name.text + "'");
    }
    auto e = make(Expr::Kind::call, it->second.result, name.text);
    adopt(*e, std::move(target), name.offset);
    expect("(");
    while (!is_punct(")")) {
      if (e->operands.size() > 1) expect(",");
      const std::size_t at = peek().offset;
      adopt(*e, argument(), at);
    }
    const std::size_t close = take().offset;
    std::vector<Type> wanted = it->second.arguments;
    if (name.text == "hasChildren" && e->operands.size() == 2) wanted = {Type::string_list};
    if (e->operands.size() - 1 != wanted.size()) {
      fail(close, "method '" + name.text + "' takes " + std::to_string(wanted.size()) + " argument(s), got " +
                      std::to_string(e->operands.size() - 1));
    }
    for (std::size_t k = 0; k < wanted.size(); ++k) {
      const Expr& argument = *e->operands[k + 1];
      const bool special = wanted[k] == Type::regex || wanted[k] == Type::string_list;
      // Regex and array literals are only allowed where wanted, and wanted ones must be literals.
      if (special ? argument.type != wanted[k] : !accepts(argument.type, wanted[k])) {
        fail(name.offset, "argument " + std::to_string(k + 1) + " of '" + name.text + "' must be " +
                              type_name(wanted[k]) + ", not " + type_name(argument.type));
      }
    }
    return e;
  }

  // An argument may also be a regex literal or an array of strings; call() checks where they are allowed.
  ExprPtr argument() {
    if (peek().kind == Token::Kind::regex) {
      const Token& token = take();
      auto regex = Regex::compile(token.text, token.flags == "i");
      if (!regex.ok()) fail(token.offset, regex.error().message);
      auto e = make(Expr::Kind::regex, Type::regex);
      e->regex = std::make_shared<const Regex>(std::move(regex).value());
      return e;
    }
    if (is_punct("[")) {
      take();
      auto e = make(Expr::Kind::string_list, Type::string_list);
      while (!is_punct("]")) {
        if (!e->strings.empty()) expect(",");
        const Token& item = take();
        if (item.kind != Token::Kind::string) fail(item.offset, "array elements must be string literals");
        e->strings.push_back(item.text);
      }
      take();
      return e;
    }
    return expression();
  }

  ExprPtr primary() {
    const Token& token = take();
    switch (token.kind) {
      case Token::Kind::number: {
        auto e = make(Expr::Kind::literal, Type::number);
        e->literal = token.number;
        return e;
      }
      case Token::Kind::string: {
        auto e = make(Expr::Kind::literal, Type::string);
        e->literal = token.text;
        return e;
      }
      case Token::Kind::identifier: return identifier(token);
      case Token::Kind::regex: fail(token.offset, "a regular expression is only allowed as the argument of matches()");
      case Token::Kind::end: fail(token.offset, "unexpected end of expression");
      case Token::Kind::punct:
        if (token.text == "(") {
          auto inner = expression();
          expect(")");
          return inner;
        }
        if (token.text == "[") fail(token.offset, "an array is only allowed as the argument of hasChildren()");
        fail(token.offset, "unexpected '" + token.text + "'");
    }
    fail(token.offset, "unexpected token");
  }

  ExprPtr identifier(const Token& token) {
    const std::string& name = token.text;
    if (name == "true" || name == "false") {
      auto e = make(Expr::Kind::literal, Type::boolean);
      e->literal = name == "true";
      return e;
    }
    if (name == "null") return make(Expr::Kind::literal, Type::null);
    Type type = Type::any;
    if (name == "auth") {
      type = Type::any;
    } else if (name == "now") {
      type = Type::number;
    } else if (name == "root" || name == "data") {
      type = Type::snapshot;
    } else if (name == "newData") {
      if (kind_ == RuleKind::read) fail(token.offset, "newData is not available in .read rules");
      type = Type::snapshot;
    } else if (name == "query") {
      if (kind_ != RuleKind::read) fail(token.offset, "query is only available in .read rules");
      type = Type::query;
    } else if (name.starts_with('$')) {
      bool found = false;
      for (const auto& w : wildcards_) found = found || w == name;
      if (!found) fail(token.offset, "unknown wildcard variable '" + name + "'");
      type = Type::string;
    } else {
      fail(token.offset, "unknown variable '" + name + "'");
    }
    return make(Expr::Kind::identifier, type, name);
  }

  std::vector<Token> t_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  RuleKind kind_;
  const std::vector<std::string>& wildcards_;
};

}  // namespace

std::variant<ExprPtr, ExpressionError> compile_expression(std::string_view text, RuleKind kind,
                                                          const std::vector<std::string>& wildcards) {
  // Failures unwind the recursive-descent parser by exception; none escapes this function.
  try {
    return Parser(Lexer(text).run(), kind, wildcards).run();
  } catch (const Failure& failure) {
    return failure.error;
  }
}

}  // namespace backside::rules
