// RabbitMqBroker against a real RabbitMQ (scripts/rabbitmq.sh, through rabbitmq_test_server.h).
#include "cluster/rabbitmq_broker.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cluster/rabbitmq_test_server.h"
#include "gtest/gtest.h"

namespace backside::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Test databases get names of their own: the exchange is shared by every test of the process (and of a server
// given by BACKSIDE_TEST_RABBITMQ_URL).
std::string unique_database(const std::string& prefix) {
  static std::mt19937_64 random{std::random_device{}()};
  return prefix + "-" + std::to_string(random() % 1000000000);
}

PublishedBatchPtr make_batch(const std::string& database, std::uint64_t sequence) {
  PublishedBatch batch{database, sequence, {}};
  batch.batch.add({store::WriteBatch::Op::Kind::erase_range, "k" + std::to_string(sequence), ""});
  batch.batch.add({store::WriteBatch::Op::Kind::put, "k" + std::to_string(sequence), "v" + std::to_string(sequence)});
  return std::make_shared<const PublishedBatch>(std::move(batch));
}

// What one subscription received, in order; waits for a count.
class Received {
 public:
  BatchHandler handler() {
    return [this](const PublishedBatchPtr& batch) {
      std::lock_guard lock(mutex_);
      batches_.push_back(batch);
      changed_.notify_all();
    };
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 30s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return batches_.size() >= count; });
  }
  std::vector<PublishedBatchPtr> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return batches_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<PublishedBatchPtr> batches_;
};

std::unique_ptr<RabbitMqBroker> open_broker(const std::string& url, const std::string& node,
                                            RabbitMqOptions options = {}) {
  auto broker = RabbitMqBroker::open(url, node, options);
  EXPECT_TRUE(broker.ok()) << (broker.ok() ? "" : broker.error().message);
  return broker.ok() ? std::move(*broker) : nullptr;
}

TEST(RabbitMqUrl, ParsesEveryPartAndRefusesWhatItCannotUse) {
  auto full = parse_amqp_url("amqp://us%40er:p%3Ass@broker.example:5673/%2f");
  ASSERT_TRUE(full.ok()) << full.error().message;
  EXPECT_EQ(full->user, "us@er");
  EXPECT_EQ(full->password, "p:ss");
  EXPECT_EQ(full->host, "broker.example");
  EXPECT_EQ(full->port, 5673);
  EXPECT_EQ(full->vhost, "/");
  EXPECT_EQ(full->endpoint(), "broker.example:5673");

  auto defaults = parse_amqp_url("amqp://localhost");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->user, "guest");
  EXPECT_EQ(defaults->port, 5672);
  EXPECT_EQ(defaults->vhost, "/");
  auto named_vhost = parse_amqp_url("amqp://u:p@[::1]:1234/cluster");
  ASSERT_TRUE(named_vhost.ok()) << named_vhost.error().message;
  EXPECT_EQ(named_vhost->host, "::1");
  EXPECT_EQ(named_vhost->port, 1234);
  EXPECT_EQ(named_vhost->vhost, "cluster");

  for (const char* bad : {"http://host", "amqps://host", "amqp://", "amqp://u:secret@host:99999/", "amqp://host:x",
                          "amqp://host/a/b", "amqp://host/%zz", "amqp://host/?heartbeat=5", "amqp://u:secret@:5672"}) {
    auto parsed = parse_amqp_url(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::invalid_argument) << bad;
    EXPECT_EQ(parsed.error().message.find("secret"), std::string::npos) << parsed.error().message;
  }
}

TEST(RabbitMqMessage, CarriesSequenceDatabaseAndBatch) {
  const auto batch = make_batch("orders", 0x0102030405060708ull);
  const std::string body = encode_published_batch(*batch);
  auto decoded = decode_published_batch(body);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->database, "orders");
  EXPECT_EQ(decoded->sequence, 0x0102030405060708ull);
  ASSERT_EQ(decoded->batch.ops().size(), 2u);
  EXPECT_EQ(decoded->batch.ops()[1].key, batch->batch.ops()[1].key);
  EXPECT_EQ(decoded->batch.ops()[1].value, batch->batch.ops()[1].value);
  EXPECT_FALSE(decode_published_batch("junk").ok());
  EXPECT_FALSE(decode_published_batch(body.substr(0, 15)).ok());
}

TEST(RabbitMqBroker, BatchesReachSubscribersOnBothNodesInPublishOrder) {
  BACKSIDE_REQUIRE_RABBITMQ(url);
  auto node_a = open_broker(url, "node-a");
  auto node_b = open_broker(url, "node-b");
  ASSERT_TRUE(node_a && node_b);
  const std::string database = unique_database("orders");
  Received on_a, on_b, on_b_again;
  auto sub_a = node_a->subscribe(database, on_a.handler());
  auto sub_b = node_b->subscribe(database, on_b.handler());
  auto sub_b_again = node_b->subscribe(database, on_b_again.handler());  // two handlers on one node

  constexpr std::uint64_t kBatches = 1000;
  for (std::uint64_t sequence = 1; sequence <= kBatches; ++sequence) {
    ASSERT_TRUE(node_a->publish(make_batch(database, sequence)).ok()) << sequence;
  }
  for (Received* received : {&on_a, &on_b, &on_b_again}) {
    ASSERT_TRUE(received->wait_for(kBatches)) << received->size() << " of " << kBatches;
    const auto batches = received->batches();
    ASSERT_EQ(batches.size(), kBatches);
    for (std::uint64_t i = 0; i < kBatches; ++i) {
      ASSERT_EQ(batches[i]->sequence, i + 1);
      ASSERT_EQ(batches[i]->database, database);
      ASSERT_EQ(batches[i]->batch.ops().size(), 2u);
      ASSERT_EQ(batches[i]->batch.ops()[1].value, "v" + std::to_string(i + 1));
    }
  }
  EXPECT_EQ(node_a->reconnects(), 0u);
  EXPECT_EQ(node_b->reconnects(), 0u);
}

TEST(RabbitMqBroker, ASubscriberGetsOnlyItsDatabasesBatches) {
  BACKSIDE_REQUIRE_RABBITMQ(url);
  auto publisher = open_broker(url, "publisher");
  auto subscriber = open_broker(url, "subscriber");
  ASSERT_TRUE(publisher && subscriber);
  const std::string mine = unique_database("mine");
  const std::string other = unique_database("other");
  const std::string unwatched = unique_database("unwatched");
  Received on_mine, on_other;
  auto sub_mine = subscriber->subscribe(mine, on_mine.handler());
  auto sub_other = subscriber->subscribe(other, on_other.handler());
  for (std::uint64_t sequence = 1; sequence <= 50; ++sequence) {
    ASSERT_TRUE(publisher->publish(make_batch(unwatched, sequence)).ok());
    ASSERT_TRUE(publisher->publish(make_batch(mine, sequence)).ok());
    if (sequence % 2 == 0) {
      ASSERT_TRUE(publisher->publish(make_batch(other, sequence / 2)).ok());
    }
  }
  ASSERT_TRUE(on_mine.wait_for(50));
  ASSERT_TRUE(on_other.wait_for(25));
  // A last batch of each, so that anything stray published before it would have arrived by then.
  ASSERT_TRUE(publisher->publish(make_batch(mine, 51)).ok());
  ASSERT_TRUE(publisher->publish(make_batch(other, 26)).ok());
  ASSERT_TRUE(on_mine.wait_for(51));
  ASSERT_TRUE(on_other.wait_for(26));
  std::this_thread::sleep_for(100ms);
  for (const auto& batch : on_mine.batches()) EXPECT_EQ(batch->database, mine);
  for (const auto& batch : on_other.batches()) EXPECT_EQ(batch->database, other);
  EXPECT_EQ(on_mine.size(), 51u);
  EXPECT_EQ(on_other.size(), 26u);
}

TEST(RabbitMqBroker, NothingIsDeliveredAfterASubscriptionEnds) {
  BACKSIDE_REQUIRE_RABBITMQ(url);
  auto publisher = open_broker(url, "publisher");
  auto subscriber = open_broker(url, "subscriber");
  ASSERT_TRUE(publisher && subscriber);
  const std::string database = unique_database("stream");

  std::atomic<bool> ended{false};
  std::atomic<int> after_end{0};
  std::atomic<int> delivered{0};
  auto ending = subscriber->subscribe(database, [&](const PublishedBatchPtr&) {
    if (ended) ++after_end;
    ++delivered;
    std::this_thread::sleep_for(200us);  // a delivery in progress while the destructor runs
  });
  Received staying;
  auto stays = subscriber->subscribe(database, staying.handler());
  // A handler may end its own subscription: it gets exactly one batch.
  std::atomic<int> once_calls{0};
  std::unique_ptr<Subscription> once;
  once = subscriber->subscribe(database, [&](const PublishedBatchPtr&) {
    ++once_calls;
    once.reset();
  });

  std::atomic<bool> publishing{true};
  std::atomic<std::uint64_t> published{0};
  std::thread stream([&] {
    for (std::uint64_t sequence = 1; publishing; ++sequence) {
      if (!publisher->publish(make_batch(database, sequence)).ok()) break;
      published = sequence;
    }
  });
  const auto deadline = Clock::now() + 30s;
  while (delivered < 100 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ending.reset();  // mid-stream
  ended = true;
  const std::uint64_t at_end = published;
  while (published < at_end + 200 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  publishing = false;
  stream.join();
  ASSERT_GE(published, at_end + 200) << "the publisher stopped early";
  ASSERT_TRUE(staying.wait_for(published));  // the other subscription of the database kept everything
  EXPECT_EQ(after_end, 0);
  EXPECT_EQ(once_calls, 1);
  EXPECT_EQ(once, nullptr);
  const auto batches = staying.batches();
  for (std::size_t i = 0; i < batches.size(); ++i) ASSERT_EQ(batches[i]->sequence, i + 1);
}

TEST(RabbitMqBroker, BadUrlWrongPasswordAndClosedPortFailClearlyAndQuickly) {
  BACKSIDE_REQUIRE_RABBITMQ(url);
  auto parsed = parse_amqp_url(url);
  ASSERT_TRUE(parsed.ok());

  auto bad = RabbitMqBroker::open("amqp//nohost", "node");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);

  const auto started = Clock::now();
  const std::string wrong_password =
      "amqp://" + parsed->user + ":not-the-password@" + parsed->endpoint() + "/%2f";
  auto refused_login = RabbitMqBroker::open(wrong_password, "node");
  ASSERT_FALSE(refused_login.ok());
  EXPECT_EQ(refused_login.error().code, ErrorCode::permission_denied) << refused_login.error().message;
  EXPECT_NE(refused_login.error().message.find(parsed->endpoint()), std::string::npos) << refused_login.error().message;
  EXPECT_EQ(refused_login.error().message.find("not-the-password"), std::string::npos) << refused_login.error().message;

  // A port nothing listens on (the test server's own, once closed, is not reused here).
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string closed = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));  // bound, not listening
  auto refused = RabbitMqBroker::open("amqp://backside:secret-password@" + closed + "/%2f", "node");
  ::close(listener);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  EXPECT_NE(refused.error().message.find(closed), std::string::npos) << refused.error().message;
  EXPECT_EQ(refused.error().message.find("secret-password"), std::string::npos) << refused.error().message;
  EXPECT_LT(Clock::now() - started, 5s);

  // A connection that is never answered gives up after connect_timeout (here, a port that accepts TCP but never
  // speaks AMQP: the handshake times out).
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  address.sin_port = 0;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ASSERT_EQ(::listen(silent, 4), 0);
  RabbitMqOptions quick;
  quick.connect_timeout = 300ms;
  const auto silent_started = Clock::now();
  auto unanswered = RabbitMqBroker::open("amqp://127.0.0.1:" + std::to_string(ntohs(address.sin_port)), "node", quick);
  const auto waited = Clock::now() - silent_started;
  ::close(silent);
  ASSERT_FALSE(unanswered.ok());
  EXPECT_EQ(unanswered.error().code, ErrorCode::unavailable) << unanswered.error().message;
  EXPECT_LT(waited, 3s);
}

TEST(RabbitMqBroker, RefusesABatchOverTheSizeLimitAndABadDatabaseName) {
  BACKSIDE_REQUIRE_RABBITMQ(url);
  RabbitMqOptions small;
  small.max_message_bytes = 1000;
  auto broker = open_broker(url, "node", small);
  ASSERT_TRUE(broker);
  PublishedBatch large{unique_database("large"), 1, {}};
  large.batch.add({store::WriteBatch::Op::Kind::put, "k", std::string(2000, 'x')});
  auto refused = broker->publish(std::make_shared<const PublishedBatch>(std::move(large)));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::too_large) << refused.error().message;
  auto bad_name = broker->publish(make_batch("a.b#", 1));
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(broker->publish(make_batch(unique_database("small"), 1)).ok());  // the connection is still fine
}

TEST(RabbitMqBroker, SurvivesABrokerRestart) {
  RabbitMqTestServer server;  // its own, since it is stopped and started
  if (server.started().missing) GTEST_SKIP() << "rabbitmq-server is not installed: " << server.started().problem;
  ASSERT_TRUE(server.started().url) << server.started().problem;
  const std::string url = *server.started().url;
  RabbitMqOptions options;
  options.confirm_timeout = 2s;
  auto publisher = open_broker(url, "publisher", options);
  auto subscriber = open_broker(url, "subscriber", options);
  ASSERT_TRUE(publisher && subscriber);
  std::atomic<int> reconnected{0};
  subscriber->set_reconnect_handler([&] { ++reconnected; });
  const std::string database = unique_database("restart");
  Received received;
  auto subscription = subscriber->subscribe(database, received.handler());
  for (std::uint64_t sequence = 1; sequence <= 10; ++sequence) {
    ASSERT_TRUE(publisher->publish(make_batch(database, sequence)).ok());
  }
  ASSERT_TRUE(received.wait_for(10));

  ASSERT_TRUE(server.stop());
  // While it is away: an error, quickly (a refused connection; no hang, no crash).
  for (std::uint64_t sequence = 11; sequence <= 13; ++sequence) {
    const auto started = Clock::now();
    auto status = publisher->publish(make_batch(database, sequence));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::unavailable) << status.error().message;
    EXPECT_LT(Clock::now() - started, options.confirm_timeout + 1s) << status.error().message;
  }
  EXPECT_EQ(reconnected, 0);

  server.start();
  ASSERT_TRUE(server.started().url) << server.started().problem;
  // The subscriber reconnects (backoff at most 5 s), binds again and says so; the publisher on its next publish.
  const auto deadline = Clock::now() + 30s;
  while (reconnected == 0 && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(reconnected, 1);
  EXPECT_EQ(subscriber->reconnects(), 1u);
  Status status = publisher->publish(make_batch(database, 14));
  while (!status.ok() && Clock::now() < deadline) {  // its backoff may still run from the outage
    std::this_thread::sleep_for(100ms);
    status = publisher->publish(make_batch(database, 14));
  }
  ASSERT_TRUE(status.ok()) << status.error().message;
  for (std::uint64_t sequence = 15; sequence <= 20; ++sequence) {
    ASSERT_TRUE(publisher->publish(make_batch(database, sequence)).ok());
  }
  ASSERT_TRUE(received.wait_for(17)) << received.size();
  const auto batches = received.batches();
  ASSERT_EQ(batches.size(), 17u);  // 1-10, then 14-20: 11-13 were never accepted (the change log has them)
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(batches[i]->sequence, i + 1);
  for (std::size_t i = 10; i < 17; ++i) EXPECT_EQ(batches[i]->sequence, i + 4);
}

}  // namespace
}  // namespace backside::cluster
