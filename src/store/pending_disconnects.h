#pragma once
// onDisconnect operations kept in PostgreSQL under this node's lease (docs/cluster.md), so that they run even when
// the node holding their client dies: each database's owner runs the operations of every node whose lease ran out.
//
// A node process is one *incarnation* (its node id and a random suffix: a node restarted with the same id is a new
// incarnation, so the sessions of the one that died are not taken for its own). It renews its lease in
// `backside_nodes` every third of `lease`; each client session's operations are rows of `backside_disconnects`,
// appended in the session's order. A session that ends on its node runs its writes there and forgets the rows; a
// database's owner scans, every `scan_interval`, for rows whose incarnation's lease ran out, and runs each such
// session's operations as one write (at least once: an owner dying between that write and forgetting its rows
// leaves them to the next owner).
//
// Threading: one thread of its own runs every statement, in the order they were asked for; callbacks run on it
// (and must not block). Outlives every database using it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "util/result.h"

namespace backside::store {

class PgConnection;

struct PendingDisconnectsOptions {
  std::string url;      // postgresql://USER@HOST:PORT/DB
  std::string node_id;  // this node (app/node_id.h); the incarnation adds a random suffix
  std::chrono::milliseconds lease{10000};         // another node's operations run once its lease is this old
  std::chrono::milliseconds scan_interval{1000};  // how often an owner looks for them
};

class PendingDisconnects {
 public:
  // Connects, creates the tables if needed and takes this incarnation's lease. unavailable when PostgreSQL cannot
  // be reached.
  static Result<std::unique_ptr<PendingDisconnects>> open(PendingDisconnectsOptions options);
  // Finishes every queued statement, then ends this incarnation's lease at once: what is still kept (sessions whose
  // writes did not run) goes to the databases' owners.
  ~PendingDisconnects();
  PendingDisconnects(const PendingDisconnects&) = delete;
  PendingDisconnects& operator=(const PendingDisconnects&) = delete;

  const std::string& incarnation() const { return incarnation_; }
  // A session number no other session of this incarnation has.
  std::uint64_t new_session();

  // Appends `operation` (opaque bytes: db/kept_disconnect.h) as number `ordinal` of `session` of `database`;
  // `client`: the door's id for the client's session, which its next connection may name (Firebase's `ls`), or
  // empty. `done` gets whether it is durable.
  void append(std::string database, std::uint64_t session, std::uint64_t ordinal, std::string client,
              std::string operation, std::function<void(Status)> done);
  // Forgets every operation of a session (it ran). `incarnation` empty: this one's.
  void forget(std::uint64_t session, std::string incarnation = {});

  // Claims are how a session's operations run exactly once where several could run them: the session's own end on
  // its node, a reconnection of its client on any node (claim_client), and the owner when the node died. A claim
  // deletes the rows and returns them; who gets none does not run the writes.
  // This incarnation's `session`: `done` gets how many of its operations were still kept.
  void claim_session(std::uint64_t session, std::function<void(Result<std::size_t>)> done);
  // The operations kept for client `client` of `database` on any node, in order (none: empty).
  void claim_client(std::string database, std::string client,
                    std::function<void(Result<std::vector<std::string>>)> done);
  // Runs `task` on the keeper's thread once everything asked for before it is done.
  void then(std::function<void()> task);
  // Waits until everything asked for so far is done (a database stopping: what its sessions' ends queued here
  // reaches it first). Not on the keeper's thread.
  void flush();

  // The operations of a session whose node's lease ran out, in order.
  struct Orphan {
    std::string database;
    std::string incarnation;
    std::uint64_t session = 0;
    std::vector<std::string> operations;
  };
  // Runs an orphan; calls `finished(true)` once it has run (its rows are forgotten) or `finished(false)` to have it
  // offered again at a later scan (it could not run now). Called on the keeper's thread.
  using Runner = std::function<void(Orphan orphan, std::function<void(bool ran)> finished)>;
  class Serving {
   public:
    ~Serving();  // no runner call starts after it returns, and none is in progress
    Serving(const Serving&) = delete;
    Serving& operator=(const Serving&) = delete;

   private:
    friend class PendingDisconnects;
    Serving(PendingDisconnects& keeper, std::string database) : keeper_(keeper), database_(std::move(database)) {}
    PendingDisconnects& keeper_;
    std::string database_;
  };
  // The database's owner: from now on its orphans are given to `run` until the handle is dropped.
  std::unique_ptr<Serving> serve(std::string database, Runner run);

 private:
  explicit PendingDisconnects(PendingDisconnectsOptions options, std::unique_ptr<PgConnection> connection);
  void loop();
  Status renew();
  void scan();
  void scan(const std::vector<std::string>& databases);  // the ones this node serves
  void finished(const std::string& database, const std::string& incarnation, std::uint64_t session, bool ran);

  const PendingDisconnectsOptions options_;
  const std::string incarnation_;
  const std::unique_ptr<PgConnection> connection_;  // the keeper thread's
  std::atomic<std::uint64_t> next_session_{1};

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // statements and tasks, run on the thread in order
  bool stopping_ = false;

  // The databases this node owns now; held by the thread while it calls their runners.
  std::mutex serving_mutex_;
  std::map<std::string, Runner> serving_;
  // Orphans given to a runner and not finished: not offered twice. Guarded by mutex_.
  std::set<std::tuple<std::string, std::string, std::uint64_t>> running_;

  // The thread's.
  std::chrono::steady_clock::time_point renewed_at_{};
  std::chrono::steady_clock::time_point scanned_at_{};
  std::chrono::steady_clock::time_point cleaned_at_{};
  std::chrono::steady_clock::time_point failure_logged_at_{};
  std::thread thread_;
};

}  // namespace backside::store
