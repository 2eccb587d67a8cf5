// REST and its streaming (Server-Sent Events) over HTTP/1.1 keep-alive: subscribe = GET /<path>.json with
// Accept: text/event-stream (the connection then carries only that stream: each `data:` line of an event is one
// delivery); write = PUT /<path>.json, acknowledged by its response (Backside answers once the write is durable).
// Writes on one connection are pipelined; their responses come back in order.
#include "client.h"

#include <charconv>
#include <deque>

namespace loadgen {
namespace {

class RestClient : public Client, public std::enable_shared_from_this<RestClient> {
 public:
  RestClient(asio::io_context& io, ClientOptions options)
      : options_(std::move(options)), conn_(std::make_shared<Conn>(io)) {}

  void start(Done ready) override {
    start_raw_client(shared_from_this(), conn_, options_.endpoint, &RestClient::handle, std::move(ready));
  }

  void subscribe(const std::string& path, const Query&, Done ready) override {
    streaming_ = true;
    stream_ready_ = std::move(ready);
    conn_->send("GET /" + path + ".json?ns=" + options_.ns + " HTTP/1.1\r\nHost: " + options_.host_header +
                "\r\nAccept: text/event-stream\r\n\r\n");
  }

  void write(const std::string& path, const std::string& json, Done acked) override {
    pending_.push_back(std::move(acked));
    conn_->send("PUT /" + path + ".json?ns=" + options_.ns + " HTTP/1.1\r\nHost: " + options_.host_header +
                "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) + "\r\n\r\n" +
                json);
  }

  void close() override { conn_->close(); }

 private:
  // Consumes one response head, response body, or stream line from the start of data; 0 if incomplete.
  std::size_t handle(std::string_view data) {
    if (in_stream_) {
      const std::size_t eol = data.find('\n');
      if (eol == std::string_view::npos) return 0;
      std::string_view line = data.substr(0, eol);
      // The chunked encoding's size lines and blank lines carry nothing; `data:` lines carry the event's JSON.
      if (line.starts_with("data: ") && on_delivery) on_delivery(line.substr(6));
      return eol + 1;
    }
    const std::size_t head_end = data.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return 0;
    const std::string_view head = data.substr(0, head_end);
    const std::string_view status = head.substr(0, head.find("\r\n"));
    const bool ok = status.find(" 200") != std::string_view::npos;
    if (streaming_) {
      in_stream_ = true;
      if (auto ready = std::move(stream_ready_)) ready(ok ? "" : "stream refused: " + std::string(status));
      return head_end + 4;
    }
    std::size_t length = 0;
    const std::size_t at = head.find("Content-Length: ");
    if (at != std::string_view::npos) std::from_chars(head.data() + at + 16, head.data() + head.size(), length);
    if (data.size() < head_end + 4 + length) return 0;
    if (!pending_.empty()) {
      Done done = std::move(pending_.front());
      pending_.pop_front();
      done(ok ? "" : std::string(status) + ": " + std::string(data.substr(head_end + 4, std::min<std::size_t>(length, 200))));
    }
    return head_end + 4 + length;
  }

  ClientOptions options_;
  std::shared_ptr<Conn> conn_;
  bool streaming_ = false, in_stream_ = false;
  Done stream_ready_;
  std::deque<Done> pending_;
};

}  // namespace

std::shared_ptr<Client> make_rest_client(asio::io_context& io, const ClientOptions& options) {
  return std::make_shared<RestClient>(io, options);
}

}  // namespace loadgen
