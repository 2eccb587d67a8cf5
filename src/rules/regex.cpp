#include "rules/regex.h"

#include <cctype>
#include <memory>

namespace backside::rules {
namespace {

using ByteSet = std::bitset<256>;
using Op = Regex::Instruction::Op;

// Bounds keep a compiled program small whatever the pattern: counted repetition copies its operand.
constexpr int kMaxRepeat = 1000;
constexpr std::size_t kMaxProgram = 100000;

// Pattern syntax tree, compiled to instructions afterwards.
struct RegexNode {
  enum class Kind { bytes, concat, alternate, repeat, line_begin, line_end };
  Kind kind = Kind::concat;
  ByteSet set;
  std::vector<std::unique_ptr<RegexNode>> items;
  int min = 0;
  int max = -1;  // -1: unbounded
  bool greedy = true;
};
using RegexNodePtr = std::unique_ptr<RegexNode>;

ByteSet class_set(char escape) {
  ByteSet set;
  switch (std::tolower(static_cast<unsigned char>(escape))) {
    case 'd':
      for (int c = '0'; c <= '9'; ++c) set.set(c);
      break;
    case 'w':
      for (int c = 0; c < 256; ++c) {
        if (std::isalnum(c) && c < 128) set.set(c);
      }
      set.set('_');
      break;
    default:  // 's'
      for (char c : std::string_view(" \t\n\r\f\v")) set.set(static_cast<unsigned char>(c));
      break;
  }
  if (std::isupper(static_cast<unsigned char>(escape))) set.flip();
  return set;
}

class RegexParser {
 public:
  RegexParser(std::string_view pattern, bool ignore_case) : p_(pattern), ignore_case_(ignore_case) {}

  Result<RegexNodePtr> parse() {
    auto node = alternation();
    if (!error_.empty()) return invalid(error_);
    if (i_ < p_.size()) return fail("unmatched ')'");
    return node;
  }

 private:
  Error fail(std::string what) {
    return invalid("invalid regular expression /" + std::string(p_) + "/ at offset " + std::to_string(i_) + ": " +
                   what);
  }
  void set_error(std::string what) {
    if (error_.empty()) error_ = fail(std::move(what)).message;
  }
  bool more() const { return i_ < p_.size() && error_.empty(); }

  RegexNodePtr alternation() {
    auto first = concatenation();
    if (!more() || p_[i_] != '|') return first;
    auto alt = std::make_unique<RegexNode>();
    alt->kind = RegexNode::Kind::alternate;
    alt->items.push_back(std::move(first));
    while (more() && p_[i_] == '|') {
      ++i_;
      alt->items.push_back(concatenation());
    }
    return alt;
  }

  RegexNodePtr concatenation() {
    auto concat = std::make_unique<RegexNode>();
    while (more() && p_[i_] != '|' && p_[i_] != ')') {
      auto atom = parse_atom();
      if (!error_.empty()) break;
      concat->items.push_back(quantified(std::move(atom)));
    }
    return concat;
  }

  bool parse_int(int& out) {
    const std::size_t start = i_;
    long value = 0;
    while (i_ < p_.size() && std::isdigit(static_cast<unsigned char>(p_[i_]))) {
      value = value * 10 + (p_[i_++] - '0');
      if (value > kMaxRepeat) {
        set_error("repetition count above " + std::to_string(kMaxRepeat));
        return false;
      }
    }
    out = static_cast<int>(value);
    return i_ > start;
  }

  RegexNodePtr quantified(RegexNodePtr atom) {
    while (more()) {
      int min = 0;
      int max = -1;
      const char c = p_[i_];
      if (c == '*') {
        ++i_;
      } else if (c == '+') {
        min = 1;
        ++i_;
      } else if (c == '?') {
        max = 1;
        ++i_;
      } else if (c == '{') {
        ++i_;
        if (!parse_int(min)) {
          set_error("expected a count after '{'");
          return atom;
        }
        max = min;
        if (i_ < p_.size() && p_[i_] == ',') {
          ++i_;
          max = -1;
          if (i_ < p_.size() && p_[i_] != '}' && !parse_int(max)) return atom;
        }
        if (i_ >= p_.size() || p_[i_] != '}') {
          set_error("expected '}'");
          return atom;
        }
        ++i_;
        if (max != -1 && max < min) {
          set_error("repetition range out of order");
          return atom;
        }
      } else {
        return atom;
      }
      if (atom->kind == RegexNode::Kind::line_begin || atom->kind == RegexNode::Kind::line_end) {
        set_error("nothing to repeat");
        return atom;
      }
      auto repeat = std::make_unique<RegexNode>();
      repeat->kind = RegexNode::Kind::repeat;
      repeat->min = min;
      repeat->max = max;
      if (more() && p_[i_] == '?') {
        repeat->greedy = false;
        ++i_;
      }
      repeat->items.push_back(std::move(atom));
      atom = std::move(repeat);
    }
    return atom;
  }

  // With the i flag a set holds both cases of each letter (folded before a class is negated, as in JavaScript).
  ByteSet fold(ByteSet set) const {
    if (!ignore_case_) return set;
    for (int c = 'a'; c <= 'z'; ++c) {
      if (set.test(c) || set.test(c - 'a' + 'A')) {
        set.set(c);
        set.set(c - 'a' + 'A');
      }
    }
    return set;
  }

  RegexNodePtr bytes(ByteSet set) {
    set = fold(set);
    auto node = std::make_unique<RegexNode>();
    node->kind = RegexNode::Kind::bytes;
    node->set = set;
    return node;
  }

  // An escaped character outside a class: a class shorthand or a literal. Backreferences are rejected.
  ByteSet escape() {
    if (i_ >= p_.size()) {
      set_error("trailing backslash");
      return {};
    }
    const char c = p_[i_++];
    ByteSet set;
    switch (c) {
      case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
        return class_set(c);
      case 'n': set.set('\n'); return set;
      case 't': set.set('\t'); return set;
      case 'r': set.set('\r'); return set;
      case 'f': set.set('\f'); return set;
      case 'v': set.set('\v'); return set;
      default:
        if (std::isdigit(static_cast<unsigned char>(c)) && c != '0') {
          set_error("backreferences are not supported");
          return {};
        }
        if (c == '0') {
          set.set(0);
          return set;
        }
        if (std::isalpha(static_cast<unsigned char>(c))) {
          set_error(std::string("unsupported escape \\") + c);
          return {};
        }
        set.set(static_cast<unsigned char>(c));
        return set;
    }
  }

  ByteSet char_class() {
    ByteSet set;
    bool negate = false;
    if (i_ < p_.size() && p_[i_] == '^') {
      negate = true;
      ++i_;
    }
    bool first = true;
    while (true) {
      if (i_ >= p_.size()) {
        set_error("unterminated character class");
        return {};
      }
      if (p_[i_] == ']' && !first) break;
      first = false;
      // One class member: a byte (possibly escaped) or a shorthand; a byte may start a range.
      int low = -1;
      if (p_[i_] == '\\') {
        ++i_;
        const ByteSet member = escape();
        if (!error_.empty()) return {};
        if (member.count() == 1) {
          for (int c = 0; c < 256; ++c) {
            if (member.test(c)) low = c;
          }
        } else {
          set |= member;
          continue;
        }
      } else {
        low = static_cast<unsigned char>(p_[i_++]);
      }
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        int high = static_cast<unsigned char>(p_[i_++]);
        if (high == '\\') {
          const ByteSet member = escape();
          if (!error_.empty()) return {};
          if (member.count() != 1) {
            set_error("invalid range in character class");
            return {};
          }
          for (int c = 0; c < 256; ++c) {
            if (member.test(c)) high = c;
          }
        }
        if (high < low) {
          set_error("character class range out of order");
          return {};
        }
        for (int c = low; c <= high; ++c) set.set(c);
      } else {
        set.set(low);
      }
    }
    ++i_;  // ']'
    return negate ? ~fold(set) : set;
  }

  RegexNodePtr parse_atom() {
    const char c = p_[i_++];
    switch (c) {
      case '(': {
        if (p_.substr(i_, 2) == "?:") i_ += 2;
        auto inner = alternation();
        if (i_ >= p_.size() || p_[i_] != ')') {
          set_error("missing ')'");
          return inner;
        }
        ++i_;
        return inner;
      }
      case '[': return bytes(char_class());
      case '.': {
        ByteSet set;
        set.set();
        set.reset('\n');
        set.reset('\r');
        return bytes(set);
      }
      case '^':
      case '$': {
        auto node = std::make_unique<RegexNode>();
        node->kind = c == '^' ? RegexNode::Kind::line_begin : RegexNode::Kind::line_end;
        return node;
      }
      case '\\': return bytes(escape());
      case '*': case '+': case '?': case '{':
        --i_;
        set_error("nothing to repeat");
        return std::make_unique<RegexNode>();
      default: {
        ByteSet set;
        set.set(static_cast<unsigned char>(c));
        return bytes(set);
      }
    }
  }

  std::string_view p_;
  bool ignore_case_;
  std::size_t i_ = 0;
  std::string error_;
};

class Compiler {
 public:
  explicit Compiler(std::vector<Regex::Instruction>& program) : program_(program) {}

  bool emit(const RegexNode& node) {
    if (program_.size() > kMaxProgram) return false;
    switch (node.kind) {
      case RegexNode::Kind::bytes: add(Op::byte_set).bytes = node.set; return true;
      case RegexNode::Kind::line_begin: add(Op::line_begin); return true;
      case RegexNode::Kind::line_end: add(Op::line_end); return true;
      case RegexNode::Kind::concat:
        for (const auto& item : node.items) {
          if (!emit(*item)) return false;
        }
        return true;
      case RegexNode::Kind::alternate: {
        // split L1, next; L1: a; jmp end; next: split L2, ...; last: z; end:
        std::vector<std::size_t> jumps;
        for (std::size_t k = 0; k < node.items.size(); ++k) {
          const bool last = k + 1 == node.items.size();
          const std::size_t split = last ? 0 : index(add(Op::split));
          if (!last) program_[split].x = static_cast<int>(program_.size());
          if (!emit(*node.items[k])) return false;
          if (!last) {
            jumps.push_back(index(add(Op::jump)));
            program_[split].y = static_cast<int>(program_.size());
          }
        }
        for (std::size_t jump : jumps) program_[jump].x = static_cast<int>(program_.size());
        return true;
      }
      case RegexNode::Kind::repeat: {
        const RegexNode& item = *node.items.front();
        for (int k = 0; k < node.min; ++k) {
          if (!emit(item)) return false;
        }
        if (node.max == -1) {
          // L: split body, end; body; jmp L; end:
          const std::size_t split = index(add(Op::split));
          if (!emit(item)) return false;
          add(Op::jump).x = static_cast<int>(split);
          set_split(split, split + 1, program_.size(), node.greedy);
          return true;
        }
        std::vector<std::size_t> splits;
        for (int k = node.min; k < node.max; ++k) {
          splits.push_back(index(add(Op::split)));
          if (!emit(item)) return false;
        }
        for (std::size_t split : splits) set_split(split, split + 1, program_.size(), node.greedy);
        return true;
      }
    }
    return false;
  }

 private:
  Regex::Instruction& add(Op op) {
    program_.push_back({.op = op});
    return program_.back();
  }
  std::size_t index(const Regex::Instruction& instruction) const {
    return static_cast<std::size_t>(&instruction - program_.data());
  }
  void set_split(std::size_t split, std::size_t body, std::size_t after, bool greedy) {
    program_[split].x = static_cast<int>(greedy ? body : after);
    program_[split].y = static_cast<int>(greedy ? after : body);
  }

  std::vector<Regex::Instruction>& program_;
};

}  // namespace

Result<Regex> Regex::compile(std::string_view pattern, bool ignore_case) {
  auto tree = RegexParser(pattern, ignore_case).parse();
  if (!tree.ok()) return tree.error();
  Regex regex;
  if (!Compiler(regex.program_).emit(**tree) || regex.program_.size() > kMaxProgram) {
    return invalid("regular expression /" + std::string(pattern) + "/ is too large");
  }
  regex.program_.push_back({.op = Op::match});
  return regex;
}

bool Regex::search(std::string_view text) const {
  // Pike VM: `current` holds the threads (program counters) alive before byte `pos`, each at most once.
  const std::size_t size = program_.size();
  std::vector<int> current;
  std::vector<int> next;
  std::vector<std::size_t> seen(size, static_cast<std::size_t>(-1));
  std::vector<int> stack;
  current.reserve(size);
  next.reserve(size);

  // Follows epsilon edges from `pc` at position `pos`, adding consuming instructions to `list`. Returns true on
  // reaching `match`.
  const auto add_thread = [&](std::vector<int>& list, int start, std::size_t pos) {
    stack.assign(1, start);
    while (!stack.empty()) {
      const int pc = stack.back();
      stack.pop_back();
      if (seen[pc] == pos) continue;
      seen[pc] = pos;
      const Instruction& in = program_[pc];
      switch (in.op) {
        case Op::match: return true;
        case Op::byte_set: list.push_back(pc); break;
        case Op::jump: stack.push_back(in.x); break;
        case Op::split:
          stack.push_back(in.y);
          stack.push_back(in.x);
          break;
        case Op::line_begin:
          if (pos == 0) stack.push_back(pc + 1);
          break;
        case Op::line_end:
          if (pos == text.size()) stack.push_back(pc + 1);
          break;
      }
    }
    return false;
  };

  for (std::size_t pos = 0; pos <= text.size(); ++pos) {
    // Unanchored search: a new thread starts at every position.
    if (add_thread(current, 0, pos)) return true;
    if (pos == text.size()) break;
    next.clear();
    const auto byte = static_cast<unsigned char>(text[pos]);
    for (int pc : current) {
      if (program_[pc].bytes.test(byte) && add_thread(next, pc + 1, pos + 1)) return true;
    }
    std::swap(current, next);
  }
  return false;
}

}  // namespace backside::rules
