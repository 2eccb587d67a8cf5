#pragma once
// The regular expressions of the rules' `matches()` (reference §6.3: an ECMAScript subset). Compiled once at rules
// load into a Pike VM program: matching simulates all threads in lockstep, so time is O(input × program) and no
// pattern can drive it into exponential backtracking. Backreferences are not part of the subset and are rejected.
#include <bitset>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace backside::rules {

class Regex {
 public:
  // Parses `pattern`; errors name the offset of the offending character.
  static Result<Regex> compile(std::string_view pattern, bool ignore_case);

  // True if the pattern matches anywhere in `text` (JavaScript RegExp.test semantics; bytes, not code points).
  bool search(std::string_view text) const;

  struct Instruction {
    enum class Op { byte_set, split, jump, line_begin, line_end, match };
    Op op = Op::match;
    std::bitset<256> bytes;  // byte_set: accepted bytes
    int x = 0;               // split/jump target
    int y = 0;               // split second target
  };

 private:
  std::vector<Instruction> program_;
};

}  // namespace backside::rules
