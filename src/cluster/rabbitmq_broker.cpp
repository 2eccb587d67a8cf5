#include "cluster/rabbitmq_broker.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "store/write_ahead_log.h"  // encode_batch / decode_batch: a message carries the change log's encoding

namespace backside::cluster {
namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr char kMagic[4] = {'B', 'S', 'B', 1};
constexpr std::size_t kPrefixBytes = sizeof kMagic + 8 + 2;

Error unavailable(std::string message) { return {ErrorCode::unavailable, std::move(message)}; }

timeval to_timeval(std::chrono::milliseconds duration) {
  const auto ms = std::max<std::int64_t>(duration.count(), 0);
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

amqp_bytes_t bytes_of(const std::string& text) { return amqp_bytes_t{text.size(), const_cast<char*>(text.data())}; }

std::string text_of(amqp_bytes_t bytes) { return {static_cast<const char*>(bytes.bytes), bytes.len}; }

// A connection.close or channel.close reply: its code and the broker's text (which never holds a password).
std::string describe_close(const amqp_method_t& method) {
  if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_connection_close_t*>(method.decoded);
    return std::to_string(close->reply_code) + " " + text_of(close->reply_text);
  }
  if (method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_channel_close_t*>(method.decoded);
    return std::to_string(close->reply_code) + " " + text_of(close->reply_text);
  }
  return std::string("unexpected method ") + amqp_method_name(method.id);
}

std::string describe(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL: return "ok";
    case AMQP_RESPONSE_NONE: return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION: return describe_close(reply.reply);
  }
  return "unknown reply";
}

bool valid_routing_key(const std::string& database) {
  if (database.empty() || database.size() > 255) return false;  // an AMQP short string
  return std::all_of(database.begin(), database.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

Result<std::string> percent_decode(std::string_view text, const char* what) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int high = i + 2 < text.size() ? hex(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return invalid(std::string("Invalid RabbitMQ URL: a '%' in the ") + what + " is not followed by two hex digits");
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return value;
}

std::chrono::milliseconds next_backoff(std::chrono::milliseconds current, const RabbitMqOptions& options) {
  if (current.count() == 0) return options.reconnect_min;
  return std::min(current * 2, options.reconnect_max);
}

}  // namespace

Result<AmqpUrl> parse_amqp_url(const std::string& url) {
  constexpr std::string_view usage = " (expected amqp://USER:PASSWORD@HOST:PORT/VHOST)";
  std::string_view rest = url;
  if (rest.starts_with("amqps://")) return invalid("Invalid RabbitMQ URL: amqps (TLS) is not supported yet");
  if (!rest.starts_with("amqp://")) {
    return invalid("Invalid RabbitMQ URL: it does not start with amqp://" + std::string(usage));
  }
  rest.remove_prefix(7);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return invalid("Invalid RabbitMQ URL: query parameters are not supported" + std::string(usage));
  }
  AmqpUrl parsed;
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view path = rest.substr(slash + 1);
    if (path.find('/') != std::string_view::npos) {
      return invalid("Invalid RabbitMQ URL: the vhost is one path segment (write \"/\" as %2f)" + std::string(usage));
    }
    if (!path.empty()) {
      auto vhost = percent_decode(path, "vhost");
      if (!vhost) return vhost.error();
      parsed.vhost = std::move(*vhost);
    }
  }
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    const std::size_t colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon), "user");
    if (!user) return user.error();
    parsed.user = std::move(*user);
    if (colon != std::string_view::npos) {
      auto password = percent_decode(userinfo.substr(colon + 1), "password");
      if (!password) return password.error();
      parsed.password = std::move(*password);
    }
  }
  std::string_view port;
  if (authority.starts_with('[')) {  // [IPv6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return invalid("Invalid RabbitMQ URL: an IPv6 host lacks its ']'" + std::string(usage));
    }
    parsed.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (after.starts_with(':')) {
      port = after.substr(1);
    } else if (!after.empty()) {
      return invalid("Invalid RabbitMQ URL: unexpected text after the host" + std::string(usage));
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (parsed.host.empty()) return invalid("Invalid RabbitMQ URL: no host" + std::string(usage));
  if (!port.empty()) {
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) {
        return invalid("Invalid RabbitMQ URL: the port \"" + std::string(port) + "\" is not a number from 1 to 65535");
      }
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) {
      return invalid("Invalid RabbitMQ URL: the port \"" + std::string(port) + "\" is not a number from 1 to 65535");
    }
    parsed.port = value;
  }
  return parsed;
}

std::string encode_published_batch(const PublishedBatch& batch) {
  std::string body(kMagic, sizeof kMagic);
  put_le(body, batch.sequence, 8);
  put_le(body, batch.database.size(), 2);
  body += batch.database;
  body += store::encode_batch(batch.batch);
  return body;
}

Result<PublishedBatch> decode_published_batch(std::string_view body) {
  if (body.size() < kPrefixBytes || std::memcmp(body.data(), kMagic, sizeof kMagic) != 0) {
    return invalid("not a published batch (no BSB1 prefix)");
  }
  PublishedBatch decoded;
  decoded.sequence = get_le(body, 4, 8);
  const std::size_t name_bytes = get_le(body, 12, 2);
  if (body.size() < kPrefixBytes + name_bytes) return invalid("a published batch cut short in its database name");
  decoded.database = std::string(body.substr(kPrefixBytes, name_bytes));
  auto batch = store::decode_batch(body.substr(kPrefixBytes + name_bytes));
  if (!batch) return batch.error();
  decoded.batch = std::move(*batch);
  return decoded;
}

// One rabbitmq-c connection with channel 1 open; used by one thread at a time.
class RabbitMqBroker::Connection {
 public:
  Connection() : state_(amqp_new_connection()) {}
  ~Connection() {
    if (state_ == nullptr) return;
    // A graceful close only on a healthy connection: on a broken one it could wait for the RPC timeout.
    if (healthy) {
      (void)amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
      (void)amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(state_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  amqp_connection_state_t state() const { return state_; }
  bool healthy = false;  // logged in with the channel open, and no error seen since

 private:
  amqp_connection_state_t state_;
};

class RabbitMqBroker::RabbitMqSubscription final : public Subscription {
 public:
  RabbitMqSubscription(RabbitMqBroker& broker, std::string database, std::shared_ptr<Entry> entry)
      : broker_(broker), database_(std::move(database)), entry_(std::move(entry)) {}
  ~RabbitMqSubscription() override { broker_.unsubscribe(database_, entry_); }

 private:
  RabbitMqBroker& broker_;
  std::string database_;
  std::shared_ptr<Entry> entry_;
};

RabbitMqBroker::RabbitMqBroker(AmqpUrl url, std::string node_id, RabbitMqOptions options)
    : url_(std::move(url)), node_id_(std::move(node_id)), options_(options),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

RabbitMqBroker::~RabbitMqBroker() {
  stopping_ = true;
  wake_consumer();
  if (consumer_thread_.joinable()) consumer_thread_.join();
  consumer_.reset();
  // Forwards still waiting get their answer now: none will come.
  std::map<std::string, PendingForward> waiting;
  {
    std::lock_guard lock(forwards_mutex_);
    waiting.swap(forwards_);
  }
  for (auto& [id, pending] : waiting) pending.reply(unavailable("the broker connection closed before the owner answered"));
  {
    std::lock_guard lock(publish_mutex_);
    publisher_.reset();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Result<std::unique_ptr<RabbitMqBroker>> RabbitMqBroker::open(const std::string& url, std::string node_id,
                                                            RabbitMqOptions options) {
  auto parsed = parse_amqp_url(url);
  if (!parsed) return parsed.error();
  std::unique_ptr<RabbitMqBroker> broker(new RabbitMqBroker(std::move(*parsed), std::move(node_id), options));
  if (broker->wake_fd_ < 0) return Error{ErrorCode::internal, std::string("eventfd: ") + std::strerror(errno)};
  {
    std::lock_guard lock(broker->publish_mutex_);
    auto publisher = broker->connect("publisher", 0);
    if (!publisher) return publisher.error();
    broker->publisher_ = std::move(*publisher);
  }
  auto consumer = broker->connect("consumer", broker->options_.heartbeat_seconds);
  if (!consumer) return consumer.error();
  if (auto started = broker->start_consuming(**consumer); !started) return started.error();
  broker->consumer_ = std::move(*consumer);
  broker->consumer_thread_ = std::thread([raw = broker.get()] { raw->consume_loop(); });
  return broker;
}

Result<std::unique_ptr<RabbitMqBroker::Connection>> RabbitMqBroker::connect(const std::string& role,
                                                                            int heartbeat_seconds) {
  const std::string where = "RabbitMQ at " + url_.endpoint();
  auto connection = std::make_unique<Connection>();
  amqp_connection_state_t state = connection->state();
  if (state == nullptr) return Error{ErrorCode::internal, "Cannot make a connection to " + where + ": out of memory"};
  amqp_socket_t* socket = amqp_tcp_socket_new(state);
  if (socket == nullptr) return Error{ErrorCode::internal, "Cannot make a socket for " + where};
  timeval timeout = to_timeval(options_.connect_timeout);
  if (int status = amqp_socket_open_noblock(socket, url_.host.c_str(), url_.port, &timeout); status != AMQP_STATUS_OK) {
    return unavailable("Cannot connect to " + where + ": " + amqp_error_string2(status) +
                       (status == AMQP_STATUS_SOCKET_ERROR ? " (refused or unreachable)" : ""));
  }
  (void)amqp_set_handshake_timeout(state, &timeout);
  (void)amqp_set_rpc_timeout(state, &timeout);

  // Names the connection in RabbitMQ's tools: which node, which role.
  const std::string name = "backside node " + node_id_ + " " + role;
  amqp_table_entry_t name_entry;
  name_entry.key = amqp_cstring_bytes("connection_name");
  name_entry.value.kind = AMQP_FIELD_KIND_UTF8;
  name_entry.value.value.bytes = bytes_of(name);
  const amqp_table_t properties{1, &name_entry};
  const amqp_rpc_reply_t login =
      amqp_login_with_properties(state, url_.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, heartbeat_seconds,
                                 &properties, AMQP_SASL_METHOD_PLAIN, url_.user.c_str(), url_.password.c_str());
  if (login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && login.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_connection_close_t*>(login.reply.decoded);
    if (close->reply_code == AMQP_ACCESS_REFUSED || close->reply_code == AMQP_NOT_ALLOWED) {
      return Error{ErrorCode::permission_denied, where + " refused user \"" + url_.user + "\" on vhost \"" +
                                                     url_.vhost + "\": " + describe_close(login.reply)};
    }
  }
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    return unavailable("Cannot log in to " + where + " as \"" + url_.user + "\": " + describe(login));
  }
  amqp_channel_open(state, kChannel);
  if (auto reply = amqp_get_rpc_reply(state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
    return unavailable("Cannot open a channel on " + where + ": " + describe(reply));
  }
  // Both connections declare the exchange (idempotent), so that neither depends on the other having done it.
  amqp_exchange_declare(state, kChannel, amqp_cstring_bytes(kExchange), amqp_cstring_bytes("topic"), /*passive=*/0,
                        /*durable=*/1, /*auto_delete=*/0, /*internal=*/0, amqp_empty_table);
  if (auto reply = amqp_get_rpc_reply(state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
    return unavailable("Cannot declare the exchange " + std::string(kExchange) + " on " + where + ": " +
                       describe(reply));
  }
  if (role == "publisher") {  // publish() waits for each message's confirm
    amqp_confirm_select(state, kChannel);
    if (auto reply = amqp_get_rpc_reply(state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
      return unavailable("Cannot put the channel in confirm mode on " + where + ": " + describe(reply));
    }
  }
  connection->healthy = true;
  return connection;
}

Status RabbitMqBroker::publish(PublishedBatchPtr batch) {
  if (!batch) return invalid("publish: no batch");
  if (!valid_routing_key(batch->database)) {
    return invalid("Cannot publish a batch of database \"" + batch->database +
                   "\": a name of 1 to 255 letters, digits, '-' or '_' is needed as its routing key");
  }
  const std::string body = encode_published_batch(*batch);
  if (body.size() > options_.max_message_bytes) {
    return Error{ErrorCode::too_large, "Batch " + std::to_string(batch->sequence) + " of database \"" +
                                           batch->database + "\" is " + std::to_string(body.size()) +
                                           " bytes encoded; the broker takes at most " +
                                           std::to_string(options_.max_message_bytes)};
  }
  return send_on_publisher([&](Connection& connection, bool& connection_lost) {
    return publish_on(connection, batch->database, body, connection_lost);
  });
}

Status RabbitMqBroker::send_on_publisher(const std::function<Status(Connection&, bool& connection_lost)>& send) {
  std::lock_guard lock(publish_mutex_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = false;
    if (!publisher_) {
      const auto now = std::chrono::steady_clock::now();
      if (now < publisher_retry_at_) {
        return unavailable(publisher_last_error_ + " (next attempt in " +
                           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              publisher_retry_at_ - now).count()) + " ms)");
      }
      auto connection = connect("publisher", 0);
      if (!connection) {
        publisher_backoff_ = next_backoff(publisher_backoff_, options_);
        publisher_retry_at_ = now + publisher_backoff_;
        publisher_last_error_ = connection.error().message;
        return connection.error();
      }
      publisher_backoff_ = std::chrono::milliseconds{0};
      publisher_ = std::move(*connection);
      next_delivery_tag_ = 1;
      fresh = true;
    }
    bool connection_lost = false;
    Status status = send(*publisher_, connection_lost);
    if (status.ok()) return status;
    // A mandatory message no queue took was refused by RabbitMQ, confirmed: the channel is fine.
    if (status.error().code == ErrorCode::not_found) return status;
    // After a lost connection or an unconfirmed message the channel's state is unknown: start over.
    publisher_->healthy = false;
    publisher_.reset();
    // A connection that died while idle (the broker restarted since) gets one more try on a new one.
    if (fresh || !connection_lost) return status;
  }
  return unavailable("Cannot publish to RabbitMQ at " + url_.endpoint());  // not reached
}

Status RabbitMqBroker::publish_on(Connection& connection, const std::string& routing_key, const std::string& body,
                                  bool& connection_lost, const Direct* direct) {
  const std::string where = "RabbitMQ at " + url_.endpoint();
  amqp_connection_state_t state = connection.state();
  amqp_basic_properties_t properties{};
  properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  properties.content_type = amqp_cstring_bytes("application/octet-stream");
  properties.delivery_mode = 1;  // transient: the queues are the nodes' own, gone with their connections
  if (direct) {
    properties.content_type = amqp_cstring_bytes("application/json");
    if (!direct->reply_to.empty()) {
      properties._flags |= AMQP_BASIC_REPLY_TO_FLAG;
      properties.reply_to = bytes_of(direct->reply_to);
    }
    properties._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
    properties.correlation_id = bytes_of(direct->correlation_id);
    if (!direct->type.empty()) {
      properties._flags |= AMQP_BASIC_TYPE_FLAG;
      properties.type = bytes_of(direct->type);
    }
  }
  const int sent = amqp_basic_publish(state, kChannel, amqp_cstring_bytes(direct ? "" : kExchange),
                                      bytes_of(direct ? direct->queue : routing_key),
                                      /*mandatory=*/direct && direct->mandatory ? 1 : 0, /*immediate=*/0, &properties,
                                      bytes_of(body));
  if (sent != AMQP_STATUS_OK) {
    connection_lost = true;
    return unavailable("Publishing to " + where + " failed: " + amqp_error_string2(sent));
  }
  const std::uint64_t tag = next_delivery_tag_++;
  const auto deadline = std::chrono::steady_clock::now() + options_.confirm_timeout;
  bool returned = false;  // a mandatory message no queue took: basic.return comes before its basic.ack
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return unavailable(where + " did not confirm a published batch within " +
                         std::to_string(options_.confirm_timeout.count()) + " ms");
    }
    timeval timeout = to_timeval(left);
    amqp_frame_t frame;
    const int received = amqp_simple_wait_frame_noblock(state, &frame, &timeout);
    if (received == AMQP_STATUS_TIMEOUT) continue;
    if (received != AMQP_STATUS_OK) {
      connection_lost = true;
      return unavailable("Lost the connection to " + where + " while publishing: " + amqp_error_string2(received));
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    const amqp_method_t& method = frame.payload.method;
    if (method.id == AMQP_BASIC_ACK_METHOD || method.id == AMQP_BASIC_NACK_METHOD) {
      const bool ack = method.id == AMQP_BASIC_ACK_METHOD;
      const std::uint64_t acked = ack ? static_cast<const amqp_basic_ack_t*>(method.decoded)->delivery_tag
                                      : static_cast<const amqp_basic_nack_t*>(method.decoded)->delivery_tag;
      const bool multiple = ack ? static_cast<const amqp_basic_ack_t*>(method.decoded)->multiple
                                : static_cast<const amqp_basic_nack_t*>(method.decoded)->multiple;
      amqp_maybe_release_buffers(state);
      if (acked == tag || (multiple && acked > tag)) {
        if (ack && returned) {
          return Error{ErrorCode::not_found, "no queue " + (direct ? direct->queue : routing_key) + " on " + where};
        }
        if (ack) return ok_status();
        return unavailable(where + " refused (nack) a published batch");
      }
      continue;  // an earlier message's answer
    }
    if (method.id == AMQP_BASIC_RETURN_METHOD) {
      returned = true;  // its content frames follow, and are skipped above
      continue;
    }
    if (method.id == AMQP_CONNECTION_CLOSE_METHOD || method.id == AMQP_CHANNEL_CLOSE_METHOD) {
      connection_lost = true;
      return unavailable(where + " closed the publishing connection: " + describe_close(method));
    }
  }
}

Status RabbitMqBroker::start_consuming(Connection& connection) {
  const std::string where = "RabbitMQ at " + url_.endpoint();
  amqp_connection_state_t state = connection.state();
  // Server-named, exclusive, auto-delete: the node's own queue, gone with its connection (and what was in it: the
  // reconnect handler's catch-up covers that).
  amqp_queue_declare_ok_t* declared = amqp_queue_declare(state, kChannel, amqp_empty_bytes, /*passive=*/0,
                                                         /*durable=*/0, /*exclusive=*/1, /*auto_delete=*/1,
                                                         amqp_empty_table);
  if (auto reply = amqp_get_rpc_reply(state); reply.reply_type != AMQP_RESPONSE_NORMAL || declared == nullptr) {
    return unavailable("Cannot declare this node's queue on " + where + ": " + describe(reply));
  }
  queue_ = text_of(declared->queue);
  {
    std::lock_guard lock(state_mutex_);
    bound_.clear();  // a new queue has no binding yet
  }
  if (!sync_bindings(connection)) return unavailable("Cannot bind this node's queue on " + where);
  amqp_basic_consume(state, kChannel, bytes_of(queue_), amqp_empty_bytes, /*no_local=*/0, /*no_ack=*/1,
                     /*exclusive=*/1, amqp_empty_table);
  if (auto reply = amqp_get_rpc_reply(state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
    return unavailable("Cannot consume from this node's queue on " + where + ": " + describe(reply));
  }
  {
    std::lock_guard lock(state_mutex_);
    consumer_connected_ = true;
    reply_queue_ = queue_;
    // The write queues consumed on a lost connection are gone or orphaned: consumed again on this one.
    for (auto& [database, served] : served_) served.consuming = false;
    stop_serving_.clear();
  }
  bound_changed_.notify_all();
  if (!sync_write_servers(connection)) return unavailable("Cannot consume the write queues on " + where);
  return ok_status();
}

namespace {
constexpr std::string_view kWriteQueuePrefix = "backside.writes.";
}  // namespace

bool RabbitMqBroker::sync_write_servers(Connection& connection) {
  amqp_connection_state_t state = connection.state();
  for (;;) {
    std::string database;
    bool start = false;
    {
      std::lock_guard lock(state_mutex_);
      for (const auto& [name, served] : served_) {
        if (!served.consuming) {
          database = name;
          start = true;
          break;
        }
      }
      if (!start) {
        if (stop_serving_.empty()) return true;
        database = *stop_serving_.begin();
        stop_serving_.erase(stop_serving_.begin());
      }
    }
    const std::string queue = std::string(kWriteQueuePrefix) + database;
    const std::string tag = "serve." + database;
    if (start) {
      // Not exclusive: an owner that lost its lease but not its connection would block its successor's declare.
      // Auto-delete: the queue goes with its last consumer, and a forward then finds no owner at once.
      amqp_queue_declare(state, kChannel, bytes_of(queue), /*passive=*/0, /*durable=*/0, /*exclusive=*/0,
                         /*auto_delete=*/1, amqp_empty_table);
      if (auto reply = amqp_get_rpc_reply(state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
        spdlog::warn("RabbitMQ at {}: cannot declare {}: {}", url_.endpoint(), queue, describe(reply));
        return false;
      }
      amqp_basic_consume(state, kChannel, bytes_of(queue), bytes_of(tag), /*no_local=*/0, /*no_ack=*/1,
                         /*exclusive=*/0, amqp_empty_table);
      if (auto reply = amqp_get_rpc_reply(state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
        spdlog::warn("RabbitMQ at {}: cannot consume {}: {}", url_.endpoint(), queue, describe(reply));
        return false;
      }
      std::lock_guard lock(state_mutex_);
      if (auto it = served_.find(database); it != served_.end()) {
        it->second.consuming = true;
      } else {
        stop_serving_.insert(database);  // ended meanwhile
      }
    } else {
      amqp_basic_cancel(state, kChannel, bytes_of(tag));
      if (auto reply = amqp_get_rpc_reply(state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
        spdlog::warn("RabbitMQ at {}: cannot stop consuming {}: {}", url_.endpoint(), queue, describe(reply));
        return false;
      }
    }
  }
}

class RabbitMqBroker::WriteServing final : public Subscription {
 public:
  WriteServing(RabbitMqBroker& broker, std::string database) : broker_(broker), database_(std::move(database)) {}
  ~WriteServing() override {
    // Waits for a request being handed to the server (unless this is the consumer thread, in that call).
    std::lock_guard delivering(broker_.dispatch_mutex_);
    {
      std::lock_guard lock(broker_.state_mutex_);
      auto it = broker_.served_.find(database_);
      if (it == broker_.served_.end()) return;
      if (it->second.consuming) broker_.stop_serving_.insert(database_);
      broker_.served_.erase(it);
    }
    broker_.bindings_changed_ = true;
    broker_.wake_consumer();
  }

 private:
  RabbitMqBroker& broker_;
  std::string database_;
};

std::unique_ptr<Subscription> RabbitMqBroker::serve_writes(const std::string& database, WriteServer server) {
  if (!valid_routing_key(database)) return nullptr;
  {
    std::lock_guard lock(state_mutex_);
    served_[database] = Served{std::make_shared<WriteServer>(std::move(server)), false};
    stop_serving_.erase(database);
  }
  bindings_changed_ = true;
  wake_consumer();
  return std::make_unique<WriteServing>(*this, database);
}

Status RabbitMqBroker::publish_direct(const Direct& message) {
  if (message.body.size() > options_.max_message_bytes) {
    return Error{ErrorCode::too_large, "A forwarded write of " + std::to_string(message.body.size()) +
                                           " bytes is more than the broker takes (" +
                                           std::to_string(options_.max_message_bytes) + ")"};
  }
  return send_on_publisher([&](Connection& connection, bool& connection_lost) {
    return publish_on(connection, message.queue, message.body, connection_lost, &message);
  });
}

void RabbitMqBroker::forward_write(const std::string& database, std::string request, std::chrono::milliseconds timeout,
                                   ForwardReply reply) {
  std::string reply_to;
  {
    std::lock_guard lock(state_mutex_);
    if (consumer_connected_) reply_to = reply_queue_;
  }
  if (reply_to.empty() || !valid_routing_key(database)) {
    return reply(unavailable("Cannot forward a write to the owner of " + database + ": not connected to RabbitMQ at " +
                             url_.endpoint()));
  }
  std::string id;
  {
    std::lock_guard lock(forwards_mutex_);
    id = node_id_ + "-" + std::to_string(++next_correlation_);
    forwards_.emplace(id, PendingForward{std::move(reply), std::chrono::steady_clock::now() + timeout});
  }
  // The answer may arrive before this returns: the pending entry is in place first.
  Status sent = publish_direct(
      {.queue = std::string(kWriteQueuePrefix) + database, .body = std::move(request), .reply_to = reply_to,
       .correlation_id = id, .mandatory = true});
  if (sent) return;
  ForwardReply pending;
  {
    std::lock_guard lock(forwards_mutex_);
    auto it = forwards_.find(id);
    if (it == forwards_.end()) return;  // answered or expired meanwhile
    pending = std::move(it->second.reply);
    forwards_.erase(it);
  }
  if (sent.error().code == ErrorCode::not_found) {
    return pending(unavailable("no node owns database " + database + " now (nobody serves its writes)"));
  }
  pending(sent.error());
}

void RabbitMqBroker::dispatch_direct(const std::string& routing_key, const std::string& reply_to,
                                     const std::string& correlation_id, const std::string& type, std::string body) {
  if (routing_key.starts_with(kWriteQueuePrefix)) {
    const std::string database = routing_key.substr(kWriteQueuePrefix.size());
    if (reply_to.empty() || correlation_id.empty()) return;  // nobody to answer
    std::lock_guard delivering(dispatch_mutex_);
    std::shared_ptr<WriteServer> server;
    {
      std::lock_guard lock(state_mutex_);
      if (auto it = served_.find(database); it != served_.end()) server = it->second.server;
    }
    if (!server) {
      (void)publish_direct({.queue = reply_to, .body = "this node no longer owns database " + database,
                            .correlation_id = correlation_id, .type = "error"});
      return;
    }
    (*server)(std::move(body), [this, reply_to, correlation_id](std::string answer) {
      // Lost with RabbitMQ, the answer is given up by the forwarding node's timeout.
      if (Status sent = publish_direct({.queue = reply_to, .body = std::move(answer), .correlation_id = correlation_id});
          !sent) {
        spdlog::warn("RabbitMQ at {}: the answer to a forwarded write was not sent: {}", url_.endpoint(),
                     sent.error().message);
      }
    });
    return;
  }
  ForwardReply pending;
  {
    std::lock_guard lock(forwards_mutex_);
    auto it = forwards_.find(correlation_id);
    if (it == forwards_.end()) return;  // given up already
    pending = std::move(it->second.reply);
    forwards_.erase(it);
  }
  if (type == "error") return pending(unavailable(std::move(body)));
  pending(std::move(body));
}

void RabbitMqBroker::expire_forwards() {
  std::vector<ForwardReply> expired;
  {
    std::lock_guard lock(forwards_mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = forwards_.begin(); it != forwards_.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      expired.push_back(std::move(it->second.reply));
      it = forwards_.erase(it);
    }
  }
  for (auto& reply : expired) {
    reply(unavailable("the owner did not answer a forwarded write in time (it may have been applied; read to know)"));
  }
}

bool RabbitMqBroker::sync_bindings(Connection& connection) {
  amqp_connection_state_t state = connection.state();
  for (;;) {
    std::string database;
    bool bind = false;
    {
      std::lock_guard lock(state_mutex_);
      for (auto it = subscribers_.begin(); it != subscribers_.end(); it = subscribers_.upper_bound(it->first)) {
        // A name that cannot be a routing key is never bound (publish() refuses it too).
        if (!bound_.contains(it->first) && valid_routing_key(it->first)) {
          database = it->first;
          bind = true;
          break;
        }
      }
      if (!bind) {
        for (const auto& name : bound_) {
          if (!subscribers_.contains(name)) {
            database = name;
            break;
          }
        }
        if (database.empty()) return true;
        // Not bound from now on: a subscribe() meanwhile waits for the binding made again after this unbind.
        bound_.erase(database);
      }
    }
    if (bind) {
      amqp_queue_bind(state, kChannel, bytes_of(queue_), amqp_cstring_bytes(kExchange), bytes_of(database),
                      amqp_empty_table);
    } else {
      amqp_queue_unbind(state, kChannel, bytes_of(queue_), amqp_cstring_bytes(kExchange), bytes_of(database),
                        amqp_empty_table);
    }
    if (auto reply = amqp_get_rpc_reply(state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
      spdlog::warn("RabbitMQ at {}: cannot {} database \"{}\": {}", url_.endpoint(), bind ? "bind" : "unbind",
                   database, describe(reply));
      return false;
    }
    if (bind) {
      {
        std::lock_guard lock(state_mutex_);
        bound_.insert(database);
      }
      bound_changed_.notify_all();
    }
  }
}

void RabbitMqBroker::consume_loop() {
  std::chrono::milliseconds backoff{0};
  auto lose = [&](std::string reason) {
    consumer_->healthy = false;
    consumer_.reset();
    {
      std::lock_guard lock(state_mutex_);
      consumer_connected_ = false;
      bound_.clear();
    }
    bound_changed_.notify_all();
    spdlog::warn("RabbitMQ at {}: lost the consuming connection ({}); reconnecting", url_.endpoint(), reason);
    backoff = options_.reconnect_min;
  };
  // Waits `duration` unless woken (stop, or a subscription changed).
  auto sleep = [&](std::chrono::milliseconds duration) {
    pollfd wake{wake_fd_, POLLIN, 0};
    (void)::poll(&wake, 1, static_cast<int>(duration.count()));
    std::uint64_t count;
    (void)!::read(wake_fd_, &count, sizeof count);
  };

  while (!stopping_) {
    if (!consumer_) {
      sleep(backoff);
      if (stopping_) break;
      auto connection = connect("consumer", options_.heartbeat_seconds);
      Status started = connection ? start_consuming(**connection) : Status(connection.error());
      if (!started) {
        if (connection) (*connection)->healthy = false;
        backoff = next_backoff(backoff, options_);
        spdlog::warn("RabbitMQ at {}: reconnect failed ({}); next attempt in {} ms", url_.endpoint(),
                     started.error().message, backoff.count());
        continue;
      }
      consumer_ = std::move(*connection);
      backoff = std::chrono::milliseconds{0};
      ++reconnects_;
      spdlog::info("RabbitMQ at {}: reconnected; subscribers catch up from the change log", url_.endpoint());
      std::function<void()> handler;
      {
        std::lock_guard lock(state_mutex_);
        handler = reconnect_handler_;
      }
      if (handler) handler();
      continue;
    }
    expire_forwards();
    if (bindings_changed_.exchange(false) && (!sync_bindings(*consumer_) || !sync_write_servers(*consumer_))) {
      lose("a binding failed");
      continue;
    }
    amqp_connection_state_t state = consumer_->state();
    if (!amqp_frames_enqueued(state) && !amqp_data_in_buffer(state)) {
      // At most 1 s: rabbitmq-c sends our heartbeats, and notices missing ones of the broker, only inside a call.
      pollfd fds[2] = {{amqp_get_sockfd(state), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      (void)::poll(fds, 2, 1000);
      if (fds[1].revents & POLLIN) {
        std::uint64_t count;
        (void)!::read(wake_fd_, &count, sizeof count);
      }
    }
    amqp_maybe_release_buffers(state);
    amqp_envelope_t envelope;
    timeval now{0, 0};
    const amqp_rpc_reply_t reply = amqp_consume_message(state, &envelope, &now, 0);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
      const std::string_view body(static_cast<const char*>(envelope.message.body.bytes), envelope.message.body.len);
      if (envelope.exchange.len == 0) {  // the default exchange: a forwarded write, or an answer to one
        const amqp_basic_properties_t& properties = envelope.message.properties;
        const auto property = [&](amqp_flags_t flag, const amqp_bytes_t& value) {
          return (properties._flags & flag) ? text_of(value) : std::string();
        };
        dispatch_direct(text_of(envelope.routing_key), property(AMQP_BASIC_REPLY_TO_FLAG, properties.reply_to),
                        property(AMQP_BASIC_CORRELATION_ID_FLAG, properties.correlation_id),
                        property(AMQP_BASIC_TYPE_FLAG, properties.type), std::string(body));
      } else {
        dispatch(text_of(envelope.routing_key), body);
      }
      amqp_destroy_envelope(&envelope);
      continue;
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) continue;
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      // Something other than a delivery: a close (the broker stopping, the queue deleted) ends the connection;
      // anything else is of no interest.
      amqp_frame_t frame;
      const int read = amqp_simple_wait_frame_noblock(state, &frame, &now);
      if (read == AMQP_STATUS_TIMEOUT) continue;
      if (read != AMQP_STATUS_OK) {
        lose(amqp_error_string2(read));
        continue;
      }
      if (frame.frame_type == AMQP_FRAME_METHOD &&
          (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
           frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD)) {
        lose(describe_close(frame.payload.method));
      } else if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD) {
        lose("the broker cancelled the consumer");
      }
      continue;
    }
    lose(describe(reply));
  }
  consumer_.reset();
}

void RabbitMqBroker::dispatch(const std::string& routing_key, std::string_view body) {
  auto decoded = decode_published_batch(body);
  if (!decoded || decoded->database != routing_key) {
    // Replicas find the gap it leaves and read the batch from the change log.
    spdlog::warn("RabbitMQ at {}: dropped a message for \"{}\" that is not a batch of it: {}", url_.endpoint(),
                 routing_key, decoded ? "another database's name inside" : decoded.error().message);
    return;
  }
  auto batch = std::make_shared<const PublishedBatch>(std::move(*decoded));
  std::lock_guard delivering(dispatch_mutex_);
  // A handler may end its own (or another) subscription while it runs: deliver to a copy of the list and skip
  // entries ended meanwhile.
  std::vector<std::shared_ptr<Entry>> recipients;
  {
    std::lock_guard lock(state_mutex_);
    auto [begin, end] = subscribers_.equal_range(batch->database);
    for (auto it = begin; it != end; ++it) recipients.push_back(it->second);
  }
  for (const auto& entry : recipients) {
    if (!entry->cancelled) entry->handler(batch);
  }
}

void RabbitMqBroker::wake_consumer() {
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

std::unique_ptr<Subscription> RabbitMqBroker::subscribe(const std::string& database, BatchHandler handler) {
  auto entry = std::make_shared<Entry>(Entry{std::move(handler)});
  {
    std::lock_guard lock(state_mutex_);
    subscribers_.emplace(database, entry);
  }
  bindings_changed_ = true;
  wake_consumer();
  // On the consumer thread (a handler subscribing) the binding is made when the handler returns.
  if (std::this_thread::get_id() != consumer_thread_.get_id() && valid_routing_key(database)) {
    std::unique_lock lock(state_mutex_);
    bound_changed_.wait_for(lock, options_.subscribe_wait,
                            [&] { return bound_.contains(database) || !consumer_connected_ || stopping_; });
  }
  return std::make_unique<RabbitMqSubscription>(*this, database, std::move(entry));
}

void RabbitMqBroker::unsubscribe(const std::string& database, const std::shared_ptr<Entry>& entry) {
  // Waits for a delivery in progress on the consumer thread (unless this is that thread, in a handler).
  std::lock_guard delivering(dispatch_mutex_);
  entry->cancelled = true;
  bool last = false;
  {
    std::lock_guard lock(state_mutex_);
    auto [begin, end] = subscribers_.equal_range(database);
    for (auto it = begin; it != end; ++it) {
      if (it->second == entry) {
        subscribers_.erase(it);
        break;
      }
    }
    last = !subscribers_.contains(database);
  }
  if (last) {  // the consumer thread unbinds it
    bindings_changed_ = true;
    wake_consumer();
  }
}

void RabbitMqBroker::set_reconnect_handler(std::function<void()> handler) {
  std::lock_guard lock(state_mutex_);
  reconnect_handler_ = std::move(handler);
}

}  // namespace backside::cluster
