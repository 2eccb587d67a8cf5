#include "session/client_session.h"

#include <spdlog/spdlog.h>

#include <boost/json/object.hpp>
#include <chrono>

#include "db/kept_disconnect.h"

namespace backside::session {

namespace json = boost::json;

std::shared_ptr<ClientSession> ClientSession::create(db::Database& database, SessionLimits limits,
                                                     SessionHooks hooks, boost::asio::any_io_executor timers) {
  return std::shared_ptr<ClientSession>(new ClientSession(database, limits, std::move(hooks), std::move(timers)));
}

ClientSession::ClientSession(db::Database& database, SessionLimits limits, SessionHooks hooks,
                             boost::asio::any_io_executor timers)
    : database_(database),
      limits_(limits),
      hooks_(std::move(hooks)),
      kept_session_(database.pending_disconnects() ? database.pending_disconnects()->new_session() : 0),
      credit_(limits.max_pending_requests, limits.max_pending_bytes, [this](bool paused) {
        spdlog::debug("{}: {} requests unanswered, reading {}", hooks_.label, paused ? "at their bound" : "half",
                      paused ? "paused" : "resumed");
        if (hooks_.pause_reading) hooks_.pause_reading(paused);
      }) {
  if (timers) expiry_timer_.emplace(std::move(timers));
}

ClientSession::~ClientSession() = default;

void ClientSession::authenticate(identity::Identity identity) {
  // If the account behind the credential ends, the door is told at once, from whichever thread ends it.
  credential_->set(identity, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->credential_ended();
  });
  identity_ = std::move(identity);
  arm_expiry_timer();
}

void ClientSession::arm_expiry_timer() {
  if (!expiry_timer_) return;
  expiry_timer_->cancel();
  const std::int64_t expires_at = credential_->expires_at();
  if (expires_at == 0) return;
  // The credential's expiry is wall-clock time (a token's `exp`); the wait is measured from now.
  const auto until = std::chrono::system_clock::time_point(std::chrono::seconds(expires_at)) -
                     std::chrono::system_clock::now();
  expiry_timer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(until));
  expiry_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;  // cancelled: a new credential, or the end
    if (auto self = weak.lock()) self->credential_ended();
  });
}

bool ClientSession::credential_ended() {
  if (!credential_->expired()) return false;
  if (credential_->take_end() && hooks_.credential_ended) hooks_.credential_ended(*credential_);
  return true;
}

void ClientSession::write(db::WriteRequest request, db::WriteCallback done) {
  request.auth = identity_;
  request.door = hooks_.door;
  database_.write(std::move(request), std::move(done));
}

void ClientSession::read(tree::Path path, std::optional<tree::Query> query, db::ReadCallback done) {
  database_.read(std::move(path), std::move(query), identity_, std::move(done));
}

bool ClientSession::has_listen(const std::string& key) const {
  std::lock_guard lock(listens_mutex_);
  return listens_.count(key) != 0;
}

std::size_t ClientSession::listen_count() const {
  std::lock_guard lock(listens_mutex_);
  return listens_.size();
}

Status ClientSession::listen(std::string key, tree::Path path, std::optional<tree::Query> query,
                             std::shared_ptr<SessionSubscriber> subscriber, Listen::Done done) {
  Listen* started;
  std::unique_ptr<Listen> replaced;
  {
    std::lock_guard lock(listens_mutex_);
    auto existing = listens_.find(key);
    if (existing != listens_.end()) {
      replaced = std::move(existing->second);
      listens_.erase(existing);
    }
    if (listens_.size() >= limits_.max_listens) {
      return Error{ErrorCode::too_large, "Too many listens on one connection (the limit is " +
                                             std::to_string(limits_.max_listens) + ")"};
    }
    auto listen = std::make_unique<Listen>(database_, subscriber);
    started = listen.get();
    listens_.emplace(key, std::move(listen));
  }
  replaced.reset();  // unsubscribes, outside the lock
  // A refused listen is forgotten (its key free again) before the door hears of it.
  started->start(std::move(path), std::move(query), identity_,
                 [weak = weak_from_this(), key = std::move(key), subscriber = subscriber.get(),
                  done = std::move(done)](const Result<sync::Hub::Handle>& handle) {
                   if (!handle) {
                     if (auto self = weak.lock()) self->listen_ended(key, subscriber);
                   }
                   if (done) done(handle);
                 });
  return ok_status();
}

bool ClientSession::unlisten(const std::string& key) {
  std::unique_ptr<Listen> listen;
  {
    std::lock_guard lock(listens_mutex_);
    auto it = listens_.find(key);
    if (it == listens_.end()) return false;
    listen = std::move(it->second);
    listens_.erase(it);
  }
  return true;  // `listen` unsubscribes as it goes
}

void ClientSession::listen_ended(const std::string& key, const SessionSubscriber* subscriber) {
  std::unique_ptr<Listen> listen;
  {
    std::lock_guard lock(listens_mutex_);
    auto it = listens_.find(key);
    if (it == listens_.end() || it->second->subscriber().get() != subscriber) return;
    listen = std::move(it->second);
    listens_.erase(it);
  }
}

Status ClientSession::count_on_disconnect(std::size_t bytes) {
  // Bounded in bytes as well as in count: what is stored stays in memory (and in the shared store) until the
  // session ends. A cancel counts too: in the shared store it is one more operation kept.
  if (on_disconnect_operations_ >= limits_.max_on_disconnect) {
    return Error{ErrorCode::too_large, "Too many onDisconnect operations on one connection (the limit is " +
                                               std::to_string(limits_.max_on_disconnect) + ")"};
  }
  if (bytes > limits_.max_on_disconnect_bytes - on_disconnect_bytes_) {
    return Error{ErrorCode::too_large, "The onDisconnect operations of one connection would hold more than " +
                                           std::to_string(limits_.max_on_disconnect_bytes) + " bytes of data"};
  }
  ++on_disconnect_operations_;
  on_disconnect_bytes_ += bytes;
  return ok_status();
}

void ClientSession::keep_on_disconnect(std::string operation, std::function<void(db::SparseWrites&)> store,
                                       StatusCallback done) {
  store::PendingDisconnects* keeper = database_.pending_disconnects();
  if (!keeper) {
    {
      std::lock_guard lock(on_disconnect_mutex_);
      store(on_disconnect_);
    }
    return done(ok_status());
  }
  // Kept in the shared store first, so that the database's owner runs it should this node die; stored here (and
  // acknowledged) only once it is durable there. The keeper's thread answers in the order it was asked.
  kept_ = true;
  keeper->append(database_.name(), kept_session_, kept_ordinal_.fetch_add(1), hooks_.client_id, std::move(operation),
                 [self = shared_from_this(), store = std::move(store), done = std::move(done)](Status kept) {
                   if (!kept) {
                     return done(Error{ErrorCode::unavailable,
                                       "The onDisconnect operation could not be stored: " + kept.error().message});
                   }
                   {
                     std::lock_guard lock(self->on_disconnect_mutex_);
                     store(self->on_disconnect_);
                   }
                   done(ok_status());
                 });
}

Status ClientSession::on_disconnect_check(db::WriteRequest probe, std::size_t bytes, std::string operation,
                                          std::function<void(db::SparseWrites&)> store, StatusCallback done) {
  if (Status counted = count_on_disconnect(bytes); !counted) return counted;
  probe.dry_run = true;
  probe.auth = identity_;
  database_.write(std::move(probe), [self = shared_from_this(), operation = std::move(operation),
                                     store = std::move(store), done = std::move(done)](db::WriteReply&& reply) mutable {
    if (reply.error) return done(*reply.error);
    self->keep_on_disconnect(std::move(operation), std::move(store), std::move(done));
  });
  return ok_status();
}

Status ClientSession::on_disconnect_set(db::WritePath location, json::value value, std::size_t bytes,
                                        StatusCallback done) {
  db::WriteRequest probe;
  probe.op = location.priority ? db::WriteRequest::Op::set_priority : db::WriteRequest::Op::set;
  probe.path = location.path;
  probe.data = value;
  std::string operation;
  if (database_.pending_disconnects()) operation = db::encode_kept_set(location, value, identity_);
  return on_disconnect_check(std::move(probe), bytes, std::move(operation),
                             [location = std::move(location), value = std::move(value)](db::SparseWrites& writes) mutable {
                        writes.set(location, std::move(value));
                      },
                      std::move(done));
}

Status ClientSession::on_disconnect_update(tree::Path path, json::value children, std::size_t bytes,
                                           StatusCallback done) {
  if (!children.is_object()) return invalid("Invalid onDisconnect update: the data must be an object");
  db::WriteRequest probe;
  probe.op = db::WriteRequest::Op::update;
  probe.path = path;
  probe.data = children;
  std::string operation;
  if (database_.pending_disconnects()) operation = db::encode_kept_update(path, children, identity_);
  return on_disconnect_check(std::move(probe), bytes, std::move(operation),
                             [path = std::move(path), children = std::move(children)](db::SparseWrites& writes) {
                        writes.update(path, children.get_object());  // keys checked by the probe
                      },
                      std::move(done));
}

Status ClientSession::on_disconnect_cancel(tree::Path path, StatusCallback done) {
  if (Status counted = count_on_disconnect(0); !counted) return counted;
  std::string operation;
  if (database_.pending_disconnects()) operation = db::encode_kept_cancel(path);
  // On the writer queue, so that it comes after every earlier operation has been checked and stored.
  database_.run([self = shared_from_this(), path = std::move(path), operation = std::move(operation),
                 done = std::move(done)](const tree::Node&) mutable {
    self->keep_on_disconnect(std::move(operation),
                             [path = std::move(path)](db::SparseWrites& writes) { writes.cancel(path); },
                             std::move(done));
  });
  return ok_status();
}

void ClientSession::end() {
  if (ended_) return;
  ended_ = true;
  if (expiry_timer_) expiry_timer_->cancel();
  std::map<std::string, std::unique_ptr<Listen>> listens;
  {
    std::lock_guard lock(listens_mutex_);
    listens.swap(listens_);
  }
  listens.clear();  // unsubscribes each
  // On the writer queue: every onDisconnect operation still being checked is stored by then (and, with the shared
  // store, handed to its keeper, whose thread stores it here once kept: the write is made after those).
  database_.run([self = shared_from_this(), identity = identity_](const tree::Node&) {
    store::PendingDisconnects* keeper = self->database_.pending_disconnects();
    if (!keeper || !self->kept_) return self->run_on_disconnect(identity, /*then_forget=*/false);
    // Claimed first: if the client reconnected on another node, that node may have run them already.
    keeper->claim_session(self->kept_session_, [self, identity](Result<std::size_t> claimed) {
      if (!claimed) {
        spdlog::warn("{}: cannot claim the kept onDisconnect operations (running them anyway): {}", self->hooks_.label,
                     claimed.error().message);
        return self->run_on_disconnect(identity, /*then_forget=*/true);
      }
      if (*claimed > 0) self->run_on_disconnect(identity, /*then_forget=*/false);
    });
  });
}

void ClientSession::run_on_disconnect(const identity::Identity& identity, bool then_forget) {
  std::optional<db::WriteRequest> request;
  {
    std::lock_guard lock(on_disconnect_mutex_);
    request = on_disconnect_.to_write(identity);
    on_disconnect_.clear();
  }
  store::PendingDisconnects* keeper = then_forget ? database_.pending_disconnects() : nullptr;
  if (!request) {
    if (keeper) keeper->forget(kept_session_);
    return;
  }
  request->door = hooks_.door;
  database_.write(std::move(*request), [label = hooks_.label, keeper, session = kept_session_](db::WriteReply&& reply) {
    if (reply.error) spdlog::warn("{}: onDisconnect write failed: {}", label, reply.error->message);
    if (keeper) keeper->forget(session);
  });
}

void ClientSession::take_over_client(const std::string& previous_client_id, std::function<void()> then) {
  store::PendingDisconnects* keeper = database_.pending_disconnects();
  if (!keeper || previous_client_id.empty()) return then();
  keeper->claim_client(database_.name(), previous_client_id,
                       [self = shared_from_this(), then = std::move(then)](Result<std::vector<std::string>> claimed) {
                         if (!claimed) {
                           spdlog::warn("{}: cannot claim the onDisconnect operations of the client's previous "
                                        "connection: {}", self->hooks_.label, claimed.error().message);
                         } else if (!claimed->empty()) {
                           auto request = db::replay_kept(*claimed);
                           if (!request) {
                             spdlog::error("{}: the onDisconnect operations of the client's previous connection are "
                                           "unreadable, and dropped: {}", self->hooks_.label, request.error().message);
                           } else if (*request) {
                             (*request)->door = self->hooks_.door;
                             // Queued before `then` lets the new connection's own requests through.
                             self->database_.write(std::move(**request), [label = self->hooks_.label](db::WriteReply&& reply) {
                               if (reply.error) {
                                 spdlog::warn("{}: the onDisconnect write of the client's previous connection failed: {}",
                                              label, reply.error->message);
                               }
                             });
                           }
                         }
                         then();
                       });
}

}  // namespace backside::session
