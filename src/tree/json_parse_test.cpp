#include "tree/json_parse.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cstring>
#include <random>

namespace backside::tree {
namespace {

double parse_number(std::string_view text) {
  boost::system::error_code ec;
  auto value = parse_json_value(text, ec);
  EXPECT_FALSE(ec) << text;
  return value.to_number<double>();
}

TEST(JsonParse, NumbersAreReadExactly) {
  // Boost 1.81's own parser reads this as 6.3333000000000001e+54.
  EXPECT_EQ(parse_number("6.333300000000001e+54"), 6.333300000000001e+54);
  EXPECT_EQ(parse_number("0.30000000000000004"), 0.1 + 0.2);
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    char buffer[64];
    auto end = std::to_chars(buffer, buffer + sizeof buffer, d).ptr;
    std::string text(buffer, end);
    ASSERT_EQ(parse_number(text), d) << text;
  }
}

TEST(JsonParse, StructureAndErrors) {
  boost::system::error_code ec;
  auto value = parse_json_value(R"({"a":[1,-2,3.5,"x\u00e9",true,null],"b":{}})", ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(value.at("a").at(1).as_int64(), -2);
  EXPECT_EQ(value.at("a").at(3).as_string(), "x\xc3\xa9");
  parse_json_value("{\"a\":1} x", ec);
  EXPECT_TRUE(ec);
  parse_json_value("[1,", ec);
  EXPECT_TRUE(ec);
  parse_json_value("", ec);
  EXPECT_TRUE(ec);
}

TEST(JsonParse, PiecesGiveTheSameValueAsTheWhole) {
  std::string text = R"({"long":"abcdefghijklmnopqrstuvwxyz","n":12345.678901234567,"k":[1e-7,2.5e+300]})";
  boost::system::error_code ec;
  auto whole = parse_json_value(text, ec);
  ASSERT_FALSE(ec);
  for (std::size_t piece = 1; piece < 9; ++piece) {
    JsonStreamParser parser;
    for (std::size_t i = 0; i < text.size() && !ec; i += piece) parser.write(std::string_view(text).substr(i, piece), ec);
    if (!ec) parser.finish(ec);
    ASSERT_FALSE(ec) << piece;
    EXPECT_EQ(parser.release(), whole) << piece;
  }
}

}  // namespace
}  // namespace backside::tree
