// One load-generator client: a connection speaking one protocol (Firebase RTDB wire protocol, STOMP over TCP or
// WebSocket, REST writes, SSE streams, Redis RESP). Paths are logical ("bench/fan"); each protocol maps them to
// its own addressing (a tree path, a STOMP destination, a Redis channel).
#pragma once

#include "conn.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace loadgen {

struct ClientOptions {
  tcp::endpoint endpoint;  // where to connect
  std::string host_header = "127.0.0.1";
  std::string proto = "firebase";  // firebase | redis | stomp | stomp-ws | stomp-rabbitmq | rest
  std::string ns = "default";      // database (Firebase ns, STOMP host)

};

struct Query {
  int limit_to_last = 0;  // orderByKey().limitToLast(n); 0 = a plain listen
};

class Client {
 public:
  using Done = std::function<void(std::string error)>;
  virtual ~Client() = default;
  // Connects and performs the protocol's handshake.
  virtual void start(Done ready) = 0;
  // Subscribes to a path; `ready` once the server has confirmed it.
  virtual void subscribe(const std::string& path, const Query& query, Done ready) = 0;
  // Writes a JSON value at a path (Redis, RabbitMQ: publishes it); `acked` when the server has answered.
  virtual void write(const std::string& path, const std::string& json, Done acked) = 0;
  // Reads the value at a path once (the mixed workload); `done` when the server has answered with it.
  virtual void read(const std::string& /*path*/, Done done) { done("reads are not supported by this protocol"); }
  // Ends a plain subscribe() of a path; `done` when the server has confirmed it.
  virtual void unsubscribe(const std::string& /*path*/, Done done) {
    done("unsubscribing is not supported by this protocol");
  }
  virtual void close() = 0;

  std::function<void(std::string_view)> on_delivery;  // one delivered message (its body or whole frame)
  std::function<void(std::string)> on_lost;           // the connection failed after start
};

// The start() of a client on one raw connection it owns (Redis, REST): connects, then reads in raw mode, every byte
// to the client's `handle` (which returns how many bytes it consumed); a failure after that goes to its on_lost, and
// `ready` gets the connect's outcome. The connection holds the client weakly: once the client is gone, nothing of it
// is called and the connection is not started.
template <typename C>
void start_raw_client(const std::shared_ptr<C>& client, const std::shared_ptr<Conn>& conn,
                      const tcp::endpoint& endpoint, std::size_t (C::*handle)(std::string_view),
                      Client::Done ready) {
  std::weak_ptr<C> weak = client;
  conn->on_data([weak, handle](std::string_view data) -> std::size_t {
    auto self = weak.lock();
    return self ? ((*self).*handle)(data) : data.size();
  });
  conn->on_close([weak](std::string error) {
    if (auto self = weak.lock(); self && self->on_lost) self->on_lost(error);
  });
  conn->connect(endpoint, [weak, conn, ready = std::move(ready)](std::string error) {
    auto self = weak.lock();
    if (!self) return;
    if (error.empty()) conn->start_raw();
    ready(error);
  });
}

std::shared_ptr<Client> make_firebase_client(asio::io_context& io, const ClientOptions& options);
std::shared_ptr<Client> make_redis_client(asio::io_context& io, const ClientOptions& options);
// proto "stomp" (Backside's STOMP door over TCP), "stomp-ws" (over WebSocket) or "stomp-rabbitmq" (RabbitMQ's).
std::shared_ptr<Client> make_stomp_client(asio::io_context& io, const ClientOptions& options);
// proto "rest": REST writes and Server-Sent Events streams.
std::shared_ptr<Client> make_rest_client(asio::io_context& io, const ClientOptions& options);

}  // namespace loadgen
