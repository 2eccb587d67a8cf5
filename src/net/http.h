#pragma once
// The HTTP surface the front doors see: a request, a way to answer it, and a way to turn the connection into a
// server-to-client stream (Server-Sent Events). Transport details stay in net/.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>
#include <string>

namespace backside::net {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A one-way byte stream to a client with a bounded queue: a reader too slow to keep up is dropped, never buffered
// without limit. Thread-safe.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Queues bytes; false if the stream is closed (or was just closed because its queue overflowed).
  virtual bool send(std::shared_ptr<const std::string> bytes) = 0;
  // Sends what is queued, then closes.
  virtual void close() = 0;
  // Called once, on an I/O thread, when the stream ends for any reason (peer gone, overflow, close, shutdown).
  virtual void on_closed(std::function<void()> callback) = 0;
  // Sends `bytes` whenever the stream has been idle for `interval_seconds` (keep-alive comments/events).
  virtual void keep_alive(std::shared_ptr<const std::string> bytes, int interval_seconds) = 0;
};

// One request's reply channel. Exactly one of reply() or start_stream() must be called, from any thread.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual void reply(HttpResponse&& response) = 0;
  // Sends the response head (its body, if any, is sent as the first bytes) and keeps the connection for streaming.
  virtual std::shared_ptr<EventStream> start_stream(HttpResponse&& head) = 0;
  virtual const std::string& remote_address() const = 0;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual void handle(HttpRequest&& request, std::shared_ptr<HttpExchange> exchange) = 0;
};

}  // namespace backside::net
