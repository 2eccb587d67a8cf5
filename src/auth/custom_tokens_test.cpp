#include "auth/custom_tokens.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gtest/gtest.h"
#include "util/base64.h"

namespace backside::auth {
namespace {

namespace json = boost::json;

std::string unsigned_token(const json::object& claims) {
  return base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(json::serialize(claims)) + ".";
}

TEST(CustomTokens, MintedTokensVerify) {
  auto key = SigningKey::generate();
  ASSERT_TRUE(key.ok());
  auto token = mint_custom_token(**key, "user-7", json::object{{"role", "editor"}}, 1000);
  ASSERT_TRUE(token.ok()) << token.error().message;
  auto verified = verify_custom_token(**key, *token, 1100, false);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->uid, "user-7");
  EXPECT_EQ(json::serialize(verified->claims), R"({"role":"editor"})");
  EXPECT_FALSE(verify_custom_token(**key, *token, 1000 + 3600, false).ok()) << "expired after an hour";
  EXPECT_EQ(verified->tenant, "");
  // A token for another database's user names it as tenant_id, as firebase-admin's authForTenant does.
  auto for_shop = mint_custom_token(**key, "user-7", {}, 1000, "shop");
  ASSERT_TRUE(for_shop.ok());
  EXPECT_EQ(verify_custom_token(**key, *for_shop, 1100, false)->tenant, "shop");
  json::object bad_tenant{
      {"aud", kCustomTokenAudience}, {"iat", 1000}, {"exp", 2000}, {"uid", "u"}, {"tenant_id", 7}};
  EXPECT_FALSE(verify_custom_token(**key, unsigned_token(bad_tenant), 1001, true).ok());
}

TEST(CustomTokens, RefusesOtherKeysTamperingAndUnsignedOutsideDev) {
  auto key = SigningKey::generate();
  auto other = SigningKey::generate();
  ASSERT_TRUE(key.ok() && other.ok());
  auto foreign = mint_custom_token(**other, "mallory", {}, 1000);
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(verify_custom_token(**key, *foreign, 1001, false).error().code, ErrorCode::invalid_token);

  auto token = mint_custom_token(**key, "alice", {}, 1000);
  ASSERT_TRUE(token.ok());
  const std::string header = token->substr(0, token->find('.'));
  const std::string signature = token->substr(token->rfind('.'));
  json::object claims{{"aud", kCustomTokenAudience}, {"iat", 1000}, {"exp", 2000}, {"uid", "mallory"}};
  EXPECT_FALSE(verify_custom_token(**key, header + "." + base64url_encode(json::serialize(claims)) + signature, 1001,
                                   false)
                   .ok());

  EXPECT_FALSE(verify_custom_token(**key, unsigned_token(claims), 1001, false).ok());
  auto dev = verify_custom_token(**key, unsigned_token(claims), 1001, true);
  ASSERT_TRUE(dev.ok()) << dev.error().message;
  EXPECT_EQ(dev->uid, "mallory");
}

TEST(CustomTokens, ChecksAudienceLifetimeUidAndClaims) {
  auto key = SigningKey::generate();
  ASSERT_TRUE(key.ok());
  const auto check = [&](json::object claims) { return verify_custom_token(**key, unsigned_token(claims), 1001, true); };
  const json::object good{{"aud", kCustomTokenAudience}, {"iat", 1000}, {"exp", 2000}, {"uid", "u"}};
  EXPECT_TRUE(check(good).ok());
  auto wrong_audience = good;
  wrong_audience["aud"] = "backside";
  EXPECT_FALSE(check(wrong_audience).ok()) << "an ID token's audience";
  auto too_long = good;
  too_long["exp"] = 1000 + 3601;
  EXPECT_FALSE(check(too_long).ok());
  auto expired = good;
  expired["exp"] = 1001;
  EXPECT_FALSE(check(expired).ok());
  auto no_uid = good;
  no_uid.erase("uid");
  EXPECT_FALSE(check(no_uid).ok());
  auto long_uid = good;
  long_uid["uid"] = std::string(129, 'u');
  EXPECT_FALSE(check(long_uid).ok());
  auto reserved = good;
  reserved["claims"] = json::object{{"sub", "someone-else"}};
  EXPECT_FALSE(check(reserved).ok());
  auto not_object = good;
  not_object["claims"] = "admin";
  EXPECT_FALSE(check(not_object).ok());
  EXPECT_FALSE(mint_custom_token(**key, "", {}, 1).ok());
  EXPECT_FALSE(mint_custom_token(**key, "u", json::object{{"firebase", 1}}, 1).ok());
  EXPECT_FALSE(verify_custom_token(**key, "not a token", 1, true).ok());
}

}  // namespace
}  // namespace backside::auth
