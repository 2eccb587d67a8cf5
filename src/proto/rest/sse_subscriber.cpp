#include "proto/rest/sse_subscriber.h"

#include <boost/beast/http/field.hpp>
#include <chrono>

namespace backside::proto::rest {

namespace http = boost::beast::http;
using tree::Node;
using tree::Path;

namespace {

std::string relative_text(const Path& path, const Path& view) {
  Path relative = path.relative_to(view);
  return relative.to_string();
}

void append_event(std::string& out, const char* name, const std::string& path, const Node* value,
                  tree::Format format) {
  out += "event: ";
  out += name;
  out += "\ndata: {\"path\":";
  tree::append_string(out, path);
  out += ",\"data\":";
  static const Node kNull;
  tree::append_json(out, value ? *value : kNull, {.format = format});
  out += "}\n\n";
}

}  // namespace

SseSubscriber::SseSubscriber(std::shared_ptr<net::HttpExchange> exchange, db::Database& database,
                             tree::Format format)
    : exchange_(std::move(exchange)),
      database_(database),
      format_(format),
      render_key_(format == tree::Format::export_ ? "sse-export" : "sse") {}

void SseSubscriber::start(Path path, std::optional<tree::Query> query, db::Auth auth) {
  auto self = shared_from_this();
  // If the account behind the credential ends, the stream ends at once (auth_revoked), from whichever thread ends it.
  credential_.set(auth, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->end_stream_now();
  });
  database_.listen(std::move(path), std::move(query), std::move(auth), self,
                   [self](Result<sync::Hub::Handle> handle) {
                     if (!handle) {
                       // Refused before any event: answer as a plain request.
                       net::HttpResponse response(http::status::unauthorized, 11);
                       response.set(http::field::content_type, "application/json; charset=utf-8");
                       response.set(http::field::access_control_allow_origin, "*");
                       response.body() = "{\"error\":\"Permission denied\"}";
                       response.prepare_payload();
                       self->exchange_->reply(std::move(response));
                       return;
                     }
                     bool closed;
                     {
                       std::lock_guard lock(self->mutex_);
                       self->handle_ = *handle;
                       closed = self->stream_closed_;
                     }
                     if (closed) self->database_.unlisten(*handle);
                   });
}

std::shared_ptr<const std::string> SseSubscriber::render(const sync::ViewEvent& event) const {
  auto out = std::make_shared<std::string>();
  const Path& view = *event.view_path;
  if (event.kind == sync::ViewEvent::Kind::put) {
    append_event(*out, "put", relative_text(event.path, view), event.value, format_);
    return out;
  }
  bool single_segments = true;
  for (const auto& [relative, value] : event.merge) single_segments = single_segments && relative.size() == 1;
  if (single_segments) {
    // A patch replaces each listed child of its path; null removes it.
    tree::Children children;
    static const Node kNull;
    out->append("event: patch\ndata: {\"path\":");
    tree::append_string(*out, relative_text(event.path, view));
    out->append(",\"data\":{");
    bool first = true;
    for (const auto& [relative, value] : event.merge) {
      if (!first) out->push_back(',');
      first = false;
      tree::append_string(*out, relative[0]);
      out->push_back(':');
      tree::append_json(*out, value ? *value : kNull, {.format = format_});
    }
    out->append("}}\n\n");
    return out;
  }
  for (const auto& [relative, value] : event.merge) {
    append_event(*out, "put", event.path.child(relative).relative_to(view).to_string(), value, format_);
  }
  return out;
}

void SseSubscriber::deliver(const std::shared_ptr<const std::string>& bytes) {
  std::shared_ptr<net::EventStream> stream;
  {
    std::lock_guard lock(mutex_);
    stream = stream_;
  }
  if (stream) {
    // Past the credential's expiry nothing more goes out; the stream's end timer sends auth_revoked.
    if (credential_.expired()) return;
    stream->send(bytes);
    return;
  }
  // The first delivery is the current value: it opens the stream (without it if the credential ended meanwhile).
  const bool ended = credential_.expired();
  net::HttpResponse head(http::status::ok, 11);
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set(http::field::access_control_allow_origin, "*");
  if (!ended) head.body() = *bytes;
  stream = exchange_->start_stream(std::move(head));
  stream->keep_alive(std::make_shared<const std::string>("event: keep-alive\ndata: null\n\n"), 30);
  if (const std::int64_t expires_at = credential_.expires_at(); expires_at != 0 && !ended) {
    stream->end_at(std::chrono::system_clock::time_point(std::chrono::seconds(expires_at)), auth_revoked_event());
  }
  {
    std::lock_guard lock(mutex_);
    stream_ = stream;
  }
  // Ended before the stream was open, or while it was opening (end_stream_now found no stream): end it now.
  if (ended || credential_.account_ended()) end_stream_now();
  std::weak_ptr<SseSubscriber> weak = shared_from_this();
  stream->on_closed([weak] {
    if (auto self = weak.lock()) self->on_stream_closed();
  });
}

std::shared_ptr<const std::string> SseSubscriber::auth_revoked_event() const {
  std::string event = "event: auth_revoked\ndata: ";
  tree::append_string(event, credential_.account_ended() ? credential_.why() : "credential is no longer valid");
  event += "\n\n";
  return std::make_shared<const std::string>(std::move(event));
}

void SseSubscriber::end_stream_now() {
  std::shared_ptr<net::EventStream> stream;
  {
    std::lock_guard lock(mutex_);
    stream = stream_;
  }
  if (stream) stream->end_at(std::chrono::system_clock::now(), auth_revoked_event());
}

void SseSubscriber::revoked(const std::string& reason) {
  std::shared_ptr<net::EventStream> stream;
  {
    std::lock_guard lock(mutex_);
    stream = stream_;
  }
  if (!stream) return;
  if (reason == "permission denied") {
    stream->send(std::make_shared<const std::string>("event: cancel\ndata: \"Permission denied\"\n\n"));
  }
  stream->close();
}

void SseSubscriber::on_stream_closed() {
  std::optional<sync::Hub::Handle> handle;
  {
    std::lock_guard lock(mutex_);
    stream_closed_ = true;
    handle = handle_;
  }
  if (handle) database_.unlisten(*handle);
}

}  // namespace backside::proto::rest
