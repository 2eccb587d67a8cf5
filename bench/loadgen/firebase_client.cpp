// The Firebase Realtime Database wire protocol (v5) over WebSocket: /.ws?v=5&ns=NS, JSON envelopes
// {"t":"d","d":{"r":N,"a":"q"|"p",...}}; replies carry the same r; pushes carry "a" and no r.
#include "client.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <unordered_map>

namespace loadgen {
namespace {

namespace json = boost::json;

class FirebaseClient : public Client, public std::enable_shared_from_this<FirebaseClient> {
 public:
  FirebaseClient(asio::io_context& io, ClientOptions options)
      : options_(std::move(options)), conn_(std::make_shared<Conn>(io)) {}

  void start(Done ready) override {
    ready_ = std::move(ready);
    std::weak_ptr<FirebaseClient> weak = shared_from_this();
    conn_->on_message([weak](std::string_view message) {
      if (auto self = weak.lock()) self->handle(message);
    });
    conn_->on_close([weak](std::string error) {
      auto self = weak.lock();
      if (!self) return;
      if (auto ready = std::move(self->ready_)) return ready(error);
      if (self->on_lost) self->on_lost(error);
    });
    conn_->connect(options_.endpoint, [weak](std::string error) {
      auto self = weak.lock();
      if (!self) return;
      if (!error.empty()) {
        if (auto ready = std::move(self->ready_)) ready(error);
        return;
      }
      self->conn_->upgrade(self->options_.host_header, "/.ws?v=5&ns=" + self->options_.ns, "",
                           [weak](std::string error) {
                             auto self = weak.lock();
                             if (self && !error.empty())
                               if (auto ready = std::move(self->ready_)) ready(error);
                           });
    });
  }

  void subscribe(const std::string& path, const Query& query, Done ready) override {
    std::int64_t r = ++next_r_;
    std::string body = "{\"p\":" + json::serialize(json::value("/" + path));
    if (query.limit_to_last > 0) {
      body += ",\"q\":{\"i\":\".key\",\"l\":" + std::to_string(query.limit_to_last) +
              ",\"vf\":\"r\"},\"t\":" + std::to_string(r);
    }
    body += ",\"h\":\"\"}";
    request(r, "q", body, std::move(ready));
  }

  void write(const std::string& path, const std::string& value, Done acked) override {
    std::int64_t r = ++next_r_;
    request(r, "p", "{\"p\":" + json::serialize(json::value("/" + path)) + ",\"d\":" + value + "}", std::move(acked));
  }

  void read(const std::string& path, Done done) override {
    std::int64_t r = ++next_r_;
    request(r, "g", "{\"p\":" + json::serialize(json::value("/" + path)) + ",\"q\":{}}", std::move(done));
  }

  void unsubscribe(const std::string& path, Done done) override {
    std::int64_t r = ++next_r_;
    request(r, "n", "{\"p\":" + json::serialize(json::value("/" + path)) + "}", std::move(done));
  }

  void close() override { conn_->close(); }

 private:
  void request(std::int64_t r, const char* action, const std::string& body, Done done) {
    pending_.emplace(r, std::move(done));
    conn_->send_ws("{\"t\":\"d\",\"d\":{\"r\":" + std::to_string(r) + ",\"a\":\"" + action + "\",\"b\":" + body + "}}");
  }

  void handle(std::string_view message) {
    // A frame of at most 6 digits announces that the next N frames form one message (firebase-server sends "1").
    if (message.size() <= 6 && !message.empty() &&
        std::all_of(message.begin(), message.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      parts_left_ = std::stoi(std::string(message));
      assembled_.clear();
      return;
    }
    if (parts_left_ > 1) {
      assembled_.append(message);
      if (--parts_left_ > 0) return;
      std::string whole = std::move(assembled_);
      assembled_.clear();
      return dispatch(whole);
    }
    parts_left_ = 0;
    dispatch(message);
  }

  void dispatch(std::string_view message) {
    // Pushes of benchmark data are recognized without parsing: only they carry "seq" (and a read's answer, which
    // starts as every reply does).
    constexpr std::string_view kReply = "{\"t\":\"d\",\"d\":{\"r\":";
    if (!message.starts_with(kReply) && message.find("\"seq\"") != std::string_view::npos) {
      if (on_delivery) on_delivery(message);
      return;
    }
    boost::system::error_code ec;
    json::value v = json::parse(message, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.as_object();
    const auto* t = o.if_contains("t");
    const auto* d = o.if_contains("d");
    if (!t || !d || !t->is_string() || !d->is_object()) return;
    if (t->as_string() == "c") {
      const auto* ct = d->as_object().if_contains("t");
      if (ct && ct->is_string() && ct->as_string() == "h")
        if (auto ready = std::move(ready_)) ready("");
      return;
    }
    const auto* r = d->as_object().if_contains("r");
    if (!r || !r->is_int64()) {
      if (on_delivery) on_delivery(message);  // a push without benchmark data (e.g. an initial null)
      return;
    }
    auto it = pending_.find(r->as_int64());
    if (it == pending_.end()) return;
    Done done = std::move(it->second);
    pending_.erase(it);
    std::string status = "?";
    if (const auto* b = d->as_object().if_contains("b"); b && b->is_object())
      if (const auto* s = b->as_object().if_contains("s"); s && s->is_string()) status = std::string(s->as_string());
    done(status == "ok" ? "" : "status " + status + ": " + std::string(message.substr(0, 200)));
  }

  ClientOptions options_;
  std::shared_ptr<Conn> conn_;
  Done ready_;
  std::int64_t next_r_ = 0;
  std::unordered_map<std::int64_t, Done> pending_;
  int parts_left_ = 0;
  std::string assembled_;
};

}  // namespace

std::shared_ptr<Client> make_firebase_client(asio::io_context& io, const ClientOptions& options) {
  return std::make_shared<FirebaseClient>(io, options);
}

}  // namespace loadgen
