#pragma once
// What a view delivers to its subscribers. A front door implements Subscriber: it renders a ViewEvent into its
// protocol's bytes and queues them on its connection. Subscribers of one view that share a render key receive the
// same bytes, rendered once (serialize once, send many).
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tree/node.h"
#include "tree/query.h"

namespace backside::sync {

// A change as one view sees it. Every path is absolute. Node pointers point into the live tree and are valid only
// during the render call.
struct ViewEvent {
  enum class Kind {
    put,    // the value at `path` (at or below the view's path) is now `*value` (null node = deleted)
    merge,  // each (relative key path under `path`, new value) replaces that location; nullptr value = deleted
  };
  Kind kind = Kind::put;
  const tree::Path* view_path = nullptr;
  const tree::Query* query = nullptr;  // nullptr for a plain (unfiltered) view
  bool initial = false;                // the first event of a subscription: the current value at the view's path
  tree::Path path;
  const tree::Node* value = nullptr;                                 // for put
  std::vector<std::pair<tree::Path, const tree::Node*>> merge;       // for merge, relative to `path`
};

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Subscribers of the same view with equal render keys get identical bytes.
  virtual const std::string& render_key() const = 0;
  // Renders an event; nullptr means "nothing to send".
  virtual std::shared_ptr<const std::string> render(const ViewEvent& event) const = 0;
  // Queues bytes on the subscriber's connection. Called on the database's writer thread; must not block.
  virtual void deliver(const std::shared_ptr<const std::string>& bytes) = 0;
  // Several events of one view in order (the writes of one committed turn): one visit per subscriber and turn
  // instead of one per event, which is what a fan-out to many subscribers spends its time on.
  virtual void deliver_all(std::span<const std::shared_ptr<const std::string>> events) {
    for (const auto& bytes : events) deliver(bytes);
  }
  // The subscription ended from the server side: `why` is permission_denied (the rules no longer allow the read)
  // or unavailable (the database is closing). Writer thread.
  virtual void revoked(const Error& /*why*/) {}
};

using SubscriberPtr = std::shared_ptr<Subscriber>;

}  // namespace backside::sync
