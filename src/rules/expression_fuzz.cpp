// libFuzzer target for the rules expression compiler (lexer, parser, type check, regex compiler) and the
// evaluator: any input must compile or fail with an error, never crash, hang or leak.
// Build: clang++ -std=c++20 -g -fsanitize=fuzzer,address,undefined -I src src/rules/*.cpp (without tests)
//        src/tree/*.cpp (without tests) -lboost_json -lcrypto
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <string_view>

#include "rules/evaluator.h"
#include "rules/expression.h"
#include "tree/json_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace backside;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const tree::Node root = tree::parse_json(R"({"a":{"b":1,"c":"x"},"d":true})").value();
  static const boost::json::value auth = boost::json::object{{"uid", "u"}, {"token", boost::json::object{}}};
  static const std::vector<std::pair<std::string, std::string>> wildcards = {{"$w", "a"}};
  static const rules::NodeView old_data(root);
  // newData: the tree with a write at /a/b, as the database checks writes (an overlay, materialized on demand).
  static const tree::Node written = tree::parse_json(R"({"e":[1,2]})").value();
  static const rules::OverlayView new_data(root, {{tree::Path({"a", "b"}), &written}});
  for (rules::RuleKind kind : {rules::RuleKind::read, rules::RuleKind::write}) {
    auto compiled = rules::compile_expression(text, kind, {"$w"});
    if (auto* expression = std::get_if<rules::ExprPtr>(&compiled)) {
      const rules::Rule rule{std::nullopt, std::move(*expression)};
      rules::EvalContext context{.auth = &auth, .now = 1, .root = &old_data,
                                 .new_root = kind == rules::RuleKind::read ? nullptr : &new_data,
                                 .path = tree::Path({"a"}), .wildcards = &wildcards};
      const bool granted = rules::evaluate(rule, context);
      // With the reasons of errors recorded (the rules playground's trace), the same verdict.
      std::string why;
      if ((rules::evaluate_rule(rule, context, &why) == rules::Verdict::allow) != granted) std::abort();
    }
  }
  return 0;
}
