#include "proto/stomp/message.h"

#include <gtest/gtest.h>

namespace backside::proto::stomp {
namespace {

using namespace std::string_literals;
using tree::Node;
using tree::Path;

Path path(std::string_view text) { return Path::parse(text).value(); }
Node json(std::string_view text) { return tree::parse_json(text).value(); }

// head + tail must be one well-formed frame.
Frame decode_one(const std::string& wire) {
  Decoder d;
  std::vector<Frame> frames;
  auto status = d.feed(wire, frames);
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(frames.size(), 1u);
  return frames.empty() ? Frame{} : frames[0];
}

TEST(StompMessage, PutRelativeToTheSubscription) {
  Path view = path("/users");
  Node value = json(R"({"name":"bob","age":3})");
  sync::ViewEvent event;
  event.view_path = &view;
  event.path = path("/users/bob");
  event.value = &value;
  auto tail = render_message_tail(event, Version::v1_2);
  ASSERT_TRUE(tail);
  Frame f = decode_one(message_head("sub-0", 7, "/users", Version::v1_2) + *tail);
  EXPECT_EQ(f.command, "MESSAGE");
  EXPECT_EQ(*f.header("subscription"), "sub-0");
  EXPECT_EQ(*f.header("message-id"), "7");
  EXPECT_EQ(*f.header("destination"), "/users");
  EXPECT_EQ(*f.header("event"), "put");
  EXPECT_EQ(*f.header("path"), "/bob");
  EXPECT_EQ(*f.header("content-type"), "application/json");
  EXPECT_EQ(f.body, R"({"age":3,"name":"bob"})");
}

TEST(StompMessage, DeletedValueIsNull) {
  Path view = path("/a");
  sync::ViewEvent event;
  event.view_path = &view;
  event.path = path("/a");
  auto tail = render_message_tail(event, Version::v1_2);
  Frame f = decode_one(message_head("s", 1, "/a", Version::v1_2) + *tail);
  EXPECT_EQ(*f.header("path"), "/");
  EXPECT_EQ(f.body, "null");
}

TEST(StompMessage, PatchKeysAreRelativePaths) {
  Path view = path("/");
  Node one = json("1");
  sync::ViewEvent event;
  event.kind = sync::ViewEvent::Kind::merge;
  event.view_path = &view;
  event.path = path("/x");
  event.merge.emplace_back(path("a"), &one);
  event.merge.emplace_back(path("b/c"), nullptr);
  Frame f = decode_one(message_head("s", 2, "/", Version::v1_2) + *render_message_tail(event, Version::v1_2));
  EXPECT_EQ(*f.header("event"), "patch");
  EXPECT_EQ(*f.header("path"), "/x");
  EXPECT_EQ(f.body, R"({"a":1,"b/c":null})");
}

TEST(StompMessage, HeadersAreEscapedPerVersion) {
  Path view = path("/");
  Node v = json("true");
  sync::ViewEvent event;
  event.view_path = &view;
  event.path = path("/a:b");
  event.value = &v;
  auto tail12 = render_message_tail(event, Version::v1_2);
  EXPECT_NE(tail12->find("path:/a\\cb\n"), std::string::npos);
  Frame f = decode_one(message_head("s:1", 3, "/", Version::v1_2) + *tail12);
  EXPECT_EQ(*f.header("path"), "/a:b");
  EXPECT_EQ(*f.header("subscription"), "s:1");
  auto tail10 = render_message_tail(event, Version::v1_0);
  EXPECT_NE(tail10->find("path:/a:b\n"), std::string::npos);
  EXPECT_NE(render_key_for(Version::v1_0), render_key_for(Version::v1_2));
}

}  // namespace
}  // namespace backside::proto::stomp
