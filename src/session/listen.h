#pragma once
// One live listen of a client session: a hub subscription that ends when this handle is dropped (RAII, like
// userver's subscriber scopes). The database answers a listen asynchronously, so a listen may be cancelled before
// its hub handle exists; the handle then unsubscribes as soon as it arrives. Whatever the door, this race is
// handled here once.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "db/database.h"
#include "sync/subscriber.h"
#include "tree/path.h"
#include "tree/query.h"

namespace backside::session {

// A hub subscriber owned by a session's listen. The listen stops it when it ends, so that nothing is delivered
// after an unlisten even while the database has not yet dropped the subscription (deliveries run on its threads).
class SessionSubscriber : public sync::Subscriber {
 public:
  bool active() const { return active_.load(std::memory_order_acquire); }
  // Stops deliveries; true for the one caller that stopped it (a revoke and an unlisten may race).
  bool stop() { return active_.exchange(false, std::memory_order_acq_rel); }

 private:
  std::atomic<bool> active_{true};
};

class Listen {
 public:
  using Done = std::function<void(const Result<sync::Hub::Handle>&)>;

  Listen(db::Database& database, std::shared_ptr<SessionSubscriber> subscriber);
  ~Listen() { cancel(); }
  Listen(const Listen&) = delete;
  Listen& operator=(const Listen&) = delete;

  // Asks the database for the subscription. `done` runs on the database's writer thread with its answer, after the
  // handle is recorded (or dropped, if the listen was cancelled meanwhile). Call once.
  void start(tree::Path path, std::optional<tree::Query> query, identity::Identity identity, Done done);
  // Stops deliveries and unsubscribes, now or as soon as the subscription exists. Idempotent, any thread.
  void cancel();

  const std::shared_ptr<SessionSubscriber>& subscriber() const { return subscriber_; }

 private:
  // Shared with the database's answer, which may arrive after this handle is gone.
  struct State {
    std::mutex mutex;
    std::optional<sync::Hub::Handle> handle;
    bool cancelled = false;
  };
  db::Database& database_;
  std::shared_ptr<SessionSubscriber> subscriber_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace backside::session
