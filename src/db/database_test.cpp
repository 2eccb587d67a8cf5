#include "db/database.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <algorithm>
#include <filesystem>
#include <future>
#include <random>
#include <mutex>
#include <atomic>

#include "db/registry.h"
#include "store/write_ahead_log.h"
#include "tree/hash.h"
#include "tree/json_codec.h"
#include "util/temp_dir.h"

namespace backside::db {
namespace {

namespace fs = std::filesystem;
using tree::Node;
using tree::Path;

std::unique_ptr<Database> open_db(const TempDir& dir,
                                  const char* rules = R"({"rules": {".read": true, ".write": true}})") {
  auto store = store::open_lmdb_store({.directory = dir.str()});
  EXPECT_TRUE(store.ok());
  auto db = Database::open({"test", std::move(*store), *Registry::compile_rules(rules)});
  EXPECT_TRUE(db.ok());
  return std::move(*db);
}

WriteReply write(Database& db, WriteRequest::Op op, const char* at, const char* json,
                 std::optional<std::string> if_hash = std::nullopt, identity::Identity auth = identity::Identity::admin_identity()) {
  WriteRequest request;
  request.auth = std::move(auth);
  request.op = op;
  request.path = *Path::parse(at);
  request.data = boost::json::parse(json);
  request.if_hash = std::move(if_hash);
  request.want_written = true;
  std::promise<WriteReply> done;
  db.write(std::move(request), [&](WriteReply&& reply) { done.set_value(std::move(reply)); });
  return done.get_future().get();
}

std::string read(Database& db, const char* at, tree::Format format = tree::Format::plain,
                 identity::Identity auth = identity::Identity::admin_identity()) {
  std::promise<std::string> done;
  db.read(*Path::parse(at), std::nullopt, std::move(auth), [&](const Error* error, const Node& value) -> ReadSend {
    std::string text = error ? (error->code == ErrorCode::permission_denied ? "denied" : "error")
                             : tree::to_json(value, {.format = format});
    return [&done, text] { done.set_value(text); };
  });
  return done.get_future().get();
}

TEST(Database, SetUpdatePushRemoveAndPriority) {
  TempDir dir;
  auto db = open_db(dir);
  EXPECT_FALSE(write(*db, WriteRequest::Op::set, "/a", R"({"x":1,"y":{"z":2}})").error);
  EXPECT_FALSE(write(*db, WriteRequest::Op::update, "/a", R"({"x":null,"y/w":3,"n":{"m":[1,2]}})").error);
  EXPECT_EQ(read(*db, "/a"), R"({"n":{"m":[1,2]},"y":{"w":3,"z":2}})");
  auto pushed = write(*db, WriteRequest::Op::push, "/list", R"("v")");
  ASSERT_FALSE(pushed.error);
  EXPECT_EQ(pushed.push_key.size(), 20u);
  EXPECT_EQ(read(*db, ("/list/" + pushed.push_key).c_str()), R"("v")");
  EXPECT_FALSE(write(*db, WriteRequest::Op::set_priority, "/a/y", "5").error);
  EXPECT_EQ(read(*db, "/a/y", tree::Format::export_), R"({"w":3,"z":2,".priority":5})");
  EXPECT_FALSE(write(*db, WriteRequest::Op::set, "/a", "null").error);
  EXPECT_EQ(read(*db, "/a"), "null");
}

TEST(Database, RejectedWritesChangeNothing) {
  TempDir dir;
  auto db = open_db(dir);
  write(*db, WriteRequest::Op::set, "/k", R"({"v":1})");
  auto bad_key = write(*db, WriteRequest::Op::set, "/k", R"({"a.b":1})");
  ASSERT_TRUE(bad_key.error);
  EXPECT_EQ(bad_key.error->code, ErrorCode::invalid_argument);
  auto overlapping = write(*db, WriteRequest::Op::update, "/k", R"({"a":1,"a/b":2})");
  ASSERT_TRUE(overlapping.error);
  auto partly_bad = write(*db, WriteRequest::Op::update, "/k", R"({"ok":1,"bad":{".sv":"nope"}})");
  ASSERT_TRUE(partly_bad.error);
  EXPECT_EQ(read(*db, "/k"), R"({"v":1})");
}

TEST(Database, CompareAndSetOnNodeHash) {
  TempDir dir;
  auto db = open_db(dir);
  EXPECT_FALSE(write(*db, WriteRequest::Op::set, "/c", "10", std::string()).error);  // "" = absent
  auto stale = write(*db, WriteRequest::Op::set, "/c", "11", std::string());
  ASSERT_TRUE(stale.error);
  EXPECT_EQ(stale.error->code, ErrorCode::hash_mismatch);
  EXPECT_EQ(stale.current_hash, "+r5aI9HvKKagELki8SYKBk0q7D4=");
  EXPECT_FALSE(write(*db, WriteRequest::Op::set, "/c", "11", stale.current_hash).error);
  EXPECT_EQ(read(*db, "/c"), "11");
}

TEST(Database, ServerValues) {
  TempDir dir;
  auto db = open_db(dir);
  write(*db, WriteRequest::Op::set, "/n", "5");
  auto inc = write(*db, WriteRequest::Op::set, "/n", R"({".sv":{"increment":2.5}})");
  ASSERT_FALSE(inc.error);
  EXPECT_EQ(read(*db, "/n"), "7.5");
  auto ts = write(*db, WriteRequest::Op::set, "/t", R"({".sv":"timestamp"})");
  ASSERT_FALSE(ts.error);
  ASSERT_TRUE(ts.written.leaf_value());
  double t = std::get<double>(*ts.written.leaf_value());
  EXPECT_GT(t, 1.7e12);
}

identity::Identity user(const char* uid) {
  boost::json::object claims;
  claims["sub"] = uid;
  return identity::Identity::from_token_claims(claims);
}

constexpr const char* kOwnedRules = R"J({"rules": {"users": {"$uid": {
  ".read": "auth.uid == $uid", ".write": "auth.uid == $uid",
  ".validate": "newData.hasChildren(['name'])",
  "name": {".validate": "newData.isString()"}}}}})J";

TEST(Database, RulesDecideWritesBeforeAnythingIsApplied) {
  TempDir dir;
  auto db = open_db(dir, kOwnedRules);
  using Op = WriteRequest::Op;
  EXPECT_FALSE(write(*db, Op::set, "/users/al", R"({"name":"Al"})", std::nullopt, user("al")).error);
  auto other = write(*db, Op::set, "/users/bo", R"({"name":"Bo"})", std::nullopt, user("al"));
  ASSERT_TRUE(other.error);
  EXPECT_EQ(other.error->code, ErrorCode::permission_denied);
  // newData of the ancestor sees the whole write: removing `name` fails the parent's .validate.
  EXPECT_TRUE(write(*db, Op::update, "/users/al", R"({"name":null,"x":1})", std::nullopt, user("al")).error);
  EXPECT_TRUE(write(*db, Op::set, "/users/al/name", "5", std::nullopt, user("al")).error);
  // All or nothing across keys.
  auto mixed = write(*db, Op::update, "/users", R"({"al/name":"New","bo/name":"X"})", std::nullopt, user("al"));
  ASSERT_TRUE(mixed.error);
  EXPECT_EQ(read(*db, "/users"), R"({"al":{"name":"Al"}})");
  // Deletes are not validated; anonymous is nobody.
  EXPECT_TRUE(write(*db, Op::set, "/users/al", "null", std::nullopt, identity::Identity{}).error);
  EXPECT_FALSE(write(*db, Op::set, "/users/al", "null", std::nullopt, user("al")).error);
  EXPECT_EQ(read(*db, "/users"), "null");
}

TEST(Database, DryRunChecksEverythingAndChangesNothing) {
  TempDir dir;
  auto db = open_db(dir, kOwnedRules);
  auto probe = [&](const char* at, const char* json, identity::Identity auth) {
    WriteRequest request;
    request.path = *Path::parse(at);
    request.data = boost::json::parse(json);
    request.auth = std::move(auth);
    request.dry_run = true;
    std::promise<WriteReply> done;
    db->write(std::move(request), [&](WriteReply&& reply) { done.set_value(std::move(reply)); });
    return done.get_future().get();
  };
  EXPECT_FALSE(probe("/users/al", R"({"name":"Al"})", user("al")).error);
  EXPECT_EQ(probe("/users/bo", R"({"name":"Bo"})", user("al")).error->code, ErrorCode::permission_denied);
  EXPECT_EQ(probe("/users/al", R"({"na.me":"Al"})", user("al")).error->code, ErrorCode::invalid_argument);
  EXPECT_EQ(read(*db, "/"), "null");
}

// The rules playground's write (console/rules_playground.h): the write path's own checks, traced, against the database's
// rules or given ones, and never applied.
TEST(Database, ASimulatedWriteIsTracedAndChangesNothing) {
  TempDir dir;
  auto db = open_db(dir, kOwnedRules);
  auto simulate = [&](const char* at, const char* json, identity::Identity auth,
                      std::shared_ptr<const rules::Rules> rules = nullptr) {
    WriteRequest request;
    request.path = *Path::parse(at);
    request.data = boost::json::parse(json);
    request.auth = std::move(auth);
    auto trace = std::make_shared<rules::Trace>();
    request.simulation = WriteRequest::Simulation{std::move(rules), trace};
    std::promise<WriteReply> done;
    db->write(std::move(request), [&](WriteReply&& reply) { done.set_value(std::move(reply)); });
    WriteReply reply = done.get_future().get();
    return std::make_pair(std::move(reply), std::move(*trace));
  };
  auto [allowed, allowed_trace] = simulate("/users/al", R"({"name":"Al"})", user("al"));
  EXPECT_FALSE(allowed.error);
  ASSERT_EQ(allowed_trace.entries.size(), 3u);  // .write, then .validate at /users/al and at its name
  EXPECT_EQ(allowed_trace.entries[0].rule_path, "/rules/users/$uid/.write");
  EXPECT_EQ(allowed_trace.entries[2].rule_path, "/rules/users/$uid/name/.validate");

  // Refused before its data (no rule grants bo's location to al): the trace is that check's.
  auto [denied, denied_trace] = simulate("/users/bo", R"({"name":"Bo"})", user("al"));
  ASSERT_TRUE(denied.error);
  EXPECT_EQ(denied.error->code, ErrorCode::permission_denied);
  ASSERT_EQ(denied_trace.entries.size(), 1u);
  EXPECT_EQ(denied_trace.entries[0].result, rules::TraceEntry::Result::deny);

  // Other rules than the deployed ones.
  auto closed = rules::Rules::parse(R"({"rules": {".write": "newData.val() == 1"}})");
  ASSERT_TRUE(closed.ok());
  auto [other, other_trace] = simulate("/users/al", R"({"name":"Al"})", user("al"), *closed);
  ASSERT_TRUE(other.error);
  ASSERT_EQ(other_trace.entries.size(), 1u);
  EXPECT_EQ(other_trace.entries[0].rule_path, "/rules/.write");
  EXPECT_EQ(other_trace.entries[0].result, rules::TraceEntry::Result::deny);

  EXPECT_EQ(read(*db, "/"), "null");  // nothing was written
}

TEST(Database, AWriteOverItsSizeLimitIsRefusedAndChangesNothing) {
  TempDir dir;
  auto db = open_db(dir, kOwnedRules);
  using Op = WriteRequest::Op;
  auto limited = [&](Op op, const char* at, const char* json, std::size_t max_bytes, std::size_t sent_bytes,
                     identity::Identity auth = identity::Identity::admin_identity()) {
    WriteRequest request;
    request.op = op;
    request.path = *Path::parse(at);
    request.data = boost::json::parse(json);
    request.auth = std::move(auth);
    request.size_limit = WriteSizeLimit{max_bytes, sent_bytes};
    std::promise<WriteReply> done;
    db->write(std::move(request), [&](WriteReply&& reply) { done.set_value(std::move(reply)); });
    return done.get_future().get();
  };
  auto expect_too_big = [](const WriteReply& reply) {
    ASSERT_TRUE(reply.error);
    EXPECT_EQ(reply.error->code, ErrorCode::invalid_argument);
    EXPECT_EQ(reply.error->message, kWriteTooBig);
  };
  const char* kUsers = R"({"al":{"name":"Al","n":1},"bo":{"name":"Bo","n":2}})";
  ASSERT_FALSE(write(*db, Op::set, "/users", kUsers).error);
  const std::string users = read(*db, "/users", tree::Format::export_);
  const std::size_t size = users.size();  // what a delete of /users removes, as export JSON

  // A delete weighs what it removes.
  expect_too_big(limited(Op::set, "/users", "null", size - 1, 0));
  EXPECT_EQ(read(*db, "/users", tree::Format::export_), users);
  EXPECT_FALSE(limited(Op::set, "/users", "null", size, 0).error);
  EXPECT_EQ(read(*db, "/"), "null");

  // A set weighs what it sends plus what it replaces.
  ASSERT_FALSE(write(*db, Op::set, "/users", kUsers).error);
  expect_too_big(limited(Op::set, "/users", R"({"cy":{"name":"Cy"}})", size + 9, 10));
  EXPECT_EQ(read(*db, "/users", tree::Format::export_), users);
  EXPECT_FALSE(limited(Op::set, "/users", R"({"cy":{"name":"Cy"}})", size + 10, 10).error);
  EXPECT_EQ(read(*db, "/users"), R"({"cy":{"name":"Cy"}})");

  // An update weighs each location it replaces: here "Cy" (4 bytes) and nothing at /users/dy.
  expect_too_big(limited(Op::update, "/users", R"({"cy/name":null,"dy/name":"Dy"})", 4 + 29, 30));
  EXPECT_EQ(read(*db, "/users"), R"({"cy":{"name":"Cy"}})");
  EXPECT_FALSE(limited(Op::update, "/users", R"({"cy/name":null,"dy/name":"Dy"})", 4 + 30, 30).error);
  EXPECT_EQ(read(*db, "/users"), R"({"dy":{"name":"Dy"}})");

  // What is sent alone can be too much; a push replaces nothing.
  expect_too_big(limited(Op::push, "/list", R"("v")", 2, 3));
  EXPECT_FALSE(limited(Op::push, "/list", R"("v")", 3, 3).error);

  // The rules answer first: a writer they refuse learns nothing of the size of what is there.
  const WriteReply denied = limited(Op::set, "/users/dy", "null", 0, 0, user("al"));
  ASSERT_TRUE(denied.error);
  EXPECT_EQ(denied.error->code, ErrorCode::permission_denied);
  EXPECT_EQ(read(*db, "/users"), R"({"dy":{"name":"Dy"}})");
}

TEST(Database, RulesDecideReadsAndHashMismatchesDoNotLeak) {
  TempDir dir;
  auto db = open_db(dir, kOwnedRules);
  write(*db, WriteRequest::Op::set, "/users/al", R"({"name":"Al"})");
  EXPECT_EQ(read(*db, "/users/al", tree::Format::plain, user("al")), R"({"name":"Al"})");
  EXPECT_EQ(read(*db, "/users/al", tree::Format::plain, user("bo")), "denied");
  EXPECT_EQ(read(*db, "/users", tree::Format::plain, user("al")), "denied");  // rules are not filters
  auto stale = write(*db, WriteRequest::Op::set, "/users/al", R"({"name":"X"})", std::string("wrong"), user("bo"));
  ASSERT_TRUE(stale.error);
  EXPECT_EQ(stale.error->code, ErrorCode::permission_denied);
  EXPECT_TRUE(stale.current.is_null());
}

class Revocable : public sync::Subscriber {
 public:
  const std::string& render_key() const override { return key_; }
  std::shared_ptr<const std::string> render(const sync::ViewEvent&) const override {
    return std::make_shared<const std::string>("event");
  }
  void deliver(const std::shared_ptr<const std::string>&) override { ++deliveries; }
  void revoked(const Error& why) override {
    std::lock_guard lock(mutex);
    reasons.push_back(why.code == ErrorCode::permission_denied ? "permission denied: " + why.message : why.message);
  }
  std::atomic<int> deliveries{0};
  std::mutex mutex;
  std::vector<std::string> reasons;

 private:
  std::string key_ = "k";
};

TEST(Database, ARulesChangeRevokesListensItNoLongerAllows) {
  TempDir dir;
  auto db = open_db(dir, kOwnedRules);
  auto listen = [&](const char* at, identity::Identity auth, std::shared_ptr<Revocable> sub) {
    std::promise<Result<sync::Hub::Handle>> done;
    db->listen(*Path::parse(at), std::nullopt, std::move(auth), sub,
               [&](Result<sync::Hub::Handle> handle) { done.set_value(std::move(handle)); });
    return done.get_future().get();
  };
  auto kept = std::make_shared<Revocable>();
  auto lost = std::make_shared<Revocable>();
  auto admin = std::make_shared<Revocable>();
  EXPECT_FALSE(listen("/users/bo", user("al"), std::make_shared<Revocable>()).ok());
  ASSERT_TRUE(listen("/users/al", user("al"), kept).ok());
  auto lost_handle = listen("/users/bo", user("bo"), lost);
  ASSERT_TRUE(lost_handle.ok());
  ASSERT_TRUE(listen("/users/bo", identity::Identity::admin_identity(), admin).ok());
  std::promise<void> applied;
  db->set_rules(*Registry::compile_rules(R"({"rules": {"users": {"al": {".read": true}}}})"),
                [&] { applied.set_value(); });
  applied.get_future().get();
  EXPECT_TRUE(kept->reasons.empty());
  EXPECT_TRUE(admin->reasons.empty());
  ASSERT_EQ(lost->reasons.size(), 1u);
  EXPECT_EQ(lost->reasons[0], "permission denied: Permission denied");
  db->unlisten(*lost_handle);  // a client unlistening a revoked listen is harmless
  const int before = lost->deliveries.load();
  write(*db, WriteRequest::Op::set, "/users/bo", R"({"name":"Bo"})");
  EXPECT_EQ(read(*db, "/users/bo"), R"({"name":"Bo"})");
  EXPECT_EQ(lost->deliveries.load(), before);
  EXPECT_GE(admin->deliveries.load(), 2);
}

TEST(Database, ConcurrentIncrementsAreExact) {
  TempDir dir;
  auto db = open_db(dir);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) write(*db, WriteRequest::Op::set, "/count", R"({".sv":{"increment":1}})");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(read(*db, "/count"), "200");
}

TEST(Database, AncestorRowsStayRightAcrossReopen) {
  TempDir dir;
  {
    auto db = open_db(dir);
    write(*db, WriteRequest::Op::set, "/", "5");     // a leaf at the root...
    write(*db, WriteRequest::Op::set, "/x", "1");    // ...becomes an object
    write(*db, WriteRequest::Op::set, "/a", "7");
    write(*db, WriteRequest::Op::set, "/a/b", "null");  // a no-op delete below a leaf keeps the leaf
  }
  auto db = open_db(dir);
  EXPECT_EQ(read(*db, "/"), R"({"a":7,"x":1})");
}

TEST(Database, EverythingSurvivesReopen) {
  TempDir dir;
  {
    auto db = open_db(dir);
    write(*db, WriteRequest::Op::set, "/", R"({"a":{".priority":"p","b":1},"s":"x","l":[true,false]})");
    write(*db, WriteRequest::Op::set, "/a/b/c", "2");  // a leaf becomes an object
    write(*db, WriteRequest::Op::set, "/s", "null");
  }
  auto db = open_db(dir);
  EXPECT_EQ(read(*db, "/", tree::Format::export_), R"({"a":{"b":{"c":2},".priority":"p"},"l":{"0":true,"1":false}})");
}

class Collector : public sync::Subscriber {
 public:
  const std::string& render_key() const override { return key_; }
  std::shared_ptr<const std::string> render(const sync::ViewEvent& event) const override {
    return std::make_shared<const std::string>(event.kind == sync::ViewEvent::Kind::put
                                                   ? event.path.to_string() + "=" + tree::to_json(*event.value)
                                                   : "merge");
  }
  void deliver(const std::shared_ptr<const std::string>& bytes) override {
    std::lock_guard lock(mutex);
    events.push_back(*bytes);
  }
  std::mutex mutex;
  std::vector<std::string> events;

 private:
  std::string key_ = "c";
};

TEST(Database, ListenSeesInitialValueThenEveryChangeWithoutGapOrDuplicate) {
  TempDir dir;
  auto db = open_db(dir);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 1; i <= 300; ++i) write(*db, WriteRequest::Op::set, "/v", std::to_string(i).c_str());
    stop = true;
  });
  // Subscribe while writes are in flight: the events must continue exactly from the snapshot.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto collector = std::make_shared<Collector>();
  std::promise<void> listening;
  db->listen(*Path::parse("/v"), std::nullopt, {}, collector, [&](auto) { listening.set_value(); });
  listening.get_future().get();
  writer.join();
  std::promise<void> drained;
  db->run([&](const Node&) { drained.set_value(); });
  drained.get_future().get();
  std::lock_guard lock(collector->mutex);
  ASSERT_FALSE(collector->events.empty());
  auto value_of = [](const std::string& e) { return std::stoi(e.substr(e.find('=') + 1)); };
  int first = collector->events[0] == "/v=null" ? 0 : value_of(collector->events[0]);
  for (std::size_t i = 1; i < collector->events.size(); ++i) {
    EXPECT_EQ(value_of(collector->events[i]), first + static_cast<int>(i));
  }
  EXPECT_EQ(value_of(collector->events.back()), 300);
}

std::unique_ptr<Database> open_retrying_at_once(const TempDir& dir) {
  auto store = store::open_lmdb_store({.directory = dir.str()});
  EXPECT_TRUE(store.ok());
  DatabaseOptions options{"test", std::move(*store),
                          *Registry::compile_rules(R"({"rules": {".read": true, ".write": true}})")};
  options.store_retry_interval = std::chrono::milliseconds(0);  // probe on every write: no waiting in a test
  auto db = Database::open(std::move(options));
  EXPECT_TRUE(db.ok());
  return std::move(*db);
}

// Clears the store fault hook however the test ends.
struct FaultGuard {
  ~FaultGuard() { store::clear_faults(); }
};

TEST(Database, AWriteRefusedByAFullDiskIsNeverVisibleAndWritesResumeWhenSpaceReturns) {
  for (store::FaultPoint point : {store::FaultPoint::write, store::FaultPoint::sync}) {
    SCOPED_TRACE(point == store::FaultPoint::write ? "write" : "sync");
    TempDir dir;
    FaultGuard guard;
    {
      auto db = open_retrying_at_once(dir);
      ASSERT_FALSE(write(*db, WriteRequest::Op::set, "/a", "1").error);
      auto collector = std::make_shared<Collector>();
      std::promise<void> listening;
      db->listen(*Path::parse("/a"), std::nullopt, {}, collector, [&](auto) { listening.set_value(); });
      listening.get_future().get();

      store::inject_fault(point, ENOSPC, -1);  // the disk is full until cleared
      // Several writes in flight at once: the first commit fails, the ones applied behind it too.
      std::vector<std::future<WriteReply>> replies;
      std::vector<std::promise<WriteReply>> promises(5);
      for (int i = 0; i < 5; ++i) {
        replies.push_back(promises[i].get_future());
        WriteRequest request;
        request.auth = identity::Identity::admin_identity();
        request.op = WriteRequest::Op::set;
        request.path = *Path::parse("/a");
        request.data = 100 + i;
        request.want_written = true;
        request.want_hash = true;
        db->write(std::move(request), [&promises, i](WriteReply&& reply) { promises[i].set_value(std::move(reply)); });
      }
      for (auto& reply : replies) {
        WriteReply got = reply.get();
        ASSERT_TRUE(got.error);
        EXPECT_EQ(got.error->code, ErrorCode::unavailable);
        EXPECT_NE(got.error->message.find("Storage failure"), std::string::npos) << got.error->message;
        EXPECT_TRUE(got.written.is_null()) << "a refused write's reply carries no tree data";
        EXPECT_TRUE(got.new_hash.empty());
      }
      EXPECT_EQ(read(*db, "/a"), "1");
      // Still full: refused at once, with why.
      WriteReply again = write(*db, WriteRequest::Op::set, "/b", "2");
      ASSERT_TRUE(again.error);
      EXPECT_NE(again.error->message.find("refused until the store recovers"), std::string::npos)
          << again.error->message;
      EXPECT_NE(again.error->message.find("No space left on device"), std::string::npos) << again.error->message;
      EXPECT_EQ(read(*db, "/"), R"({"a":1})");

      store::clear_faults();  // space returns
      ASSERT_FALSE(write(*db, WriteRequest::Op::set, "/a", "3").error);
      EXPECT_EQ(read(*db, "/a"), "3");
      std::lock_guard lock(collector->mutex);
      EXPECT_EQ(collector->events, (std::vector<std::string>{"/a=1", "/a=3"}));
    }
    auto reopened = open_db(dir);
    EXPECT_EQ(read(*reopened, "/"), R"({"a":3})");
  }
}

TEST(Database, AFailedCommitTellsNoMismatchValueFromTheRefusedTurn) {
  // A transaction whose hash mismatches in the same turn as a refused write would carry the refused value.
  TempDir dir;
  FaultGuard guard;
  auto db = open_retrying_at_once(dir);
  ASSERT_FALSE(write(*db, WriteRequest::Op::set, "/a", "1").error);
  store::inject_fault(store::FaultPoint::sync, EIO, -1);
  std::promise<WriteReply> first;
  std::promise<WriteReply> second;
  WriteRequest set;
  set.auth = identity::Identity::admin_identity();
  set.path = *Path::parse("/a");
  set.data = "refused";
  WriteRequest cas = set;
  cas.data = "cas";
  cas.if_hash = "not-the-hash";
  // Queued behind a read so that both land in one turn.
  std::promise<void> gate;
  db->run([&](const Node&) { gate.get_future().wait(); });
  db->write(std::move(set), [&](WriteReply&& r) { first.set_value(std::move(r)); });
  db->write(std::move(cas), [&](WriteReply&& r) { second.set_value(std::move(r)); });
  gate.set_value();
  WriteReply refused = first.get_future().get();
  WriteReply mismatch = second.get_future().get();
  ASSERT_TRUE(refused.error);
  ASSERT_TRUE(mismatch.error);
  EXPECT_EQ(mismatch.error->code, ErrorCode::unavailable);
  EXPECT_TRUE(mismatch.current.is_null());
  EXPECT_TRUE(mismatch.current_hash.empty());
  store::clear_faults();
  EXPECT_EQ(read(*db, "/a"), "1");
}

// An exception inside the writer (an allocation failing halfway through a multi-path update) ends neither the
// process nor the database: the update is refused, none of it is visible (not even the locations applied before
// the throw), listeners get no event of it, and the next writes work.
TEST(Database, AWriteThatThrowsHalfwayIsRefusedWholeAndTheWriterGoesOn) {
  TempDir dir;
  auto db = open_db(dir);
  ASSERT_FALSE(write(*db, WriteRequest::Op::set, "/", R"({"a":1,"b":2,"c":3})").error);
  auto collector = std::make_shared<Collector>();
  std::promise<void> listening;
  db->listen(*Path::parse("/"), std::nullopt, {}, collector, [&](auto) { listening.set_value(); });
  listening.get_future().get();

  inject_apply_fault(/*after=*/2);
  const WriteReply refused = write(*db, WriteRequest::Op::update, "/", R"({"a":10,"b":20,"c":30})");
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code, ErrorCode::unavailable);
  EXPECT_EQ(read(*db, "/"), R"({"a":1,"b":2,"c":3})");

  ASSERT_FALSE(write(*db, WriteRequest::Op::set, "/b", "7").error);
  EXPECT_EQ(read(*db, "/"), R"({"a":1,"b":7,"c":3})");
  db.reset();  // what is durable agrees
  db = open_db(dir);
  EXPECT_EQ(read(*db, "/"), R"({"a":1,"b":7,"c":3})");
  std::lock_guard lock(collector->mutex);
  ASSERT_EQ(collector->events.size(), 2u);  // the initial value, then /b: nothing of the refused update
  EXPECT_EQ(collector->events[1], "/b=7");
}


// A store whose commits wait at a gate, and then succeed or fail: what is staged meanwhile can be observed.
class GatedStore : public store::Store {
 public:
  GatedStore(std::unique_ptr<store::Store> inner, std::shared_future<void> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  Result<store::Snapshot> load() override { return inner_->load(); }
  Result<std::uint64_t> commit(const store::WriteBatch& batch) override {
    gate_.wait();
    if (fail) return Error{ErrorCode::unavailable, "the disk is gone"};
    return inner_->commit(batch);
  }
  Result<std::vector<store::SequencedBatch>> changes_since(std::uint64_t sequence, std::size_t max) override {
    return inner_->changes_since(sequence, max);
  }
  std::atomic<bool> fail{false};

 private:
  std::unique_ptr<store::Store> inner_;
  std::shared_future<void> gate_;
};

struct GatedDatabase {
  std::promise<void> gate;
  GatedStore* store = nullptr;
  std::unique_ptr<Database> db;
  explicit GatedDatabase(const TempDir& dir) {
    auto inner = store::open_lmdb_store({.directory = dir.str()});
    EXPECT_TRUE(inner.ok());
    auto gated = std::make_unique<GatedStore>(std::move(*inner), gate.get_future().share());
    store = gated.get();
    DatabaseOptions options{"test", std::move(gated),
                            *Registry::compile_rules(R"({"rules": {".read": true, ".write": true}})")};
    options.store_retry_interval = std::chrono::milliseconds(0);
    auto opened = Database::open(std::move(options));
    EXPECT_TRUE(opened.ok());
    db = std::move(*opened);
  }
};

// What a client would see, in the order it would see it.
struct Transcript {
  std::mutex mutex;
  std::vector<std::string> lines;
  void add(std::string line) {
    std::lock_guard lock(mutex);
    lines.push_back(std::move(line));
  }
  std::vector<std::string> now() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

class TranscriptSubscriber : public sync::Subscriber {
 public:
  explicit TranscriptSubscriber(Transcript& transcript) : transcript_(transcript) {}
  const std::string& render_key() const override { return key_; }
  std::shared_ptr<const std::string> render(const sync::ViewEvent& event) const override {
    return std::make_shared<const std::string>("event " + event.path.to_string() + "=" + tree::to_json(*event.value));
  }
  void deliver(const std::shared_ptr<const std::string>& bytes) override { transcript_.add(*bytes); }

 private:
  Transcript& transcript_;
  std::string key_ = "t";
};

// Reads and listens are released the way write acknowledgements are: they see the writes before them at once
// (no waiting for their commit), and nothing of those goes out before it is durable.
TEST(Database, AReadOrListenBehindAnUncommittedWriteShowsItOnlyOnceItIsDurable) {
  TempDir dir;
  GatedDatabase gated(dir);
  Database& db = *gated.db;
  Transcript seen;
  std::promise<void> rendered;
  WriteRequest request;
  request.auth = identity::Identity::admin_identity();
  request.path = *Path::parse("/a");
  request.data = 1;
  db.write(std::move(request), [&](WriteReply&& reply) { seen.add(reply.error ? "write refused" : "write ok"); });
  db.read(*Path::parse("/a"), std::nullopt, identity::Identity::admin_identity(),
          [&](const Error* error, const Node& value) -> ReadSend {
            std::string line = error ? "read error" : "read " + tree::to_json(value);
            rendered.set_value();
            return [&seen, line] { seen.add(line); };
          });
  auto subscriber = std::make_shared<TranscriptSubscriber>(seen);
  db.listen(*Path::parse("/a"), std::nullopt, identity::Identity::admin_identity(), subscriber,
            [&](Result<sync::Hub::Handle> handle) { seen.add(handle ? "listening" : "listen refused"); });
  // The read ran on the tree with the write applied, without waiting for the commit held at the gate...
  ASSERT_EQ(rendered.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::promise<void> ran;
  db.run([&](const Node&) { ran.set_value(); });  // (this one does wait for it)
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  // ...and nothing was sent: not the write's acknowledgement, the read's answer or the listen's initial value.
  EXPECT_TRUE(seen.now().empty());
  gated.gate.set_value();
  EXPECT_EQ(read(db, "/a"), "1");
  // Answers in the order the requests came, a turn's events before its answers (the initial value before the
  // listen's confirmation); then later changes only.
  const std::vector<std::string> lines = seen.now();
  ASSERT_EQ(lines.size(), 4u);
  auto at = [&](const char* line) { return std::find(lines.begin(), lines.end(), line) - lines.begin(); };
  EXPECT_LT(at("write ok"), at("read 1"));
  EXPECT_LT(at("read 1"), at("listening"));
  EXPECT_LT(at("event /a=1"), at("listening"));
  ASSERT_FALSE(write(db, WriteRequest::Op::set, "/a", "2").error);
  EXPECT_EQ(seen.now().back(), "event /a=2");
  EXPECT_EQ(seen.now().size(), 5u);
}

// A read or listen that saw a write whose commit then failed shows nothing of it: its answer is dropped and it runs
// again on the tree read back from the store.
TEST(Database, AReadOrListenAnsweredFromARefusedCommitRunsAgainOnWhatIsDurable) {
  TempDir dir;
  GatedDatabase gated(dir);
  Database& db = *gated.db;
  gated.store->fail = true;
  Transcript seen;
  std::vector<std::string> renders;  // writer thread only, read after the answers came
  std::promise<void> read_answered;
  // The writer waits here until all three are queued: they are one turn, the read and listen behind the write.
  std::promise<void> queued;
  db.run([&](const Node&) { queued.get_future().wait(); });
  WriteRequest request;
  request.auth = identity::Identity::admin_identity();
  request.path = *Path::parse("/a");
  request.data = "never durable";
  db.write(std::move(request), [&](WriteReply&& reply) { seen.add(reply.error ? "write refused" : "write ok"); });
  db.read(*Path::parse("/a"), std::nullopt, identity::Identity::admin_identity(),
          [&](const Error* error, const Node& value) -> ReadSend {
            std::string line = error ? "read error: " + error->message : "read " + tree::to_json(value);
            renders.push_back(line);
            return [&seen, &read_answered, line] {
              seen.add(line);
              read_answered.set_value();
            };
          });
  auto subscriber = std::make_shared<TranscriptSubscriber>(seen);
  std::promise<void> listen_answered;
  db.listen(*Path::parse("/a"), std::nullopt, identity::Identity::admin_identity(), subscriber,
            [&](Result<sync::Hub::Handle> handle) {
              seen.add(handle ? "listening" : "listen refused: " + handle.error().message);
              listen_answered.set_value();
            });
  queued.set_value();
  gated.gate.set_value();
  read_answered.get_future().wait();
  listen_answered.get_future().wait();
  EXPECT_EQ(renders, (std::vector<std::string>{R"(read "never durable")", "read null"}))
      << "rendered from the staged write, dropped, rendered again from what is durable";
  EXPECT_EQ(seen.now(), (std::vector<std::string>{"write refused", "read null", "event /a=null", "listening"}));
  // The first subscription is gone, the second hears what follows: one event per change.
  gated.store->fail = false;
  ASSERT_FALSE(write(db, WriteRequest::Op::set, "/a", "3").error);
  EXPECT_EQ(read(db, "/a"), "3");
  EXPECT_EQ(db.listen_count(), 1u);
  EXPECT_EQ(seen.now().back(), "event /a=3");
  EXPECT_EQ(seen.now().size(), 5u);
}

}  // namespace
}  // namespace backside::db
