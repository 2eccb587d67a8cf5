// Redis pub/sub over RESP (the fan-out reference): a path is a channel; subscribe = SUBSCRIBE, write = PUBLISH.
// A connection that subscribes is used only for that (Redis allows nothing else on it but more subscriptions).
#include "client.h"

#include <charconv>
#include <deque>
#include <vector>

namespace loadgen {
namespace {

// One RESP reply parsed in place: its type and, for arrays of bulk strings, the elements.
struct Reply {
  char type = 0;                        // '+', '-', ':', '$', '*'
  std::string_view text;                // simple string, error, integer or bulk string
  std::vector<std::string_view> items;  // array elements (bulk strings, integers or simple strings)
};

// Parses one element at data[pos]; returns false if incomplete. Advances pos past it.
bool parse_element(std::string_view data, std::size_t& pos, char& type, std::string_view& text, long long& count) {
  auto eol = data.find("\r\n", pos);
  if (eol == std::string_view::npos || pos >= data.size()) return false;
  type = data[pos];
  std::string_view line = data.substr(pos + 1, eol - pos - 1);
  if (type == '$') {
    long long len = 0;
    std::from_chars(line.data(), line.data() + line.size(), len);
    if (len < 0) {  // null bulk string
      text = {};
      pos = eol + 2;
      return true;
    }
    std::size_t start = eol + 2;
    if (data.size() < start + static_cast<std::size_t>(len) + 2) return false;
    text = data.substr(start, static_cast<std::size_t>(len));
    pos = start + static_cast<std::size_t>(len) + 2;
    return true;
  }
  if (type == '*') {
    count = 0;
    std::from_chars(line.data(), line.data() + line.size(), count);
  }
  text = line;
  pos = eol + 2;
  return true;
}

std::size_t parse_reply(std::string_view data, Reply& reply) {
  std::size_t pos = 0;
  long long count = 0;
  reply.items.clear();
  if (!parse_element(data, pos, reply.type, reply.text, count)) return 0;
  if (reply.type != '*') return pos;
  for (long long i = 0; i < count; ++i) {
    char type = 0;
    std::string_view text;
    long long nested = 0;
    if (!parse_element(data, pos, type, text, nested)) return 0;
    reply.items.push_back(text);
  }
  return pos;
}

std::string command(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out.append(a);
    out += "\r\n";
  }
  return out;
}

class RedisClient : public Client, public std::enable_shared_from_this<RedisClient> {
 public:
  RedisClient(asio::io_context& io, ClientOptions options)
      : options_(std::move(options)), conn_(std::make_shared<Conn>(io)) {}

  void start(Done ready) override {
    start_raw_client(shared_from_this(), conn_, options_.endpoint, &RedisClient::handle, std::move(ready));
  }

  void subscribe(const std::string& path, const Query&, Done ready) override {
    subscribes_.push_back(std::move(ready));
    conn_->send(command({"SUBSCRIBE", path}));
  }

  void write(const std::string& path, const std::string& json, Done acked) override {
    publishes_.push_back(std::move(acked));
    conn_->send(command({"PUBLISH", path, json}));
  }

  void close() override { conn_->close(); }

 private:
  std::size_t handle(std::string_view data) {
    std::size_t used = parse_reply(data, reply_);
    if (used == 0) return 0;
    if (reply_.type == '*' && reply_.items.size() == 3 && reply_.items[0] == "message") {
      if (on_delivery) on_delivery(reply_.items[2]);
    } else if (reply_.type == '*' && !reply_.items.empty() && reply_.items[0] == "subscribe") {
      if (!subscribes_.empty()) {
        Done done = std::move(subscribes_.front());
        subscribes_.pop_front();
        done("");
      }
    } else if (reply_.type == ':' || reply_.type == '-') {
      if (!publishes_.empty()) {
        Done done = std::move(publishes_.front());
        publishes_.pop_front();
        done(reply_.type == ':' ? "" : "redis: " + std::string(reply_.text));
      }
    }
    return used;
  }

  ClientOptions options_;
  std::shared_ptr<Conn> conn_;
  std::deque<Done> subscribes_, publishes_;
  Reply reply_;
};

}  // namespace

std::shared_ptr<Client> make_redis_client(asio::io_context& io, const ClientOptions& options) {
  return std::make_shared<RedisClient>(io, options);
}

}  // namespace loadgen
