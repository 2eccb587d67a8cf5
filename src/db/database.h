#pragma once
// A Database is one namespace's tree with its single writer thread (docs/architecture.md): every write, read and
// subscription runs on that thread in arrival order. Writes accepted in one turn are committed to the store in one
// transaction (group commit); only then are their events delivered and their writers answered (principle 3).
#include <boost/json/value.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/broker.h"
#include "cluster/sequenced_apply.h"
#include "db/write_size_limit.h"
#include "identity/identity.h"
#include "metrics/server_metrics.h"
#include "rules/rules.h"
#include "store/pending_disconnects.h"
#include "store/store.h"
#include "sync/hub.h"
#include "tree/node.h"
#include "tree/push_id.h"
#include "tree/query.h"
#include "util/result.h"

namespace backside::db {

struct WriteRequest {
  enum class Op {
    set,           // replace the value at path (null removes)
    update,        // data is an object of relative paths -> values, applied atomically
    push,          // set at a new push ID child of path
    set_priority,  // data is the new priority of the node at path (ignored if the node is empty)
  };
  Op op = Op::set;
  tree::Path path;
  boost::json::value data;
  identity::Identity auth;
  std::optional<std::string> if_hash;  // compare-and-set: node hash expected at path ("" = absent)
  bool want_written = false;            // fill WriteReply::written (REST echoes it)
  bool want_hash = false;               // fill WriteReply::new_hash (REST ETag)
  bool dry_run = false;                 // check only (data, keys, rules) and change nothing: onDisconnect registration
  // REST writeSizeLimit: a write larger than this (what it sends plus what it replaces or removes) is refused
  // after the rules have allowed it, and changes nothing.
  std::optional<WriteSizeLimit> size_limit;
  // The front door it came through, counted in backside_writes_total by how it was answered (not when a dry run);
  // none: the server's own writes (tools), not counted.
  std::optional<metrics::Door> door;
  // The rules playground (console/rules_playground.h): the write is checked exactly as it would be, against `rules` (null:
  // the database's) with every rule evaluated recorded in `trace` (read it once the reply has come), and nothing
  // is written (a simulation is always a dry run). Not counted in metrics.
  struct Simulation {
    std::shared_ptr<const rules::Rules> rules;
    std::shared_ptr<rules::Trace> trace;
  };
  std::optional<Simulation> simulation;
};

// What a write answers carries data from the tree only where the writer may read (.read rules): a client allowed
// to write but not read a location learns nothing of its value from the reply (an echo, a hash, a mismatch).
struct WriteReply {
  std::optional<Error> error;  // hash_mismatch fills `current` and `current_hash`
  std::string push_key;        // for push
  tree::Node written;          // set/push/set_priority: the value as written, server values resolved
  // update: each key as sent, its resolved value (a ".priority" key: the priority alone)
  std::vector<std::pair<std::string, tree::Node>> written_entries;
  std::string new_hash;
  // false: the writer may not read what it wrote (or some of it). Then `written`, `written_entries` and `new_hash`
  // are empty and `sent` holds the request's data as the client sent it, for an echo (server values unresolved:
  // an increment's result would tell the current value).
  bool readable = true;
  boost::json::value sent;
  tree::Node current;  // hash_mismatch: conditional writes need .read at the path, so the writer may see these
  std::string current_hash;
  // The sequence of the commit that made the write durable (0: nothing was committed). A replica answers a write
  // it forwarded once it has applied this sequence (db/forwarded_write.h).
  std::uint64_t sequence = 0;
};

using WriteCallback = std::function<void(WriteReply&&)>;
// A read is answered the way a write is acknowledged: it sees the writes before it at once, and its answer goes
// out once they are durable. So the callback renders on the writer thread, where the value is valid (only during
// the call), and returns what sends the rendering; the database runs that after the commit (or at once, when
// nothing is pending). If that commit fails, the rendering is dropped unsent and the read runs again once the tree
// is back to what is durable (the callback is called again); after repeated failures it is called with the error,
// and what it returns then runs at once.
using ReadSend = std::function<void()>;
using ReadCallback = std::function<ReadSend(const Error* error, const tree::Node& value)>;
using ListenCallback = std::function<void(Result<sync::Hub::Handle>)>;

// A database's security rules: the text as given (comments kept, for GET /.settings/rules.json) and its
// compiled form. Rules are not filters: they decide whole reads, listens and writes.
struct ActiveRules {
  std::string text;
  std::shared_ptr<const rules::Rules> compiled;
  bool configured = false;  // false: the server's default (closed, or open with --dev)
};
using ActiveRulesPtr = std::shared_ptr<const ActiveRules>;

// Keys one multi-path update may have: its rules check and apply are O(n log n), but one request still holds
// the database's writer for all of them.
inline constexpr std::size_t kDefaultMaxUpdateKeys = 10000;

struct DatabaseOptions {
  std::string name;
  std::unique_ptr<store::Store> store;
  ActiveRulesPtr rules;  // required
  std::size_t max_update_keys = kDefaultMaxUpdateKeys;
  // After a failed commit (full disk, I/O error) writes are refused at once, without touching the tree, and the
  // store is probed (Store::probe) at most this often, on a write's arrival, to take writes again by itself.
  std::chrono::milliseconds store_retry_interval{1000};
  // A cluster (docs/cluster.md). With a broker, the database's owner publishes each committed batch to it. A
  // replica (`store` opened as a replica: another node owns the database) subscribes instead and applies the
  // owner's batches in sequence order to its tree, delivering their events to its own listeners; it reads the
  // change log to fill a gap, every `replica_catch_up_interval` when idle (a lost publish), and reloads a snapshot
  // when the log no longer reaches back. A replica refuses writes. The broker must outlive the database.
  cluster::Broker* broker = nullptr;
  bool replica = false;  // also when the store says it is one (store::Store::replica())
  std::chrono::milliseconds replica_catch_up_interval{1000};
  // The shared store's onDisconnect operations (store/pending_disconnects.h): client sessions keep theirs there,
  // and while this node owns the database it runs those of nodes that died. Outlives the database.
  store::PendingDisconnects* pending_disconnects = nullptr;
};

// Test hook (unit tests only): the next `count` writes throw std::bad_alloc after applying `after` of their
// locations to the tree, as an allocation failing midway would. The writer must survive it with the tree intact.
void inject_apply_fault(int after, int count = 1);

class Database {
 public:
  // Loads the tree from the store and starts the writer thread.
  static Result<std::unique_ptr<Database>> open(DatabaseOptions options);
  ~Database();  // stops the writer after it has finished every queued task
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& name() const { return name_; }

  // All of these are thread-safe and asynchronous. Callbacks must not block. A write, read or listen sees every
  // earlier write at once, and is answered once those are durable: write and listen callbacks (and event
  // deliveries, a listen's initial value among them) run on the committer thread after the commit, or on the
  // writer thread when nothing was pending; a read renders on the writer thread (see ReadCallback). run()
  // callbacks run on the writer thread once every earlier write is committed. After stop(), calls fail at once
  // with ErrorCode::unavailable.
  void write(WriteRequest request, WriteCallback done);
  void read(tree::Path path, std::optional<tree::Query> query, identity::Identity auth, ReadCallback done);
  void listen(tree::Path path, std::optional<tree::Query> query, identity::Identity auth, sync::SubscriberPtr subscriber,
              ListenCallback done);
  void unlisten(sync::Hub::Handle handle);
  // Runs `task` on the writer thread with the committed tree (for export and tools). false: the database is
  // stopped and `task` will not run.
  bool run(std::function<void(const tree::Node& root)> task);

  // Replaces the rules after every earlier request; listens the new rules no longer allow are revoked
  // ("permission denied"). `done` runs on the writer thread.
  void set_rules(ActiveRulesPtr rules, std::function<void()> done = {});
  ActiveRulesPtr rules() const;  // thread-safe

  // Stops accepting work, finishes what is queued, and joins the writer thread.
  void stop();

  std::size_t leaf_count_at_open() const { return leaf_count_at_open_; }
  // Thread-safe, for metrics: listens (subscriptions) registered now, and the views they share.
  std::size_t listen_count() const { return listen_count_.load(std::memory_order_relaxed); }
  std::size_t view_count() const { return view_count_.load(std::memory_order_relaxed); }
  // Thread-safe, for readiness: true while the store refuses commits (a full disk, an I/O error) or the tree could
  // not be read back after one; writes are refused meanwhile (docs/reliability.md).
  bool storage_failing() const { return storage_failing_.load(std::memory_order_relaxed); }
  bool replica() const { return is_replica_.load(); }
  // Where client sessions keep their onDisconnect operations so that they run even if this node dies (the shared
  // store); nullptr: only in the session (one node).
  store::PendingDisconnects* pending_disconnects() const { return pending_disconnects_; }
  // Thread-safe: the sequence of the last batch this database committed (owner) or applied (replica).
  std::uint64_t sequence() const { return sequence_.load(std::memory_order_relaxed); }

 private:
  struct Task {
    // Writes, reads, listens and unlistens work on the tree with the writes staged before them, and their answers
    // wait in the turn (principle 3); anything else first waits until the staged writes are committed.
    bool staged = false;
    std::function<void()> run;
  };

  Database(DatabaseOptions& options, tree::Node root, std::uint64_t sequence);
  bool enqueue(Task task);  // false once stopping
  void writer_loop();
  void apply_write(WriteRequest& request, WriteCallback& done);
  // Takes `done` (it is empty afterwards) to answer with `reply` once the turn is committed; `request` says whether
  // and how the answer is counted.
  void stage_ack(const WriteRequest& request, WriteCallback& done, WriteReply reply);
  // A read's or listen's answer: sent at once when nothing is pending (always on a replica, whose tree holds only
  // what the owner committed), else staged behind the writes it has seen.
  bool nothing_pending();
  // Reads and listens as they wait to run, and run again when a failed commit refused their answer.
  struct PendingRead;
  struct PendingListen;
  void run_read(const std::shared_ptr<PendingRead>& pending);
  void run_listen(const std::shared_ptr<PendingListen>& pending);
  void stage_answer(std::function<void()> answer, std::function<void(const Error&)> refused);
  // Listens whose answer a failed commit refused (committer thread, under commit_mutex_): their subscriptions end
  // on the writer thread, before the tree is read back.
  std::vector<sync::Hub::Handle> refused_listens_;
  void end_refused_listens();
  // A task threw (an allocation failed, a bug): what the current turn changed is dropped and the tree is read back
  // from the store, as after a failed commit. The turn's writers are answered with an error.
  void abandon_turn(const char* what);
  // Writer thread: passes the staged turn to the committer (waits only if two turns are already queued).
  void hand_off();
  // Writer thread: waits until every handed-off turn is committed and answered; after a failed commit, reloads
  // the tree from the store so that it again equals what is durable.
  void wait_committed();
  void committer_loop();
  // Writer thread, after a failed commit: whether writes may be applied now (probing the store when due), and
  // whether the tree can be shown (it cannot while a reload after a failed commit has not succeeded).
  Status writable();
  Status readable();
  // Replaces root_ with what the store holds; false (tree_stale_) if that cannot be read.
  bool reload();

  std::string name_;
  std::unique_ptr<store::Store> store_;
  tree::Node root_;
  sync::Hub hub_;
  tree::PushIdGenerator push_ids_;
  std::size_t leaf_count_at_open_ = 0;
  const std::size_t max_update_keys_;

  // Rules: the writer's copy, and the published one for rules() readers.
  ActiveRulesPtr rules_;
  mutable std::mutex rules_mutex_;
  ActiveRulesPtr published_rules_;
  // Every live listen with who asked, so that a rules change can re-check it, and an unlisten of a listen the
  // server already revoked is recognized. Writer thread only.
  struct Listening {
    tree::Path path;
    std::optional<tree::Query> query;
    identity::Identity auth;
    sync::SubscriberPtr subscriber;
  };
  std::map<std::pair<sync::View*, const sync::Subscriber*>, Listening> listening_;  // by handle
  void revoke_disallowed_listens();

  // Work applied to root_ but not yet durable: its store changes, the events it rendered, and its replies.
  // The writer applies turn N+1 while the committer makes turn N durable (the fsync overlaps the CPU work); events
  // and replies are released only after their commit. Anything that must see only durable data (reads,
  // subscriptions) first waits for the committer.
  // Sends a committed turn's events to their subscribers (committer thread).
  static void deliver(const std::vector<sync::PendingDelivery>& deliveries);
  // A write's answer, or a read's or listen's, held until its turn is committed.
  struct Ack {
    WriteCallback done;
    WriteReply reply;
    std::optional<metrics::Door> door;  // counted in backside_writes_total as this door's, when answered
    bool staged = false;                // its changes are in the turn's batch (not refused, not a dry run)
    // A read's or listen's (`done` empty): sends the answer after the commit, or `refused` runs if it fails.
    std::function<void()> answer;
    std::function<void(const Error&)> refused;
  };
  struct Turn {
    store::WriteBatch batch;
    std::vector<sync::PendingDelivery> deliveries;
    std::vector<Ack> acks;
  };
  Turn staged_;
  std::mutex commit_mutex_;
  std::condition_variable commit_wake_;
  std::condition_variable commit_done_;
  std::deque<Turn> commit_queue_;
  std::size_t committing_ = 0;  // turns handed off and not yet finished
  bool commit_failed_ = false;  // set by the committer; later turns fail until the writer has reloaded
  std::optional<Error> commit_error_;  // the failure that set commit_failed_

  // Writer thread. store_failure_: why writes are refused (until a probe succeeds). tree_stale_: root_ may hold
  // refused writes (the reload failed): nothing is shown or written until a reload succeeds.
  std::optional<Error> store_failure_;
  bool tree_stale_ = false;
  // Publishes store_failure_ and tree_stale_ as storage_failing_ for other threads; call after changing either.
  void publish_storage_state();
  std::atomic<bool> storage_failing_{false};
  // Mirrors of the hub's counts for other threads (the hub is the writer's); call after changing the hub.
  void publish_listen_counts();
  std::atomic<std::size_t> listen_count_{0};
  std::atomic<std::size_t> view_count_{0};
  std::chrono::steady_clock::time_point next_probe_{};
  const std::chrono::milliseconds store_retry_interval_;
  bool committer_stopping_ = false;
  std::thread committer_;

  // Cluster. The owner publishes after each commit (committer thread); a replica applies on the writer thread.
  cluster::Broker* broker_ = nullptr;
  std::atomic<std::uint64_t> sequence_{0};
  std::unique_ptr<cluster::SequencedApply> replication_;
  std::unique_ptr<cluster::Subscription> replica_subscription_;
  std::chrono::milliseconds replica_catch_up_interval_{1000};
  std::chrono::steady_clock::time_point replica_log_failed_at_{};
  bool replica_needs_snapshot_ = false;  // a batch could not be applied  // rate-limits the log line of a failing catch-up
  // Committer thread: a committed batch to the other nodes.
  void publish(std::uint64_t sequence, store::WriteBatch&& batch);
  std::chrono::steady_clock::time_point publish_failed_at_{};  // committer thread; rate-limits the log line
  // Committer thread, idle: keeps the owner's lease on a shared store.
  void renew_lease();
  std::atomic<std::chrono::milliseconds::rep> lease_renewal_ms_{0};  // 0: no lease to renew
  // A replica (writes forwarded, batches applied) until it takes the database over.
  std::atomic<bool> is_replica_{false};
  // Writer thread, every replica_catch_up_interval_: the idle catch-up, then a takeover if the owner's lease ran out.
  void replica_tick();
  void try_take_over();
  std::chrono::steady_clock::time_point takeover_failed_at_{};  // rate-limits the log line
  // Owner: takes the writes other nodes forward, and runs the onDisconnect writes of nodes that died.
  void serve_forwarded_writes();
  store::PendingDisconnects* pending_disconnects_ = nullptr;
  std::unique_ptr<store::PendingDisconnects::Serving> orphan_runner_;  // writer thread's, like write_server_
  // Replica: applies the batches the broker brings.
  void subscribe_as_replica();
  // Writer thread: an owner another node fenced (it took the lease over) becomes one of its replicas.
  void become_replica();
  // Writer thread: one owner batch applied to the tree, its events delivered.
  void apply_replicated(std::uint64_t sequence, const store::WriteBatch& batch);
  // Writer thread: the outcome of a receive or catch-up; a replica too far behind reloads a snapshot.
  void replication_done(Status status);
  void reload_replica();

  // Write forwarding (db/forwarded_write.h). The owner serves the writes replicas forward; a replica forwards its
  // clients' writes and answers each once it has applied the owner's commit of it (parked until then).
  std::unique_ptr<cluster::Subscription> write_server_;
  void forward_write(WriteRequest request, WriteCallback done);
  struct ParkedAnswer {
    WriteCallback done;
    WriteReply reply;
    std::optional<metrics::Door> door;
  };
  std::multimap<std::uint64_t, ParkedAnswer> parked_answers_;  // by the sequence they wait for; writer thread
  void answer_when_applied(ParkedAnswer answer);
  void release_parked_answers();
  // What a broker's late reply finds: this database, or nullptr once it is gone.
  struct ForwardTarget {
    std::mutex mutex;
    Database* database = nullptr;
  };
  std::shared_ptr<ForwardTarget> forward_target_ = std::make_shared<ForwardTarget>();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace backside::db
