#include "tree/query_params.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tree/json_codec.h"

namespace backside::tree {
namespace {

using Params = std::map<std::string, std::string>;

std::optional<Query> Parsed(const Params& params, const QueryParamsOptions& options = {}) {
  auto query = parse_query_params(params, options);
  EXPECT_TRUE(query.ok()) << query.error().message;
  return query.ok() ? *query : std::nullopt;
}

std::string ErrorOf(const Params& params, const QueryParamsOptions& options = {}) {
  auto query = parse_query_params(params, options);
  EXPECT_FALSE(query.ok());
  return query.ok() ? "" : query.error().message;
}

TEST(QueryParams, NoFiltersNoQuery) {
  EXPECT_EQ(Parsed({}), std::nullopt);
  EXPECT_EQ(Parsed({{"print", "pretty"}, {"shallow", "true"}}), std::nullopt);
  EXPECT_EQ(Parsed({}, {.default_order = true}), std::nullopt);
}

TEST(QueryParams, FiltersNeedOrderByAsFirebaseSays) {
  for (const char* filter : {"limitToFirst", "limitToLast", "startAt", "endAt", "equalTo", "startAfter", "endBefore"}) {
    EXPECT_EQ(ErrorOf({{filter, "1"}}), "orderBy must be defined when other query parameters are defined") << filter;
  }
}

TEST(QueryParams, WithTheDefaultOrderFiltersWithoutOrderByOrderByPriority) {
  const std::optional<Query> first = Parsed({{"limitToFirst", "50"}}, {.default_order = true});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->index, Query::Index::priority);
  EXPECT_EQ(first->limit, 50u);
  EXPECT_FALSE(first->limit_from_last);
  EXPECT_EQ(first->identifier(), R"({"l":50,"vf":"l"})");  // the SDK's query(ref, limitToFirst(50))

  const std::optional<Query> range = Parsed({{"startAt", "1"}, {"endAt", "\"m\""}}, {.default_order = true});
  ASSERT_TRUE(range);
  EXPECT_EQ(range->index, Query::Index::priority);
  EXPECT_EQ(to_json(range->start->value), "1");
  EXPECT_EQ(to_json(range->end->value), "\"m\"");

  // The priority order's own checks still apply: no boolean bounds.
  EXPECT_NE(ErrorOf({{"equalTo", "true"}}, {.default_order = true}).find("orderByPriority"), std::string::npos);
  // An orderBy given is used as given.
  const std::optional<Query> by_key = Parsed({{"orderBy", "\"$key\""}, {"limitToLast", "2"}}, {.default_order = true});
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->index, Query::Index::key);
  EXPECT_TRUE(by_key->limit_from_last);
}

TEST(QueryParams, OrderByAndBoundsMustBeJson) {
  EXPECT_NE(ErrorOf({{"orderBy", "$key"}}).find("orderBy must be a valid JSON encoded path"), std::string::npos);
  EXPECT_NE(ErrorOf({{"orderBy", "name"}, {"limitToFirst", "1"}}, {.default_order = true})
                .find("orderBy must be a valid JSON encoded path"),
            std::string::npos);
  EXPECT_NE(ErrorOf({{"orderBy", "5"}}).find("orderBy must be a valid JSON encoded path"), std::string::npos);
  EXPECT_NE(ErrorOf({{"orderBy", "\"n\""}, {"startAt", "chest"}}).find("startAt must be a JSON primitive"),
            std::string::npos);
}

TEST(QueryParams, TextValuesAreReadAsTheEmulatorUiMeansThem) {
  const QueryParamsOptions text{.default_order = true, .text_values = true};
  // orderBy=age&startAt=30: orderByChild("age").startAt(30), the value parsed as JSON where it is JSON.
  const std::optional<Query> age = Parsed({{"orderBy", "age"}, {"startAt", "30"}, {"limitToFirst", "50"}}, text);
  ASSERT_TRUE(age);
  EXPECT_EQ(age->index, Query::Index::child);
  EXPECT_EQ(age->child_path.to_string(), "/age");
  EXPECT_EQ(to_json(age->start->value), "30");
  EXPECT_EQ(age->limit, 50u);
  // ...and as a string where it is not: equalTo=chest is equalTo("chest").
  const std::optional<Query> group = Parsed({{"orderBy", "group"}, {"equalTo", "chest"}}, text);
  ASSERT_TRUE(group);
  EXPECT_EQ(to_json(group->start->value), "\"chest\"");
  EXPECT_EQ(to_json(group->end->value), "\"chest\"");
  // A child named like a JSON value is still a child; JSON strings keep their meaning.
  const std::optional<Query> numbered = Parsed({{"orderBy", "5"}, {"endAt", "\"x\""}}, text);
  ASSERT_TRUE(numbered);
  EXPECT_EQ(numbered->child_path.to_string(), "/5");
  EXPECT_EQ(to_json(numbered->end->value), "\"x\"");
  const std::optional<Query> by_key = Parsed({{"orderBy", "\"$key\""}, {"startAt", "b"}}, text);
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->index, Query::Index::key);
  EXPECT_EQ(to_json(by_key->start->value), "\"b\"");
  // Still refused: a path that is not a valid child path, an object bound, both limits.
  EXPECT_NE(ErrorOf({{"orderBy", "a.b"}}, text).find("orderBy is not a valid child path"), std::string::npos);
  EXPECT_NE(ErrorOf({{"orderBy", "age"}, {"startAt", "{\"a\":1}"}}, text).find("startAt must be a JSON primitive"),
            std::string::npos);
  EXPECT_EQ(ErrorOf({{"limitToFirst", "1"}, {"limitToLast", "1"}}, text),
            "limitToFirst and limitToLast cannot both be set");
}

}  // namespace
}  // namespace backside::tree
