// What a write's reply may carry: data from the tree only where the writer may read it.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <future>
#include <random>

#include "db/database.h"
#include "db/registry.h"
#include "tree/json_codec.h"
#include "util/temp_dir.h"

namespace backside::db {
namespace {

namespace fs = std::filesystem;
using tree::Path;
using Op = WriteRequest::Op;

constexpr const char* kWriteOnlySecret = R"({"rules": {"secret": {".read": false, ".write": true},
                                                       "open": {".read": true, ".write": true}}})";

struct Fixture {
  TempDir dir;
  std::unique_ptr<Database> db;
  Fixture() {
    auto store = store::open_lmdb_store({.directory = dir.str()});
    EXPECT_TRUE(store.ok());
    auto opened = Database::open({"test", std::move(*store), *Registry::compile_rules(kWriteOnlySecret)});
    EXPECT_TRUE(opened.ok());
    db = std::move(*opened);
    write(Op::set, "/", R"({"secret": {"pin": "4711", "n": 41}, "open": {"v": "x"}})", identity::Identity::admin_identity());
  }
  WriteReply write(Op op, const char* at, const char* json, identity::Identity auth = identity::Identity{},
                   std::optional<std::string> if_hash = std::nullopt) {
    WriteRequest request;
    request.auth = std::move(auth);
    request.op = op;
    request.path = *Path::parse(at);
    request.data = boost::json::parse(json);
    request.if_hash = std::move(if_hash);
    request.want_written = true;
    request.want_hash = true;
    std::promise<WriteReply> done;
    db->write(std::move(request), [&](WriteReply&& reply) { done.set_value(std::move(reply)); });
    return done.get_future().get();
  }
};

bool mentions(const WriteReply& reply, const std::string& secret) {
  std::string all = tree::to_json(reply.written) + tree::to_json(reply.current) + boost::json::serialize(reply.sent);
  for (const auto& [key, value] : reply.written_entries) all += key + tree::to_json(value);
  return all.find(secret) != std::string::npos;
}

TEST(WriteReply, AWriterThatMayNotReadGetsOnlyWhatItSent) {
  Fixture f;
  auto priority = f.write(Op::update, "/", R"({"secret/pin/.priority": 1})");
  ASSERT_FALSE(priority.error);
  EXPECT_FALSE(priority.readable);
  EXPECT_FALSE(mentions(priority, "4711"));
  EXPECT_TRUE(priority.new_hash.empty());
  EXPECT_EQ(boost::json::serialize(priority.sent), R"({"secret/pin/.priority":1})");

  auto set_priority = f.write(Op::set_priority, "/secret/pin", "2");
  ASSERT_FALSE(set_priority.error);
  EXPECT_FALSE(mentions(set_priority, "4711"));

  // An increment's result would tell the old value: the echo is the placeholder as sent.
  auto increment = f.write(Op::set, "/secret/n", R"({".sv": {"increment": 1}})");
  ASSERT_FALSE(increment.error);
  EXPECT_FALSE(mentions(increment, "42"));
  EXPECT_TRUE(increment.new_hash.empty());
  EXPECT_EQ(boost::json::serialize(increment.sent), R"({".sv":{"increment":1}})");
}

TEST(WriteReply, AConditionalWriteNeedsReadAccess) {
  Fixture f;
  auto guess = f.write(Op::set, "/secret/pin", R"("0000")", identity::Identity{}, std::string("wrong"));
  ASSERT_TRUE(guess.error);
  EXPECT_EQ(guess.error->code, ErrorCode::permission_denied);
  EXPECT_FALSE(mentions(guess, "4711"));
  EXPECT_TRUE(guess.current_hash.empty());
}

TEST(WriteReply, AReaderGetsTheResolvedEcho) {
  Fixture f;
  auto priority = f.write(Op::update, "/open", R"({"v/.priority": 3})");
  ASSERT_FALSE(priority.error);
  EXPECT_TRUE(priority.readable);
  ASSERT_EQ(priority.written_entries.size(), 1u);
  EXPECT_EQ(tree::to_json(priority.written_entries[0].second), "3");  // the priority, not the node
  EXPECT_FALSE(priority.new_hash.empty());
  auto stale = f.write(Op::set, "/open/v", R"("y")", identity::Identity{}, std::string("wrong"));
  ASSERT_TRUE(stale.error);
  EXPECT_EQ(stale.error->code, ErrorCode::hash_mismatch);
  EXPECT_EQ(tree::to_json(stale.current), R"("x")");
}

}  // namespace
}  // namespace backside::db
