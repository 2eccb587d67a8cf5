#pragma once
// What a client session means, once for every door (docs/architecture.md): who it is (its identity and when its
// credential ends, on one timer), what it listens to (listens by a door-chosen key, each unsubscribed when
// dropped), what it asked to write when it ends (onDisconnect: one sparse set of writes, checked when asked for and
// bounded in count and bytes), and how much of its work may wait in the core (request credit, in requests and
// bytes). A door keeps only its frames: it parses them into calls here and renders what comes back.
//
// Threading: the door calls from its connection's thread (one call at a time); database answers and deliveries
// arrive on the database's threads. Listens and stored onDisconnect writes are guarded, the rest is the door's.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "db/database.h"
#include "db/sparse_writes.h"
#include "db/write_path.h"
#include "identity/credential_expiry.h"
#include "identity/identity.h"
#include "session/listen.h"
#include "session/request_credit.h"
#include "util/result.h"

namespace backside::session {

// The bounds of one session, the same whatever its door.
struct SessionLimits {
  std::size_t max_listens = 10000;
  // onDisconnect operations a session may ask for, and bytes of their data. Counted as asked for and never given
  // back by a cancel (storing and cancelling in a loop reaches them too): what a session can make the server hold
  // for it is bounded in bytes, not only in count.
  std::size_t max_on_disconnect = 10000;
  std::size_t max_on_disconnect_bytes = std::size_t(16) << 20;
  // Requests taken from the client and not yet answered, and bytes of their payloads: at either bound the door
  // stops reading (TCP backpressure reaches the client); it resumes at half.
  std::size_t max_pending_requests = 1000;
  std::size_t max_pending_bytes = std::size_t(64) << 20;
};

// What a session asks of its door.
struct SessionHooks {
  // Stop (true) or resume (false) reading the client's requests. Called under the credit's lock: post, nothing more.
  std::function<void(bool paused)> pause_reading;
  // The credential ended (its expiry, or its account ended): tell the client in the door's protocol and close.
  // Runs once per credential, on any thread; `credential` says why.
  std::function<void(const identity::CredentialExpiry& credential)> credential_ended;
  // The door's id for this client's session, which the client's next connection may name to say it replaces it
  // (Firebase's `s`, named as `ls`); empty: none. Kept with its onDisconnect operations in a cluster.
  std::string client_id;
  std::string label;  // who this is, for the log ("firebase connection <id>", "stomp connection from <address>")
  // The door whose client this is: its writes (and onDisconnect writes) are counted as that door's
  // (backside_writes_total); none: not counted.
  std::optional<metrics::Door> door;
};

using StatusCallback = std::function<void(const Status&)>;

class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  // `timers` runs the credential's expiry timer; without one the credential's end is noticed only when the door
  // asks (credential_ended()) or a delivery is due.
  static std::shared_ptr<ClientSession> create(db::Database& database, SessionLimits limits, SessionHooks hooks,
                                               boost::asio::any_io_executor timers = {});
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  db::Database& database() const { return database_; }
  const std::string& label() const { return hooks_.label; }

  // --- Identity ---
  // From now on the session acts as `identity` (a new credential starts over: its expiry timer and its account's
  // watch). The default identity is unauthenticated.
  void authenticate(identity::Identity identity);
  const identity::Identity& identity() const { return identity_; }
  // Shared with the session's subscribers, which must deliver nothing once it has ended.
  const std::shared_ptr<identity::CredentialExpiry>& credential() const { return credential_; }
  // True if the credential has ended; the first caller to notice it (this, the timer, the account's end) has the
  // door told (SessionHooks::credential_ended). Doors ask before taking each request.
  bool credential_ended();

  // --- Request credit ---
  // The door counts each request it takes from the client (`bytes`: the size of its payload) until it has answered.
  void begin_request(std::size_t bytes = 0) { credit_.begin(bytes); }
  void end_request(std::size_t bytes = 0) { credit_.end(bytes); }
  const RequestCredit& credit() const { return credit_; }

  // --- Writes and reads, as this session's identity ---
  void write(db::WriteRequest request, db::WriteCallback done);
  void read(tree::Path path, std::optional<tree::Query> query, db::ReadCallback done);

  // --- Listens, by a key the door chooses (a path and query, a subscription id) ---
  bool has_listen(const std::string& key) const;
  std::size_t listen_count() const;
  // Subscribes `subscriber` under `key`, replacing (and ending) a listen already under it. Past max_listens it is
  // refused at once (too_large) and nothing starts. `done` gets the database's answer on its writer thread; a
  // refused listen is forgotten before `done` runs.
  Status listen(std::string key, tree::Path path, std::optional<tree::Query> query,
                std::shared_ptr<SessionSubscriber> subscriber, Listen::Done done);
  // Ends the listen under `key`; false if there is none.
  bool unlisten(const std::string& key);
  // The server ended `subscriber`'s listen (revoked: rules, database closing): forgets it if it is still the one
  // under `key`. Any thread.
  void listen_ended(const std::string& key, const SessionSubscriber* subscriber);

  // --- onDisconnect ---
  // Each is checked now as the write it will become (keys, depth, server values, the rules for this identity: a dry
  // run), so that a bad or forbidden operation fails when asked for, not silently at the end. Checks and cancels go
  // through the database's queue, so they are ordered with each other and with end(). `bytes`: the size of the
  // operation's data as the client sent it, counted against the session's onDisconnect bounds. An operation refused
  // at once (past the bounds, not an object) is returned and `done` never runs; otherwise `done` gets the check's
  // answer on a database thread.
  Status on_disconnect_set(db::WritePath location, boost::json::value value, std::size_t bytes, StatusCallback done);
  Status on_disconnect_update(tree::Path path, boost::json::value children, std::size_t bytes, StatusCallback done);
  // A cancel counts as one operation (it is one more kept in the shared store); refused at once past the bound.
  Status on_disconnect_cancel(tree::Path path, StatusCallback done);

  // --- A reconnection ---
  // This client's previous session (its door's client_id) may have kept onDisconnect operations in the shared
  // store, on another node, maybe one that died: they are claimed and run now, as that session's end would have run
  // them, and then `then` is called (on a database or keeper thread): a door holds the new session's requests until
  // then, so that they come after. Without a shared store `then` is called at once.
  void take_over_client(const std::string& previous_client_id, std::function<void()> then);

  // --- The end ---
  // Drops every listen and runs the stored onDisconnect writes as one write. Idempotent.
  void end();
  bool ended() const { return ended_; }

 private:
  ClientSession(db::Database& database, SessionLimits limits, SessionHooks hooks,
                boost::asio::any_io_executor timers);
  void arm_expiry_timer();
  Status count_on_disconnect(std::size_t bytes);
  // `operation`: the request as kept in the shared store (db/kept_disconnect.h), when the database has one.
  Status on_disconnect_check(db::WriteRequest probe, std::size_t bytes, std::string operation,
                             std::function<void(db::SparseWrites&)> store, StatusCallback done);
  // Database thread, in the order asked: keeps `operation` in the shared store (if any), then applies `store`.
  void keep_on_disconnect(std::string operation, std::function<void(db::SparseWrites&)> store, StatusCallback done);
  // then_forget: the kept rows were not claimed (PostgreSQL away): forgotten once the write ran.
  void run_on_disconnect(const identity::Identity& identity, bool then_forget);

  db::Database& database_;
  const SessionLimits limits_;
  SessionHooks hooks_;
  identity::Identity identity_;
  std::shared_ptr<identity::CredentialExpiry> credential_ = std::make_shared<identity::CredentialExpiry>();
  std::optional<boost::asio::steady_timer> expiry_timer_;
  // With the shared store (database().pending_disconnects()): this session's number there, the next operation's
  // place in its order, and whether anything was kept (then its end forgets it once the write ran).
  const std::uint64_t kept_session_;
  std::atomic<std::uint64_t> kept_ordinal_{0};
  std::atomic<bool> kept_{false};
  RequestCredit credit_;

  mutable std::mutex listens_mutex_;
  std::map<std::string, std::unique_ptr<Listen>> listens_;

  std::mutex on_disconnect_mutex_;  // stored from database callbacks
  db::SparseWrites on_disconnect_;
  std::size_t on_disconnect_operations_ = 0;  // asked for, never given back (door thread)
  std::size_t on_disconnect_bytes_ = 0;
  bool ended_ = false;
};

}  // namespace backside::session
