#include "net/http_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "net/event_stream_session.h"
#include "net/websocket_handshake.h"
#include "net/websocket_session.h"

namespace backside::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

namespace {
// The first transfer-coding of `request` other than chunked ("" if none): the only one we decode.
std::string unsupported_transfer_coding(const HttpRequest& request) {
  auto header = request.find(http::field::transfer_encoding);
  if (header == request.end()) return {};
  for (auto coding : http::token_list(header->value())) {
    if (!beast::iequals(coding, "chunked")) {
      std::string name(coding);
      for (char& c : name) {
        if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') c = '?';
      }
      return name.substr(0, 64);
    }
  }
  return {};
}

// What is wrong with a request's head that the parser lets through, by the rules of RFC 9112 / 9110 (nullopt: nothing).
// Also turns an absolute-form target into the origin-form every handler parses (§3.2.2: servers MUST accept it).
std::optional<std::pair<http::status, std::string>> refuse_head(HttpRequest& head) {
  const auto bad = [](std::string message) {
    return std::optional<std::pair<http::status, std::string>>(std::in_place, http::status::bad_request,
                                                               std::move(message));
  };
  // §3.2: exactly one Host in HTTP/1.1, at most one before.
  const std::size_t hosts = head.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && head.version() >= 11)) {
    return bad("An HTTP/1.1 request needs exactly one Host header (RFC 9112 section 3.2)");
  }
  if (auto te = head.find(http::field::transfer_encoding); te != head.end()) {
    // §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    if (head.version() < 11) return bad("Transfer-Encoding is not allowed in an HTTP/1.0 request");
    // §6.1: chunked is applied once, and last.
    std::size_t chunked = 0;
    bool last_is_chunked = false;
    bool unknown = false;  // then 501 (unsupported_transfer_coding) says more
    for (auto coding : http::token_list(te->value())) {
      last_is_chunked = beast::iequals(coding, "chunked");
      if (last_is_chunked) ++chunked;
      unknown = unknown || !last_is_chunked;
    }
    if (!unknown && chunked > 1) {
      return bad("Transfer-Encoding: chunked must be the last transfer-coding, applied once");
    }
  }
  if (auto expect = head.find(http::field::expect); expect != head.end() && !beast::iequals(expect->value(), "100-continue")) {
    return std::optional<std::pair<http::status, std::string>>(std::in_place, http::status::expectation_failed,
                                                               "Only the expectation 100-continue is supported");
  }
  const std::string_view target = head.target();
  if (!target.empty() && target.front() != '/' && target != "*") {
    auto uri = boost::urls::parse_absolute_uri(target);
    if (!uri || (uri->scheme() != "http" && uri->scheme() != "https")) {
      return bad("Invalid request target: an origin-form path or an absolute http(s) URI is expected");
    }
    std::string origin_form = uri->encoded_path().empty() ? std::string("/") : std::string(uri->encoded_path());
    if (uri->has_query()) origin_form += "?" + std::string(uri->encoded_query());
    head.set(http::field::host, uri->encoded_authority());  // §3.2.2: the target's authority replaces Host
    head.target(origin_form);
  }
  return std::nullopt;
}

std::shared_ptr<HttpResponse> json_error(http::status status, const std::string& message) {
  auto response = std::make_shared<HttpResponse>(status, 11);
  response->set(http::field::content_type, "application/json; charset=utf-8");
  response->set(http::field::access_control_allow_origin, "*");
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
  }
  response->body() = "{\"error\":\"" + escaped + "\"}";
  response->keep_alive(false);
  response->prepare_payload();
  return response;
}

// Bytes of an unread body a refused client may still send before the connection is closed on it anyway.
constexpr std::size_t kMaxDiscardedBytes = std::size_t(1) << 20;
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;  // a request's head: 431 past it
constexpr std::size_t kHeaderReadBytes = 4096;         // read at a time while the head is incomplete
}  // namespace

HttpSession::HttpSession(asio::ip::tcp::socket socket, std::shared_ptr<TlsChannel> tls, HttpHandler& handler,
                         const ServerOptions& options, std::shared_ptr<SessionSet> sessions)
    : stream_(std::move(socket), std::move(tls)),
      handler_(handler),
      options_(options),
      sessions_(std::move(sessions)),
      header_charge_(options.memory_budget, MemoryBudget::Use::request_header),
      body_charge_(options.memory_budget, MemoryBudget::Use::request_body),
      response_charge_(options.memory_budget, MemoryBudget::Use::response) {
  beast::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_address_ = endpoint.address().to_string();
}

HttpSession::~HttpSession() = default;

void HttpSession::start() {
  counted_open = metrics::GaugeIncrement(metrics::server_metrics().open_connections(metrics::ConnectionKind::http));
  sessions_->track(shared_from_this());
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
}

void HttpSession::shutdown() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->draining_ = true;
    if (!self->in_request_) self->finish("server shutting down");
  });
}

void HttpSession::read_request() {
  if (draining_) return finish("server shutting down");
  in_request_ = false;
  answered_ = false;
  request_version_ = 11;  // until a head is read (an error answer to an unreadable request)
  head_request_ = false;
  parser_.emplace();
  parser_->body_limit(options_.max_body_bytes);
  parser_->header_limit(kMaxHeaderBytes);
  stream_.expires_after(std::chrono::seconds(options_.request_timeout_seconds));
  // What the last request left unused is given back (a keep-alive connection holds no header-sized buffer).
  if (buffer_.size() == 0) buffer_.shrink_to_fit();
  parse_header();
}

// The head is read here rather than by http::async_read_header, which reads until the head is complete: so that the
// bytes of an unfinished head are charged to the server's memory budget as they arrive (up to kMaxHeaderBytes per
// connection, which would otherwise multiply by the number of connections).
void HttpSession::parse_header() {
  beast::error_code ec;
  if (buffer_.size() != 0) {
    buffer_.consume(parser_->put(buffer_.data(), ec));
    if (ec != http::error::need_more) return on_header(ec);  // the head is complete, or malformed
  }
  if (!header_charge_.resize(buffer_.capacity())) {
    return fail_request(http::status::service_unavailable,
                        "The server has no memory left for request headers (max_buffered_bytes); try again later");
  }
  stream_.async_read_some(buffer_.prepare(kHeaderReadBytes), [self = shared_from_this()](beast::error_code ec,
                                                                                        std::size_t n) {
    self->buffer_.commit(n);
    if (ec == asio::error::eof) {
      // Nothing of a request yet: the client is done (keep-alive ends); a part of one: a truncated request.
      if (self->buffer_.size() == 0 && !self->parser_->got_some()) return self->on_header(http::error::end_of_stream);
      self->parser_->put_eof(ec);
      return self->on_header(ec ? ec : beast::error_code(http::error::partial_message));
    }
    if (ec) return self->on_header(ec);
    self->parse_header();
  });
}

void HttpSession::on_header(beast::error_code ec) {
  header_charge_.release();  // the head is parsed into the request; the buffer keeps only what follows it
  if (ec) return on_request(ec);
  in_request_ = true;
  HttpRequest& head = parser_->get();
  request_version_ = head.version();
  head_request_ = head.method() == http::verb::head;
  if (auto refusal = refuse_head(head)) return fail_request(refusal->first, refusal->second);
  if (auto coding = unsupported_transfer_coding(head); !coding.empty()) {
    // RFC 9112 §6.1: a server that does not understand a transfer-coding answers 501 (and does not guess the body).
    return fail_request(http::status::not_implemented,
                        "Transfer-Encoding \"" + coding + "\" is not supported (only chunked is)");
  }
  if (parser_->is_done()) return on_request(ec);
  // A body of declared length is charged whole before any of it is read (the parser reserves it at once); past
  // the budget the request is refused unread, whoever sent it, so that unfinished bodies cannot take the memory.
  if (auto length = parser_->content_length()) {
    if (!body_charge_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(*length, options_.max_body_bytes)))) {
      return fail_request(http::status::service_unavailable,
                          "The server has no memory left for request bodies (max_buffered_bytes); try again later");
    }
  }
  // RFC 9110 §10.1.1: a client that expects 100-continue waits for it before sending the body (curl does, for a
  // second): the request is acceptable so far, so say so now.
  if (head.version() >= 11 && head.find(http::field::expect) != head.end()) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    return asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->finish("write failed");
                               self->read_body();
                             });
  }
  read_body();
}

void HttpSession::read_body() {
  http::async_read_some(stream_, buffer_, *parser_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body_part(ec); });
}

void HttpSession::on_body_part(beast::error_code ec) {
  if (ec) return on_request(ec);
  // A chunked body is charged as it grows.
  const std::size_t held = parser_->get().body().size();
  if (held > body_charge_.bytes() && !body_charge_.resize(held)) {
    return fail_request(http::status::service_unavailable,
                        "The server has no memory left for request bodies (max_buffered_bytes); try again later");
  }
  if (parser_->is_done()) return on_request(ec);
  read_body();
}

void HttpSession::on_request(beast::error_code ec) {
  if (ec == HttpStream::tls_failure() && stream_.tls()) {
    spdlog::debug("connection from {}: TLS: {}", remote_address_, stream_.tls()->error());
    return finish("TLS failed");
  }
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::operation_aborted || ec == beast::error::timeout) {
    return finish("connection closed");
  }
  if (ec == http::error::body_limit) {
    return fail_request(http::status::payload_too_large,
                        "Request body is larger than the limit of " + std::to_string(options_.max_body_bytes) +
                            " bytes");
  }
  if (ec == http::error::header_limit) {
    return fail_request(http::status::request_header_fields_too_large, "Request headers are too large");
  }
  if (ec) return fail_request(http::status::bad_request, "Malformed HTTP request: " + ec.message());
  stream_.expires_never();
  HttpRequest request = parser_->release();
  keep_alive_after_reply_ = request.keep_alive();
  try {
    if (beast::websocket::is_upgrade(request)) {
      // A client upgrading now would be closed at once: it may as well reconnect elsewhere straight away.
      if (draining_) return fail_request(http::status::service_unavailable, "The server is shutting down");
      return upgrade_to_websocket(std::move(request));
    }
    handler_.handle(std::move(request), shared_from_this());
  } catch (const std::exception& e) {
    // A handler that throws answers 500 and ends this connection (a reply may already be on its way: then the
    // connection just ends); the server goes on.
    spdlog::warn("HTTP request from {}: unexpected exception: {}", remote_address_, e.what());
    if (!handed_off_ && !answered_.load()) return fail_request(http::status::internal_server_error, "Internal error");
    finish("internal error");
  }
}

void HttpSession::upgrade_to_websocket(HttpRequest&& request) {
  if (auto refusal = refuse_websocket_upgrade(request)) {
    auto response = json_error(refusal->status, refusal->message);
    if (refusal->status == http::status::upgrade_required) response->set(http::field::sec_websocket_version, "13");
    return fail_request(std::move(response));
  }
  auto connection = std::make_shared<WebSocketSession>(stream_.get_executor(), options_, sessions_, remote_address_);
  connection->enable_eviction();
  WebSocketAccept accepted = handler_.accept_websocket(request, connection);
  if (!accepted.endpoint) {
    std::string path(request.target().substr(0, request.target().find('?')));
    return fail_request(http::status::not_found, "Not found: no WebSocket endpoint at " + path);
  }
  // The socket (and any bytes already read past the request) now belong to the WebSocket session.
  handed_off_ = true;
  closed_ = true;
  (void)sessions_->remove(this);  // tracked, not owned
  counted_open.release();
  connection->connection_slot = std::move(connection_slot);
  std::string early_bytes = beast::buffers_to_string(buffer_.data());
  buffer_ = beast::flat_buffer();
  connection->run(stream_.release_socket(), stream_.tls(), std::move(early_bytes), request, std::move(accepted));
}

void HttpSession::fail_request(http::status status, const std::string& message) {
  fail_request(json_error(status, message));
}

void HttpSession::fail_request(std::shared_ptr<HttpResponse> response) {
  if (answered_.exchange(true)) return finish("answered twice");
  keep_alive_after_reply_ = false;
  linger_ = true;
  write_response(std::move(response));
}

void HttpSession::reply(HttpResponse&& response) {
  if (answered_.exchange(true)) return;  // the request was already answered (an error, after a handler threw)
  auto shared = std::make_shared<HttpResponse>(std::move(response));
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), shared] {
    shared->keep_alive(self->keep_alive_after_reply_ && shared->keep_alive());
    self->write_response(shared);
  });
}

void HttpSession::write_response(std::shared_ptr<HttpResponse> response) {
  if (closed_) return;
  body_charge_.release();  // the handler has answered: it is done with the request
  if (!response_charge_.resize(response->body().size())) {
    // A client that asks for large responses and does not read them must not hold them all in memory.
    response = json_error(http::status::service_unavailable,
                          "The server has no memory left for responses (max_buffered_bytes); try again later");
    keep_alive_after_reply_ = false;
  }
  stream_.expires_after(std::chrono::seconds(options_.request_timeout_seconds));
  metrics::server_metrics().http_responses(response->result_int()).add();
  bool keep_alive = response->keep_alive() && keep_alive_after_reply_ && !draining_;
  // The handlers answer in the request's version; the status line says HTTP/1.1 whatever HTTP/1.x the request
  // named (RFC 9110 §6.2: the highest version the server conforms to). An HTTP/1.0 client is told explicitly when
  // the connection stays open.
  response->version(11);
  response->keep_alive(keep_alive);
  if (keep_alive && request_version_ == 10) response->set(http::field::connection, "keep-alive");
  // The answer to a HEAD is the GET answer's head: its Content-Length, no body (bytes after it would be read as the
  // next response).
  if (head_request_) response->body().clear();
  http::async_write(stream_, *response,
                    [self = shared_from_this(), response, keep_alive](beast::error_code ec, std::size_t) {
                      self->response_charge_.release();
                      if (ec) return self->finish("write failed");
                      if (!keep_alive) return self->linger_ ? self->linger_then_finish() : self->finish("done");
                      self->read_request();
                    });
}

void HttpSession::linger_then_finish() {
  // Closing a socket with unread input makes the kernel answer with a reset, which can destroy the error answer
  // before the client reads it. Half-close, read and drop what still comes (bounded in bytes and time), then close.
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) return finish("answered with an error");
  stream_.expires_after(std::chrono::seconds(2));
  discard_input();
}

void HttpSession::discard_input() {
  stream_.async_read_some(asio::buffer(peer_byte_buffer_), [self = shared_from_this()](beast::error_code ec,
                                                                                        std::size_t n) {
    self->discarded_bytes_ += n;
    if (ec || self->discarded_bytes_ > kMaxDiscardedBytes) return self->finish("answered with an error");
    self->discard_input();
  });
}

std::shared_ptr<EventStream> HttpSession::start_stream(HttpResponse&& head) {
  answered_ = true;
  head.version(11);  // as write_response
  std::ostringstream header;
  header << head.base();
  // The stream exists (and takes sends, which wait behind its head) before it has the socket: the hand-off is on
  // this connection's strand, and this may be any thread.
  auto stream = std::make_shared<EventStreamSession>(stream_.get_executor(), options_, sessions_, remote_address_);
  stream->begin(std::make_shared<const std::string>(header.str() + head.body()));
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), stream] { self->hand_off_stream(stream); });
  return stream;
}

void HttpSession::hand_off_stream(const std::shared_ptr<EventStreamSession>& stream) {
  body_charge_.release();  // the handler has answered: it is done with the request
  // The socket (closed if this connection already ended: then so does the stream) belongs to the stream from now
  // on. Whatever the client sent past its request is dropped: it may not pipeline behind a stream.
  const bool was_closed = closed_;
  handed_off_ = true;
  closed_ = true;
  parser_.reset();
  buffer_.clear();
  buffer_.shrink_to_fit();
  if (!was_closed) (void)sessions_->remove(this);  // tracked, not owned
  counted_open.release();
  stream->connection_slot = std::move(connection_slot);
  stream->run(stream_.release_socket(), stream_.tls());
}

void HttpSession::finish(const char* reason) {
  if (closed_ || handed_off_) return;
  closed_ = true;
  body_charge_.release();
  response_charge_.release();
  spdlog::debug("connection from {} ended: {}", remote_address_, reason);
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
  connection_slot.release();
  counted_open.release();
  (void)sessions_->remove(this);  // tracked, not owned
}

void SessionSet::track(const std::shared_ptr<Session>& session) {
  bool shutting_down;
  {
    std::lock_guard lock(mutex_);
    sessions_.emplace(session.get(), Entry{session, nullptr});
    shutting_down = shutting_down_;
  }
  if (shutting_down) session->shutdown();
}

void SessionSet::own(std::shared_ptr<Session> session) {
  bool shutting_down;
  {
    std::lock_guard lock(mutex_);
    const Session* key = session.get();
    sessions_.emplace(key, Entry{session, session});
    shutting_down = shutting_down_;
  }
  if (shutting_down) session->shutdown();
}

std::shared_ptr<Session> SessionSet::remove(const Session* session) {
  std::shared_ptr<Session> owned;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return nullptr;
    owned = std::move(it->second.owned);
    sessions_.erase(it);
    if (!sessions_.empty()) return owned;
  }
  emptied_.notify_all();
  return owned;
}

void SessionSet::shutdown_all() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [raw, entry] : sessions_) {
      if (auto session = entry.session.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) session->shutdown();
}

std::size_t SessionSet::wait_until_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  emptied_.wait_until(lock, deadline, [&] { return sessions_.empty(); });
  return sessions_.size();
}

std::size_t SessionSet::size() {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void SessionSet::release_all() {
  std::unordered_map<const Session*, Entry> released;
  {
    std::lock_guard lock(mutex_);
    released.swap(sessions_);
  }
  // Destroyed here, outside the lock: a session's end may reach this set again.
}

}  // namespace backside::net
