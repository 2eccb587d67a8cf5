#pragma once
// A rule expression: lexed, parsed and type-checked once at rules load into this tree, which
// the evaluator walks per request.
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rules/regex.h"
#include "util/result.h"

namespace backside::rules {

// Which rule an expression belongs to decides the identifiers in scope (`newData` for writes, `query` for reads).
enum class RuleKind { read, write, validate };

// Static types of the load-time check. `any` is what cannot be known before evaluation (auth fields, val()).
enum class Type { any, boolean, number, string, null, snapshot, query, regex, string_list };

struct Expr;
using ExprPtr = std::unique_ptr<const Expr>;

struct Expr {
  enum class Kind {
    literal,      // null, true, false, numbers, strings
    identifier,   // auth, now, root, data, newData, query, $wildcard (name)
    member,       // operands[0].name
    index,        // operands[0][operands[1]]
    call,         // operands[0].name(operands[1..])
    unary,        // name is "!" or "-"
    binary,       // name is the operator; && and || hold a whole chain (two or more operands) and short-circuit
    conditional,  // operands[0] ? operands[1] : operands[2]
    regex,        // /.../flags, only as the argument of matches()
    string_list,  // ['a', 'b'], only as the argument of hasChildren()
  };
  Kind kind = Kind::literal;
  Type type = Type::any;
  std::string name;
  std::variant<std::monostate, bool, double, std::string> literal;
  std::vector<ExprPtr> operands;
  std::vector<std::string> strings;   // string_list
  std::shared_ptr<const Regex> regex;  // regex
  int depth = 1;                       // levels of the tree from here down (a leaf is 1)
};

// The deepest expression tree compile_expression accepts. The evaluator and the destructor recurse over the
// tree, so the bound is on the tree's depth (long flat chains like 1+1+...+1 included), not only on parentheses.
inline constexpr int kMaxExpressionDepth = 1000;

// Where an expression error is: the 0-based offset in the expression text.
struct ExpressionError {
  std::size_t offset = 0;
  std::string message;
};

// Compiles `text` for a rule of `kind` with the `$wildcards` in scope. The result has boolean (or any) type and
// a depth of at most kMaxExpressionDepth.
std::variant<ExprPtr, ExpressionError> compile_expression(std::string_view text, RuleKind kind,
                                                          const std::vector<std::string>& wildcards);

}  // namespace backside::rules
