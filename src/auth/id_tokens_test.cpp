#include "auth/id_tokens.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <random>

#include "auth/jwt.h"
#include "util/base64.h"
#include "util/temp_dir.h"

namespace backside::auth {
namespace {

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const std::shared_ptr<const SigningKey>& key() {
  static const std::shared_ptr<const SigningKey> k = *SigningKey::generate();
  return k;
}

TEST(IdTokens, MintedTokensVerifyWithFirebaseClaims) {
  IdTokens tokens(key(), {});
  TokenSubject alice{.uid = "alice", .email = "a@x.com", .sign_in_provider = "password"};
  alice.custom_claims["role"] = "editor";
  auto token = tokens.mint(alice, now());
  ASSERT_TRUE(token.ok());
  auto verified = tokens.verify("default", *token);
  ASSERT_TRUE(verified && verified->ok());
  const auto& variable = (*verified)->variable->as_object();
  EXPECT_EQ(variable.at("uid"), "alice");
  EXPECT_EQ(variable.at("provider"), "password");
  EXPECT_EQ(variable.at("token").as_object().at("role"), "editor");
  EXPECT_EQ(variable.at("token").as_object().at("email"), "a@x.com");
  EXPECT_GT((*verified)->expires_at, now());
  // Cached: the second check of the same token gives the same identity.
  auto again = tokens.verify("default", *token);
  ASSERT_TRUE(again && again->ok());
  EXPECT_EQ((*again)->expires_at, (*verified)->expires_at);
}

TEST(IdTokens, ATokenMintedWithAKeyVerifiesWithTheSameKeyReadBackFromItsPemAndNotWithAnother) {
  // A cluster's nodes share the key as PEM (docs/cluster.md): one node mints, another verifies.
  auto copy = SigningKey::from_pem(key()->pem());
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  EXPECT_EQ((*copy)->kid(), key()->kid());
  IdTokens minting(key(), {});
  IdTokens other_node(*copy, {});
  IdTokens stranger(*SigningKey::generate(), {});
  auto token = minting.mint(TokenSubject{.uid = "alice"}, now());
  ASSERT_TRUE(token.ok());
  auto verified = other_node.verify("default", *token);
  ASSERT_TRUE(verified && verified->ok());
  auto refused = stranger.verify("default", *token);
  EXPECT_FALSE(refused && refused->ok());
  EXPECT_FALSE(SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n").ok());
  EXPECT_FALSE(SigningKey::from_pem("").ok());
}

TEST(IdTokens, EveryDatabaseAcceptsEveryPoolUnlessLimitedToOthers) {
  TempDir dir("backside-id-tokens-test");
  TenantFolders tenants(dir.path() / "auth" / "tenants");
  ASSERT_TRUE(tenants.create("Shop", "shop").ok());
  std::filesystem::create_directories(dir.path() / "db" / "kids");
  AcceptedUsers accepted(dir.path(), tenants);
  IdTokens tokens(key(), {});
  tokens.limit_databases(&accepted);
  auto of_project = tokens.mint({.uid = "u1", .sign_in_provider = "password"}, now());
  auto of_shop = tokens.mint({.uid = "u1", .sign_in_provider = "password", .tenant = "shop"}, now());
  ASSERT_TRUE(of_project.ok() && of_shop.ok());
  // The tenant is in the claims, as Firebase puts it (the rules' auth.token.firebase.tenant).
  auto jwt = decode_jwt(*of_shop);
  ASSERT_TRUE(jwt.ok());
  EXPECT_EQ(jwt->claims.at("firebase").as_object().at("tenant"), "shop");
  EXPECT_FALSE(decode_jwt(*of_project)->claims.at("firebase").as_object().contains("tenant"));
  auto verified = tokens.verify("any", *of_shop);
  ASSERT_TRUE(verified && verified->ok());
  EXPECT_EQ((*verified)->variable->as_object().at("token").as_object().at("firebase").as_object().at("tenant"), "shop");

  for (const char* database : {"default", "kids", "anything"}) {
    EXPECT_TRUE(tokens.verify(database, *of_project)->ok()) << database;
    EXPECT_TRUE(tokens.verify(database, *of_shop)->ok()) << database;
  }
  // Limited to the shop's users: the project's token is refused there, also once cached, and still opens others.
  ASSERT_TRUE(accepted.set("kids", std::vector<std::string>{"shop"}).ok());
  for (int i = 0; i < 2; ++i) {
    auto refused = tokens.verify("kids", *of_project);
    ASSERT_TRUE(refused.has_value());
    ASSERT_FALSE(refused->ok());
    EXPECT_EQ(refused->error().code, ErrorCode::invalid_token);
    EXPECT_EQ(refused->error().message,
              "Auth token is for the project's users, which database \"kids\" does not accept.");
    EXPECT_TRUE(tokens.verify("kids", *of_shop)->ok());
    EXPECT_TRUE(tokens.verify("default", *of_project)->ok());
  }
  auto any = tokens.verify_any(*of_shop);
  ASSERT_TRUE(any && any->ok());
  EXPECT_EQ((*any)->tenant, "shop");
  EXPECT_EQ((*tokens.verify_any(*of_project))->tenant, "");
}

TEST(IdTokens, ABurstWithOneTokenCostsOneSignatureCheck) {
  IdTokens tokens(key(), {});
  auto token = tokens.mint({.uid = "carol", .sign_in_provider = "password"}, now());
  ASSERT_TRUE(token.ok());
  for (int i = 0; i < 10000; ++i) {
    auto verified = tokens.verify("default", *token);
    ASSERT_TRUE(verified && verified->ok());
  }
  EXPECT_EQ(tokens.signature_checks(), 1u);
  for (int i = 0; i < 10; ++i) {
    auto other = tokens.mint({.uid = "user" + std::to_string(i), .sign_in_provider = "password"}, now());
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(tokens.verify("default", *other)->ok());
    ASSERT_TRUE(tokens.verify("default", *other)->ok());
  }
  EXPECT_EQ(tokens.signature_checks(), 11u);
}

TEST(IdTokens, ExpiredTamperedAndForeignTokensAreRefused) {
  IdTokens tokens(key(), {.lifetime_seconds = 60});
  auto old = tokens.mint({.uid = "bob", .sign_in_provider = "anonymous"}, now() - 120);
  auto expired = tokens.verify("default", *old);
  ASSERT_TRUE(expired.has_value());
  ASSERT_FALSE(expired->ok());
  EXPECT_EQ(expired->error().code, ErrorCode::invalid_token);

  auto good = *tokens.mint({.uid = "bob", .sign_in_provider = "anonymous"}, now());
  const auto first = good.find('.');
  const auto second = good.find('.', first + 1);
  auto jwt = *decode_jwt(good);
  jwt.claims["sub"] = "mallory";
  const std::string tampered = good.substr(0, first) + "." + base64url_encode(boost::json::serialize(jwt.claims)) +
                               good.substr(second);
  auto refused = tokens.verify("default", tampered);
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->ok());

  IdTokens other(*SigningKey::generate(), {});
  auto foreign = other.mint({.uid = "eve"}, now());
  auto by_us = tokens.verify("default", *foreign);
  ASSERT_TRUE(by_us.has_value());  // RS256 with an unknown kid: refused here, not passed on
  EXPECT_FALSE(by_us->ok());

  // Not ours at all (not a JWT, or unsigned): left to the other verifiers / --dev.
  EXPECT_FALSE(tokens.verify("default", "some-admin-token").has_value());
  EXPECT_FALSE(tokens.verify("default", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.").has_value());
}

TEST(IdTokens, TokensOfDeletedDisabledOrRevokedUsersAreRefusedOnceCached) {
  const auto root = std::filesystem::temp_directory_path() /
                    ("backside-id-tokens-test-" + std::to_string(std::random_device{}()));
  {
    TenantFolders tenants(root / "tenants");
    UserDirectories directories(users_on_disk((root / "users").string(), tenants), tenants);
    UserStore& users = **directories.of("");
    IdTokens tokens(key(), {});
    tokens.check_users_in(&directories);
    ASSERT_TRUE(users.create({{"localId", "dan"}, {"disabled", false}}).ok());
    ASSERT_TRUE(users.create({{"localId", "fay"}, {"disabled", false}}).ok());
    const std::int64_t signed_in = now() - 10;
    const std::string dan = *tokens.mint({.uid = "dan", .sign_in_provider = "password", .auth_time = signed_in}, now());
    const std::string fay = *tokens.mint({.uid = "fay", .sign_in_provider = "password", .auth_time = signed_in}, now());
    const std::string ghost = *tokens.mint({.uid = "ghost", .sign_in_provider = "password"}, now());
    auto accepted = [&](const std::string& token) {
      auto verified = tokens.verify("default", token);
      return verified.has_value() && verified->ok();
    };
    auto reason = [&](const std::string& token) { return tokens.verify("default", token)->error().message; };
    EXPECT_FALSE(accepted(ghost)) << "a token of a user who does not exist";
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(accepted(dan) && accepted(fay));
    EXPECT_EQ(tokens.signature_checks(), 3u);

    // Disabled: refused, cached or not; enabled again: accepted.
    auto record = *users.find_by_uid("dan");
    record["disabled"] = true;
    ASSERT_TRUE(users.update(record).ok());
    EXPECT_FALSE(accepted(dan));
    EXPECT_NE(reason(dan).find("disabled"), std::string::npos);
    EXPECT_TRUE(accepted(fay)) << "others are unaffected";
    record["disabled"] = false;
    ASSERT_TRUE(users.update(record).ok());
    EXPECT_TRUE(accepted(dan));

    // Revoked: sessions begun before validSince are refused, later ones accepted.
    record["validSince"] = std::to_string(signed_in + 5);
    ASSERT_TRUE(users.update(record).ok());
    EXPECT_FALSE(accepted(dan));
    EXPECT_NE(reason(dan).find("revoked"), std::string::npos);
    const std::string fresh = *tokens.mint({.uid = "dan", .sign_in_provider = "password", .auth_time = now()}, now());
    EXPECT_TRUE(accepted(fresh));

    // Deleted.
    ASSERT_TRUE(users.remove("fay").ok());
    EXPECT_FALSE(accepted(fay));
    EXPECT_NE(reason(fay).find("no longer exists"), std::string::npos);
    // The Auth endpoints look the user up themselves.
    auto unchecked = tokens.verify_any(fay, /*check_user=*/false);
    ASSERT_TRUE(unchecked && unchecked->ok());
    EXPECT_EQ((*unchecked)->uid, "fay");
    EXPECT_EQ((*unchecked)->auth_time, signed_in);
  }
  std::filesystem::remove_all(root);
}

TEST(IdTokens, TokensOfADeletedTenantAreRefused) {
  TempDir dir("backside-id-tokens-test");
  TenantFolders tenants(dir.path() / "tenants");
  UserDirectories directories(users_on_disk((dir.path() / "users").string(), tenants), tenants);
  IdTokens tokens(key(), {});
  tokens.check_users_in(&directories);
  ASSERT_TRUE(tenants.create("Shop", "shop").ok());
  ASSERT_TRUE((*directories.of("shop"))->create({{"localId", "kim"}, {"disabled", false}}).ok());
  const std::string kim = *tokens.mint({.uid = "kim", .sign_in_provider = "password", .tenant = "shop"}, now());
  auto session = tokens.verify("default", kim);
  ASSERT_TRUE(session && session->ok());
  ASSERT_TRUE(directories.remove_tenant("shop").ok());
  EXPECT_TRUE((*session)->standing->ended()) << "its sessions end";
  EXPECT_EQ((*session)->standing->why(), "Auth token's tenant was deleted.");
  auto refused = tokens.verify("default", kim);
  ASSERT_TRUE(refused.has_value());
  ASSERT_FALSE(refused->ok());
  EXPECT_EQ(refused->error().message, "Auth token's tenant no longer exists.");
}

TEST(IdTokens, WhyAUserRefusesAToken) {
  EXPECT_FALSE(why_user_refuses_token({{"localId", "u"}}, 100).has_value());
  EXPECT_EQ(why_user_refuses_token({{"disabled", true}}, 100), "USER_DISABLED");
  EXPECT_EQ(why_user_refuses_token({{"validSince", "101"}}, 100), "TOKEN_EXPIRED");
  EXPECT_FALSE(why_user_refuses_token({{"validSince", "100"}}, 100).has_value()) << "the same second is allowed";
  EXPECT_FALSE(why_user_refuses_token({{"validSince", "garbage"}}, 100).has_value());
}

}  // namespace
}  // namespace backside::auth
