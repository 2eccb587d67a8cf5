// HTTP connections to a real net::Server on loopback, read byte for byte: what the status line and the framing of
// each answer look like on the wire.
#include "net/http_session.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "net/server.h"

namespace backside::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

// Answers every request with "hello", in the request's version, as the front doors do.
class HelloHandler : public HttpHandler {
 public:
  void handle(HttpRequest&& request, std::shared_ptr<HttpExchange> exchange) override {
    HttpResponse response(http::status::ok, request.version());
    response.body() = "hello";
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    exchange->reply(std::move(response));
  }
};

class HttpSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.port = 0;
    options.io_threads = 1;
    server_ = std::make_unique<Server>(options, handler_);
    auto endpoint = server_->listen();
    ASSERT_TRUE(endpoint) << endpoint.error().message;
    endpoint_ = *endpoint;
    server_->start();
  }
  void TearDown() override { server_->stop(); }

  // Sends `request`, half-closes, and returns everything the server sent until it closed the connection.
  std::string exchange(const std::string& request) {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect(endpoint_);
    asio::write(socket, asio::buffer(request));
    socket.shutdown(asio::ip::tcp::socket::shutdown_send);
    std::string received;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(received), ec);
    EXPECT_EQ(ec, asio::error::eof);
    return received;
  }

  HelloHandler handler_;
  std::unique_ptr<Server> server_;
  asio::ip::tcp::endpoint endpoint_;
};

TEST_F(HttpSessionTest, AnHttp10RequestIsAnsweredInHttp11) {
  EXPECT_EQ(exchange("GET / HTTP/1.0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  // Kept open when the client asks for it, and told so explicitly.
  EXPECT_EQ(exchange("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
}

TEST_F(HttpSessionTest, OtherVersionsAreRefusedInHttp11) {
  for (const char* version : {"HTTP/1.2", "HTTP/2.0", "HTTP/0.9"}) {
    const std::string received = exchange(std::string("GET / ") + version + "\r\n\r\n");
    EXPECT_TRUE(received.starts_with("HTTP/1.1 400 Bad Request\r\n")) << version << ": " << received;
  }
}

TEST_F(HttpSessionTest, TheAnswerToAHeadHasNoBody) {
  const std::string received =
      exchange("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(received,
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
}

}  // namespace
}  // namespace backside::net
