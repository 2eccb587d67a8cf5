#pragma once
// The regular expressions of the rules' `matches()` (an ECMAScript subset). At rules load the
// pattern is checked against that subset (anything else, e.g. backreferences or lookaround, is refused with the
// offset of the offending character) and translated to RE2 syntax with JavaScript's meaning of `.` and `\s`.
// RE2 matches UTF-8 characters in time linear in the input, with bounded memory, whatever the pattern.
#include <cstddef>
#include <memory>
#include <string_view>

#include "util/result.h"

namespace re2 {
class RE2;
}

namespace backside::rules {

class Regex {
 public:
  static constexpr std::size_t kMaxPatternBytes = 4096;

  // Parses `pattern` (the text between the slashes); errors name the offset of the offending character.
  static Result<Regex> compile(std::string_view pattern, bool ignore_case);

  // True if the pattern matches anywhere in `text` (JavaScript RegExp.test semantics, on UTF-8 characters).
  bool search(std::string_view text) const;

 private:
  std::shared_ptr<const re2::RE2> re_;  // shared: compiled once, matched from any thread (RE2 is thread-safe)
};

}  // namespace backside::rules
