#include "net/websocket_handshake.h"

#include <gtest/gtest.h>

namespace backside::net {
namespace {

namespace http = boost::beast::http;

HttpRequest upgrade_request() {
  HttpRequest request(http::verb::get, "/.ws", 11);
  request.set(http::field::host, "localhost");
  request.set(http::field::upgrade, "websocket");
  request.set(http::field::connection, "Upgrade");
  request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  request.set(http::field::sec_websocket_version, "13");
  return request;
}

TEST(WebSocketHandshake, TheAcceptKeyIsRfc6455sExample) {
  // RFC 6455 §1.3.
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, AValidRequestIsAnsweredWith101AndTheChosenSubprotocol) {
  const HttpRequest request = upgrade_request();
  EXPECT_FALSE(refuse_websocket_upgrade(request));
  EXPECT_EQ(websocket_upgrade_response(request, "v12.stomp"),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nServer: backside\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n");
  EXPECT_EQ(websocket_upgrade_response(request, "").find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(WebSocketHandshake, AnotherVersionGets426) {
  HttpRequest request = upgrade_request();
  request.set(http::field::sec_websocket_version, "8");
  auto refusal = refuse_websocket_upgrade(request);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, http::status::upgrade_required);
  EXPECT_NE(refusal->message.find("use 13"), std::string::npos);
  request.erase(http::field::sec_websocket_version);
  ASSERT_TRUE(refuse_websocket_upgrade(request));
  EXPECT_EQ(refuse_websocket_upgrade(request)->status, http::status::upgrade_required);
}

TEST(WebSocketHandshake, AMissingOrMalformedKeyGets400) {
  HttpRequest request = upgrade_request();
  for (const char* key : {"", "not base64!", "c2hvcnQ=", "dGhlIHNhbXBsZSBub25jZSB0b28gbG9uZw=="}) {
    request.set(http::field::sec_websocket_key, key);
    auto refusal = refuse_websocket_upgrade(request);
    ASSERT_TRUE(refusal) << key;
    EXPECT_EQ(refusal->status, http::status::bad_request) << key;
  }
  request.erase(http::field::sec_websocket_key);
  ASSERT_TRUE(refuse_websocket_upgrade(request));
  EXPECT_EQ(refuse_websocket_upgrade(request)->message, "Sec-WebSocket-Key is missing");
}

}  // namespace
}  // namespace backside::net
