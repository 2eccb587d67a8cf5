#include "auth/lmdb_user_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace backside::auth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct TempDir {
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("backside-users-test-" + std::to_string(rd()));
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

TEST(UserStore, UsersByUidAndEmailDurably) {
  TempDir dir;
  {
    auto store = std::move(LmdbUserStore::open(dir.path.string()).value());
    ASSERT_TRUE(store->create({{"localId", "u1"}, {"email", "a@x.com"}, {"provider", "password"}}).ok());
    auto taken = store->create({{"localId", "u2"}, {"email", "a@x.com"}});
    ASSERT_FALSE(taken.ok());
    EXPECT_EQ(taken.error().message, "EMAIL_EXISTS");
    ASSERT_TRUE(store->create({{"localId", "u3"}, {"provider", "anonymous"}}).ok());
  }
  auto store = std::move(LmdbUserStore::open(dir.path.string()).value());  // reopened: still there
  ASSERT_TRUE(store->find_by_email("A@X.com"));
  EXPECT_EQ(store->find_by_email("a@x.com")->at("localId"), "u1");
  EXPECT_EQ(store->list().size(), 2u);
  // A changed email moves the index.
  ASSERT_TRUE(store->update({{"localId", "u1"}, {"email", "b@x.com"}}).ok());
  EXPECT_FALSE(store->find_by_email("a@x.com"));
  EXPECT_TRUE(store->find_by_email("b@x.com"));
  ASSERT_TRUE(store->remove("u1").ok());
  EXPECT_FALSE(store->find_by_uid("u1"));
  EXPECT_FALSE(store->find_by_email("b@x.com"));
}

TEST(UserStore, RefreshTokensAreRevocable) {
  TempDir dir;
  auto store = std::move(LmdbUserStore::open(dir.path.string()).value());
  ASSERT_TRUE(store->create({{"localId", "u1"}}).ok());
  ASSERT_TRUE(store->add_refresh_token("t1", "u1").ok());
  ASSERT_TRUE(store->add_refresh_token("t2", "u1").ok());
  EXPECT_EQ(store->owner_of_refresh_token("t1")->uid, "u1");
  EXPECT_FALSE(store->owner_of_refresh_token("t1")->revoked);
  EXPECT_FALSE(store->owner_of_refresh_token("t3"));
  ASSERT_TRUE(store->revoke_refresh_tokens("u1").ok());
  for (const char* token : {"t1", "t2"}) {
    auto owner = store->owner_of_refresh_token(token);
    ASSERT_TRUE(owner);  // kept, so that refreshing says why it is refused
    EXPECT_EQ(owner->uid, "u1");
    EXPECT_TRUE(owner->revoked);
  }
  ASSERT_TRUE(store->add_refresh_token("t4", "u1").ok());
  EXPECT_FALSE(store->owner_of_refresh_token("t4")->revoked) << "a later sign-in's token";
  ASSERT_TRUE(store->remove("u1").ok());
  EXPECT_FALSE(store->owner_of_refresh_token("t1")) << "deleted with the user";
  EXPECT_FALSE(store->owner_of_refresh_token("t4"));
}

}  // namespace
}  // namespace backside::auth
