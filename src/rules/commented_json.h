#pragma once
// The JSON dialect of rules files: standard JSON plus // and /* */ comments, parsed into a tree that remembers
// where every value (and every byte of every string) came from, so rule errors can name a line and column.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace backside::rules {

struct SourcePosition {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in bytes
};

struct JsonMember;

struct JsonItem {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  SourcePosition position;  // of the first character of the value
  bool boolean = false;
  double number = 0;
  std::string string;
  // For strings: the source position of each decoded byte, plus one for the closing quote.
  std::vector<SourcePosition> string_positions;
  std::vector<JsonItem> items;                         // array
  std::vector<JsonMember> members;                     // object, in file order; keys are unique

  const char* kind_name() const;
};

// A separate struct rather than std::pair: pair may not hold the still-incomplete JsonItem (clang rejects it).
struct JsonMember {
  std::string key;
  JsonItem value;
};

// Parses one JSON value (the whole text). Errors read "line L, column C: ...".
Result<JsonItem> parse_commented_json(std::string_view text);

}  // namespace backside::rules
