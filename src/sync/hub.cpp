#include "sync/hub.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace backside::sync {

using tree::Node;
using tree::Path;

namespace {
const Node kNull;

const Node& node_at(const Node& root, const Path& path) {
  const Node* n = root.find(path);
  return n ? *n : kNull;
}
}  // namespace

// Subscribers of one view that want the same bytes.
struct Group {
  // Shared with the pending deliveries rendered for it (PendingDelivery::recipients): changed in place only when
  // none holds it.
  std::shared_ptr<std::vector<SubscriberPtr>> members = std::make_shared<std::vector<SubscriberPtr>>();
  std::unordered_map<const Subscriber*, std::size_t> index;  // member -> position, for O(1) removal

  // Writer thread. A count above one may be stale (the committer dropping its copy): that costs a copy, never a
  // race, since only the writer makes new copies.
  std::vector<SubscriberPtr>& writable_members() {
    if (members.use_count() > 1) members = std::make_shared<std::vector<SubscriberPtr>>(*members);
    return *members;
  }
};

class View {
 public:
  View(Hub::TrieNode* owner, Path path, std::optional<tree::Query> query)
      : owner_(owner), path_(std::move(path)), query_(std::move(query)) {}

  Hub::TrieNode* owner() const { return owner_; }
  const Path& path() const { return path_; }
  const tree::Query* query() const { return query_ ? &*query_ : nullptr; }
  bool empty() const { return groups_.empty(); }
  const std::map<std::string, Group>& groups() const { return groups_; }

  void add(SubscriberPtr subscriber, const Node& root, std::vector<PendingDelivery>* deferred) {
    ViewEvent event;
    event.view_path = &path_;
    event.query = query();
    event.initial = true;
    event.path = path_;
    Node filtered;
    if (query_) {
      const Node& at = node_at(root, path_);
      window_ = tree::evaluate_keys(at, *query_);
      filtered = tree::evaluate(at, *query_);
      event.value = &filtered;
    } else {
      event.value = &node_at(root, path_);
    }
    if (auto bytes = subscriber->render(event)) {
      if (deferred) {
        deferred->push_back({std::make_shared<const std::vector<SubscriberPtr>>(1, subscriber), std::move(bytes)});
      } else {
        subscriber->deliver(bytes);
      }
    }
    Group& group = groups_[subscriber->render_key()];
    std::vector<SubscriberPtr>& members = group.writable_members();
    group.index.emplace(subscriber.get(), members.size());
    members.push_back(std::move(subscriber));
  }

  void remove(const Subscriber* subscriber) {
    auto it = groups_.find(subscriber->render_key());
    if (it == groups_.end()) return;
    Group& group = it->second;
    auto pos = group.index.find(subscriber);
    if (pos == group.index.end()) return;
    std::size_t i = pos->second;
    group.index.erase(pos);
    std::vector<SubscriberPtr>& members = group.writable_members();
    if (i + 1 != members.size()) {
      members[i] = std::move(members.back());
      group.index[members[i].get()] = i;
    }
    members.pop_back();
    if (members.empty()) groups_.erase(it);
  }

  // The tree was put back to an earlier state whose events the subscribers already have (a refused commit's were
  // never sent): the window follows it silently.
  void rebase(const Node& root) {
    if (query_) window_ = tree::evaluate_keys(node_at(root, path_), *query_);
  }

  void on_change(const Change& change, const Node& root, std::vector<PendingDelivery>& out) {
    if (query_) {
      on_query_change(change, root, out);
    } else {
      on_plain_change(change, root, out);
    }
  }

 private:
  void emit(const ViewEvent& event, std::vector<PendingDelivery>& out) {
    for (auto& [key, group] : groups_) {
      if (auto bytes = group.members->front()->render(event)) out.push_back({group.members, std::move(bytes)});
    }
  }

  ViewEvent make_event(ViewEvent::Kind kind, Path at) const {
    ViewEvent event;
    event.kind = kind;
    event.view_path = &path_;
    event.query = query();
    event.path = std::move(at);
    return event;
  }

  void on_plain_change(const Change& change, const Node& root, std::vector<PendingDelivery>& out) {
    std::vector<const WrittenLocation*> inside;
    for (const auto& location : change.locations) {
      if (location.path.is_prefix_of(path_)) {
        // The whole view was replaced: send its new value, unless nothing changed at this depth.
        const Node& now = node_at(root, path_);
        const Node* before = location.old_value.find(path_.relative_to(location.path));
        if (now == (before ? *before : kNull)) return;
        ViewEvent event = make_event(ViewEvent::Kind::put, path_);
        event.value = &now;
        emit(event, out);
        return;
      }
      if (path_.is_prefix_of(location.path)) inside.push_back(&location);
    }
    if (inside.empty()) return;
    if (inside.size() == 1 && !change.is_merge) {
      ViewEvent event = make_event(ViewEvent::Kind::put, inside.front()->path);
      event.value = &node_at(root, inside.front()->path);
      emit(event, out);
      return;
    }
    const Path& base = path_.is_prefix_of(change.base) ? change.base : path_;
    ViewEvent event = make_event(ViewEvent::Kind::merge, base);
    for (const WrittenLocation* location : inside) {
      event.merge.emplace_back(location->path.relative_to(base), root.find(location->path));
    }
    emit(event, out);
  }

  // A query view keeps its window (the selected keys) and sends what entered, left, or changed inside it.
  void on_query_change(const Change& change, const Node& root, std::vector<PendingDelivery>& out) {
    bool covered = false;
    std::unordered_set<std::string> touched;  // children of the view written below
    for (const auto& location : change.locations) {
      if (location.path.is_prefix_of(path_)) {
        covered = true;
      } else if (path_.is_prefix_of(location.path)) {
        touched.insert(location.path[path_.size()]);
      }
    }
    if (!covered && touched.empty()) return;
    const Node& at = node_at(root, path_);
    std::vector<std::string> window = tree::evaluate_keys(at, *query_);
    std::unordered_set<std::string> before(window_.begin(), window_.end());
    ViewEvent event = make_event(ViewEvent::Kind::merge, path_);
    for (const std::string& key : window) {
      bool was_in = before.erase(key) > 0;
      if (!was_in || covered || touched.count(key)) {
        event.merge.emplace_back(Path({key}), at.find_child(key));
      }
    }
    for (const std::string& key : before) event.merge.emplace_back(Path({key}), nullptr);  // left the window
    window_ = std::move(window);
    if (!event.merge.empty()) emit(event, out);
  }

  Hub::TrieNode* owner_;
  Path path_;
  std::optional<tree::Query> query_;
  std::vector<std::string> window_;
  std::map<std::string, Group> groups_;
};

struct Hub::TrieNode {
  TrieNode* parent = nullptr;
  std::string key;
  std::unordered_map<std::string, std::unique_ptr<TrieNode>> children;
  std::map<std::string, std::unique_ptr<View>> views;  // by query identifier ("" = plain)
};

Hub::Hub() : root_(std::make_unique<TrieNode>()) {}
Hub::~Hub() = default;

Hub::Handle Hub::subscribe(const Path& path, const std::optional<tree::Query>& query, SubscriberPtr subscriber,
                           const Node& root, std::vector<PendingDelivery>* deferred) {
  TrieNode* node = root_.get();
  for (const std::string& key : path.segments()) {
    auto& child = node->children[key];
    if (!child) {
      child = std::make_unique<TrieNode>();
      child->parent = node;
      child->key = key;
    }
    node = child.get();
  }
  std::optional<tree::Query> effective = query && !query->loads_all_data() ? query : std::nullopt;
  std::string id = effective ? effective->identifier() : std::string();
  auto& view = node->views[id];
  if (!view) {
    view = std::make_unique<View>(node, path, effective);
    ++view_count_;
  }
  const Subscriber* raw = subscriber.get();
  view->add(std::move(subscriber), root, deferred);
  ++subscription_count_;
  return {view.get(), raw};
}

void Hub::unsubscribe(const Handle& handle) {
  if (!handle.view) return;
  View* view = handle.view;
  view->remove(handle.subscriber);
  --subscription_count_;
  if (!view->empty()) return;
  TrieNode* node = view->owner();
  std::string id = view->query() ? view->query()->identifier() : std::string();
  node->views.erase(id);
  --view_count_;
  // Delete trie nodes left with neither views nor children, so subscriptions cannot bloat memory.
  while (node->parent && node->views.empty() && node->children.empty()) {
    TrieNode* parent = node->parent;
    parent->children.erase(node->key);
    node = parent;
  }
}

void Hub::publish(const Change& written, const Node& root, std::vector<PendingDelivery>& out) {
  // A location whose value the write left as it was changes nothing for any view (removing an absent child, setting
  // a value again): it is dropped here, once, rather than sent to every view above it.
  auto unchanged = [&](const WrittenLocation& location) { return node_at(root, location.path) == location.old_value; };
  std::optional<Change> effective;
  if (std::any_of(written.locations.begin(), written.locations.end(), unchanged)) {
    effective.emplace();
    effective->base = written.base;
    effective->is_merge = written.is_merge;
    for (const WrittenLocation& location : written.locations) {
      if (!unchanged(location)) effective->locations.push_back(location);
    }
    if (effective->locations.empty()) return;
  }
  const Change& change = effective ? *effective : written;
  // Views at the base and its ancestors...
  TrieNode* node = root_.get();
  for (std::size_t depth = 0;; ++depth) {
    for (auto& [id, view] : node->views) view->on_change(change, root, out);
    if (depth == change.base.size()) break;
    auto it = node->children.find(change.base[depth]);
    if (it == node->children.end()) return;
    node = it->second.get();
  }
  // ...then every view below the base.
  std::vector<TrieNode*> stack;
  for (auto& [key, child] : node->children) stack.push_back(child.get());
  while (!stack.empty()) {
    TrieNode* current = stack.back();
    stack.pop_back();
    for (auto& [id, view] : current->views) view->on_change(change, root, out);
    for (auto& [key, child] : current->children) stack.push_back(child.get());
  }
}

void Hub::clear() {
  root_ = std::make_unique<TrieNode>();
  view_count_ = 0;
  subscription_count_ = 0;
}

void Hub::for_each_subscription(
    const std::function<void(const Path&, const tree::Query*, const SubscriberPtr&)>& fn) const {
  std::vector<const TrieNode*> stack{root_.get()};
  while (!stack.empty()) {
    const TrieNode* current = stack.back();
    stack.pop_back();
    for (const auto& [id, view] : current->views) {
      for (const auto& [key, group] : view->groups()) {
        for (const auto& member : *group.members) fn(view->path(), view->query(), member);
      }
    }
    for (const auto& [key, child] : current->children) stack.push_back(child.get());
  }
}

void Hub::rebase(const Node& root) {
  std::vector<TrieNode*> stack{root_.get()};
  while (!stack.empty()) {
    TrieNode* current = stack.back();
    stack.pop_back();
    for (auto& [id, view] : current->views) view->rebase(root);
    for (auto& [key, child] : current->children) stack.push_back(child.get());
  }
}

}  // namespace backside::sync
