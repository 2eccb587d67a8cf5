#include "identity/credential_expiry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace backside::identity {
namespace {

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Identity user_auth(std::shared_ptr<AccountStanding> standing, std::int64_t expires_at = 0) {
  Identity auth = Identity::from_variable({{"uid", "u"}}, expires_at);
  auth.standing = std::move(standing);
  return auth;
}

TEST(AccountStanding, EndsOnceAndRunsEachLiveWatchOnce) {
  auto standing = std::make_shared<AccountStanding>();
  int first = 0, second = 0;
  std::string why_first;
  auto watch_first = standing->watch([&](const std::string& why) {
    ++first;
    why_first = why;
  });
  {
    auto dropped = standing->watch([&](const std::string&) { ++second; });
    EXPECT_EQ(standing->watchers(), 2u);
  }
  EXPECT_EQ(standing->watchers(), 1u) << "a dropped watch unregisters";
  EXPECT_FALSE(standing->ended());
  standing->end("Auth token's user is disabled.");
  standing->end("a second end changes nothing");
  EXPECT_TRUE(standing->ended());
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
  EXPECT_EQ(why_first, "Auth token's user is disabled.");
  EXPECT_EQ(standing->why(), "Auth token's user is disabled.");
  // Watching an ended standing runs at once.
  int late = 0;
  auto watch_late = standing->watch([&](const std::string&) { ++late; });
  EXPECT_EQ(late, 1);
}

TEST(AccountStanding, AWatchMayOutliveItsStanding) {
  AccountStanding::Watch watch;
  {
    auto standing = std::make_shared<AccountStanding>();
    watch = standing->watch([](const std::string&) {});
  }
  watch.reset();  // the standing is gone: nothing to unregister, no crash
}

TEST(CredentialExpiry, EndsWhenTheAccountEndsAndTellsWhy) {
  auto standing = std::make_shared<AccountStanding>();
  CredentialExpiry expiry;
  int called = 0;
  expiry.set(user_auth(standing, now() + 3600), [&] { ++called; });
  EXPECT_FALSE(expiry.expired());
  EXPECT_FALSE(expiry.take_end());
  standing->end("Auth token was revoked (the user's sessions were ended).");
  EXPECT_EQ(called, 1);
  EXPECT_TRUE(expiry.expired());
  EXPECT_TRUE(expiry.account_ended());
  EXPECT_EQ(expiry.why(), "Auth token was revoked (the user's sessions were ended).");
  EXPECT_TRUE(expiry.take_end());
  EXPECT_FALSE(expiry.take_end()) << "exactly one caller ends the connection";
}

TEST(CredentialExpiry, ATokenPastItsExpiryIsExpiredNotRevoked) {
  CredentialExpiry expiry;
  expiry.set(user_auth(std::make_shared<AccountStanding>(), now() - 1));
  EXPECT_TRUE(expiry.expired());
  EXPECT_FALSE(expiry.account_ended());
  EXPECT_EQ(expiry.why(), "Auth token is expired.");
}

TEST(CredentialExpiry, ANewCredentialIsNotEndedByTheOldAccount) {
  auto old_standing = std::make_shared<AccountStanding>();
  auto new_standing = std::make_shared<AccountStanding>();
  CredentialExpiry expiry;
  int called = 0;
  expiry.set(user_auth(old_standing), [&] { ++called; });
  expiry.set(user_auth(new_standing), [&] { ++called; });
  EXPECT_EQ(old_standing->watchers(), 0u) << "the old credential's watch is dropped";
  old_standing->end("Auth token's user is disabled.");
  EXPECT_EQ(called, 0);
  EXPECT_FALSE(expiry.expired());
  // Signing out (no account behind the credential) is never ended by one.
  expiry.clear();
  new_standing->end("Auth token's user no longer exists.");
  EXPECT_FALSE(expiry.expired());
  EXPECT_EQ(called, 0);
}

TEST(CredentialExpiry, AnAccountThatEndedBeforeTheCredentialWasSetEndsItAtOnce) {
  auto standing = std::make_shared<AccountStanding>();
  standing->end("Auth token's user is disabled.");
  CredentialExpiry expiry;
  int called = 0;
  expiry.set(user_auth(standing), [&] { ++called; });
  EXPECT_EQ(called, 1);
  EXPECT_TRUE(expiry.expired());
}

TEST(CredentialExpiry, AnEndRacingTheExpirysDestructionIsSafe) {
  // The end runs its callbacks outside the standing's lock, possibly after the connection's expiry is gone.
  for (int i = 0; i < 200; ++i) {
    auto standing = std::make_shared<AccountStanding>();
    auto expiry = std::make_unique<CredentialExpiry>();
    expiry->set(user_auth(standing), [] {});
    std::thread ender([standing] { standing->end("gone"); });
    expiry.reset();
    ender.join();
  }
}

}  // namespace
}  // namespace backside::identity
