#pragma once
// The broker of a cluster (docs/cluster.md, "Broker and fan-out"): RabbitMQ through rabbitmq-c.
//
// rabbitmq-c connections are not thread-safe, so the broker has two, each used by one thread at a time:
//   - publishing: publish() is called by the committer threads of many databases and serialized by a mutex. Its
//     channel is in confirm mode: publish() returns only once RabbitMQ acknowledged the message (basic.ack), so a
//     batch acknowledged to a client has reached the broker; a nack, a timeout or a lost connection is an
//     `unavailable` error (the replicas find the gap through SequencedApply). It connects lazily: after a loss,
//     the next publish() connects again (at most once per backoff step, so a broker that is away costs a
//     publisher nothing but a quick error). A publish on a connection that turns out to be dead (the broker
//     restarted while it was idle) is sent once more on a new one; a duplicate is dropped by SequencedApply.
//     No heartbeats on it (rabbitmq-c only answers them inside a call, so an idle publisher would be cut off):
//     the confirm timeout is what notices a dead broker there.
//   - consuming: run by the broker's own thread. One exclusive, auto-delete, server-named queue per broker (one
//     per node), bound to the exchange with routing key = database for each subscribed database (bound when the
//     first subscription of a database starts, unbound when its last one ends). Deliveries go to every handler of
//     their database in arrival order, on that thread (handlers must not block). Heartbeats (10 s) notice a dead
//     broker; the thread then reconnects with backoff (100 ms doubling to 5 s), declares a new queue, binds every
//     subscribed database again and calls the reconnect handler: whatever was published while it was away is
//     lost, so a replica must catch up from the change log (SequencedApply::catch_up) when it is called.
//
// One durable topic exchange, `backside.batches`; the routing key is the database's name (db::Registry::valid_name
// allows only letters, digits, '-' and '_': nothing a topic pattern would read as a wildcard or separator).
// A message's body is a small binary prefix and the batch in the change log's encoding (store::encode_batch):
//   "BSB" 0x01 | sequence (u64, little-endian) | database name length (u16, little-endian) | name | batch
// so a message carries everything a replica needs, whatever the routing.
//
// The broker must outlive its subscriptions.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <set>
#include <string>
#include <thread>

#include "cluster/broker.h"
#include "util/result.h"

namespace backside::cluster {

// Where a broker connects: amqp://USER:PASSWORD@HOST:PORT/VHOST (user, password and vhost percent-decoded; the
// vhost "/" is written %2f; defaults guest:guest, port 5672, vhost "/").
struct AmqpUrl {
  std::string user = "guest";
  std::string password = "guest";
  std::string host;
  int port = 5672;
  std::string vhost = "/";
  // host:port, for messages (never the password).
  std::string endpoint() const { return host + ":" + std::to_string(port); }
};
Result<AmqpUrl> parse_amqp_url(const std::string& url);

struct RabbitMqOptions {
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect, then the AMQP handshake and each RPC
  std::chrono::milliseconds confirm_timeout{5000};  // a published message's basic.ack
  int heartbeat_seconds = 10;                       // the consuming connection's
  std::chrono::milliseconds reconnect_min{100};     // backoff between connection attempts, doubling...
  std::chrono::milliseconds reconnect_max{5000};    // ...up to this
  std::size_t max_message_bytes = 64u << 20;        // a larger batch is refused (too_large)
  std::chrono::milliseconds subscribe_wait{5000};   // how long subscribe() waits for its binding
};

// The message body of a published batch (the format above); exposed for tests.
std::string encode_published_batch(const PublishedBatch& batch);
Result<PublishedBatch> decode_published_batch(std::string_view body);

class RabbitMqBroker final : public Broker {
 public:
  static constexpr const char* kExchange = "backside.batches";

  // Connects both connections now, so that a bad URL, a refused connection or a refused login is an error here
  // (invalid_argument, unavailable, permission_denied), naming host:port. `node_id` names the connections in
  // RabbitMQ's management view and the logs.
  static Result<std::unique_ptr<RabbitMqBroker>> open(const std::string& url, std::string node_id,
                                                      RabbitMqOptions options = {});
  ~RabbitMqBroker() override;
  RabbitMqBroker(const RabbitMqBroker&) = delete;
  RabbitMqBroker& operator=(const RabbitMqBroker&) = delete;

  Status publish(PublishedBatchPtr batch) override;
  // Returns once the database's binding is in place (at most subscribe_wait; while RabbitMQ is away the binding
  // is made on reconnect, followed by the reconnect handler). Called from a handler, it does not wait.
  std::unique_ptr<Subscription> subscribe(const std::string& database, BatchHandler handler) override;

  // Write forwarding (docs/cluster.md, "Writes on a replica"). The owner consumes the queue
  // `backside.writes.<database>` (declared by its consuming connection; auto-delete, so it goes with its last
  // consumer). A forwarded write is published to it through the default exchange, mandatory (no queue, no owner:
  // an immediate `unavailable`), with this node's own queue as reply_to and a correlation id; the owner's answer
  // comes back to that queue. Answers that do not come within `timeout` (the owner died, the node's queue was
  // lost with its connection) are given up as `unavailable` by the consuming thread.
  std::unique_ptr<Subscription> serve_writes(const std::string& database, WriteServer server) override;
  void forward_write(const std::string& database, std::string request, std::chrono::milliseconds timeout,
                     ForwardReply reply) override;

  // Called on the consuming thread after each reconnect, once every subscribed database is bound again and before
  // any delivery from the new connection: batches published while the connection was lost never arrive.
  void set_reconnect_handler(std::function<void()> handler);

  // For tests and metrics: reconnects of the consuming connection so far.
  std::uint64_t reconnects() const { return reconnects_.load(); }

 private:
  class Connection;
  class RabbitMqSubscription;
  class WriteServing;
  struct Entry {
    BatchHandler handler;
    bool cancelled = false;  // guarded by dispatch_mutex_
  };

  RabbitMqBroker(AmqpUrl url, std::string node_id, RabbitMqOptions options);
  Result<std::unique_ptr<Connection>> connect(const std::string& role, int heartbeat_seconds);
  struct Direct;
  // `direct`: a message to one queue through the default exchange instead of a batch to the batch exchange.
  Status publish_on(Connection& connection, const std::string& routing_key, const std::string& body,
                    bool& connection_lost, const Direct* direct = nullptr);
  // A message through the default exchange straight to `queue` (forwarded writes and their answers), on the
  // publishing connection. `mandatory`: refused (not_found) when no such queue exists.
  struct Direct {
    std::string queue;
    std::string body;
    std::string reply_to;
    std::string correlation_id;
    std::string type;  // "error": the body is why no answer comes (the node no longer serves the database)
    bool mandatory = false;
  };
  Status publish_direct(const Direct& message);
  // Runs `send` on the publishing connection (connecting it if needed; once more on a new one when the old one
  // turns out dead).
  Status send_on_publisher(const std::function<Status(Connection&, bool& connection_lost)>& send);
  // The consumer thread: declares and consumes the write queues of served databases (and cancels ended ones).
  bool sync_write_servers(Connection& connection);
  void dispatch_direct(const std::string& routing_key, const std::string& reply_to, const std::string& correlation_id,
                       const std::string& type, std::string body);
  void expire_forwards();
  Status start_consuming(Connection& connection);  // declares the queue, binds, consumes
  void consume_loop();
  // Binds and unbinds until the bound databases are the subscribed ones; false when the connection failed.
  bool sync_bindings(Connection& connection);
  void dispatch(const std::string& routing_key, std::string_view body);
  void wake_consumer();
  void unsubscribe(const std::string& database, const std::shared_ptr<Entry>& entry);

  const AmqpUrl url_;
  const std::string node_id_;
  const RabbitMqOptions options_;

  // Publishing.
  std::mutex publish_mutex_;
  std::unique_ptr<Connection> publisher_;
  std::uint64_t next_delivery_tag_ = 1;  // confirm mode numbers the channel's publishes 1, 2, ...
  std::chrono::steady_clock::time_point publisher_retry_at_{};
  std::chrono::milliseconds publisher_backoff_{0};
  std::string publisher_last_error_;

  // Consuming: the connection is the consumer thread's alone (after open()).
  std::unique_ptr<Connection> consumer_;
  std::string queue_;
  std::thread consumer_thread_;
  std::thread::id consumer_thread_id_;
  int wake_fd_ = -1;  // eventfd: subscribe/unsubscribe/stop wake the consumer thread out of its poll
  std::atomic<bool> stopping_{false};
  std::atomic<bool> bindings_changed_{false};  // a subscription started or ended: sync_bindings() has work
  std::atomic<std::uint64_t> reconnects_{0};

  // Subscriptions: what is wanted (state_mutex_) and what the consumer's queue has (bound_, same mutex).
  std::mutex state_mutex_;
  std::condition_variable bound_changed_;
  std::multimap<std::string, std::shared_ptr<Entry>> subscribers_;
  std::set<std::string> bound_;
  bool consumer_connected_ = false;
  std::function<void()> reconnect_handler_;

  // Write forwarding. Served databases (state_mutex_): the server, and whether the consumer consumes its queue.
  struct Served {
    std::shared_ptr<WriteServer> server;
    bool consuming = false;
  };
  std::map<std::string, Served> served_;
  std::set<std::string> stop_serving_;  // ended while consuming: the consumer thread cancels them
  std::string reply_queue_;             // this node's queue (state_mutex_; a new one after each reconnect)
  struct PendingForward {
    ForwardReply reply;
    std::chrono::steady_clock::time_point deadline;
  };
  std::mutex forwards_mutex_;
  std::map<std::string, PendingForward> forwards_;  // by correlation id
  std::uint64_t next_correlation_ = 0;              // forwards_mutex_

  // Held while a delivery runs, so that a subscription's end waits for it (a handler ending a subscription on the
  // consumer thread only marks it).
  std::recursive_mutex dispatch_mutex_;
};

}  // namespace backside::cluster
