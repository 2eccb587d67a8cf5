// What a database counts for /metrics (metrics/server_metrics.h): each write once, when it is answered, by the
// door it came through and how it was answered; dry runs and the server's own writes not at all; rules denials;
// the writes of each group commit. The counters are process-wide: the test compares before and after.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <future>

#include "db/database.h"
#include "db/registry.h"
#include "metrics/server_metrics.h"
#include "util/temp_dir.h"

namespace backside::db {
namespace {

using metrics::Door;
using metrics::WriteResult;

metrics::ServerMetrics& counted() { return metrics::server_metrics(); }

WriteReply write(Database& db, const char* at, const char* json, std::optional<Door> door,
                 std::optional<std::string> if_hash = std::nullopt, bool dry_run = false) {
  WriteRequest request;
  request.path = *tree::Path::parse(at);
  request.data = boost::json::parse(json);
  request.door = door;
  request.if_hash = std::move(if_hash);
  request.dry_run = dry_run;
  std::promise<WriteReply> done;
  db.write(std::move(request), [&](WriteReply&& reply) { done.set_value(std::move(reply)); });
  return done.get_future().get();
}

TEST(DatabaseMetrics, EachWriteIsCountedOnceByDoorAndResult) {
  TempDir dir;
  auto store = store::open_lmdb_store({.directory = dir.str()});
  ASSERT_TRUE(store.ok());
  auto opened = Database::open({"metrics", std::move(*store), *Registry::compile_rules(R"({"rules": {
      "open": {".read": true, ".write": true}, "locked": {".read": true, ".write": false}}})")});
  ASSERT_TRUE(opened.ok());
  Database& db = **opened;

  auto value = [](Door door, WriteResult result) { return counted().writes(door, result).value(); };
  const auto rest_ok = value(Door::rest, WriteResult::ok);
  const auto rest_conflict = value(Door::rest, WriteResult::conflict);
  const auto stomp_denied = value(Door::stomp, WriteResult::denied);
  const auto firebase_invalid = value(Door::firebase, WriteResult::invalid);
  const auto firebase_ok = value(Door::firebase, WriteResult::ok);
  const auto write_denials = counted().rules_denials(metrics::RulesOperation::write).value();
  const auto committed_before = counted().commit_writes().sum();

  EXPECT_FALSE(write(db, "/open/a", "1", Door::rest).error);
  EXPECT_FALSE(write(db, "/open/b", "2", Door::rest).error);
  EXPECT_EQ(write(db, "/locked/x", "1", Door::stomp).error->code, ErrorCode::permission_denied);
  EXPECT_EQ(write(db, "/open/c", R"({"a.b": 1})", Door::firebase).error->code, ErrorCode::invalid_argument);
  EXPECT_EQ(write(db, "/open/a", "3", Door::rest, "not the hash").error->code, ErrorCode::hash_mismatch);
  EXPECT_FALSE(write(db, "/open/d", "4", Door::firebase, std::nullopt, /*dry_run=*/true).error);  // not counted
  EXPECT_FALSE(write(db, "/open/e", "5", std::nullopt).error);  // the server's own: not counted
  EXPECT_EQ(write(db, "/locked/y", "1", Door::firebase, std::nullopt, /*dry_run=*/true).error->code,
            ErrorCode::permission_denied);  // a refused onDisconnect check: a rules denial, not a write

  EXPECT_EQ(value(Door::rest, WriteResult::ok) - rest_ok, 2u);
  EXPECT_EQ(value(Door::rest, WriteResult::conflict) - rest_conflict, 1u);
  EXPECT_EQ(value(Door::stomp, WriteResult::denied) - stomp_denied, 1u);
  EXPECT_EQ(value(Door::firebase, WriteResult::invalid) - firebase_invalid, 1u);
  EXPECT_EQ(value(Door::firebase, WriteResult::ok) - firebase_ok, 0u);
  EXPECT_EQ(counted().rules_denials(metrics::RulesOperation::write).value() - write_denials, 2u);
  // The three writes that changed the tree went through group commits; refused writes and dry runs did not.
  EXPECT_EQ(counted().commit_writes().sum() - committed_before, 3.0);

  // A write refused because the database is closing is answered, and counted, too.
  const auto rest_unavailable = value(Door::rest, WriteResult::unavailable);
  db.stop();
  EXPECT_EQ(write(db, "/open/f", "6", Door::rest).error->code, ErrorCode::unavailable);
  EXPECT_EQ(value(Door::rest, WriteResult::unavailable) - rest_unavailable, 1u);
}

}  // namespace
}  // namespace backside::db
