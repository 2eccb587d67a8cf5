#include "util/budgeted_json_storage.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tree/json_parse.h"

namespace backside {
namespace {

std::string number_array(int count) {
  std::string text = "[";
  for (int i = 0; i < count; ++i) text += (i ? ",7" : "7");
  return text + "]";
}

TEST(BudgetedJsonStorage, ParsedValuesAreChargedWhileTheyLive) {
  MemoryBudget budget(std::size_t(64) << 20);
  {
    boost::system::error_code ec;
    const boost::json::value value =
        tree::parse_json_value(number_array(100000), ec, {}, budgeted_json_storage(&budget));
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(value.as_array().size(), 100000u);
    // 100,000 values of 16 bytes: the parsed form, not the 200 KB of text.
    EXPECT_GE(budget.used(), 100000u * sizeof(boost::json::value));
  }
  EXPECT_EQ(budget.used(), 0u);  // given back with the last value
}

TEST(BudgetedJsonStorage, JsonThatDoesNotFitIsRefusedAndLeavesNothingCharged) {
  MemoryBudget budget(std::size_t(1) << 20);  // 1 MiB: less than 200,000 values
  boost::system::error_code ec;
  const boost::json::value value =
      tree::parse_json_value(number_array(200000), ec, {}, budgeted_json_storage(&budget));
  EXPECT_EQ(ec, boost::system::errc::not_enough_memory);
  EXPECT_TRUE(value.is_null());
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.refusals(MemoryBudget::Use::parsed_request), 1u);
  // Small messages still fit beside it.
  const boost::json::value small = tree::parse_json_value(R"({"a":[1,2,3]})", ec, {}, budgeted_json_storage(&budget));
  EXPECT_FALSE(ec);
  EXPECT_EQ(small.at("a").as_array().size(), 3u);
}

TEST(BudgetedJsonStorage, JsonThatEndsInsideAnObjectFreesItsKeysAndItsCharge) {
  // The parser's unfinished values (keys among them) are freed by Boost.JSON with other alignment arguments than
  // they were allocated with: under ASan this failed with new-delete-type-mismatch.
  MemoryBudget budget(std::size_t(1) << 20);
  boost::system::error_code ec;
  const boost::json::value value =
      tree::parse_json_value(R"({"a":[1,2,{"b":{"key":"value","other)", ec, {}, budgeted_json_storage(&budget));
  EXPECT_TRUE(ec);
  EXPECT_TRUE(value.is_null());
  EXPECT_EQ(budget.used(), 0u);
}

TEST(BudgetedJsonStorage, WithoutABudgetTheDefaultStorageIsUsed) {
  boost::system::error_code ec;
  const boost::json::value value = tree::parse_json_value("[1,2]", ec, {}, budgeted_json_storage(nullptr));
  EXPECT_FALSE(ec);
  EXPECT_EQ(value.storage().get(), boost::json::storage_ptr().get());
}

// A small message is parsed into one arena: charged to the budget while any of its values lives, given back with
// the last, and refused the same way when the budget cannot give the arena its block.
TEST(BudgetedJsonStorage, ASmallMessageIsParsedIntoAnArenaChargedWhileItsValuesLive) {
  MemoryBudget budget(std::size_t(1) << 20);
  const std::string text = R"({"t":"d","d":{"r":1,"a":"p","b":{"p":"/rooms/a","d":{"seq":1,"text":"hello"}}}})";
  boost::system::error_code ec;
  boost::json::value kept;
  {
    boost::json::value message = tree::parse_json_value(text, ec, {}, budgeted_json_storage(&budget, text.size()));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(message.storage().get(), message.at("d").storage().get());
    EXPECT_GE(budget.used(), text.size());
    kept = std::move(message.at("d").at("b").at("d"));  // another storage: copied out, the arena's copy stays
    EXPECT_EQ(kept.at("text").as_string(), "hello");
  }
  EXPECT_EQ(budget.used(), 0u);
  // A value that stays (moved with its storage) keeps the arena, and its charge, alive.
  std::optional<boost::json::value> moved;
  {
    boost::json::value message = tree::parse_json_value(text, ec, {}, budgeted_json_storage(&budget, text.size()));
    ASSERT_FALSE(ec);
    moved.emplace(std::move(message.at("d")));  // move-constructed: the same storage
    EXPECT_EQ(moved->storage().get(), message.storage().get());
  }
  EXPECT_GE(budget.used(), text.size());
  moved.reset();
  EXPECT_EQ(budget.used(), 0u);

  MemoryBudget tiny(512);  // less than the arena's first block
  const boost::json::value refused = tree::parse_json_value(text, ec, {}, budgeted_json_storage(&tiny, text.size()));
  EXPECT_EQ(ec, boost::system::errc::not_enough_memory);
  EXPECT_TRUE(refused.is_null());
  EXPECT_EQ(tiny.used(), 0u);
}

}  // namespace
}  // namespace backside
