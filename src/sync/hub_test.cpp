#include "sync/hub.h"

#include <gtest/gtest.h>

#include "tree/json_codec.h"

namespace backside::sync {
namespace {

using tree::Node;
using tree::Path;

Node json(const char* text) { return *tree::parse_json(text); }
Path path(const char* text) { return *Path::parse(text); }

// Records what it is sent as "kind path value" lines; renders a readable form of every event.
class Recorder : public Subscriber {
 public:
  explicit Recorder(std::string key = "k") : key_(std::move(key)) {}
  const std::string& render_key() const override { return key_; }
  std::shared_ptr<const std::string> render(const ViewEvent& event) const override {
    ++renders;
    std::string out = event.kind == ViewEvent::Kind::put ? "put " : "merge ";
    out += event.path.to_string();
    if (event.kind == ViewEvent::Kind::put) {
      out += " " + tree::to_json(*event.value);
    } else {
      for (const auto& [relative, value] : event.merge) {
        out += " " + relative.to_string() + "=" + (value ? tree::to_json(*value) : "null");
      }
    }
    return std::make_shared<const std::string>(out);
  }
  void deliver(const std::shared_ptr<const std::string>& bytes) override { received.push_back(*bytes); }
  mutable int renders = 0;
  std::vector<std::string> received;

 private:
  std::string key_;
};

// Applies a set to the tree and publishes it, as the database does.
void set(Hub& hub, Node& root, const char* at, const char* value) {
  Change change;
  change.base = path(at);
  Node old = root.set(change.base, json(value));
  change.locations.push_back({change.base, std::move(old)});
  std::vector<PendingDelivery> out;
  hub.publish(change, root, out);
  for (auto& d : out) {
    for (auto& r : *d.recipients) r->deliver(d.bytes);
  }
}

TEST(Hub, InitialValueThenChangesAtBelowAndAbove) {
  Hub hub;
  Node root = json(R"({"users":{"bob":{"age":1}}})");
  auto rec = std::make_shared<Recorder>();
  hub.subscribe(path("/users/bob"), std::nullopt, rec, root);
  ASSERT_EQ(rec->received.size(), 1u);
  EXPECT_EQ(rec->received[0], R"(put /users/bob {"age":1})");

  set(hub, root, "/users/bob/age", "2");          // below
  set(hub, root, "/users", R"({"bob":{"age":3}})");  // above: the view's value changed
  set(hub, root, "/users", R"({"bob":{"age":3},"x":1})");  // above, but bob unchanged: nothing
  set(hub, root, "/other", "1");                    // unrelated
  ASSERT_EQ(rec->received.size(), 3u);
  EXPECT_EQ(rec->received[1], "put /users/bob/age 2");
  EXPECT_EQ(rec->received[2], R"(put /users/bob {"age":3})");
}

TEST(Hub, AWriteBelowThatChangesNothingSendsNothing) {
  Hub hub;
  Node root = json(R"({"obj":{"a":1},"leaf":5})");
  auto obj = std::make_shared<Recorder>();
  auto leaf = std::make_shared<Recorder>();
  auto query = std::make_shared<Recorder>();
  hub.subscribe(path("/obj"), std::nullopt, obj, root);
  hub.subscribe(path("/leaf"), std::nullopt, leaf, root);
  hub.subscribe(path("/obj"), tree::Query::from_wire({{"l", 5}, {"vf", "l"}}).value(), query, root);
  set(hub, root, "/obj/a", "1");       // the value it has
  set(hub, root, "/obj/b", "null");    // an absent child removed
  set(hub, root, "/obj/x/y", "null");  // deeper
  set(hub, root, "/leaf/below", "null");
  EXPECT_EQ(obj->received.size(), 1u);
  EXPECT_EQ(leaf->received.size(), 1u);
  EXPECT_EQ(query->received.size(), 1u);
  set(hub, root, "/obj/a", "2");  // and a real change still goes out
  ASSERT_EQ(obj->received.size(), 2u);
  EXPECT_EQ(obj->received[1], "put /obj/a 2");
  EXPECT_EQ(query->received.size(), 2u);
}

TEST(Hub, OneRenderPerGroupSharedBytes) {
  Hub hub;
  Node root;
  std::vector<std::shared_ptr<Recorder>> recs;
  for (int i = 0; i < 50; ++i) {
    recs.push_back(std::make_shared<Recorder>(i % 2 ? "a" : "b"));
    hub.subscribe(path("/p"), std::nullopt, recs.back(), root);
  }
  EXPECT_EQ(hub.view_count(), 1u);
  int renders_before = 0;
  for (auto& r : recs) renders_before += r->renders;
  set(hub, root, "/p", "1");
  int renders_after = 0;
  for (auto& r : recs) renders_after += r->renders;
  EXPECT_EQ(renders_after - renders_before, 2);  // one per render key, not one per subscriber
  for (auto& r : recs) EXPECT_EQ(r->received.back(), "put /p 1");
}

TEST(Hub, UnsubscribeDeletesEmptyViewsAndTrieNodes) {
  Hub hub;
  Node root;
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  auto ha = hub.subscribe(path("/a/b/c"), std::nullopt, a, root);
  auto hb = hub.subscribe(path("/a/b/c"), std::nullopt, b, root);
  EXPECT_EQ(hub.subscription_count(), 2u);
  hub.unsubscribe(ha);
  set(hub, root, "/a/b/c", "1");
  EXPECT_EQ(a->received.size(), 1u);  // only the initial value
  EXPECT_EQ(b->received.size(), 2u);
  hub.unsubscribe(hb);
  EXPECT_EQ(hub.view_count(), 0u);
  EXPECT_EQ(hub.subscription_count(), 0u);
  int visited = 0;
  hub.for_each_subscription([&](const Path&, const tree::Query*, const SubscriberPtr&) { ++visited; });
  EXPECT_EQ(visited, 0);
}

TEST(Hub, MergeRendersOnceAtBaseForAncestorsAndPutsForDescendants) {
  Hub hub;
  Node root = json(R"({"u":{"a":1,"b":{"c":2}}})");
  auto top = std::make_shared<Recorder>();
  auto inner = std::make_shared<Recorder>();
  hub.subscribe(path("/"), std::nullopt, top, root);
  hub.subscribe(path("/u/b"), std::nullopt, inner, root);
  Change change;
  change.base = path("/u");
  change.is_merge = true;
  for (auto [key, value] : {std::pair{"a", "5"}, std::pair{"b/c", "7"}}) {
    Path at = change.base.child(*Path::parse(key));
    Node old = root.set(at, json(value));
    change.locations.push_back({at, std::move(old)});
  }
  std::vector<PendingDelivery> out;
  hub.publish(change, root, out);
  for (auto& d : out) {
    for (auto& r : *d.recipients) r->deliver(d.bytes);
  }
  EXPECT_EQ(top->received.back(), "merge /u /a=5 /b/c=7");
  EXPECT_EQ(inner->received.back(), "merge /u/b /c=7");
}

TEST(Hub, QueryViewTracksItsWindow) {
  Hub hub;
  Node root = json(R"({"l":{"a":1,"b":2,"c":3}})");
  auto q = tree::Query::from_wire(boost::json::object{{"i", ".value"}, {"l", 2}, {"vf", "r"}});
  ASSERT_TRUE(q.ok());
  auto rec = std::make_shared<Recorder>();
  hub.subscribe(path("/l"), *q, rec, root);
  EXPECT_EQ(rec->received[0], R"(put /l {"b":2,"c":3})");
  set(hub, root, "/l/d", "9");  // enters, pushes b out
  EXPECT_EQ(rec->received.back(), "merge /l /d=9 /b=null");
  set(hub, root, "/l/a", "0");  // outside the window: nothing
  EXPECT_EQ(rec->received.size(), 2u);
  set(hub, root, "/l/c", "10");  // inside the window: changes
  EXPECT_EQ(rec->received.back(), "merge /l /c=10");
}

TEST(Hub, RebaseFollowsTheTreeBackWithoutEvents) {
  // A refused commit: its change moved the window, its events were dropped, the tree was read back. The next
  // change must be told against the window the subscriber has.
  Hub hub;
  Node root = json(R"({"l":{"a":1,"b":2,"c":3}})");
  auto q = tree::Query::from_wire(boost::json::object{{"i", ".value"}, {"l", 2}, {"vf", "r"}});
  ASSERT_TRUE(q.ok());
  auto rec = std::make_shared<Recorder>();
  hub.subscribe(path("/l"), *q, rec, root);
  ASSERT_EQ(rec->received.size(), 1u);
  {
    Change refused;
    refused.base = path("/l/d");
    Node old = root.set(refused.base, json("9"));
    refused.locations.push_back({refused.base, std::move(old)});
    std::vector<PendingDelivery> dropped;
    hub.publish(refused, root, dropped);  // never delivered
  }
  root = json(R"({"l":{"a":1,"b":2,"c":3}})");  // read back from the store
  hub.rebase(root);
  EXPECT_EQ(rec->received.size(), 1u) << "rebase sends nothing";
  set(hub, root, "/l/b", "5");  // inside the window the subscriber has: b changes, nothing else
  EXPECT_EQ(rec->received.back(), "merge /l /b=5");
}

// Deliveries wait for their commit while subscriptions change: each reaches the subscribers its view had when it
// was rendered. One made meanwhile gets only what follows its (deferred) initial value; one ended meanwhile still
// gets what it was owed.
TEST(Hub, PendingDeliveriesKeepTheRecipientsTheyWereRenderedFor) {
  Hub hub;
  Node root = json(R"({"a":1})");
  auto early = std::make_shared<Recorder>();
  Hub::Handle early_handle = hub.subscribe(path("/a"), std::nullopt, early, root);
  std::vector<PendingDelivery> pending;
  auto stage_set = [&](const char* value) {
    Change change;
    change.base = path("/a");
    Node old = root.set(change.base, json(value));
    change.locations.push_back({change.base, std::move(old)});
    hub.publish(change, root, pending);
  };
  stage_set("2");
  auto late = std::make_shared<Recorder>();
  hub.subscribe(path("/a"), std::nullopt, late, root, &pending);  // sees 2 in its initial value
  EXPECT_TRUE(late->received.empty()) << "the initial value waits with the change it includes";
  stage_set("3");
  hub.unsubscribe(early_handle);  // after 3 was rendered for it
  stage_set("4");
  for (const PendingDelivery& delivery : pending) {
    for (const auto& recipient : *delivery.recipients) recipient->deliver(delivery.bytes);
  }
  EXPECT_EQ(early->received, (std::vector<std::string>{"put /a 1", "put /a 2", "put /a 3"}));
  EXPECT_EQ(late->received, (std::vector<std::string>{"put /a 2", "put /a 3", "put /a 4"}));
}

}  // namespace
}  // namespace backside::sync
