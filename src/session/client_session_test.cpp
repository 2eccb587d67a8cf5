#include "session/client_session.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "db/registry.h"
#include "store/store.h"
#include "tree/json_codec.h"
#include "util/temp_dir.h"

namespace backside::session {
namespace {

namespace fs = std::filesystem;
using tree::Path;

// A database whose rules let `auth.uid == "owner"` write /private and anyone read everything and write elsewhere.
std::unique_ptr<db::Database> open_db(const TempDir& dir) {
  auto store = store::open_lmdb_store({.directory = dir.str()});
  EXPECT_TRUE(store.ok());
  auto db = db::Database::open(
      {"test", std::move(*store),
       *db::Registry::compile_rules(
           R"({"rules": {".read": true, "private": {".write": "auth != null && auth.uid == 'owner'"},
                          "$other": {".write": true}}})")});
  EXPECT_TRUE(db.ok());
  return std::move(*db);
}

std::string read(db::Database& db, const char* at) {
  std::promise<std::string> value;
  db.read(*Path::parse(at), std::nullopt, identity::Identity::admin_identity(),
          [&](const Error* error, const tree::Node& node) -> db::ReadSend {
            std::string text = error ? "error: " + error->message : tree::to_json(node);
            return [&value, text] { value.set_value(text); };
          });
  return value.get_future().get();
}

// Waits until everything queued on the database before now has run.
void drain(db::Database& db) {
  std::promise<void> done;
  db.run([&](const tree::Node&) { done.set_value(); });
  done.get_future().get();
}

class Recorder : public SessionSubscriber {
 public:
  const std::string& render_key() const override { return key_; }
  std::shared_ptr<const std::string> render(const sync::ViewEvent& event) const override {
    return std::make_shared<const std::string>(event.kind == sync::ViewEvent::Kind::put
                                                   ? event.path.to_string() + "=" + tree::to_json(*event.value)
                                                   : "merge");
  }
  void deliver(const std::shared_ptr<const std::string>& bytes) override {
    if (!active()) return;
    std::lock_guard lock(mutex_);
    events_.push_back(*bytes);
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  std::string key_ = "recorder";
  mutable std::mutex mutex_;
  std::vector<std::string> events_;
};

Status listen_and_wait(ClientSession& session, const std::string& key, const char* at,
                       const std::shared_ptr<Recorder>& recorder) {
  std::promise<Status> answer;
  Status started = session.listen(key, *Path::parse(at), std::nullopt, recorder,
                                  [&](const Result<sync::Hub::Handle>& handle) {
                                    answer.set_value(handle ? ok_status() : Status(handle.error()));
                                  });
  if (!started) return started;
  return answer.get_future().get();
}

db::WriteReply write(ClientSession& session, const char* at, const char* json) {
  std::promise<db::WriteReply> reply;
  db::WriteRequest request;
  request.path = *Path::parse(at);
  request.data = boost::json::parse(json);
  session.write(std::move(request), [&](db::WriteReply&& answer) { reply.set_value(std::move(answer)); });
  return reply.get_future().get();
}

identity::Identity user(const char* uid, std::int64_t expires_at = 0) {
  return identity::Identity::from_variable({{"uid", uid}}, expires_at);
}

TEST(ClientSession, WritesAsItsIdentity) {
  TempDir dir;
  auto db = open_db(dir);
  auto session = ClientSession::create(*db, {}, {});
  EXPECT_TRUE(write(*session, "/private/x", "1").error);  // unauthenticated
  session->authenticate(user("owner"));
  EXPECT_FALSE(write(*session, "/private/x", "1").error);
  EXPECT_EQ(read(*db, "/private/x"), "1");
}

TEST(ClientSession, AListenEndsWhenUnlistenedAndItsKeyIsFreeAgain) {
  TempDir dir;
  auto db = open_db(dir);
  auto session = ClientSession::create(*db, {}, {});
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(listen_and_wait(*session, "a", "/room", recorder).ok());
  EXPECT_TRUE(session->has_listen("a"));
  write(*session, "/room/m", "1");
  EXPECT_TRUE(session->unlisten("a"));
  EXPECT_FALSE(session->unlisten("a"));
  EXPECT_FALSE(recorder->active());
  write(*session, "/room/m", "2");
  drain(*db);
  EXPECT_EQ(recorder->events(), (std::vector<std::string>{"/room=null", "/room/m=1"}));
  EXPECT_EQ(session->listen_count(), 0u);
}

TEST(ClientSession, AListenCancelledBeforeItsHandleArrivesIsUnsubscribedWhenItDoes) {
  TempDir dir;
  auto db = open_db(dir);
  auto session = ClientSession::create(*db, {}, {});
  auto recorder = std::make_shared<Recorder>();
  // Hold the writer so that the listen's answer comes after the unlisten.
  std::promise<void> release;
  auto released = release.get_future().share();
  db->run([released](const tree::Node&) { released.wait(); });
  std::promise<void> answered;
  ASSERT_TRUE(session
                  ->listen("a", *Path::parse("/room"), std::nullopt, recorder,
                           [&](const Result<sync::Hub::Handle>& handle) {
                             EXPECT_TRUE(handle.ok());
                             answered.set_value();
                           })
                  .ok());
  EXPECT_TRUE(session->unlisten("a"));
  release.set_value();
  answered.get_future().get();
  write(*session, "/room/m", "1");
  drain(*db);
  // The initial value may have been rendered before the unlisten reached the writer; nothing after it.
  for (const auto& event : recorder->events()) EXPECT_NE(event, "/room/m=1");
}

TEST(ClientSession, ListeningAgainUnderAKeyReplacesTheListen) {
  TempDir dir;
  auto db = open_db(dir);
  auto session = ClientSession::create(*db, {}, {});
  auto first = std::make_shared<Recorder>();
  auto second = std::make_shared<Recorder>();
  ASSERT_TRUE(listen_and_wait(*session, "a", "/one", first).ok());
  ASSERT_TRUE(listen_and_wait(*session, "a", "/two", second).ok());
  EXPECT_FALSE(first->active());
  EXPECT_EQ(session->listen_count(), 1u);
}

TEST(ClientSession, ListensAreBoundedAndARefusedListenIsForgotten) {
  TempDir dir;
  auto db = open_db(dir);
  SessionLimits limits;
  limits.max_listens = 2;
  auto session = ClientSession::create(*db, limits, {});
  ASSERT_TRUE(listen_and_wait(*session, "a", "/a", std::make_shared<Recorder>()).ok());
  ASSERT_TRUE(listen_and_wait(*session, "b", "/b", std::make_shared<Recorder>()).ok());
  Status third = listen_and_wait(*session, "c", "/c", std::make_shared<Recorder>());
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::too_large);
  EXPECT_FALSE(session->has_listen("c"));

  // Refused by the rules: the key is free again by the time the door hears of it.
  TempDir closed_dir;
  auto store = store::open_lmdb_store({.directory = closed_dir.str()});
  auto closed = db::Database::open(
      {"closed", std::move(*store), *db::Registry::compile_rules(R"({"rules": {".read": false}})")});
  ASSERT_TRUE(closed.ok());
  auto refused_session = ClientSession::create(**closed, {}, {});
  Status refused = listen_and_wait(*refused_session, "x", "/x", std::make_shared<Recorder>());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::permission_denied);
  EXPECT_FALSE(refused_session->has_listen("x"));
}

TEST(ClientSession, DroppingTheSessionUnsubscribesItsListens) {
  TempDir dir;
  auto db = open_db(dir);
  auto recorder = std::make_shared<Recorder>();
  {
    auto session = ClientSession::create(*db, {}, {});
    ASSERT_TRUE(listen_and_wait(*session, "a", "/room", recorder).ok());
  }
  EXPECT_FALSE(recorder->active());
  drain(*db);
  EXPECT_EQ(recorder.use_count(), 1) << "the hub still holds the subscriber";
}

Status on_disconnect(ClientSession& session, const char* at, const char* json) {
  std::promise<Status> answer;
  Status asked = session.on_disconnect_set(*db::parse_write_path(std::string_view(at)), boost::json::parse(json),
                                           std::string_view(json).size(),
                                           [&](const Status& status) { answer.set_value(status); });
  if (!asked) return asked;
  return answer.get_future().get();
}

TEST(ClientSession, OnDisconnectWritesRunOnceAtTheEndAsTheSessionsIdentity) {
  TempDir dir;
  auto db = open_db(dir);
  auto session = ClientSession::create(*db, {}, {});
  session->authenticate(user("owner"));
  ASSERT_TRUE(on_disconnect(*session, "/private/presence", R"("offline")").ok());
  ASSERT_TRUE(on_disconnect(*session, "/public/a", "1").ok());
  ASSERT_TRUE(on_disconnect(*session, "/public/b", "2").ok());
  std::promise<Status> cancelled;
  ASSERT_TRUE(session->on_disconnect_cancel(*Path::parse("/public/b"), [&](const Status& s) { cancelled.set_value(s); }).ok());
  ASSERT_TRUE(cancelled.get_future().get().ok());
  EXPECT_EQ(read(*db, "/private/presence"), "null");
  session->end();
  session->end();  // once
  drain(*db);
  drain(*db);
  EXPECT_EQ(read(*db, "/private/presence"), R"("offline")");
  EXPECT_EQ(read(*db, "/public"), R"({"a":1})");
}

TEST(ClientSession, AForbiddenOnDisconnectWriteIsRefusedWhenAskedForAndNeverRuns) {
  TempDir dir;
  auto db = open_db(dir);
  auto session = ClientSession::create(*db, {}, {});
  Status refused = on_disconnect(*session, "/private/presence", R"("offline")");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::permission_denied);
  session->end();
  drain(*db);
  drain(*db);
  EXPECT_EQ(read(*db, "/private"), "null");
}

TEST(ClientSession, OnDisconnectIsBoundedInCountAndBytesAndACancelCountsAndGivesNothingBack) {
  TempDir dir;
  auto db = open_db(dir);
  SessionLimits limits;
  limits.max_on_disconnect = 4;
  limits.max_on_disconnect_bytes = 100;
  auto session = ClientSession::create(*db, limits, {});
  const std::string big(60, 'x');
  ASSERT_TRUE(on_disconnect(*session, "/a", ("\"" + big + "\"").c_str()).ok());
  Status too_big = on_disconnect(*session, "/b", ("\"" + big + "\"").c_str());
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, ErrorCode::too_large);
  EXPECT_NE(too_big.error().message.find("100 bytes"), std::string::npos);
  std::promise<Status> cancelled;
  ASSERT_TRUE(session->on_disconnect_cancel(*Path::parse("/a"), [&](const Status& s) { cancelled.set_value(s); }).ok());
  ASSERT_TRUE(cancelled.get_future().get().ok());
  ASSERT_TRUE(on_disconnect(*session, "/c", "1").ok());  // the refused one counted nothing; the cancel counted one
  ASSERT_TRUE(on_disconnect(*session, "/d", "2").ok());
  Status too_many = on_disconnect(*session, "/e", "3");
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("limit is 4"), std::string::npos);
  Status cancel_too_many = session->on_disconnect_cancel(*Path::parse("/c"), [](const Status&) { FAIL() << "not refused at once"; });
  EXPECT_EQ(cancel_too_many.error().code, ErrorCode::too_large);
  Status not_object = session->on_disconnect_update(*Path::parse("/f"), boost::json::parse("5"), 1,
                                                    [](const Status&) { FAIL() << "not refused at once"; });
  EXPECT_FALSE(not_object.ok());
}

TEST(ClientSession, RequestCreditPausesReadingAtEitherBoundAndResumesAtHalf) {
  TempDir dir;
  auto db = open_db(dir);
  SessionLimits limits;
  limits.max_pending_requests = 4;
  limits.max_pending_bytes = 1000;
  std::vector<bool> pauses;
  auto session = ClientSession::create(*db, limits, {.pause_reading = [&](bool paused) { pauses.push_back(paused); }});
  session->begin_request(900);
  EXPECT_TRUE(pauses.empty());
  session->begin_request(200);  // bytes: 1100 >= 1000
  EXPECT_EQ(pauses, std::vector<bool>{true});
  session->end_request(900);  // 200 bytes, 1 request: both at or below half
  EXPECT_EQ(pauses, (std::vector<bool>{true, false}));
  for (int i = 0; i < 3; ++i) session->begin_request();  // 4 requests
  EXPECT_EQ(pauses, (std::vector<bool>{true, false, true}));
}

// Runs an I/O context on a thread of its own for the credential's timer.
struct TimerThread {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~TimerThread() {
    work.reset();
    io.stop();
    thread.join();
  }
};

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(ClientSession, TheCredentialsExpiryEndsTheSessionOnItsTimerWithoutAnyTraffic) {
  TempDir dir;
  auto db = open_db(dir);
  TimerThread timers;
  std::promise<std::string> ended;
  auto session = ClientSession::create(
      *db, {},
      {.credential_ended = [&](const identity::CredentialExpiry& credential) { ended.set_value(credential.why()); }},
      timers.io.get_executor());
  session->authenticate(user("u", now_seconds() + 1));
  auto told = ended.get_future();
  ASSERT_EQ(told.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(told.get(), "Auth token is expired.");
  EXPECT_TRUE(session->credential_ended());  // still ended; told once (a second set_value would throw)
}

TEST(ClientSession, ANewCredentialReplacesTheOldOnesTimer) {
  TempDir dir;
  auto db = open_db(dir);
  TimerThread timers;
  std::atomic<int> ended{0};
  auto session = ClientSession::create(
      *db, {}, {.credential_ended = [&](const identity::CredentialExpiry&) { ++ended; }}, timers.io.get_executor());
  session->authenticate(user("u", now_seconds() + 1));
  session->authenticate(user("u", now_seconds() + 3600));
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ(ended.load(), 0);
  EXPECT_FALSE(session->credential_ended());
}

TEST(ClientSession, AnEndedAccountEndsTheSessionAtOnce) {
  TempDir dir;
  auto db = open_db(dir);
  std::promise<bool> ended;
  auto session = ClientSession::create(
      *db, {},
      {.credential_ended =
           [&](const identity::CredentialExpiry& credential) { ended.set_value(credential.account_ended()); }});
  auto standing = std::make_shared<identity::AccountStanding>();
  identity::Identity who = user("u");
  who.standing = standing;
  session->authenticate(who);
  EXPECT_FALSE(session->credential_ended());
  standing->end("Auth token's user is disabled.");
  auto told = ended.get_future();
  ASSERT_EQ(told.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(told.get());
}

}  // namespace
}  // namespace backside::session
