#include "proto/firebase/long_poll_sessions.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/field.hpp>
#include <filesystem>
#include <future>
#include <random>
#include <regex>
#include <thread>

#include "auth/authenticator.h"
#include "tree/json_codec.h"

namespace backside::proto::firebase {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

// One HTTP request's answer, as the server would send it.
class RecordingExchange : public net::HttpExchange {
 public:
  explicit RecordingExchange(std::string address) : address_(std::move(address)) {}
  void reply(net::HttpResponse&& response) override { answer_.set_value(std::move(response)); }
  std::shared_ptr<net::EventStream> start_stream(net::HttpResponse&&) override { return nullptr; }
  const std::string& remote_address() const override { return address_; }
  std::future<net::HttpResponse> answer() { return answer_.get_future(); }

 private:
  std::string address_;
  std::promise<net::HttpResponse> answer_;
};

// Web-safe base64 with '.' padding, as the SDK sends a message.
std::string sdk_base64(const std::string& data) {
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  for (std::size_t i = 0; i < data.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    if (i + 2 < data.size()) n |= static_cast<unsigned char>(data[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < data.size() ? alphabet[(n >> 6) & 63] : '.';
    out += i + 2 < data.size() ? alphabet[n & 63] : '.';
  }
  return out;
}

struct Started {
  std::string id;
  std::string password;
  std::string body;
};

class LongPollSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("backside-long-poll-test-" + std::to_string(rd()) + std::to_string(rd()));
    db::RegistryOptions registry_options;
    registry_options.data_dir = dir_.string();
    registry_options.default_rules =
        *db::Registry::compile_rules(R"({"rules": {".read": true, ".write": true}})", /*configured=*/false);
    registry_options.durability = store::Durability::none;
    registry_options.create_on_first_use = true;
    registry_ = std::make_unique<db::Registry>(registry_options);
    firebase_.authenticator = &authenticator_;
    firebase_.io = &io_;
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (sessions_) sessions_->close_all();
    work_.reset();
    io_thread_.join();
    sessions_.reset();
    registry_.reset();
    fs::remove_all(dir_);
  }

  void make_sessions(LongPollOptions options) {
    sessions_ = std::make_unique<LongPollSessions>(*registry_, firebase_, std::move(options));
  }

  std::future<net::HttpResponse> request(const std::string& query, const std::string& address = "10.0.0.1") {
    net::HttpRequest request{http::verb::get, "/.lp?" + query, 11};
    request.set(http::field::host, "localhost");
    auto exchange = std::make_shared<RecordingExchange>(address);
    auto answer = exchange->answer();
    sessions_->handle(request, exchange);
    return answer;
  }

  static std::string body_of(std::future<net::HttpResponse>& answer, std::chrono::milliseconds within = 5s) {
    if (answer.wait_for(within) != std::future_status::ready) return "(no answer)";
    return answer.get().body();
  }

  Started start(const std::string& address = "10.0.0.1") {
    auto answer = request("start=t&ser=1&cb=7&v=5&ns=lp", address);
    Started started;
    started.body = body_of(answer);
    std::smatch match;
    if (std::regex_search(started.body, match, std::regex("pLPCommand\\('start','(\\w+)','(\\w+)'\\)"))) {
      started.id = match[1];
      started.password = match[2];
    }
    return started;
  }

  std::future<net::HttpResponse> poll(const Started& session, const std::string& extra = {}) {
    return request("id=" + session.id + "&pw=" + session.password + "&ser=2&ns=lp" + extra);
  }

  // A poll carrying one client message as segment `number`.
  std::future<net::HttpResponse> send(const Started& session, const std::string& message, int number) {
    const std::string n = std::to_string(number);
    return poll(session, "&seg0=" + n + "&ts0=1&d0=" + sdk_base64(message));
  }

  // The value at `key` of database "lp", as JSON ("null" when absent).
  std::string value_at(const std::string& key) {
    auto database = registry_->get("lp");
    if (!database) return "(no database)";
    std::promise<std::string> value;
    (*database)->run([&](const tree::Node& root) {
      const tree::Node* child = root.find_child(key);
      value.set_value(child ? tree::to_json(*child) : "null");
    });
    return value.get_future().get();
  }

  // Sets `key` of database "lp" to the string `value`, as another client would; returns once its pushes are queued.
  void put_directly(const std::string& key, std::string value) {
    auto database = registry_->get("lp");
    ASSERT_TRUE(database);
    db::WriteRequest write;
    write.path = *tree::Path::parse("/" + key);
    write.data = boost::json::value(std::move(value));
    std::promise<void> done;
    (*database)->write(std::move(write), [&](db::WriteReply&&) { done.set_value(); });
    done.get_future().wait();
  }

  bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return condition();
  }

  fs::path dir_;
  std::unique_ptr<db::Registry> registry_;
  auth::Authenticator authenticator_{{.admin_token = "long-poll-test-admin-token-0123456789", .dev = true}};
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  FirebaseOptions firebase_;
  MemoryBudget budget_{64 * 1024};  // for a test that sets it in the options; outlives the sessions
  std::unique_ptr<LongPollSessions> sessions_;
  std::thread io_thread_;
};

const std::string kOnDisconnectSet = R"({"t":"d","d":{"r":1,"a":"o","b":{"p":"/gone","d":"bye"}}})";
const std::string kOk = R"({"t":"d","d":{"r":1,"b":{"s":"ok","d":""}}})";

TEST_F(LongPollSessionsTest, AStartAnswersWithTheSessionAndTheHandshake) {
  make_sessions({});
  Started session = start();
  ASSERT_FALSE(session.id.empty()) << session.body;
  EXPECT_NE(session.body.find("pRTLPCB(0,[{\"t\":\"c\",\"d\":{\"t\":\"h\",\"d\":{\"ts\":"), std::string::npos)
      << session.body;
  auto unknown = request("id=nope&pw=x&ser=2");
  EXPECT_EQ(body_of(unknown), "pLPCommand('close');");
  auto wrong_password = request("id=" + session.id + "&pw=wrong&ser=2");
  EXPECT_EQ(body_of(wrong_password), "pLPCommand('close');");
}

TEST_F(LongPollSessionsTest, AHeldPollIsAnsweredEmptyAfterItsHoldTime) {
  make_sessions({.hold_time = 300ms, .idle_time = 10s});
  Started session = start();
  const auto asked = std::chrono::steady_clock::now();
  auto held = poll(session);
  EXPECT_EQ(held.wait_for(100ms), std::future_status::timeout) << "answered before its hold time";
  EXPECT_EQ(body_of(held), "pRTLPCB(1,[]);");
  EXPECT_GE(std::chrono::steady_clock::now() - asked, 300ms);
  // The next poll is held its own time, and numbered after the first.
  auto next = poll(session);
  EXPECT_EQ(body_of(next), "pRTLPCB(2,[]);");
}

TEST_F(LongPollSessionsTest, ANewerPollReleasesTheHeldOneAndAReplyAnswersAHeldPoll) {
  // Held long enough for the reply to come before it even on a loaded machine.
  make_sessions({.hold_time = 3s, .idle_time = 10s});
  Started session = start();
  auto first = poll(session);
  EXPECT_EQ(first.wait_for(100ms), std::future_status::timeout);
  // The newer poll releases the first; the request it carries is answered through the database's writer, on
  // whichever of the two is held when the reply comes.
  auto second = send(session, kOnDisconnectSet, 0);
  EXPECT_EQ(first.wait_for(500ms), std::future_status::ready) << "not released by the newer poll";
  const std::string bodies = body_of(first) + "\n" + body_of(second);
  EXPECT_TRUE(bodies == "pRTLPCB(1,[]);\npRTLPCB(2,[" + kOk + "]);" ||
              bodies == "pRTLPCB(1,[" + kOk + "]);\npRTLPCB(2,[]);")
      << bodies;
}

TEST_F(LongPollSessionsTest, AnIdleSessionEndsAndItsOnDisconnectWritesRun) {
  make_sessions({.hold_time = 1s, .idle_time = 1500ms});
  Started session = start();
  const auto last_poll = std::chrono::steady_clock::now();  // before the server sees it
  auto reply = send(session, kOnDisconnectSet, 0);
  ASSERT_EQ(body_of(reply), "pRTLPCB(1,[" + kOk + "]);");
  EXPECT_EQ(value_at("gone"), "null");
  ASSERT_TRUE(eventually([&] { return value_at("gone") == "\"bye\""; })) << "the idle session did not end";
  EXPECT_GE(std::chrono::steady_clock::now() - last_poll, 1500ms) << "ended before its idle time";
  auto late = poll(session);
  EXPECT_EQ(body_of(late), "pLPCommand('close');");
}

TEST_F(LongPollSessionsTest, PollsKeepASessionAlivePastItsIdleTime) {
  make_sessions({.hold_time = 100ms, .idle_time = 500ms});
  Started session = start();
  auto first = send(session, kOnDisconnectSet, 0);
  std::string bodies = body_of(first);
  // Seven polls of 100 ms each (held, then answered): more than the idle time, never idle that long.
  for (int i = 0; i < 7; ++i) {
    auto held = poll(session);
    bodies += body_of(held);
  }
  // Every poll was answered as a live session's, numbered in turn; the request's reply came on one of them.
  const std::regex number("pRTLPCB\\((\\d+),");
  std::string numbers;
  for (std::sregex_iterator it(bodies.begin(), bodies.end(), number), end; it != end; ++it) {
    numbers += (*it)[1].str() + " ";
  }
  EXPECT_EQ(numbers, "1 2 3 4 5 6 7 8 ") << bodies;
  EXPECT_EQ(bodies.find("pLPCommand('close'"), std::string::npos) << bodies;
  EXPECT_NE(bodies.find(kOk), std::string::npos) << bodies;
  EXPECT_EQ(value_at("gone"), "null");
}

TEST_F(LongPollSessionsTest, CloseAllEndsEverySessionAndRefusesNewOnes) {
  make_sessions({.hold_time = 10s, .idle_time = 10s});
  Started session = start();
  auto reply = send(session, kOnDisconnectSet, 0);
  ASSERT_EQ(body_of(reply), "pRTLPCB(1,[" + kOk + "]);");
  auto held = poll(session);
  EXPECT_EQ(held.wait_for(50ms), std::future_status::timeout);
  sessions_->close_all();
  // The held poll carries the close command; the onDisconnect write is queued.
  EXPECT_EQ(body_of(held, 1s), "pRTLPCB(2,[]);pLPCommand('close',2);");
  EXPECT_TRUE(eventually([&] { return value_at("gone") == "\"bye\""; }));
  auto late = poll(session);
  EXPECT_EQ(body_of(late), "pLPCommand('close');");
  auto refused = request("start=t&ser=1&cb=7&v=5&ns=lp");
  ASSERT_EQ(refused.wait_for(1s), std::future_status::ready);
  auto response = refused.get();
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(response.body(), "{\"error\":\"The server is shutting down\"}");
}

TEST_F(LongPollSessionsTest, SessionsPerAddressAreCappedAndGivenBackWhenOneEnds) {
  make_sessions({.max_sessions_per_address = 1});
  Started first = start("10.0.0.1");
  ASSERT_FALSE(first.id.empty());
  auto refused = request("start=t&ser=1&cb=7&v=5&ns=lp", "10.0.0.1");
  ASSERT_EQ(refused.wait_for(1s), std::future_status::ready);
  auto response = refused.get();
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(response.body(), "{\"error\":\"Too many long-poll sessions from your address\"}");
  EXPECT_FALSE(start("10.0.0.2").id.empty()) << "another address has its own count";
  auto left = request("disconn=t&id=" + first.id + "&pw=" + first.password);
  EXPECT_EQ(body_of(left), "");
  EXPECT_FALSE(start("10.0.0.1").id.empty()) << "the ended session gave its place back";
}

TEST_F(LongPollSessionsTest, SessionsAreCappedServerWide) {
  make_sessions({.max_sessions = 2});
  EXPECT_FALSE(start("10.0.0.1").id.empty());
  EXPECT_FALSE(start("10.0.0.2").id.empty());
  auto refused = request("start=t&ser=1&cb=7&v=5&ns=lp", "10.0.0.3");
  ASSERT_EQ(refused.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(refused.get().body(), "{\"error\":\"Too many long-poll sessions\"}");
}

TEST_F(LongPollSessionsTest, AMalformedSegmentEndsTheSession) {
  make_sessions({.hold_time = 10s, .idle_time = 10s});
  Started session = start();
  auto reply = send(session, kOnDisconnectSet, 0);
  ASSERT_EQ(body_of(reply), "pRTLPCB(1,[" + kOk + "]);");
  auto bad = poll(session, "&seg0=1&ts0=x&d0=e30.");
  EXPECT_EQ(body_of(bad, 1s), "pRTLPCB(2,[]);pLPCommand('close',2);");
  EXPECT_TRUE(eventually([&] { return value_at("gone") == "\"bye\""; }));
  EXPECT_TRUE(eventually([&] {
    auto late = poll(session);
    return body_of(late) == "pLPCommand('close');";
  }));
}

TEST_F(LongPollSessionsTest, TheMemoryBudgetTakesBackTheLargestQueueWhenAnotherNeedsRoom) {
  make_sessions({.hold_time = 10s, .idle_time = 10s, .memory_budget = &budget_});
  MemoryBudget& budget = budget_;
  Started slow = start("10.0.0.1");
  Started reading = start("10.0.0.2");
  auto registered = send(slow, kOnDisconnectSet, 0);
  ASSERT_EQ(body_of(registered), "pRTLPCB(1,[" + kOk + "]);");
  // A listen's answer may come in two polls (the value, then the ok): polled until the ok came.
  auto listen = [&](const Started& session, const std::string& message, int segment, const std::string& ok) {
    auto answer = send(session, message, segment);
    std::string bodies = body_of(answer);
    for (int polls = 0; polls < 3 && bodies.find(ok) == std::string::npos; ++polls) {
      auto next = poll(session);
      bodies += body_of(next);
    }
    return bodies.find(ok) != std::string::npos;
  };
  ASSERT_TRUE(listen(slow, R"({"t":"d","d":{"r":2,"a":"q","b":{"p":"/a","h":""}}})", 1, R"("r":2,"b":{"s":"ok")"));
  ASSERT_TRUE(listen(reading, R"({"t":"d","d":{"r":1,"a":"q","b":{"p":"/b","h":""}}})", 0, R"("r":1,"b":{"s":"ok")"));
  // 40 KB wait for the slow session, which does not poll; then 30 KB for the other do not fit beside them.
  put_directly("a", std::string(40000, 'x'));
  EXPECT_GT(budget.used(), 40000u);
  EXPECT_EQ(budget.evictions(), 0u);
  put_directly("b", std::string(30000, 'y'));
  EXPECT_EQ(budget.evictions(), 1u);
  EXPECT_LT(budget.used(), 40000u) << "the slow session's queue was not given back";
  // The slow session ended (its onDisconnect write ran); the other got its push.
  EXPECT_TRUE(eventually([&] { return value_at("gone") == "\"bye\""; }));
  auto late = poll(slow);
  EXPECT_NE(body_of(late).find("pLPCommand('close'"), std::string::npos);
  auto pushed = poll(reading);
  EXPECT_NE(body_of(pushed).find(std::string(30000, 'y')), std::string::npos);
  EXPECT_LT(budget.used(), 1000u) << "the queues' bytes were not given back";
}

TEST_F(LongPollSessionsTest, BadStartsAreRefused) {
  make_sessions({});
  auto bad_callback = request("start=t&ser=1&cb=bad%22id&v=5&ns=lp");
  ASSERT_EQ(bad_callback.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(bad_callback.get().result(), http::status::bad_request);
  // A database name that cannot exist: the SDK is told why, in a shutdown message.
  auto bad_database = request("start=t&ser=1&cb=7&v=5&ns=no.such");
  EXPECT_NE(body_of(bad_database).find("pLPCommand('start','0','0');pRTLPCB(0,[{\"t\":\"c\",\"d\":{\"t\":\"s\""),
            std::string::npos);
  auto no_id = request("ser=1");
  ASSERT_EQ(no_id.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(no_id.get().result(), http::status::bad_request);
}

TEST_F(LongPollSessionsTest, WithoutAnIoContextNoSessionStarts) {
  firebase_.io = nullptr;
  make_sessions({});
  auto refused = request("start=t&ser=1&cb=7&v=5&ns=lp");
  ASSERT_EQ(refused.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(refused.get().result(), http::status::service_unavailable);
}

}  // namespace
}  // namespace backside::proto::firebase
