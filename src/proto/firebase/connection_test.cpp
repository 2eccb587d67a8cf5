// The Firebase door's translation: wire messages in, core calls, wire messages out, driven through
// a Connection on a real database with a transport that records what it is given.
#include "proto/firebase/connection.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "db/registry.h"
#include "tree/json_codec.h"
#include "store/store.h"

namespace backside::proto::firebase {
namespace {

namespace json = boost::json;

// The connection's socket: records what the connection sends.
class RecordingSocket : public net::WebSocketConnection {
 public:
  bool send(std::shared_ptr<const std::string> message) override {
    std::lock_guard lock(mutex_);
    messages_.push_back(json::parse(*message));
    return true;
  }
  bool send(std::string head, std::shared_ptr<const std::string> body) override {
    return send(std::make_shared<const std::string>(head + *body));
  }
  bool send_all(std::span<const std::shared_ptr<const std::string>> messages) override {
    for (const auto& message : messages) send(message);
    return true;
  }
  void post(std::function<void()> fn) override { fn(); }
  const std::string& remote_address() const override { return address_; }
  using net::WebSocketConnection::close;
  void close(std::uint16_t code, std::string reason) override {
    std::lock_guard lock(mutex_);
    close_code_ = code;
    close_reason_ = reason;
  }
  void pause_reading(bool paused) override {
    std::lock_guard lock(mutex_);
    pauses_.push_back(paused);
  }
  std::vector<json::value> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::uint16_t close_code() const {
    std::lock_guard lock(mutex_);
    return close_code_;
  }
  std::vector<bool> pauses() const {
    std::lock_guard lock(mutex_);
    return pauses_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<json::value> messages_;
  std::uint16_t close_code_ = 0;
  std::string close_reason_;
  std::vector<bool> pauses_;
  const std::string address_ = "127.0.0.1";
};

class FirebaseConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("backside-firebase-test-" + std::to_string(rd()) + std::to_string(rd()));
    auto store = store::open_lmdb_store({.directory = dir_.string(), .durability = store::Durability::none});
    ASSERT_TRUE(store.ok());
    auto opened = db::Database::open(
        {"test", std::move(*store),
         *db::Registry::compile_rules(R"({"rules": {"open": {".read": true, ".write": true}}})")});
    ASSERT_TRUE(opened.ok());
    database_ = std::move(*opened);
    options_.authenticator = &authenticator_;
    socket_ = std::make_shared<RecordingSocket>();
    connection_ = std::make_shared<Connection>(*database_, socket_, options_, "localhost");
    connection_->open();
  }
  void TearDown() override {
    connection_->on_close();
    settle();
    settle();
    connection_.reset();
    database_->stop();
    std::filesystem::remove_all(dir_);
  }

  void settle() {
    std::promise<void> done;
    database_->run([&](const tree::Node&) { done.set_value(); });
    done.get_future().wait();
  }
  void send(const char* message) { connection_->on_message(message); }
  // The reply to request `r`: its body {s, d}.
  json::object reply(std::int64_t r) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      settle();
      for (const auto& message : socket_->messages()) {
        const auto& d = message.at("d").as_object();
        if (message.at("t") == "d" && d.contains("r") && d.at("r").to_number<std::int64_t>() == r) {
          return d.at("b").as_object();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "no reply to request " << r;
    return {};
  }
  // The data pushes (`d` actions) received so far, as "path=data".
  std::vector<std::string> pushes() {
    std::vector<std::string> out;
    for (const auto& message : socket_->messages()) {
      const auto& d = message.at("d").as_object();
      if (message.at("t") == "d" && d.contains("a") && (d.at("a") == "d" || d.at("a") == "m")) {
        const auto& b = d.at("b").as_object();
        out.push_back(std::string(b.at("p").as_string()) + "=" + json::serialize(b.at("d")));
      }
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<db::Database> database_;
  auth::Authenticator authenticator_{{.admin_token = "test-admin-token-0123456789", .dev = true}};
  FirebaseOptions options_;
  std::shared_ptr<RecordingSocket> socket_;
  std::shared_ptr<Connection> connection_;
};

TEST_F(FirebaseConnection, OpensWithTheHandshake) {
  auto first = socket_->messages().at(0).as_object();
  EXPECT_EQ(first.at("t"), "c");
  const auto& handshake = first.at("d").as_object().at("d").as_object();
  EXPECT_EQ(handshake.at("v"), "5");
  EXPECT_EQ(handshake.at("s").as_string(), connection_->session_id());
}

TEST_F(FirebaseConnection, PutAndMergeBecomeWritesAnsweredInOrder) {
  send(R"({"t":"d","d":{"r":1,"a":"p","b":{"p":"/open/a","d":{"x":1}}}})");
  send(R"({"t":"d","d":{"r":2,"a":"m","b":{"p":"/open/a","d":{"y":2}}}})");
  send(R"({"t":"d","d":{"r":3,"a":"p","b":{"p":"/closed","d":1}}})");
  EXPECT_EQ(reply(1).at("s"), "ok");
  EXPECT_EQ(reply(2).at("s"), "ok");
  EXPECT_EQ(reply(3).at("s"), "permission_denied");
  send(R"({"t":"d","d":{"r":4,"a":"g","b":{"p":"/open/a"}}})");
  EXPECT_EQ(json::serialize(reply(4).at("d")), R"({"x":1,"y":2})");
}

TEST_F(FirebaseConnection, AListenGetsTheValueThenChangesAndAnUnlistenStopsThem) {
  send(R"({"t":"d","d":{"r":1,"a":"q","b":{"p":"/open/room","h":""}}})");
  EXPECT_EQ(reply(1).at("s"), "ok");
  send(R"({"t":"d","d":{"r":2,"a":"p","b":{"p":"/open/room/m","d":"hi"}}})");
  EXPECT_EQ(reply(2).at("s"), "ok");
  send(R"({"t":"d","d":{"r":3,"a":"n","b":{"p":"/open/room"}}})");
  EXPECT_EQ(reply(3).at("s"), "ok");
  send(R"({"t":"d","d":{"r":4,"a":"p","b":{"p":"/open/room/m","d":"again"}}})");
  EXPECT_EQ(reply(4).at("s"), "ok");
  EXPECT_EQ(pushes(), (std::vector<std::string>{"open/room=null", "open/room/m=\"hi\""}));
}

TEST_F(FirebaseConnection, OnDisconnectWritesRunWhenTheConnectionCloses) {
  send(R"({"t":"d","d":{"r":1,"a":"o","b":{"p":"/open/presence","d":"offline"}}})");
  send(R"({"t":"d","d":{"r":2,"a":"o","b":{"p":"/closed/x","d":1}}})");
  EXPECT_EQ(reply(1).at("s"), "ok");
  EXPECT_EQ(reply(2).at("s"), "permission_denied");  // checked when asked for
  connection_->on_close();
  settle();
  settle();
  std::promise<std::string> value;
  database_->read(*tree::Path::parse("/open/presence"), std::nullopt, identity::Identity::admin_identity(),
                  [&](const Error*, const tree::Node& node) -> db::ReadSend {
                    return [&value, text = tree::to_json(node)] { value.set_value(text); };
                  });
  EXPECT_EQ(value.get_future().get(), R"("offline")");
}

TEST_F(FirebaseConnection, BadRequestsAreAnsweredAndMalformedMessagesEndTheConnection) {
  send(R"({"t":"d","d":{"r":1,"a":"nope","b":{}}})");
  EXPECT_EQ(reply(1).at("s"), "invalid_request");
  send(R"({"t":"d","d":{"r":2,"a":"p","b":{"p":"/open/a.b","d":1}}})");
  EXPECT_EQ(reply(2).at("s"), "invalid_request");
  send(R"({"t":"d","d":{"r":3,"a":"auth","b":{"cred":"not a token"}}})");
  EXPECT_EQ(reply(3).at("s"), "invalid_token");
  EXPECT_EQ(socket_->close_code(), 0);
  send("not json");
  EXPECT_EQ(socket_->close_code(), 1002);
  const auto last = socket_->messages().back().as_object();
  EXPECT_EQ(last.at("d").as_object().at("t"), "e");
}

TEST_F(FirebaseConnection, TooManyUnansweredRequestsPauseReading) {
  options_.limits.max_pending_requests = 4;
  auto connection = std::make_shared<Connection>(*database_, socket_, options_, "localhost");
  // Hold the writer so that nothing is answered while the requests arrive.
  std::promise<void> release;
  auto released = release.get_future().share();
  database_->run([released](const tree::Node&) { released.wait(); });
  for (int r = 1; r <= 4; ++r) {
    connection->on_message(R"({"t":"d","d":{"r":)" + std::to_string(r) + R"(,"a":"g","b":{"p":"/open"}}})");
  }
  EXPECT_EQ(socket_->pauses(), std::vector<bool>{true});
  release.set_value();
  settle();
  EXPECT_EQ(socket_->pauses(), (std::vector<bool>{true, false}));
  connection->on_close();
}

}  // namespace
}  // namespace backside::proto::firebase
