#pragma once
// The listener hub: a path trie of views. A view is one (path, query) that any number of subscribers share; a
// change at P reaches the views at P, at its ancestors and in its subtree, and costs in proportion to the views it
// reaches. Empty trie nodes and views are deleted so that unsubscribing frees everything (as Redis' pubsub does).
// Used only on the database's writer thread.
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "sync/subscriber.h"
#include "tree/node.h"
#include "tree/query.h"

namespace backside::sync {

// One location written by a change and the node that was there before.
struct WrittenLocation {
  tree::Path path;
  tree::Node old_value;
};

// A committed-to-be change: one or more disjoint locations under a common base path, written atomically.
struct Change {
  tree::Path base;
  bool is_merge = false;  // an update: render as one merge at `base` where the protocol allows
  std::vector<WrittenLocation> locations;
};

// Rendered bytes waiting for the store commit, then sent to every subscriber of a group as it was when the event
// was rendered: a group's member list is copied on write while a pending delivery holds it, so a subscription made
// or ended meanwhile neither gets an event from before its initial value nor loses one it was owed.
class View;
struct PendingDelivery {
  std::shared_ptr<const std::vector<SubscriberPtr>> recipients;
  std::shared_ptr<const std::string> bytes;
};

class Hub {
 public:
  Hub();
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Registers `subscriber` on (path, query) with the current value of `root` as its initial event: delivered at
  // once, or, with `deferred`, appended there to be delivered with the pending changes it already includes (the
  // writer's uncommitted turn). Later changes reach it after that. Returns a handle for unsubscribe.
  struct Handle {
    View* view = nullptr;
    const Subscriber* subscriber = nullptr;
  };
  Handle subscribe(const tree::Path& path, const std::optional<tree::Query>& query, SubscriberPtr subscriber,
                   const tree::Node& root, std::vector<PendingDelivery>* deferred = nullptr);
  // Removes the subscription; deletes the view and trie nodes left empty. Deliveries already pending still reach it.
  void unsubscribe(const Handle& handle);

  // Computes and renders the events of `change` (already applied to `root`) for every affected view.
  void publish(const Change& change, const tree::Node& root, std::vector<PendingDelivery>& out);

  // Calls fn(view path, query or nullptr, subscriber) for every subscription.
  void for_each_subscription(
      const std::function<void(const tree::Path&, const tree::Query*, const SubscriberPtr&)>& fn) const;

  // After the tree was reset to the state the subscribers last heard of (a failed commit's changes undone):
  // query views recompute their windows from `root`, sending nothing.
  void rebase(const tree::Node& root);

  // Drops every subscription (database shutdown).
  void clear();

  std::size_t view_count() const { return view_count_; }
  std::size_t subscription_count() const { return subscription_count_; }

  struct TrieNode;

 private:
  std::unique_ptr<TrieNode> root_;
  std::size_t view_count_ = 0;
  std::size_t subscription_count_ = 0;
};

}  // namespace backside::sync
