#include "db/database.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <iterator>
#include <new>
#include <utility>

#include "cluster/replicated_batch.h"
#include "db/forwarded_write.h"
#include "db/kept_disconnect.h"
#include "db/write_path.h"
#include "tree/hash.h"
#include "tree/json_codec.h"
#include "util/excerpt.h"
#include "util/send_batch.h"
#include "util/unix_time.h"

namespace backside::db {

using tree::Node;
using tree::Path;

namespace {

// One location a write replaces, with its new (normalized, resolved) value.
struct Assignment {
  Path path;
  Node value;
  std::string label;       // how the client named it (update keys), for the echoed reply
  bool priority = false;   // a ".priority" key: only the node's priority changes
};

metrics::ServerMetrics& counted() { return metrics::server_metrics(); }

void count_answer(const std::optional<metrics::Door>& door, const std::optional<Error>& error) {
  if (door) counted().writes(*door, metrics::write_result_of(error)).add();
}

// The echo of a priority write: the priority the client set, not the node it now decorates.
Node priority_echo(const Node& node) {
  if (!node.priority()) return Node();
  return std::visit([](const auto& p) { return Node::leaf(Node::Leaf(p)); }, *node.priority());
}

}  // namespace

Result<std::unique_ptr<Database>> Database::open(DatabaseOptions options) {
  auto loaded = options.store->load();
  if (!loaded) return loaded.error();
  return std::unique_ptr<Database>(new Database(options, std::move(loaded->root), loaded->sequence));
}

Database::Database(DatabaseOptions& options, Node root, std::uint64_t sequence)
    : name_(std::move(options.name)),
      store_(std::move(options.store)),
      root_(std::move(root)),
      max_update_keys_(options.max_update_keys),
      rules_(options.rules),
      published_rules_(std::move(options.rules)),
      store_retry_interval_(options.store_retry_interval),
      broker_(options.broker),
      sequence_(sequence),
      replica_catch_up_interval_(options.replica_catch_up_interval),
      pending_disconnects_(options.pending_disconnects) {
  lease_renewal_ms_ = store_->lease_renewal_interval().count();
  leaf_count_at_open_ = root_.leaf_count();
  if (auto refusing = store_->refusing_commits()) {
    // Opened on a full disk (the log could not be applied): reads work, writes wait for room.
    spdlog::error("database {}: opened read-only until the store recovers: {}", name_, refusing->message);
    store_failure_ = std::move(*refusing);
    publish_storage_state();
  }
  is_replica_ = options.replica || store_->replica();
  if (is_replica_) {
    replication_ = std::make_unique<cluster::SequencedApply>(
        sequence,
        [this](std::uint64_t after, std::size_t max) { return store_->changes_since(after, max); },
        [this](std::uint64_t applied, const store::WriteBatch& batch) { apply_replicated(applied, batch); });
  }
  committer_ = std::thread([this] { committer_loop(); });
  writer_ = std::thread([this] { writer_loop(); });
  if (!is_replica_) serve_forwarded_writes();
  forward_target_->database = this;
  if (replication_ && broker_) subscribe_as_replica();
}

void Database::subscribe_as_replica() {
  // Batches published between the load and this subscription show as a gap at the next one (or at the tick), and
  // are read from the change log.
  replica_subscription_ = broker_->subscribe(name_, [this](const cluster::PublishedBatchPtr& published) {
    enqueue({false, [this, published] {
               if (is_replica_) replication_done(replication_->receive(published->sequence, published->batch));
             }});
  });
}

void Database::become_replica() {
  write_server_.reset();
  orphan_runner_.reset();
  store_->step_down();
  lease_renewal_ms_ = 0;
  store_failure_.reset();
  if (!replication_) {
    replication_ = std::make_unique<cluster::SequencedApply>(
        sequence_.load(),
        [this](std::uint64_t after, std::size_t max) { return store_->changes_since(after, max); },
        [this](std::uint64_t applied, const store::WriteBatch& batch) { apply_replicated(applied, batch); });
  }
  is_replica_ = true;
  // The tree holds the refused turn: back to the new owner's snapshot, listeners hearing what changed meanwhile.
  // Until that load succeeds (the tick retries it), nothing is shown.
  tree_stale_ = true;
  replica_needs_snapshot_ = false;
  reload_replica();
  subscribe_as_replica();
  spdlog::warn("database {}: another node took the database over (this node's lease had run out); this node holds "
               "a replica now and forwards writes to it",
               name_);
}

void Database::serve_forwarded_writes() {
  if (pending_disconnects_) {
    // The onDisconnect writes of clients whose node died: each session's as the one write its end would have made.
    orphan_runner_ = pending_disconnects_->serve(name_, [this](store::PendingDisconnects::Orphan orphan,
                                                               std::function<void(bool)> finished) {
      auto request = replay_kept(orphan.operations);
      if (!request) {
        spdlog::error("database {}: the onDisconnect operations of session {} of ended node {} are unreadable, and "
                      "dropped: {}", name_, orphan.session, orphan.incarnation, request.error().message);
        return finished(true);
      }
      if (!*request) return finished(true);  // all cancelled
      write(std::move(**request), [name = name_, orphan = std::move(orphan),
                                   finished = std::move(finished)](WriteReply&& reply) {
        if (reply.error && reply.error->code == ErrorCode::unavailable) return finished(false);  // at a later scan
        if (reply.error) {
          spdlog::warn("database {}: the onDisconnect write of a client of ended node {} failed: {}", name,
                       orphan.incarnation, reply.error->message);
        }
        finished(true);
      });
    });
  }
  if (!broker_) return;
  // Writes other nodes forward run here as their clients' own: the same rules, compare-and-set and replies.
  write_server_ = broker_->serve_writes(name_, [this](std::string bytes, std::function<void(std::string)> answer) {
    auto request = decode_forwarded_write(bytes);
    if (!request) {
      WriteReply refused;
      refused.error = request.error();
      return answer(encode_forwarded_reply(refused));
    }
    write(std::move(*request), [answer = std::move(answer)](WriteReply&& reply) {
      answer(encode_forwarded_reply(reply));
    });
  });
}

Database::~Database() {
  stop();
  std::lock_guard lock(forward_target_->mutex);
  forward_target_->database = nullptr;
}

void Database::stop() {
  // With kept onDisconnect operations, a session's end goes writer → keeper (the claim) → writer (the write): both
  // queues are worked off, in that order, while this one still takes work, so that the writes of sessions that
  // ended before the stop are made (a rolling restart must not lose its clients' presence).
  if (pending_disconnects_ && writer_.get_id() != std::this_thread::get_id()) {
    auto reached = std::make_shared<std::promise<void>>();
    auto ends_handed_over = reached->get_future();
    if (run([reached](const Node&) { reached->set_value(); })) ends_handed_over.wait();
    pending_disconnects_->flush();
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer_.join();
      return;
    }
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
}

bool Database::enqueue(Task task) {
  {
    std::lock_guard lock(mutex_);
    // While stopping, only the writer itself may add work (a task's follow-up write, such as a closed
    // connection's onDisconnect): the drain loop runs it before the thread ends.
    if (stopping_ && std::this_thread::get_id() != writer_.get_id()) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

namespace {
const Error kClosed{ErrorCode::unavailable, "The database is shutting down"};
const Error kPermissionDenied{ErrorCode::permission_denied, "Permission denied"};
}  // namespace

void Database::writer_loop() {
  std::deque<Task> turn;
  auto next_tick = std::chrono::steady_clock::now() + replica_catch_up_interval_;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      const auto woken = [&] { return stopping_ || !queue_.empty(); };
      if (!is_replica_) {
        wake_.wait(lock, woken);
      } else if (std::chrono::steady_clock::now() >= next_tick || !wake_.wait_until(lock, next_tick, woken)) {
        // Due (however busy the replica is): what the broker lost, and whether the owner is still there.
        lock.unlock();
        replica_tick();
        next_tick = std::chrono::steady_clock::now() + replica_catch_up_interval_;
        continue;
      }
      if (queue_.empty()) break;  // stopping and drained
      turn.swap(queue_);
    }
    bool recover;
    {
      std::lock_guard lock(commit_mutex_);
      recover = commit_failed_;
    }
    if (recover) wait_committed();
    // Writes are applied and staged, and reads and listens answered behind them; anything else first needs the
    // staged writes committed, so that it sees (and shows) only durable data, in arrival order.
    for (Task& task : turn) {
      if (!task.staged) {
        hand_off();
        wait_committed();
      }
      try {
        task.run();
      } catch (const std::exception& error) {  // a read, listen or tool task: it changed nothing, but may have staged
        abandon_turn(error.what());
      }
    }
    turn.clear();
    hand_off();
  }
  hand_off();
  wait_committed();
  // The broker's handles are the writer's (a takeover or a step-down replaces them): they end here, on its thread.
  // Meanwhile, what they would queue was refused (stopping).
  replica_subscription_.reset();
  write_server_.reset();
  orphan_runner_.reset();
  {
    std::lock_guard lock(commit_mutex_);
    committer_stopping_ = true;
  }
  commit_wake_.notify_all();
  committer_.join();
  // Subscribers learn that the database closed (their streams end cleanly), and are released now, while their
  // connections' I/O context still exists.
  hub_.for_each_subscription(
      [](const Path&, const tree::Query*, const sync::SubscriberPtr& s) { s->revoked(Error{ErrorCode::unavailable, "database closed"}); });
  hub_.clear();
  publish_listen_counts();
  listening_.clear();
  // Forwarded writes the owner committed and this replica had not shown yet: they are durable, so they are answered
  // as the owner answered them.
  for (auto& [sequence, answer] : parked_answers_) {
    count_answer(answer.door, answer.reply.error);
    answer.done(std::move(answer.reply));
  }
  parked_answers_.clear();
}

void Database::write(WriteRequest request, WriteCallback done) {
  if (request.simulation) request.dry_run = true;
  // A replica checks dry runs itself (its tree is the owner's as of a sequence); real writes go to the owner.
  if (is_replica_ && broker_ && !request.dry_run) return forward_write(std::move(request), std::move(done));
  auto shared = std::make_shared<std::pair<WriteRequest, WriteCallback>>(std::move(request), std::move(done));
  auto run = [this, shared] {
    try {
      apply_write(shared->first, shared->second);
    } catch (const std::exception& error) {
      abandon_turn(error.what());
      if (shared->second) {  // not yet staged: answered here
        WriteReply refused;
        refused.error = Error{ErrorCode::unavailable, "Internal error: the write was not applied"};
        if (!shared->first.dry_run) count_answer(shared->first.door, refused.error);
        std::exchange(shared->second, nullptr)(std::move(refused));
      }
    }
  };
  if (!enqueue({.staged = true, .run = std::move(run)})) {
    WriteReply reply;
    reply.error = kClosed;
    if (!shared->first.dry_run) count_answer(shared->first.door, reply.error);
    shared->second(std::move(reply));
  }
}

namespace {
// A read or listen whose answer a failed commit refused runs again once the tree is back to what is durable, up to
// this many runs in all; then it is answered with the failure.
constexpr int kAnswerAttempts = 3;
}  // namespace

struct Database::PendingRead {
  Path path;
  std::optional<tree::Query> query;
  identity::Identity auth;
  ReadCallback done;
  int attempts = 0;
};

struct Database::PendingListen {
  Path path;
  std::optional<tree::Query> query;
  identity::Identity auth;
  sync::SubscriberPtr subscriber;
  ListenCallback done;
  int attempts = 0;
};

void Database::read(Path path, std::optional<tree::Query> query, identity::Identity auth, ReadCallback done) {
  auto pending = std::make_shared<PendingRead>(
      PendingRead{std::move(path), std::move(query), std::move(auth), std::move(done)});
  if (!enqueue({.staged = true, .run = [this, pending] { run_read(pending); }})) {
    if (ReadSend send = pending->done(&kClosed, Node())) send();
  }
}

void Database::run_read(const std::shared_ptr<PendingRead>& pending) {
  ++pending->attempts;
  const PendingRead& r = *pending;
  const ReadSend send = [&]() -> ReadSend {
    if (Status shown = readable(); !shown) return r.done(&shown.error(), Node());
    const rules::QueryInfo info = r.query ? rules::query_info(*r.query) : rules::QueryInfo();
    if (!rules::can_read(*rules_->compiled, r.path, root_, r.auth, static_cast<double>(unix_millis()),
                         r.query ? &info : nullptr)) {
      counted().rules_denials(metrics::RulesOperation::read).add();
      return r.done(&kPermissionDenied, Node());
    }
    const Node* at = root_.find(r.path);
    static const Node kNull;
    if (r.query && !r.query->loads_all_data()) return r.done(nullptr, tree::evaluate(at ? *at : kNull, *r.query));
    return r.done(nullptr, at ? *at : kNull);
  }();
  stage_answer(send, [this, pending](const Error& failure) {
    // Any thread: the committer, or the writer abandoning its turn.
    if (pending->attempts < kAnswerAttempts &&
        enqueue({.staged = true, .run = [this, pending] { run_read(pending); }})) {
      return;
    }
    if (ReadSend refused = pending->done(&failure, Node())) refused();
  });
}

void Database::listen(Path path, std::optional<tree::Query> query, identity::Identity auth, sync::SubscriberPtr subscriber,
                      ListenCallback done) {
  auto pending = std::make_shared<PendingListen>(PendingListen{std::move(path), std::move(query), std::move(auth),
                                                               std::move(subscriber), std::move(done)});
  if (!enqueue({.staged = true, .run = [this, pending] { run_listen(pending); }})) pending->done(kClosed);
}

void Database::run_listen(const std::shared_ptr<PendingListen>& pending) {
  ++pending->attempts;
  const PendingListen& l = *pending;
  // Any thread: the committer, or the writer abandoning its turn.
  auto retry_or_refuse = [this, pending](const Error& failure) {
    if (pending->attempts < kAnswerAttempts &&
        enqueue({.staged = true, .run = [this, pending] { run_listen(pending); }})) {
      return;
    }
    pending->done(failure);
  };
  auto answer_error = [&](const Error& error) {
    stage_answer([pending, error] { pending->done(error); }, retry_or_refuse);
  };
  if (Status shown = readable(); !shown) return answer_error(shown.error());
  const rules::QueryInfo info = l.query ? rules::query_info(*l.query) : rules::QueryInfo();
  if (!rules::can_read(*rules_->compiled, l.path, root_, l.auth, static_cast<double>(unix_millis()),
                       l.query ? &info : nullptr)) {
    counted().rules_denials(metrics::RulesOperation::listen).add();
    return answer_error(kPermissionDenied);
  }
  // The initial value shows the staged writes: it goes out with their events, once they are durable.
  const bool at_once = nothing_pending();
  sync::Hub::Handle handle = hub_.subscribe(l.path, l.query, l.subscriber, root_, at_once ? nullptr : &staged_.deliveries);
  publish_listen_counts();
  listening_[{handle.view, handle.subscriber}] = Listening{l.path, l.query, l.auth, l.subscriber};
  if (at_once) return l.done(handle);
  staged_.acks.push_back(Ack{.answer = [pending, handle] { pending->done(handle); },
                             .refused = [this, handle, retry_or_refuse](const Error& failure) {
                               {
                                 // Its subscription ends before the listen runs again (end_refused_listens).
                                 std::lock_guard lock(commit_mutex_);
                                 refused_listens_.push_back(handle);
                               }
                               retry_or_refuse(failure);
                             }});
}

void Database::unlisten(sync::Hub::Handle handle) {
  // Events already staged for it still reach it (their recipients were fixed when they were rendered).
  enqueue({.staged = true, .run = [this, handle] {
             // A listen the server already ended (revoked by a rules change) is gone from the hub too.
             if (listening_.erase({handle.view, handle.subscriber}) != 0) {
               hub_.unsubscribe(handle);
               publish_listen_counts();
             }
           }});
}

bool Database::nothing_pending() {
  if (is_replica_) return true;
  if (!staged_.batch.empty() || !staged_.deliveries.empty() || !staged_.acks.empty()) return false;
  std::lock_guard lock(commit_mutex_);
  return committing_ == 0;
}

void Database::stage_answer(std::function<void()> answer, std::function<void(const Error&)> refused) {
  if (nothing_pending()) {
    if (answer) answer();
    return;
  }
  staged_.acks.push_back(Ack{.answer = std::move(answer), .refused = std::move(refused)});
}

void Database::end_refused_listens() {
  std::vector<sync::Hub::Handle> refused;
  {
    std::lock_guard lock(commit_mutex_);
    refused.swap(refused_listens_);
  }
  for (const sync::Hub::Handle& handle : refused) {
    if (listening_.erase({handle.view, handle.subscriber}) != 0) hub_.unsubscribe(handle);
  }
  if (!refused.empty()) publish_listen_counts();
}

void Database::set_rules(ActiveRulesPtr rules, std::function<void()> done) {
  {
    std::lock_guard lock(rules_mutex_);
    published_rules_ = rules;
  }
  enqueue({false, [this, rules = std::move(rules), done = std::move(done)] {
             rules_ = rules;
             revoke_disallowed_listens();
             if (done) done();
           }});
}

ActiveRulesPtr Database::rules() const {
  std::lock_guard lock(rules_mutex_);
  return published_rules_;
}

void Database::revoke_disallowed_listens() {
  const double now = static_cast<double>(unix_millis());
  for (auto it = listening_.begin(); it != listening_.end();) {
    const Listening& l = it->second;
    if (l.auth.admin) {
      ++it;
      continue;
    }
    const rules::QueryInfo info = l.query ? rules::query_info(*l.query) : rules::QueryInfo();
    if (rules::can_read(*rules_->compiled, l.path, root_, l.auth, now, l.query ? &info : nullptr)) {
      ++it;
      continue;
    }
    sync::SubscriberPtr subscriber = l.subscriber;
    hub_.unsubscribe({it->first.first, subscriber.get()});
    publish_listen_counts();
    counted().rules_denials(metrics::RulesOperation::listen).add();
    it = listening_.erase(it);
    subscriber->revoked(Error{ErrorCode::permission_denied, "Permission denied"});
  }
}

bool Database::run(std::function<void(const Node&)> task) {
  return enqueue({false, [this, task = std::move(task)] { task(root_); }});
}

void Database::stage_ack(const WriteRequest& request, WriteCallback& done, WriteReply reply) {
  const bool staged = !reply.error && !request.dry_run;
  std::optional<metrics::Door> door = request.dry_run ? std::nullopt : request.door;
  staged_.acks.push_back(Ack{std::exchange(done, nullptr), std::move(reply), door, staged});
}

void Database::publish_storage_state() {
  storage_failing_.store(store_failure_.has_value() || tree_stale_, std::memory_order_relaxed);
}

void Database::publish_listen_counts() {
  listen_count_.store(hub_.subscription_count(), std::memory_order_relaxed);
  view_count_.store(hub_.view_count(), std::memory_order_relaxed);
}

namespace {
std::atomic<int> apply_faults{0};
std::atomic<int> apply_fault_after{0};
}  // namespace

void inject_apply_fault(int after, int count) {
  apply_fault_after.store(after);
  apply_faults.store(count);
}

void Database::abandon_turn(const char* what) {
  spdlog::error("database {}: a request failed inside the database ({}); the writes of this turn are refused and "
                "the tree is read back from disk",
                name_, what);
  Turn abandoned = std::exchange(staged_, Turn());
  wait_committed();  // earlier turns are durable and answered first
  tree_stale_ = true;
  publish_storage_state();
  (void)reload();  // root_ and the hub's query windows back to what is durable
  for (Ack& ack : abandoned.acks) {
    if (!ack.done) {  // a read's or listen's
      ack.refused(Error{ErrorCode::unavailable, "Internal error: the writes this answer showed were not applied"});
      continue;
    }
    WriteReply refused;
    refused.error = Error{ErrorCode::unavailable, "Internal error: the write was not applied"};
    count_answer(ack.door, refused.error);
    ack.done(std::move(refused));
  }
  end_refused_listens();
}

void Database::apply_write(WriteRequest& request, WriteCallback& done) {
  WriteReply reply;
  // A simulation checks against its own rules (or the database's) and traces them.
  const rules::Rules& checked_rules = request.simulation && request.simulation->rules ? *request.simulation->rules
                                                                                       : *rules_->compiled;
  rules::Trace* const trace = request.simulation ? request.simulation->trace.get() : nullptr;
  auto fail = [&](Error error) {
    if (error.code == ErrorCode::permission_denied && !request.simulation) {
      counted().rules_denials(metrics::RulesOperation::write).add();
    }
    reply.error = std::move(error);
    stage_ack(request, done, std::move(reply));
  };
  // A replica without a broker to forward through checks dry runs only.
  if (is_replica_ && !request.dry_run) {
    return fail({ErrorCode::unavailable, "database " + name_ +
                                             " is owned by another node of the cluster; this node holds a replica "
                                             "and cannot reach the owner"});
  }
  // While the store refuses commits, a write is refused before it touches the tree.
  if (Status ready = writable(); !ready) return fail(ready.error());
  tree::ServerValues server_values{static_cast<double>(unix_millis())};
  auto parse_at = [&](const Path& at, const boost::json::value& json) {
    return tree::from_json(json, {.base_depth = at.size(), .server_values = &server_values,
                                  .existing = root_.find(at)});
  };
  // The new value of the node at `at` when only its priority changes (empty nodes cannot carry one).
  auto with_priority = [&](const Path& at, const boost::json::value& json) -> Result<Node> {
    auto priority = tree::priority_from_json(json, {.server_values = &server_values});
    if (!priority) return priority.error();
    const Node* existing = root_.find(at);
    Node node = existing ? *existing : Node();
    node.set_priority(*priority);
    return node;
  };

  // A write its .write rules refuse whatever the data is answered before the data becomes a tree (which costs
  // ~100x the body's bytes): an anonymous client's denied body costs only the JSON it arrived as.
  // Traced, the trace ends up holding only the check that decided: this one when it refuses, else check_write's.
  auto denied_before_data = [&](const std::vector<Path>& locations) {
    if (request.auth.admin) return false;
    if (rules::write_denied_before_data(checked_rules, locations, rules::NodeView(root_), request.auth,
                                        server_values.now_ms, trace)) {
      return true;
    }
    if (trace) trace->clear();
    return false;
  };
  const Error denied{ErrorCode::permission_denied, "Permission denied"};

  Path base = request.path;
  std::vector<Assignment> assignments;
  switch (request.op) {
    case WriteRequest::Op::push:
      base = request.path.child(push_ids_.next(static_cast<std::int64_t>(server_values.now_ms)));
      if (base.size() > tree::kMaxDepth) return fail(invalid("Path is too deep: more than 32 levels"));
      reply.push_key = base.back();
      [[fallthrough]];
    case WriteRequest::Op::set: {
      if (denied_before_data({base})) return fail(denied);
      auto value = parse_at(base, request.data);
      if (!value) return fail(value.error());
      assignments.push_back({base, std::move(*value), {}});
      break;
    }
    case WriteRequest::Op::set_priority: {
      auto value = with_priority(base, request.data);
      if (!value) return fail(value.error());
      assignments.push_back({base, std::move(*value), {}});
      break;
    }
    case WriteRequest::Op::update: {
      if (!request.data.is_object()) return fail(invalid("Update data must be a JSON object"));
      if (const std::size_t keys = request.data.get_object().size(); keys > max_update_keys_) {
        return fail({ErrorCode::too_large, "Update has too many keys: " + std::to_string(keys) + ", the limit is " +
                                               std::to_string(max_update_keys_) + " (max_update_keys)"});
      }
      std::vector<Path> locations;
      std::vector<bool> priority_only;
      for (const auto& [key, json] : request.data.get_object()) {
        auto location = parse_write_path(key);
        if (!location) return fail(invalid("Invalid update key \"" + excerpt(key) + "\": " +
                                           location.error().message));
        Path at = base.child(location->path);
        if (at.size() > tree::kMaxDepth) return fail(invalid("Path is too deep: more than 32 levels"));
        locations.push_back(std::move(at));
        priority_only.push_back(location->priority);
      }
      if (denied_before_data(locations)) return fail(denied);
      std::size_t index = 0;
      for (const auto& [key, json] : request.data.get_object()) {
        Path& at = locations[index];
        const bool priority = priority_only[index++];
        auto value = priority ? with_priority(at, json) : parse_at(at, json);
        if (!value) return fail(value.error());
        assignments.push_back({std::move(at), std::move(*value), std::string(key), priority});
      }
      // Locations must be disjoint: one key may not be an ancestor of another.
      std::vector<const Path*> sorted;
      for (const auto& a : assignments) sorted.push_back(&a.path);
      std::sort(sorted.begin(), sorted.end(),
                [](const Path* a, const Path* b) { return a->segments() < b->segments(); });
      for (std::size_t i = 1; i < sorted.size(); ++i) {
        if (sorted[i - 1]->is_prefix_of(*sorted[i])) {
          return fail(invalid("Invalid update: \"" + sorted[i - 1]->to_string() + "\" is an ancestor of \"" +
                              sorted[i]->to_string() + "\""));
        }
      }
      break;
    }
  }

  if (!request.auth.admin) {
    std::vector<Path> locations;
    std::vector<std::pair<Path, const Node*>> writes;
    for (const auto& a : assignments) {
      locations.push_back(a.path);
      writes.emplace_back(a.path, &a.value);
    }
    const rules::NodeView before(root_);
    const rules::OverlayView after(root_, std::move(writes));
    if (auto allowed = rules::check_write(checked_rules, locations, before, after, request.auth,
                                          server_values.now_ms, trace);
        !allowed) {
      return fail(allowed.error());
    }
  }

  if (request.size_limit) {
    std::vector<Path> locations;
    for (const auto& a : assignments) locations.push_back(a.path);
    if (Status within = check_write_size(*request.size_limit, root_, locations); !within) {
      return fail(within.error());
    }
  }

  if (request.dry_run) return stage_ack(request, done, std::move(reply));

  if (request.if_hash) {
    // A compare-and-set answers whether the hash matches, and a mismatch carries the current value: both tell the
    // data, so only someone who may read it may ask (a transaction reads its data first anyway).
    if (!request.auth.admin &&
        !rules::can_read(*rules_->compiled, request.path, root_, request.auth, server_values.now_ms)) {
      return fail({ErrorCode::permission_denied,
                   "Permission denied: a conditional write (if-match, transaction) needs read access to " +
                       request.path.to_string()});
    }
    const Node* current = root_.find(request.path);
    std::string hash = current ? tree::node_hash(*current) : std::string();
    if (hash != *request.if_hash) {
      reply.current = current ? *current : Node();
      reply.current_hash = std::move(hash);
      return fail({ErrorCode::hash_mismatch, "Transaction hash does not match"});
    }
  }

  if (request.want_written) {
    if (request.op == WriteRequest::Op::update) {
      for (const auto& a : assignments) {
        reply.written_entries.emplace_back(a.label, a.priority ? priority_echo(a.value) : a.value);
      }
    } else if (!assignments.empty()) {
      reply.written = assignments.front().value;
    }
  }
  std::vector<Path> echoed_locations;  // where the reply would show tree data, checked against .read below
  if (!request.auth.admin && (request.want_written || request.want_hash)) {
    if (request.want_hash) echoed_locations.push_back(request.path);
    if (request.want_written) {
      for (const auto& a : assignments) echoed_locations.push_back(a.path);
    }
  }

  sync::Change change;
  change.base = base;
  change.is_merge = request.op == WriteRequest::Op::update;
  int applied = 0;
  for (auto& a : assignments) {
    if (apply_faults.load() > 0 && applied++ == apply_fault_after.load() && apply_faults.fetch_sub(1) > 0) {
      throw std::bad_alloc();
    }
    Node old = root_.set(a.path, std::move(a.value));
    const Node* now = root_.find(a.path);
    static const Node kRemoved;  // a reference to either: `now ? *now : Node()` would copy the written value
    staged_.batch.replace_subtree(a.path, now ? *now : kRemoved);
    // An ancestor (the root included) may have stopped being a leaf, or vanished with its priority: rewrite
    // its own row. A leaf ancestor means the write was a no-op delete below it, and its row is still right.
    for (std::size_t depth = 0; depth < a.path.size(); ++depth) {
      Path ancestor(std::vector<std::string>(a.path.segments().begin(), a.path.segments().begin() + depth));
      const Node* node = root_.find(ancestor);
      if (node == nullptr) {
        staged_.batch.set_object_priority(ancestor, std::nullopt);
      } else if (node->has_children()) {
        staged_.batch.set_object_priority(ancestor, node->priority());
      }
    }
    change.locations.push_back({std::move(a.path), std::move(old)});
  }
  hub_.publish(change, root_, staged_.deliveries);
  // Read rules decide on the data as it now is, as they would for the writer's next read.
  for (const Path& at : echoed_locations) {
    if (rules::can_read(*rules_->compiled, at, root_, request.auth, server_values.now_ms)) continue;
    reply.readable = false;
    reply.written = Node();
    reply.written_entries.clear();
    if (request.want_written) reply.sent = std::move(request.data);
    break;
  }
  if (request.want_hash && reply.readable) {
    const Node* now = root_.find(request.path);
    reply.new_hash = now ? tree::node_hash(*now) : std::string();
  }
  stage_ack(request, done, std::move(reply));
}

void Database::hand_off() {
  if (staged_.batch.empty() && staged_.deliveries.empty() && staged_.acks.empty()) return;
  {
    std::unique_lock lock(commit_mutex_);
    commit_done_.wait(lock, [&] { return commit_queue_.size() < 8; });
    commit_queue_.push_back(std::move(staged_));
    ++committing_;
  }
  staged_ = Turn();
  commit_wake_.notify_one();
}

void Database::wait_committed() {
  bool failed;
  {
    std::unique_lock lock(commit_mutex_);
    commit_done_.wait(lock, [&] { return committing_ == 0; });
    failed = commit_failed_;
  }
  if (broker_ && !is_replica_ && store_->lease_lost()) {
    {
      std::lock_guard lock(commit_mutex_);
      commit_error_.reset();
      commit_failed_ = false;
    }
    return become_replica();
  }
  if (!failed) return;
  std::optional<Error> error;
  {
    std::lock_guard lock(commit_mutex_);
    error = std::exchange(commit_error_, std::nullopt);
    commit_failed_ = false;
  }
  // Later writes are refused up front until the store takes commits again (probed, not retried blindly: each
  // failed commit costs a reload).
  store_failure_ = error ? *error : Error{ErrorCode::unavailable, "Storage failure"};
  next_probe_ = std::chrono::steady_clock::now() + store_retry_interval_;
  // The tree holds changes that never became durable: return to what the store has. Listens answered from it end.
  end_refused_listens();
  tree_stale_ = true;
  publish_storage_state();
  (void)reload();
}

bool Database::reload() {
  auto reloaded = store_->load();
  if (!reloaded) {
    spdlog::error("database {}: reading the tree back after a failed commit failed: {}; reads and writes are "
                  "refused until it succeeds",
                  name_, reloaded.error().message);
    return false;
  }
  root_ = std::move(reloaded->root);
  // Subscribers never got the refused changes' events: query windows follow the tree back without events.
  hub_.rebase(root_);
  tree_stale_ = false;
  publish_storage_state();
  return true;
}

Status Database::readable() {
  if (!tree_stale_) return ok_status();
  // A replica's tree comes back through its snapshot reload (replica_tick), which tells its listeners.
  if (is_replica_) return Error{ErrorCode::unavailable, "The replica is reloading the database; try again"};
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_probe_) {
    next_probe_ = now + store_retry_interval_;
    if (reload()) return ok_status();
  }
  return Error{ErrorCode::unavailable, "Storage failure: the database cannot be read back from disk"};
}

Status Database::writable() {
  if (Status shown = readable(); !shown) return shown;
  if (!store_failure_) return ok_status();
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_probe_) {
    next_probe_ = now + store_retry_interval_;
    if (Status probed = store_->probe(); probed) {
      spdlog::info("database {}: the store works again; writes are accepted", name_);
      store_failure_.reset();
      publish_storage_state();
      return ok_status();
    } else {
      store_failure_ = probed.error();
    }
  }
  return Error{ErrorCode::unavailable,
               "Storage failure: writes are refused until the store recovers (" + store_failure_->message + ")"};
}

void Database::renew_lease() {
  if (Status renewed = store_->renew_lease(); !renewed) {
    if (broker_ && store_->lease_lost()) {
      // Another node took the database over: no more renewals; the writer steps down (wait_committed()).
      lease_renewal_ms_ = 0;
      enqueue({false, [] {}});
      return;
    }
    // The next commit says the same, to its writers: if the lease was taken over, it is fenced and refused.
    spdlog::error("database {}: renewing the lease failed: {}", name_, renewed.error().message);
  }
}

void Database::publish(std::uint64_t sequence, store::WriteBatch&& batch) {
  // After the writers were answered: the commit is durable, and a replica that misses this publish reads the batch
  // from the change log (at its next batch's gap or its idle catch-up).
  auto published = std::make_shared<cluster::PublishedBatch>();
  published->database = name_;
  published->sequence = sequence;
  published->batch = std::move(batch);
  if (Status sent = broker_->publish(std::move(published)); !sent) {
    const auto now = std::chrono::steady_clock::now();
    if (now - publish_failed_at_ >= std::chrono::seconds(10)) {
      publish_failed_at_ = now;
      spdlog::warn("database {}: publishing sequence {} to the other nodes failed (they read it from the change "
                   "log): {}",
                   name_, sequence, sent.error().message);
    }
  }
}

void Database::forward_write(WriteRequest request, WriteCallback done) {
  constexpr std::chrono::seconds kOwnerAnswerTimeout{10};
  auto door = request.door;
  auto shared_done = std::make_shared<WriteCallback>(std::move(done));
  broker_->forward_write(
      name_, encode_forwarded_write(request), kOwnerAnswerTimeout,
      [target = forward_target_, shared_done, door](Result<std::string> answer) {
        ParkedAnswer parked{std::move(*shared_done), WriteReply(), door};
        if (!answer) {
          parked.reply.error = answer.error();
        } else if (auto decoded = decode_forwarded_reply(*answer)) {
          parked.reply = std::move(*decoded);
        } else {
          parked.reply.error = Error{ErrorCode::unavailable, "the owner's answer could not be read (" +
                                                                 decoded.error().message + ")"};
        }
        auto shared = std::make_shared<ParkedAnswer>(std::move(parked));
        std::lock_guard lock(target->mutex);
        if (target->database &&
            target->database->enqueue({false, [database = target->database, shared] {
                                         database->answer_when_applied(std::move(*shared));
                                       }})) {
          return;
        }
        shared->reply = WriteReply();
        shared->reply.error = Error{ErrorCode::unavailable, "The database is shutting down"};
        count_answer(shared->door, shared->reply.error);
        shared->done(std::move(shared->reply));
      });
}

void Database::answer_when_applied(ParkedAnswer answer) {
  // The client sees its write's events before its acknowledgement, as on one node.
  const std::uint64_t needed = answer.reply.sequence;
  parked_answers_.emplace(needed, std::move(answer));
  release_parked_answers();
}

void Database::release_parked_answers() {
  const std::uint64_t applied = sequence_.load(std::memory_order_relaxed);
  while (!parked_answers_.empty() && parked_answers_.begin()->first <= applied) {
    ParkedAnswer answer = std::move(parked_answers_.begin()->second);
    parked_answers_.erase(parked_answers_.begin());
    count_answer(answer.door, answer.reply.error);
    answer.done(std::move(answer.reply));
  }
}

void Database::apply_replicated(std::uint64_t sequence, const store::WriteBatch& batch) {
  if (replica_needs_snapshot_) return;  // the tree is off the owner's: nothing more is applied until the reload
  std::vector<sync::PendingDelivery> deliveries;
  Status applied = cluster::apply_batch(batch, root_, [&](const Path& path, Node&& old) {
    sync::Change change;
    change.base = path;
    change.locations.push_back({path, std::move(old)});
    hub_.publish(change, root_, deliveries);
  });
  sequence_.store(sequence, std::memory_order_relaxed);
  SendBatch send;
  deliver(deliveries);
  release_parked_answers();
  if (!applied) {
    spdlog::error("database {}: sequence {} could not be applied: {}", name_, sequence, applied.error().message);
    replica_needs_snapshot_ = true;  // replication_done() reloads
  }
}

void Database::replica_tick() {
  replication_done(replication_->catch_up());
  if (broker_) try_take_over();
}

void Database::try_take_over() {
  auto taken = store_->take_over();
  if (!taken) {
    const auto now = std::chrono::steady_clock::now();
    if (now - takeover_failed_at_ >= std::chrono::seconds(10)) {
      takeover_failed_at_ = now;
      spdlog::warn("database {}: cannot check the owner's lease now: {}", name_, taken.error().message);
    }
    return;
  }
  if (!*taken) return;  // the owner's lease holds
  const std::uint64_t at = **taken;
  // The lease is this node's: nobody else commits, so the change log up to `at` is final. The tree must reach it
  // before the first commit (the store continues from `at`).
  replication_done(replication_->catch_up());
  if (sequence_.load() != at || replica_needs_snapshot_) {
    spdlog::error("database {}: took the lease over at sequence {} but could only reach {}; giving it back", name_,
                  at, sequence_.load());
    store_->step_down();
    return;
  }
  replica_subscription_.reset();
  is_replica_ = false;
  serve_forwarded_writes();
  lease_renewal_ms_ = store_->lease_renewal_interval().count();
  spdlog::warn("database {}: the owner's lease ran out; this node took the database over at sequence {}", name_, at);
}

void Database::replication_done(Status status) {
  if (replica_needs_snapshot_) return reload_replica();
  if (status) return;
  if (status.error().code == ErrorCode::unavailable) {
    // The change log cannot be read now (PostgreSQL away): the idle catch-up tries again.
    const auto now = std::chrono::steady_clock::now();
    if (now - replica_log_failed_at_ >= std::chrono::seconds(10)) {
      replica_log_failed_at_ = now;
      spdlog::warn("database {}: the replica cannot catch up now (retrying): {}", name_, status.error().message);
    }
    return;
  }
  // not_found: the log no longer reaches back to this replica; anything else: it cannot be followed. Either way
  // the owner's snapshot is the way back.
  spdlog::warn("database {}: the replica reloads a snapshot: {}", name_, status.error().message);
  reload_replica();
}

void Database::reload_replica() {
  auto loaded = store_->load();
  if (!loaded) {
    spdlog::error("database {}: the replica could not reload a snapshot (retrying): {}", name_,
                  loaded.error().message);
    replica_needs_snapshot_ = true;  // the next tick tries again
    return;
  }
  tree_stale_ = false;
  publish_storage_state();
  // Listeners hear the difference as one change at the root: every view compares what it showed with the snapshot.
  Node old = std::exchange(root_, std::move(loaded->root));
  sync::Change change;
  change.locations.push_back({Path(), std::move(old)});
  std::vector<sync::PendingDelivery> deliveries;
  hub_.publish(change, root_, deliveries);
  sequence_.store(loaded->sequence, std::memory_order_relaxed);
  replica_needs_snapshot_ = false;
  replication_->restart(loaded->sequence);
  SendBatch send;
  deliver(deliveries);
  release_parked_answers();
}

void Database::deliver(const std::vector<sync::PendingDelivery>& deliveries) {
  // Consecutive deliveries to the same group (the same view's events from successive writes) go to each subscriber
  // in one call: each subscriber is visited once per run rather than once per event.
  thread_local std::vector<std::shared_ptr<const std::string>> run;
  std::uint64_t delivered = 0;  // events times their subscribers
  for (std::size_t begin = 0; begin < deliveries.size();) {
    const auto* recipients = deliveries[begin].recipients.get();
    std::size_t end = begin;
    run.clear();
    while (end < deliveries.size() && deliveries[end].recipients.get() == recipients) {
      run.push_back(deliveries[end++].bytes);
    }
    if (run.size() == 1) {
      for (const auto& subscriber : *recipients) subscriber->deliver(run.front());
    } else {
      for (const auto& subscriber : *recipients) subscriber->deliver_all(run);
    }
    delivered += recipients->size() * run.size();
    begin = end;
  }
  run.clear();
  if (delivered) counted().fanout_deliveries().add(delivered);
}

void Database::committer_loop() {
  for (;;) {
    Turn turn;
    bool failed_before;
    std::size_t merged = 0;
    {
      std::unique_lock lock(commit_mutex_);
      const auto woken = [&] { return committer_stopping_ || !commit_queue_.empty(); };
      const std::chrono::milliseconds renewal(lease_renewal_ms_.load());
      if (renewal == std::chrono::milliseconds(0) && broker_) {
        // A replica's committer: looks again each second, for the lease a takeover brings.
        if (!commit_wake_.wait_for(lock, std::chrono::seconds(1), woken)) continue;
      } else if (renewal == std::chrono::milliseconds(0)) {
        commit_wake_.wait(lock, woken);
      } else if (!commit_wake_.wait_for(lock, renewal, woken)) {
        // Idle: the lease would lapse without commits, and another node could take the database over.
        lock.unlock();
        renew_lease();
        continue;
      }
      if (commit_queue_.empty()) return;
      // Every turn waiting goes into one transaction: when fsync is slow, batches grow instead of queueing.
      turn = std::move(commit_queue_.front());
      commit_queue_.pop_front();
      merged = 1;
      while (!commit_queue_.empty()) {
        Turn& next = commit_queue_.front();
        turn.batch.append(std::move(next.batch));
        std::move(next.deliveries.begin(), next.deliveries.end(), std::back_inserter(turn.deliveries));
        std::move(next.acks.begin(), next.acks.end(), std::back_inserter(turn.acks));
        commit_queue_.pop_front();
        ++merged;
      }
      failed_before = commit_failed_;
    }
    commit_done_.notify_all();  // room in the queue
    std::optional<Error> failure;
    std::uint64_t committed_sequence = 0;
    if (failed_before) {
      failure = Error{ErrorCode::unavailable, "Storage failure: an earlier commit failed"};
    } else if (!turn.batch.empty()) {
      const auto started = std::chrono::steady_clock::now();
      auto committed = store_->commit(turn.batch);
      if (!committed) {
        spdlog::error("database {}: commit failed: {}", name_, committed.error().message);
        failure = Error{ErrorCode::unavailable, "Storage failure: " + committed.error().message};
      } else {
        committed_sequence = *committed;
        sequence_.store(committed_sequence, std::memory_order_relaxed);
        counted().commit_seconds().observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        counted().commit_writes().observe(static_cast<double>(
            std::count_if(turn.acks.begin(), turn.acks.end(), [](const Ack& ack) { return ack.staged; })));
      }
    }
    if (failure) {
      {
        // Before anyone is answered: a request that follows a refused write's answer finds the writer recovering.
        std::lock_guard lock(commit_mutex_);
        if (!commit_failed_) {
          commit_failed_ = true;
          commit_error_ = failure;
        }
      }
      // Nothing of a refused turn is shown: no events, and replies without tree data (an echo, a hash, or a
      // mismatch's current value could all show changes that were never durable).
      turn.deliveries.clear();
      for (Ack& ack : turn.acks) {
        if (ack.done && (!ack.reply.error || ack.reply.error->code == ErrorCode::hash_mismatch)) {
          ack.reply = WriteReply();
          ack.reply.error = failure;
        }
      }
    }
    {
      // A connection's events of this turn (and a writer's acknowledgements) go out in one write at the end.
      SendBatch batch;
      deliver(turn.deliveries);
      for (Ack& ack : turn.acks) {
        if (!ack.done) {  // a read's or listen's
          if (failure) {
            ack.refused(*failure);
          } else if (ack.answer) {
            ack.answer();
          }
          continue;
        }
        count_answer(ack.door, ack.reply.error);
        if (ack.staged && !failure) ack.reply.sequence = committed_sequence;
        ack.done(std::move(ack.reply));
      }
    }
    if (broker_ && committed_sequence > 0) publish(committed_sequence, std::move(turn.batch));
    {
      std::lock_guard lock(commit_mutex_);
      // A commit fenced by another node's takeover: the writer steps down at once, not at its next request.
      if (failure && broker_ && store_->lease_lost()) enqueue({false, [] {}});
      committing_ -= merged;
    }
    commit_done_.notify_all();
  }
}

}  // namespace backside::db
