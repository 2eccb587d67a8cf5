// The STOMP door's translation: frames in, core calls, frames out (docs/protocol.md), driven through a StompSession on
// a real database with a transport that records the frames it is given.
#include "proto/stomp/stomp_session.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "db/registry.h"
#include "tree/json_codec.h"

namespace backside::proto::stomp {
namespace {

class RecordingTransport : public net::StreamConnection {
 public:
  bool send(std::shared_ptr<const std::string> bytes) override {
    std::lock_guard lock(mutex_);
    std::vector<Frame> frames;
    if (!decoder_.feed(*bytes, frames).ok()) ADD_FAILURE() << "the server sent a malformed frame: " << *bytes;
    for (auto& frame : frames) frames_.push_back(std::move(frame));
    return true;
  }
  bool send(std::string head, std::shared_ptr<const std::string> body) override {
    return send(std::make_shared<const std::string>(head + *body));  // as the peer reads it
  }
  void close(std::string reason) override {
    std::lock_guard lock(mutex_);
    closed_ = reason;
  }
  void post(std::function<void()> fn) override { fn(); }
  const std::string& remote_address() const override { return address_; }
  void pause_reading(bool) override {}

  std::vector<Frame> frames() const {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  std::string closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  mutable std::mutex mutex_;
  Decoder decoder_;
  std::vector<Frame> frames_;
  std::string closed_;
  std::string address_ = "127.0.0.1";
};

class StompSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("backside-stomp-test-" + std::to_string(rd()) + std::to_string(rd()));
    db::RegistryOptions registry_options;
    registry_options.data_dir = dir_.string();
    registry_options.default_rules =
        *db::Registry::compile_rules(R"({"rules": {"open": {".read": true, ".write": true}}})", false);
    registry_options.create_on_first_use = true;
    registry_options.durability = store::Durability::none;
    registry_ = std::make_unique<db::Registry>(std::move(registry_options));
    options_.heartbeat_ms = 0;
    options_.connect_timeout_ms = 0;
    transport_ = std::make_shared<RecordingTransport>();
    session_ = std::make_shared<StompSession>(*registry_, authenticator_, options_, transport_);
  }
  void TearDown() override {
    session_->on_closed();
    session_.reset();
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }

  void feed(const std::string& frames) { session_->on_bytes(frames); }
  // Waits for a frame that `match` accepts.
  Frame wait_for(const std::function<bool(const Frame&)>& match) {
    for (int attempt = 0; attempt < 400; ++attempt) {
      for (const auto& frame : transport_->frames()) {
        if (match(frame)) return frame;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "no such frame";
    return {};
  }
  Frame receipt(const std::string& id) {
    return wait_for([&](const Frame& f) {
      return f.command == "RECEIPT" && f.header("receipt-id") && *f.header("receipt-id") == id;
    });
  }
  std::vector<std::string> message_bodies(const std::string& subscription) {
    std::vector<std::string> out;
    for (const auto& frame : transport_->frames()) {
      if (frame.command == "MESSAGE" && *frame.header("subscription") == subscription) out.push_back(frame.body);
    }
    return out;
  }
  void connect() {
    feed(std::string("CONNECT\naccept-version:1.2\nhost:test\n\n") + '\0');
    wait_for([](const Frame& f) { return f.command == "CONNECTED"; });
  }

  std::filesystem::path dir_;
  std::unique_ptr<db::Registry> registry_;
  auth::Authenticator authenticator_{{.admin_token = "test-admin-token-0123456789", .dev = true}};
  StompOptions options_;
  std::shared_ptr<RecordingTransport> transport_;
  std::shared_ptr<StompSession> session_;
};

std::string frame(const std::string& text) { return text + '\0'; }

TEST_F(StompSessionTest, ConnectNegotiatesTheVersion) {
  connect();
  auto connected = transport_->frames().front();
  EXPECT_EQ(*connected.header("version"), "1.2");
}

TEST_F(StompSessionTest, SubscribeAndSendBecomeAListenAndAWrite) {
  connect();
  feed(frame("SUBSCRIBE\nid:0\ndestination:/open/room\nreceipt:r1\n\n"));
  EXPECT_EQ(*receipt("r1").header("status"), "ok");
  feed(frame("SEND\ndestination:/open/room/m\nreceipt:r2\ncontent-type:application/json\n\n\"hi\""));
  EXPECT_EQ(*receipt("r2").header("status"), "ok");
  wait_for([&](const Frame& f) { return f.command == "MESSAGE" && f.body == "\"hi\""; });
  feed(frame("UNSUBSCRIBE\nid:0\nreceipt:r3\n\n"));
  receipt("r3");
  feed(frame("SEND\ndestination:/open/room/m\nreceipt:r4\n\n\"again\""));
  receipt("r4");
  EXPECT_EQ(message_bodies("0"), (std::vector<std::string>{"null", "\"hi\""}));
}

TEST_F(StompSessionTest, RefusalsAreReceiptsAndCancelsAndTheConnectionStays) {
  connect();
  feed(frame("SEND\ndestination:/closed\nreceipt:r1\n\n1"));
  EXPECT_EQ(*receipt("r1").header("status"), "permission_denied");
  feed(frame("SEND\ndestination:/open/x\nreceipt:r2\n\n{not json"));
  EXPECT_EQ(*receipt("r2").header("status"), "invalid_argument");
  feed(frame("SUBSCRIBE\nid:s\ndestination:/closed\nreceipt:r3\n\n"));
  EXPECT_EQ(*receipt("r3").header("status"), "permission_denied");
  auto cancel = wait_for([](const Frame& f) { return f.command == "MESSAGE" && f.header("event"); });
  EXPECT_EQ(*cancel.header("event"), "cancel");
  // The refused subscription's id is free again.
  feed(frame("SUBSCRIBE\nid:s\ndestination:/open\nreceipt:r4\n\n"));
  EXPECT_EQ(*receipt("r4").header("status"), "ok");
  EXPECT_EQ(transport_->closed(), "");
}

TEST_F(StompSessionTest, ATransactionIsOneWriteAtCommit) {
  connect();
  feed(frame("SUBSCRIBE\nid:0\ndestination:/open/t\nreceipt:r0\n\n"));
  receipt("r0");
  feed(frame("BEGIN\ntransaction:tx\n\n") + frame("SEND\ndestination:/open/t/a\ntransaction:tx\n\n1") +
       frame("SEND\ndestination:/open/t/b\ntransaction:tx\n\n2") + frame("COMMIT\ntransaction:tx\nreceipt:c\n\n"));
  EXPECT_EQ(*receipt("c").header("status"), "ok");
  // The initial null, then one event with both children.
  auto bodies = message_bodies("0");
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[1], R"({"a":1,"b":2})");
}

TEST_F(StompSessionTest, OnDisconnectSendsRunWhenTheConnectionEnds) {
  connect();
  feed(frame("SEND\ndestination:/open/presence\non-disconnect:set\nreceipt:r1\n\n\"offline\""));
  EXPECT_EQ(*receipt("r1").header("status"), "ok");
  session_->on_closed();
  auto database = registry_->get("test");
  ASSERT_TRUE(database.ok());
  for (int attempt = 0; attempt < 400; ++attempt) {
    std::promise<std::string> value;
    (*database)->read(*tree::Path::parse("/open/presence"), std::nullopt, identity::Identity::admin_identity(),
                      [&](const Error*, const tree::Node& node) -> db::ReadSend {
                        return [&value, text = tree::to_json(node)] { value.set_value(text); };
                      });
    if (value.get_future().get() == R"("offline")") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL() << "the on-disconnect write did not run";
}

TEST_F(StompSessionTest, ProtocolErrorsEndTheConnectionWithAnError) {
  feed(frame("SEND\ndestination:/open\n\n1"));  // before CONNECT
  auto error = wait_for([](const Frame& f) { return f.command == "ERROR"; });
  EXPECT_NE(error.header("message")->find("CONNECT"), std::string::npos);
  EXPECT_NE(transport_->closed(), "");
}

}  // namespace
}  // namespace backside::proto::stomp
