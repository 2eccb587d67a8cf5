// STOMP 1.2 over TCP: Backside's STOMP door (a path is a destination "/<path>", host = the database) and
// RabbitMQ's STOMP plugin, the reference (a path is a topic "/topic/<path with dots>", host = the vhost "/").
// proto "stomp-ws": the same frames over WebSocket, Backside's /stomp (subprotocol v12.stomp), one frame per message.
// subscribe = SUBSCRIBE with a receipt; write = SEND with a receipt (Backside answers once the write is durable).
#include "client.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <map>

namespace loadgen {
namespace {

class StompClient : public Client, public std::enable_shared_from_this<StompClient> {
 public:
  StompClient(asio::io_context& io, ClientOptions options)
      : options_(std::move(options)),
        conn_(std::make_shared<Conn>(io)),
        rabbit_(options_.proto == "stomp-rabbitmq"),
        websocket_(options_.proto == "stomp-ws") {}

  void start(Done ready) override {
    std::weak_ptr<StompClient> weak = shared_from_this();
    conn_->on_data([weak](std::string_view data) -> std::size_t {
      auto self = weak.lock();
      return self ? self->handle(data) : data.size();
    });
    conn_->on_message([weak](std::string_view message) {
      auto self = weak.lock();
      while (self && !message.empty()) {  // the frames of one WebSocket message
        const std::size_t used = self->handle(message);
        if (used == 0) break;
        message.remove_prefix(std::min(used, message.size()));
      }
    });
    conn_->on_close([weak](std::string error) {
      if (auto self = weak.lock(); self && self->on_lost) self->on_lost(error);
    });
    connected_ = std::move(ready);
    conn_->connect(options_.endpoint, [weak](std::string error) {
      auto self = weak.lock();
      if (!self) return;
      if (!error.empty()) return self->connected_(error);
      if (!self->websocket_) {
        self->conn_->start_raw();
        return self->send_connect();
      }
      self->conn_->upgrade(self->options_.host_header, "/stomp", "v12.stomp", [weak](std::string error) {
        auto self = weak.lock();
        if (!self) return;
        if (!error.empty()) {
          if (self->connected_) std::exchange(self->connected_, nullptr)(error);
          return;
        }
        self->send_connect();
      });
    });
  }

  void subscribe(const std::string& path, const Query&, Done ready) override {
    const std::string receipt = "s" + std::to_string(++next_id_);
    receipts_[receipt] = std::move(ready);
    send("SUBSCRIBE\nid:" + std::to_string(next_id_) + "\ndestination:" + destination(path) +
                "\nack:auto\nreceipt:" + receipt + "\n\n" + std::string(1, '\0'));
  }

  void write(const std::string& path, const std::string& json, Done acked) override {
    const std::string receipt = "w" + std::to_string(++next_id_);
    receipts_[receipt] = std::move(acked);
    send("SEND\ndestination:" + destination(path) + "\ncontent-type:application/json\ncontent-length:" +
                std::to_string(json.size()) + "\nreceipt:" + receipt + "\n\n" + json + std::string(1, '\0'));
  }

  void close() override { conn_->close(); }

 private:
  void send(const std::string& frame) {
    if (websocket_) {
      conn_->send_ws(frame);
    } else {
      conn_->send(frame);
    }
  }
  void send_connect() {
    const std::string host = rabbit_ ? "/" : options_.ns;
    const std::string login = rabbit_ ? "login:guest\npasscode:guest\n" : "";
    send("CONNECT\naccept-version:1.2\nhost:" + host + "\n" + login + "heart-beat:0,0\n\n" + std::string(1, '\0'));
  }

  std::string destination(const std::string& path) const {
    if (!rabbit_) return "/" + path;
    std::string topic = path;
    for (char& c : topic) {
      if (c == '/') c = '.';
    }
    return "/topic/" + topic;
  }

  static std::string_view header(std::string_view head, std::string_view name) {
    std::size_t at = 0;
    while (at < head.size()) {
      std::size_t eol = head.find('\n', at);
      if (eol == std::string_view::npos) eol = head.size();
      std::string_view line = head.substr(at, eol - at);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > name.size() && line.substr(0, name.size()) == name && line[name.size()] == ':') {
        return line.substr(name.size() + 1);
      }
      at = eol + 1;
    }
    return {};
  }

  // One frame (or heart-beat EOLs) at the start of data; returns the bytes used, 0 if incomplete.
  std::size_t handle(std::string_view data) {
    std::size_t skip = 0;
    while (skip < data.size() && (data[skip] == '\n' || data[skip] == '\r')) ++skip;
    if (skip > 0) return skip;
    const std::size_t head_end = data.find("\n\n");
    if (head_end == std::string_view::npos) return 0;
    const std::string_view head = data.substr(0, head_end);
    const std::size_t body_start = head_end + 2;
    std::size_t body_end;
    if (auto length = header(head, "content-length"); !length.empty()) {
      std::size_t n = 0;
      std::from_chars(length.data(), length.data() + length.size(), n);
      if (data.size() < body_start + n + 1) return 0;
      body_end = body_start + n;
    } else {
      body_end = data.find('\0', body_start);
      if (body_end == std::string_view::npos) return 0;
    }
    const std::string_view command = head.substr(0, head.find('\n'));
    const std::string_view body = data.substr(body_start, body_end - body_start);
    if (command == "MESSAGE") {
      if (on_delivery) on_delivery(body);
    } else if (command == "RECEIPT") {
      auto it = receipts_.find(std::string(header(head, "receipt-id")));
      if (it != receipts_.end()) {
        Done done = std::move(it->second);
        receipts_.erase(it);
        const std::string_view status = header(head, "status");
        done(status.empty() || status == "ok" ? "" : "stomp: " + std::string(status));
      }
    } else if (command == "CONNECTED") {
      if (connected_) std::exchange(connected_, nullptr)("");
    } else if (command == "ERROR") {
      const std::string message = "stomp ERROR: " + std::string(header(head, "message"));
      if (connected_) {
        std::exchange(connected_, nullptr)(message);
      } else if (on_lost) {
        on_lost(message);
      }
    }
    return body_end + 1;
  }

  ClientOptions options_;
  std::shared_ptr<Conn> conn_;
  bool rabbit_;
  bool websocket_;
  Done connected_;
  std::uint64_t next_id_ = 0;
  std::map<std::string, Done> receipts_;
};

}  // namespace

std::shared_ptr<Client> make_stomp_client(asio::io_context& io, const ClientOptions& options) {
  return std::make_shared<StompClient>(io, options);
}

}  // namespace loadgen
