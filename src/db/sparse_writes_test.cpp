#include "db/sparse_writes.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace backside::db {
namespace {

WritePath at(std::string_view text) { return *parse_write_path(text); }
boost::json::value js(std::string_view text) { return boost::json::parse(text); }

std::string written(const SparseWrites& queue) {
  auto request = queue.to_write(identity::Identity{});
  if (!request) return "none";
  std::string op = request->op == WriteRequest::Op::set ? "set " : "update ";
  return op + boost::json::serialize(request->data);
}

TEST(SparseWrites, EmptyWritesNothing) {
  SparseWrites queue;
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(written(queue), "none");
}

TEST(SparseWrites, DisjointSetsBecomeOneUpdateAtTheRoot) {
  SparseWrites queue;
  queue.set(at("/users/alice/online"), js("false"));
  queue.set(at("/users/alice/last"), js(R"({".sv":"timestamp"})"));
  queue.set(at("/rooms/r1/alice"), js("null"));
  EXPECT_EQ(queue.location_count(), 3u);
  auto request = queue.to_write(identity::Identity{});
  ASSERT_TRUE(request);
  EXPECT_EQ(request->op, WriteRequest::Op::update);
  EXPECT_TRUE(request->path.empty());
  EXPECT_EQ(request->data, js(R"({"rooms/r1/alice":null,"users/alice/last":{".sv":"timestamp"},
                                 "users/alice/online":false})"));
}

TEST(SparseWrites, SetAboveReplacesStoredDescendants) {
  SparseWrites queue;
  queue.set(at("/a/b"), js("1"));
  queue.set(at("/a/c/d"), js("2"));
  queue.set(at("/a"), js(R"({"x":1})"));
  EXPECT_EQ(written(queue), R"(update {"a":{"x":1}})");
}

TEST(SparseWrites, SetBelowUpdatesInsideTheStoredAncestor) {
  SparseWrites queue;
  queue.set(at("/a"), js(R"({"x":1,"y":2})"));
  queue.set(at("/a/y"), js("null"));
  queue.set(at("/a/z/deep"), js("true"));
  EXPECT_EQ(written(queue), R"(update {"a":{"x":1,"z":{"deep":true}}})");
  queue.set(at("/a/x"), js("null"));
  queue.set(at("/a/z"), js("null"));
  EXPECT_EQ(written(queue), R"(update {"a":null})");  // emptied: removes /a at disconnect
}

TEST(SparseWrites, SetBelowAStoredLeafTurnsItIntoAnObject) {
  SparseWrites queue;
  queue.set(at("/a"), js(R"({".value":"v",".priority":3})"));
  queue.set(at("/a/b"), js("1"));
  EXPECT_EQ(written(queue), R"(update {"a":{".priority":3,"b":1}})");
}

TEST(SparseWrites, PriorityLocations) {
  SparseWrites queue;
  queue.set(at("/a/.priority"), js("5"));
  EXPECT_EQ(written(queue), R"(update {"a/.priority":5})");
  queue.set(at("/b"), js("\"x\""));
  queue.set(at("/b/.priority"), js("2"));
  EXPECT_EQ(written(queue), R"(update {"a/.priority":5,"b":{".value":"x",".priority":2}})");
}

TEST(SparseWrites, CancelForgetsAtAndBelow) {
  SparseWrites queue;
  queue.set(at("/a/b"), js("1"));
  queue.set(at("/a/c"), js("2"));
  queue.set(at("/d"), js("3"));
  queue.cancel(*tree::Path::parse("/a"));
  EXPECT_EQ(written(queue), R"(update {"d":3})");
  queue.cancel(tree::Path());
  EXPECT_TRUE(queue.empty());
}

TEST(SparseWrites, CancelBelowAStoredObjectSplitsIt) {
  SparseWrites queue;
  queue.set(at("/a"), js(R"({"x":1,"y":{"z":2},"w":3})"));
  queue.cancel(*tree::Path::parse("/a/y"));
  EXPECT_EQ(written(queue), R"(update {"a/w":3,"a/x":1})");
}

TEST(SparseWrites, CancelBelowAStoredLeafKeepsIt) {
  SparseWrites queue;
  queue.set(at("/a"), js("1"));
  queue.cancel(*tree::Path::parse("/a/b"));
  EXPECT_EQ(written(queue), R"(update {"a":1})");
}

TEST(SparseWrites, RootEntryIsASetAtTheRoot) {
  SparseWrites queue;
  queue.set(at("/x"), js("1"));
  queue.set(at("/"), js(R"({"k":"v"})"));
  EXPECT_EQ(written(queue), R"(set {"k":"v"})");
  queue.set(at("/k2"), js("2"));
  EXPECT_EQ(written(queue), R"(set {"k":"v","k2":2})");
}

}  // namespace
}  // namespace backside::db
