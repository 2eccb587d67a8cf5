#include "auth/password_sign_in.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <random>

#include "auth/accepted_users.h"

namespace backside::auth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

struct TempDir {
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("backside-sign-in-test-" + std::to_string(rd()) + std::to_string(rd()));
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

const std::shared_ptr<const SigningKey>& key() {
  static const std::shared_ptr<const SigningKey> k = *SigningKey::generate();
  return k;
}

// A database's users, the server's hasher and tokens, and a sign-in over them, with users made as signUp does.
class PasswordSignInTest : public ::testing::Test {
 protected:
  void make_sign_in(PasswordSignInOptions options) {
    sign_in_ = std::make_unique<PasswordSignIn>(directories_, hasher_, tokens_, options);
  }

  void add_user(const std::string& database, const std::string& uid, const std::string& email,
                const std::string& password, bool disabled = false) {
    std::promise<std::string> hash;
    ASSERT_TRUE(hasher_.hash(password, [&](std::string h) { hash.set_value(std::move(h)); }));
    json::object user{{"localId", uid},
                      {"email", normalize_email(email)},
                      {"passwordHash", hash.get_future().get()},
                      {"provider", "password"},
                      {"disabled", disabled}};
    auto users = directories_.of(database);
    ASSERT_TRUE(users.ok());
    ASSERT_TRUE((*users)->create(user).ok());
  }

  Result<json::object> check(const std::string& database, const std::string& email, const std::string& password,
                             const std::string& address = "10.0.0.1") {
    std::promise<Result<json::object>> outcome;
    sign_in_->check(database, email, password, address,
                    [&](Result<json::object> user) { outcome.set_value(std::move(user)); });
    return outcome.get_future().get();
  }

  Result<identity::Identity> sign_in(const std::string& tenant, const std::string& email,
                                     const std::string& password, const std::string& address = "10.0.0.1",
                                     const std::string& database = "main") {
    std::promise<Result<identity::Identity>> outcome;
    sign_in_->sign_in(database, tenant, email, password, address,
                      [&](Result<identity::Identity> identity) { outcome.set_value(std::move(identity)); });
    return outcome.get_future().get();
  }

  static std::string refusal(const Result<json::object>& user) { return user ? "(signed in)" : user.error().message; }
  static std::string refusal(const Result<identity::Identity>& identity) {
    return identity ? "(signed in)" : identity.error().message;
  }

  void SetUp() override {
    ASSERT_TRUE(tenants_.create("Shop", "shop").ok());
    fs::create_directories(dir_.path / "db" / "kids");
    tokens_.limit_databases(&accepted_);
  }

  TempDir dir_;
  TenantFolders tenants_{dir_.path / "tenants"};
  UserDirectories directories_{users_on_disk((dir_.path / "users").string(), tenants_), tenants_};
  AcceptedUsers accepted_{dir_.path, tenants_};
  PasswordHasher hasher_{2, 8};
  IdTokens tokens_{key(), {}};
  std::unique_ptr<PasswordSignIn> sign_in_;
};

TEST_F(PasswordSignInTest, TheRightPasswordGivesTheUserAndItsIdentity) {
  make_sign_in({});
  add_user("", "u1", "Ann@Example.com", "secret-1");
  auto user = check("", "ann@example.com", "secret-1");
  ASSERT_TRUE(user.ok()) << refusal(user);
  EXPECT_EQ(user->at("localId"), "u1");

  auto identity = sign_in("", "ann@example.com", "secret-1");
  ASSERT_TRUE(identity.ok()) << refusal(identity);
  ASSERT_TRUE(identity->variable);
  const auto& variable = identity->variable->as_object();
  EXPECT_EQ(variable.at("uid"), "u1");
  EXPECT_EQ(variable.at("provider"), "password");
  EXPECT_EQ(variable.at("token").as_object().at("email"), "ann@example.com");
  EXPECT_GT(identity->expires_at, 0);
  EXPECT_FALSE(identity->admin);
}

TEST_F(PasswordSignInTest, EachTenantChecksItsOwnUsersAndEachDatabaseItsOwnLimits) {
  make_sign_in({});
  add_user("shop", "s1", "bob@example.com", "shop-pass");
  EXPECT_EQ(refusal(check("", "bob@example.com", "shop-pass")), "EMAIL_NOT_FOUND");
  auto identity = sign_in("shop", "bob@example.com", "shop-pass");
  ASSERT_TRUE(identity.ok()) << refusal(identity);
  // A token of the shop's users names its tenant.
  EXPECT_EQ(identity->variable->as_object().at("token").as_object().at("firebase").as_object().at("tenant"), "shop");
  EXPECT_EQ(refusal(check("ghost", "bob@example.com", "shop-pass")), "TENANT_NOT_FOUND");
  EXPECT_EQ(refusal(sign_in("no such", "bob@example.com", "shop-pass")), "INVALID_TENANT_ID");
  // A database limited to the project's users refuses the shop's, with the right password too.
  ASSERT_TRUE(accepted_.set("kids", std::vector<std::string>{"@project"}).ok());
  EXPECT_EQ(refusal(sign_in("shop", "bob@example.com", "shop-pass", "10.0.0.1", "kids")),
            "Auth token is for the users of tenant \"shop\", which database \"kids\" does not accept.");
  EXPECT_TRUE(sign_in("shop", "bob@example.com", "shop-pass", "10.0.0.1", "main").ok());
}

TEST_F(PasswordSignInTest, RefusalsCarryFirebaseCodesAndHideWhichCredentialWasWrong) {
  make_sign_in({});
  add_user("", "u1", "ann@example.com", "secret-1");
  add_user("", "u2", "off@example.com", "secret-2", /*disabled=*/true);

  auto wrong = check("", "ann@example.com", "secret-2");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::invalid_token);
  EXPECT_EQ(wrong.error().message, "INVALID_PASSWORD");
  EXPECT_EQ(refusal(check("", "nobody@example.com", "secret-1")), "EMAIL_NOT_FOUND");
  EXPECT_EQ(refusal(check("", "off@example.com", "secret-2")), "USER_DISABLED");

  // Connecting doors learn only that the credentials were wrong.
  auto wrong_identity = sign_in("", "ann@example.com", "secret-2");
  ASSERT_FALSE(wrong_identity.ok());
  EXPECT_EQ(wrong_identity.error().code, ErrorCode::invalid_token);
  EXPECT_EQ(wrong_identity.error().message, "INVALID_LOGIN_CREDENTIALS");
  EXPECT_EQ(refusal(sign_in("", "nobody@example.com", "secret-1")), "INVALID_LOGIN_CREDENTIALS");
  EXPECT_EQ(refusal(sign_in("", "off@example.com", "secret-2")), "USER_DISABLED");
}

TEST_F(PasswordSignInTest, WrongPasswordsLockTheAccountOfThatPoolOnly) {
  make_sign_in({.per_account = {.max_attempts = 2, .window_seconds = 300},
                .per_address = {.max_attempts = 100, .window_seconds = 300}});
  add_user("", "u1", "ann@example.com", "secret-1");
  add_user("shop", "s1", "ann@example.com", "secret-1");
  EXPECT_EQ(refusal(check("", "ann@example.com", "wrong")), "INVALID_PASSWORD");
  EXPECT_EQ(refusal(check("", "ANN@example.com", "wrong")), "INVALID_PASSWORD");  // the same account
  // Locked: even the right password is refused, from any address, on every door.
  EXPECT_EQ(refusal(check("", "ann@example.com", "secret-1", "10.0.0.9")), kTooManySignInAttempts);
  EXPECT_EQ(refusal(sign_in("", "ann@example.com", "secret-1")), kTooManySignInAttempts);
  // The same email in another pool is another account.
  EXPECT_TRUE(check("shop", "ann@example.com", "secret-1").ok());
}

TEST_F(PasswordSignInTest, TheRightPasswordForgetsTheWrongOnesBeforeIt) {
  make_sign_in({.per_account = {.max_attempts = 2, .window_seconds = 300},
                .per_address = {.max_attempts = 100, .window_seconds = 300}});
  add_user("", "u1", "ann@example.com", "secret-1");
  EXPECT_EQ(refusal(check("", "ann@example.com", "wrong")), "INVALID_PASSWORD");
  EXPECT_TRUE(check("", "ann@example.com", "secret-1").ok());
  EXPECT_EQ(refusal(check("", "ann@example.com", "wrong")), "INVALID_PASSWORD");
  EXPECT_TRUE(check("", "ann@example.com", "secret-1").ok());
}

TEST_F(PasswordSignInTest, WrongPasswordsAndUnknownEmailsLockTheAddress) {
  make_sign_in({.per_account = {.max_attempts = 100, .window_seconds = 300},
                .per_address = {.max_attempts = 2, .window_seconds = 300}});
  add_user("", "u1", "ann@example.com", "secret-1");
  EXPECT_EQ(refusal(check("", "ann@example.com", "wrong", "10.0.0.1")), "INVALID_PASSWORD");
  EXPECT_EQ(refusal(check("", "probe@example.com", "x", "10.0.0.1")), "EMAIL_NOT_FOUND");
  EXPECT_EQ(refusal(check("", "ann@example.com", "secret-1", "10.0.0.1")), kTooManySignInAttempts);
  // Another address still signs the account in.
  EXPECT_TRUE(check("", "ann@example.com", "secret-1", "10.0.0.2").ok());
}

TEST_F(PasswordSignInTest, AFullHasherRefusesAtOnceAndHoldsNoPlaceInTheLimits) {
  PasswordHasher small(1, 1);
  sign_in_ = std::make_unique<PasswordSignIn>(
      directories_, small, tokens_,
      PasswordSignInOptions{.per_account = {.max_attempts = 1, .window_seconds = 300},
                            .per_address = {.max_attempts = 1, .window_seconds = 300}});
  add_user("", "u1", "ann@example.com", "secret-1");
  // Fill the small hasher's only place with a job that waits.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> running;
  ASSERT_TRUE(small.verify("not a hash", "x", [&](bool) {
    running.set_value();
    released.wait();
  }));
  running.get_future().wait();
  auto busy = check("", "ann@example.com", "secret-1");
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, ErrorCode::unavailable);
  EXPECT_EQ(busy.error().message, kPasswordHashesBusy);
  release.set_value();
  // Its places in both limits (one attempt each) were given back: the right password still signs in.
  for (int i = 0; i < 100 && small.pending() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(check("", "ann@example.com", "secret-1").ok());
}

}  // namespace
}  // namespace backside::auth
