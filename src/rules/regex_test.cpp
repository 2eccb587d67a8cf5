#include "rules/regex.h"

#include <string>

#include "gtest/gtest.h"

namespace backside::rules {
namespace {

bool M(std::string_view pattern, std::string_view text, bool ignore_case = false) {
  auto regex = Regex::compile(pattern, ignore_case);
  EXPECT_TRUE(regex.ok()) << pattern << ": " << (regex.ok() ? "" : regex.error().message);
  return regex.ok() && regex->search(text);
}

TEST(Regex, Literals) {
  EXPECT_TRUE(M("abc", "xxabcxx"));
  EXPECT_FALSE(M("abd", "xxabcxx"));
  EXPECT_TRUE(M("", "anything"));
  EXPECT_TRUE(M("a\\.b", "a.b"));
  EXPECT_FALSE(M("a\\.b", "axb"));
  EXPECT_TRUE(M("a\\/b", "a/b"));
}

TEST(Regex, Anchors) {
  EXPECT_TRUE(M("^abc$", "abc"));
  EXPECT_FALSE(M("^abc$", "abcd"));
  EXPECT_FALSE(M("^abc$", "xabc"));
  EXPECT_TRUE(M("c$", "abc"));
  EXPECT_TRUE(M("^$", ""));
  EXPECT_FALSE(M("^abc$", "abc\n")) << "$ is the end of the text, not of a line";
  EXPECT_FALSE(M("^abc", "x\nabc"));
}

TEST(Regex, ClassesAndShorthands) {
  EXPECT_TRUE(M("^[a-z]+$", "hello"));
  EXPECT_FALSE(M("^[a-z]+$", "Hello"));
  EXPECT_TRUE(M("^[^0-9]+$", "abc"));
  EXPECT_FALSE(M("^[^0-9]+$", "ab1"));
  EXPECT_TRUE(M("^\\d{3}-\\d{4}$", "555-1234"));
  EXPECT_FALSE(M("^\\d{3}-\\d{4}$", "55-1234"));
  EXPECT_TRUE(M("^\\w+$", "a_B9"));
  EXPECT_FALSE(M("^\\w+$", "a-b"));
  EXPECT_TRUE(M("\\s", "a b"));
  EXPECT_FALSE(M("\\S", "  "));
  EXPECT_TRUE(M("^\\D\\W$", "a-"));
  EXPECT_TRUE(M("^[\\d.]+$", "1.5"));
  EXPECT_TRUE(M("^[-a]+$", "-a-"));
  EXPECT_TRUE(M("^.$", "x"));
  EXPECT_FALSE(M("^.$", "\n"));
}

TEST(Regex, RepetitionAndAlternation) {
  EXPECT_TRUE(M("^ab*c$", "ac"));
  EXPECT_TRUE(M("^ab+c$", "abbbc"));
  EXPECT_FALSE(M("^ab+c$", "ac"));
  EXPECT_TRUE(M("^ab?c$", "abc"));
  EXPECT_FALSE(M("^ab?c$", "abbc"));
  EXPECT_TRUE(M("^a{2,3}$", "aaa"));
  EXPECT_FALSE(M("^a{2,3}$", "aaaa"));
  EXPECT_TRUE(M("^a{2,}$", "aaaaa"));
  EXPECT_FALSE(M("^a{2}$", "a"));
  EXPECT_TRUE(M("^(cat|dog)s?$", "dogs"));
  EXPECT_FALSE(M("^(cat|dog)s?$", "cow"));
  EXPECT_TRUE(M("^(?:ab)+$", "ababab"));
  EXPECT_TRUE(M("^a+?b$", "aab"));
}

TEST(Regex, IgnoreCase) {
  EXPECT_TRUE(M("^hello$", "HeLLo", true));
  EXPECT_FALSE(M("^hello$", "HeLLo", false));
  EXPECT_TRUE(M("^[a-c]+$", "ABC", true));
  EXPECT_FALSE(M("^[^a]$", "A", true));
  EXPECT_TRUE(M("^[^a]$", "b", true));
}

TEST(Regex, EmailExample) {
  // From the Firebase documentation's validation examples.
  const std::string email = "^[A-Z0-9._%+-]+@[A-Z0-9.-]+\\.[A-Z]{2,4}$";
  EXPECT_TRUE(M(email, "someone@example.com", true));
  EXPECT_FALSE(M(email, "someone@example", true));
}

TEST(Regex, RejectsInvalidPatterns) {
  for (std::string_view bad : {"(ab", "ab)", "[abc", "*a", "a{3,1}", "(a)\\1", "a{99999}", "\\", "\\q"}) {
    EXPECT_FALSE(Regex::compile(bad, false).ok()) << bad;
  }
}

TEST(Regex, RejectsWhatTheSubsetLacks) {
  for (std::string_view bad : {"(?=a)", "(?!a)", "(?<=a)b", "(?<name>a)", "a**", "a+*", "a{2}{3}", "^*", "$+",
                               "\\b", "\\x41", "\\u0041", "\\p{L}", "[\\b]", "[a-\\d]", "[z-a]", "\xff",
                               "\xc3"}) {
    EXPECT_FALSE(Regex::compile(bad, false).ok()) << bad;
  }
}

TEST(Regex, ErrorsNameTheProblemAndItsOffset) {
  auto backreference = Regex::compile("(a)\\1", false);
  ASSERT_FALSE(backreference.ok());
  EXPECT_EQ(backreference.error().message,
            "invalid regular expression /(a)\\1/ at offset 5: backreferences are not supported");
  auto lookahead = Regex::compile("x(?=y)", false);
  ASSERT_FALSE(lookahead.ok());
  EXPECT_NE(lookahead.error().message.find("at offset 2: only (...) and (?:...) groups"), std::string::npos)
      << lookahead.error().message;
  auto nested = Regex::compile("(a{1000}){1000}", false);  // each count is allowed, their product is not
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().message, "regular expression /(a{1000}){1000}/ is too large");
  auto long_pattern = Regex::compile(std::string(Regex::kMaxPatternBytes + 1, 'a'), false);
  ASSERT_FALSE(long_pattern.ok());
  EXPECT_NE(long_pattern.error().message.find("is longer than 4096 bytes"), std::string::npos);
  EXPECT_TRUE(Regex::compile(std::string(Regex::kMaxPatternBytes, 'a'), false).ok());
  const std::string deep = std::string(201, '(') + "a" + std::string(201, ')');
  EXPECT_FALSE(Regex::compile(deep, false).ok());
}

TEST(Regex, MatchesCharactersNotBytes) {
  // Seven letters of two bytes each: Firebase counts characters.
  EXPECT_TRUE(M("^.{1,10}$", "Ğüşçöıé"));
  EXPECT_FALSE(M("^.{1,10}$", "Ğüşçöıéğüşç"));  // eleven
  EXPECT_TRUE(M("^.$", "é"));
  EXPECT_TRUE(M("^.$", "€"));
  EXPECT_TRUE(M("^.$", "😀"));
  EXPECT_TRUE(M("^[é-ë]+$", "éêë"));
  EXPECT_FALSE(M("^[é-ë]+$", "è"));
  EXPECT_TRUE(M("^[^é]$", "e"));
  EXPECT_FALSE(M("^[^é]$", "é"));
  EXPECT_TRUE(M("^\\é$", "é")) << "an escaped non-ASCII character is itself";
  EXPECT_TRUE(M("^ğüş$", "ĞÜŞ", true)) << "case folding beyond ASCII";
  EXPECT_FALSE(M("^ğüş$", "ĞÜŞ", false));
  EXPECT_FALSE(M("^\\w$", "é")) << "\\w is ASCII, as in JavaScript";
  EXPECT_TRUE(M("^.{1,1000}$", std::string(1000, 'x'))) << "a large count of '.' fits the memory bound";
}

TEST(Regex, JavaScriptMeaningOfDotSpaceAndEmptyClasses) {
  EXPECT_FALSE(M("^.$", "\r"));
  EXPECT_FALSE(M("^.$", "\u2028"));
  EXPECT_TRUE(M("^\\s$", "\v"));
  EXPECT_FALSE(M("^\\S$", "\v"));
  EXPECT_TRUE(M("^[\\S]+$", "ab"));
  EXPECT_FALSE(M("[]", "anything"));
  EXPECT_TRUE(M("^[^]$", "\n"));
  EXPECT_TRUE(M("^[\\d-z]+$", "1-z"));
  EXPECT_FALSE(M("^[\\d-z]+$", "y"));
  EXPECT_TRUE(M("^a]}$", "a]}"));
  EXPECT_TRUE(M("^a\\0b$", std::string("a\0b", 3)));
  EXPECT_TRUE(M("^[.*+?(){}|^$\\]\\-]+$", ".*+?(){}|^$]-"));
  EXPECT_FALSE(M("^[.*+?]+$", "a"));
  EXPECT_TRUE(M("^(a|)$", ""));
}

TEST(Regex, PathologicalPatternsFinish) {
  // Backtracking engines take exponential time on these; RE2 is linear in the input.
  const std::string long_input = std::string(1 << 20, 'a') + "!";
  EXPECT_FALSE(M("(a+)+$", long_input));
  EXPECT_FALSE(M("^(a|a)*$", long_input));
  const std::string input = std::string(20000, 'a') + "!";
  EXPECT_FALSE(M("^(a+)+$", input));
  EXPECT_FALSE(M("^(a|a)*$", input));
  EXPECT_FALSE(M("^(a*)*b$", input));
  EXPECT_FALSE(M("^(a|aa)+$", input));
  EXPECT_TRUE(M("(a*)*!", input));
}

}  // namespace
}  // namespace backside::rules
