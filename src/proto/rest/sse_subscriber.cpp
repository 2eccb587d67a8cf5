#include "proto/rest/sse_subscriber.h"

#include <boost/beast/http/field.hpp>
#include <chrono>
#include <variant>

#include "proto/rest/rest_handler.h"

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

// One change of the console's feed: {"path":P, summary of the new value}.
void append_change(std::string& out, const std::string& path, const Node* value) {
  out += "{\"path\":";
  tree::append_string(out, path);
  out += ',';
  append_node_summary(out, value);
  out += '}';
}

std::shared_ptr<const std::string> render_changes(const sync::ViewEvent& event) {
  if (event.initial) return std::make_shared<const std::string>("event: ready\ndata: null\n\n");
  auto out = std::make_shared<std::string>("event: changes\ndata: [");
  const Path& view = *event.view_path;
  if (event.kind == sync::ViewEvent::Kind::put) {
    append_change(*out, relative_text(event.path, view), event.value);
  } else {
    bool first = true;
    for (const auto& [relative, value] : event.merge) {
      if (!first) out->push_back(',');
      first = false;
      append_change(*out, event.path.child(relative).relative_to(view).to_string(), value);
    }
  }
  out->append("]\n\n");
  return out;
}

}  // namespace

void append_node_summary(std::string& out, const Node* value) {
  // A longer string is cut (at a UTF-8 character boundary) and its full length given: the console shows the start
  // of a value and reads all of it only to edit it.
  constexpr std::size_t kMaxStringBytes = 1000;
  if (value && value->has_children()) {
    out += "\"children\":";
    out += std::to_string(value->child_count());
    return;
  }
  const Node::Leaf* leaf = value ? value->leaf_value() : nullptr;
  if (leaf && std::holds_alternative<std::string>(*leaf) && std::get<std::string>(*leaf).size() > kMaxStringBytes) {
    const std::string& text = std::get<std::string>(*leaf);
    std::size_t cut = kMaxStringBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    out += "\"value\":";
    tree::append_string(out, std::string_view(text).substr(0, cut));
    out += ",\"length\":";
    out += std::to_string(text.size());
    return;
  }
  static const Node kNull;
  out += "\"value\":";
  tree::append_json(out, value ? *value : kNull, {.format = tree::Format::plain});
}

SseSubscriber::SseSubscriber(std::shared_ptr<net::HttpExchange> exchange, tree::Format format, Rendering rendering)
    : exchange_(std::move(exchange)),
      format_(format),
      rendering_(rendering),
      render_key_(rendering == Rendering::changes        ? "sse-changes"
                  : format == tree::Format::export_ ? "sse-export"
                                                    : "sse") {}

void SseSubscriber::start(std::shared_ptr<net::HttpExchange> exchange, db::Database& database, tree::Format format,
                          Path path, std::optional<tree::Query> query, identity::Identity identity,
                          boost::asio::any_io_executor timers, std::optional<ReadTimeout> timeout,
                          Rendering rendering) {
  auto subscriber = std::make_shared<SseSubscriber>(exchange, format, rendering);
  const boost::asio::any_io_executor deadline_timers = timers;
  session::SessionLimits limits;
  limits.max_listens = 1;
  auto session = session::ClientSession::create(
      database, limits,
      session::SessionHooks{.credential_ended =
                                [weak = std::weak_ptr<SseSubscriber>(subscriber)](const identity::CredentialExpiry&) {
                                  if (auto self = weak.lock()) self->end_stream_now();
                                },
                            .label = "REST stream from " + exchange->remote_address()},
      std::move(timers));
  subscriber->session_ = session;
  subscriber->credential_ = session->credential();
  session->authenticate(std::move(identity));
  if (timeout) {
    subscriber->deadline_ = ReplyDeadline::start(
        deadline_timers, timeout->duration,
        [exchange, message = timeout->expired_message(), weak_subscriber = std::weak_ptr<SseSubscriber>(subscriber),
         weak_session = std::weak_ptr<session::ClientSession>(session)] {
          exchange->reply(error_response(400, message));
          if (auto self = weak_subscriber.lock()) self->stop();  // its first delivery, if it comes, opens nothing
          if (auto ending = weak_session.lock()) ending->end();
        });
  }
  // The database's answer holds the session until the first delivery has handed it to the stream.
  Status started = session->listen(
      "stream", std::move(path), std::move(query), subscriber,
      [session, subscriber](const Result<sync::Hub::Handle>& handle) {
        if (handle) return;
        if (subscriber->deadline_ && !subscriber->deadline_->take()) return;  // the timeout has answered
        // Refused before any event: answer as a plain request.
        net::HttpResponse response(http::status::unauthorized, 11);
        response.set(http::field::content_type, "application/json; charset=utf-8");
        response.set(http::field::access_control_allow_origin, "*");
        response.body() = "{\"error\":\"Permission denied\"}";
        response.prepare_payload();
        subscriber->exchange_->reply(std::move(response));
        session->end();
      });
  (void)started;  // one listen on a new session: within its bound
}

std::shared_ptr<const std::string> SseSubscriber::render(const sync::ViewEvent& event) const {
  if (rendering_ == Rendering::changes) return render_changes(event);
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
  if (!active()) return;
  std::shared_ptr<net::EventStream> stream;
  bool started = false;
  {
    std::lock_guard lock(mutex_);
    started = started_;
    stream = stream_.lock();
  }
  if (started) {
    if (!stream) return;  // closed
    // Past the credential's end nothing more goes out; the session has auth_revoked sent.
    if (credential_->expired()) {
      if (auto session = session_.lock()) session->credential_ended();
      return;
    }
    stream->send(bytes);
    return;
  }
  // The first delivery is the current value: it opens the stream (without it if the credential ended meanwhile).
  auto session = session_.lock();
  if (!session) return;
  if (deadline_ && !deadline_->take()) return;  // too late: the timeout has answered (and ends the session)
  const bool ended = credential_->expired();
  net::HttpResponse head(http::status::ok, 11);
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set(http::field::access_control_allow_origin, "*");
  if (!ended) head.body() = *bytes;
  stream = exchange_->start_stream(std::move(head));
  stream->keep_alive(std::make_shared<const std::string>("event: keep-alive\ndata: null\n\n"), 30);
  {
    std::lock_guard lock(mutex_);
    started_ = true;
    stream_ = stream;
  }
  // The stream holds the session while it is open; its close ends the session (the listen goes with it).
  stream->on_closed([session] { session->end(); });
  // Ended before the stream was open, or while it was opening (end_stream_now found no stream): end it now.
  if (ended || credential_->account_ended()) end_stream_now();
}

std::shared_ptr<const std::string> SseSubscriber::auth_revoked_event() const {
  std::string event = "event: auth_revoked\ndata: ";
  tree::append_string(event, credential_->account_ended() ? credential_->why() : "credential is no longer valid");
  event += "\n\n";
  return std::make_shared<const std::string>(std::move(event));
}

void SseSubscriber::end_stream_now() {
  std::shared_ptr<net::EventStream> stream;
  {
    std::lock_guard lock(mutex_);
    stream = stream_.lock();
  }
  if (!stream || !stop()) return;  // nothing after auth_revoked, and it goes once
  stream->send(auth_revoked_event());
  stream->close();
}

void SseSubscriber::revoked(const Error& why) {
  if (!stop()) return;
  if (auto session = session_.lock()) session->listen_ended("stream", this);
  std::shared_ptr<net::EventStream> stream;
  {
    std::lock_guard lock(mutex_);
    stream = stream_.lock();
  }
  if (!stream) return;
  if (why.code == ErrorCode::permission_denied) {
    stream->send(std::make_shared<const std::string>("event: cancel\ndata: \"Permission denied\"\n\n"));
  }
  stream->close();
}

}  // namespace backside::proto::rest
