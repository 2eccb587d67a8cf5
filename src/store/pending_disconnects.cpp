#include "store/pending_disconnects.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <future>

#include "store/postgresql_connection.h"
#include "store/postgresql_schema.h"
#include "util/secure_random.h"

namespace backside::store {

namespace {

using Clock = std::chrono::steady_clock;

std::string seconds_text(std::chrono::milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

// The sessions of incarnations whose lease ran out (or that ended cleanly, deleting their lease), a bounded
// number per scan.
// Of every database the node owns, in one statement however many it owns.
const std::string kOrphanSessions =
    "SELECT DISTINCT o.db, o.incarnation, o.session FROM backside_disconnects o "
    "WHERE o.db = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM backside_nodes n "
    "WHERE n.incarnation = o.incarnation AND n.expires > now()) "
    "ORDER BY 2, 3, 1 LIMIT 100";

// A text[] literal of `names`, each quoted (so any character is safe).
std::string text_array(const std::vector<std::string>& names) {
  std::string literal = "{";
  for (const auto& name : names) {
    if (literal.size() > 1) literal += ',';
    literal += '"';
    for (char c : name) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  return literal + "}";
}

}  // namespace

Result<std::unique_ptr<PendingDisconnects>> PendingDisconnects::open(PendingDisconnectsOptions options) {
  if (Status valid = check_postgresql_url(options.url); !valid) return valid.error();
  if (options.node_id.empty()) return invalid("pending onDisconnect writes: no node id");
  auto connection = std::make_unique<PgConnection>(options.url, "");
  if (Status connected = connection->ensure_connected(); !connected) return connected.error();
  if (Status created = create_postgresql_schema(*connection); !created) return created.error();
  std::unique_ptr<PendingDisconnects> keeper(new PendingDisconnects(std::move(options), std::move(connection)));
  if (Status renewed = keeper->renew(); !renewed) return renewed.error();
  keeper->thread_ = std::thread([raw = keeper.get()] { raw->loop(); });
  return keeper;
}

PendingDisconnects::PendingDisconnects(PendingDisconnectsOptions options, std::unique_ptr<PgConnection> connection)
    : options_(std::move(options)),
      incarnation_(options_.node_id + "." + secure_random_string(12, "abcdefghijklmnopqrstuvwxyz0123456789")),
      connection_(std::move(connection)) {}

PendingDisconnects::~PendingDisconnects() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t PendingDisconnects::new_session() { return next_session_.fetch_add(1, std::memory_order_relaxed); }

void PendingDisconnects::then(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void PendingDisconnects::flush() {
  if (std::this_thread::get_id() == thread_.get_id()) return;
  std::promise<void> done;
  auto flushed = done.get_future();
  then([&done] { done.set_value(); });
  flushed.wait();
}

void PendingDisconnects::append(std::string database, std::uint64_t session, std::uint64_t ordinal,
                                std::string client, std::string operation, std::function<void(Status)> done) {
  then([this, database = std::move(database), session, ordinal, client = std::move(client),
        operation = std::move(operation), done = std::move(done)] {
    const std::string session_text = std::to_string(session);
    const std::string ordinal_text = std::to_string(ordinal);
    Status status = connection_->ensure_connected();
    if (status) {
      auto inserted = connection_->query(
          "keeping an onDisconnect operation",
          "INSERT INTO backside_disconnects (incarnation, session, ordinal, db, client, op) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          {PgParam::text(incarnation_), PgParam::text(session_text), PgParam::text(ordinal_text),
           PgParam::text(database), PgParam::text(client), PgParam::bytes(operation)});
      if (!inserted) status = inserted.error();
    }
    done(std::move(status));
  });
}

void PendingDisconnects::forget(std::uint64_t session, std::string incarnation) {
  then([this, session, incarnation = incarnation.empty() ? incarnation_ : std::move(incarnation)] {
    Status status = connection_->ensure_connected();
    if (status) {
      auto deleted = connection_->query("forgetting onDisconnect operations that ran",
                                        "DELETE FROM backside_disconnects WHERE incarnation = $1 AND session = $2",
                                        {PgParam::text(incarnation), PgParam::text(std::to_string(session))});
      if (!deleted) status = deleted.error();
    }
    // Left behind, they would run once more when this node's lease ends: logged, not retried (PostgreSQL is away).
    if (!status) spdlog::warn("onDisconnect operations that ran stay kept: {}", status.error().message);
  });
}

void PendingDisconnects::claim_session(std::uint64_t session, std::function<void(Result<std::size_t>)> done) {
  then([this, session, done = std::move(done)] {
    if (Status connected = connection_->ensure_connected(); !connected) return done(connected.error());
    auto claimed = connection_->query("claiming a session's onDisconnect operations",
                                      "DELETE FROM backside_disconnects WHERE incarnation = $1 AND session = $2",
                                      {PgParam::text(incarnation_), PgParam::text(std::to_string(session))});
    if (!claimed) return done(claimed.error());
    done(claimed->affected_rows());
  });
}

void PendingDisconnects::claim_client(std::string database, std::string client,
                                      std::function<void(Result<std::vector<std::string>>)> done) {
  then([this, database = std::move(database), client = std::move(client), done = std::move(done)] {
    if (Status connected = connection_->ensure_connected(); !connected) return done(connected.error());
    auto claimed = connection_->query(
        "claiming a reconnected client's onDisconnect operations",
        "DELETE FROM backside_disconnects WHERE db = $1 AND client = $2 RETURNING ordinal, op",
        {PgParam::text(database), PgParam::text(client)}, /*binary_result=*/true);
    if (!claimed) return done(claimed.error());
    std::vector<std::pair<std::uint64_t, std::string>> rows;
    for (int row = 0; row < claimed->rows(); ++row) {
      const std::string_view ordinal = claimed->value(row, 0);  // binary int8: big-endian
      std::uint64_t number = 0;
      for (unsigned char byte : ordinal) number = number << 8 | byte;
      rows.emplace_back(number, std::string(claimed->value(row, 1)));
    }
    std::sort(rows.begin(), rows.end());
    std::vector<std::string> operations;
    for (auto& [ordinal, operation] : rows) operations.push_back(std::move(operation));
    done(std::move(operations));
  });
}

std::unique_ptr<PendingDisconnects::Serving> PendingDisconnects::serve(std::string database, Runner run) {
  {
    std::lock_guard lock(serving_mutex_);
    serving_[database] = std::move(run);
  }
  return std::unique_ptr<Serving>(new Serving(*this, std::move(database)));
}

PendingDisconnects::Serving::~Serving() {
  std::lock_guard lock(keeper_.serving_mutex_);  // waits for a runner call in progress
  keeper_.serving_.erase(database_);
}

void PendingDisconnects::loop() {
  for (;;) {
    std::deque<std::function<void()>> work;
    {
      std::unique_lock lock(mutex_);
      const auto due = std::min(renewed_at_ + options_.lease / 3, scanned_at_ + options_.scan_interval);
      wake_.wait_until(lock, due, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) break;
      work.swap(queue_);
    }
    for (auto& task : work) task();
    const auto now = Clock::now();
    if (now >= renewed_at_ + options_.lease / 3) {
      if (Status renewed = renew(); !renewed) {
        renewed_at_ = now - options_.lease / 3 + std::chrono::seconds(1);  // again in a second
        if (now - failure_logged_at_ >= std::chrono::seconds(10)) {
          failure_logged_at_ = now;
          spdlog::warn("cannot renew this node's lease on its clients' onDisconnect writes (retrying): {}",
                       renewed.error().message);
        }
      }
    }
    if (now >= scanned_at_ + options_.scan_interval) {
      scanned_at_ = now;
      scan();
    }
  }
  // A clean stop: what is still kept now belongs to the owners at once.
  if (connection_->ensure_connected()) {
    (void)connection_->query("ending this node's lease", "DELETE FROM backside_nodes WHERE incarnation = $1",
                             {PgParam::text(incarnation_)});
  }
}

Status PendingDisconnects::renew() {
  if (Status connected = connection_->ensure_connected(); !connected) return connected;
  auto renewed = connection_->query(
      "renewing this node's lease",
      "INSERT INTO backside_nodes (incarnation, node, expires) VALUES ($1, $2, now() + make_interval(secs => $3)) "
      "ON CONFLICT (incarnation) DO UPDATE SET expires = EXCLUDED.expires",
      {PgParam::text(incarnation_), PgParam::text(options_.node_id), PgParam::text(seconds_text(options_.lease))});
  if (!renewed) return renewed.error();
  renewed_at_ = Clock::now();
  return ok_status();
}

void PendingDisconnects::scan() {
  std::vector<std::string> databases;
  {
    std::lock_guard lock(serving_mutex_);
    for (const auto& [name, runner] : serving_) databases.push_back(name);
  }
  if (!databases.empty()) scan(databases);
  const auto now = Clock::now();
  if (!databases.empty() && now - cleaned_at_ >= std::chrono::minutes(1) && connection_->connected()) {
    cleaned_at_ = now;
    // Leases of incarnations long gone, once nothing of theirs is kept.
    (void)connection_->query(
        "forgetting ended nodes",
        "DELETE FROM backside_nodes n WHERE n.expires < now() - interval '1 hour' "
        "AND NOT EXISTS (SELECT 1 FROM backside_disconnects o WHERE o.incarnation = n.incarnation)",
        {});
  }
}

void PendingDisconnects::scan(const std::vector<std::string>& databases) {
  auto report = [&](const Error& error) {
    const auto now = Clock::now();
    if (now - failure_logged_at_ < std::chrono::seconds(10)) return;
    failure_logged_at_ = now;
    spdlog::warn("cannot look for the onDisconnect writes of ended nodes now: {}", error.message);
  };
  if (Status connected = connection_->ensure_connected(); !connected) return report(connected.error());
  auto sessions = connection_->query("finding the onDisconnect writes of ended nodes", kOrphanSessions,
                                     {PgParam::text(text_array(databases))});
  if (!sessions) return report(sessions.error());
  for (int row = 0; row < sessions->rows(); ++row) {
    Orphan orphan;
    const std::string database(sessions->value(row, 0));
    orphan.database = database;
    orphan.incarnation = std::string(sessions->value(row, 1));
    auto session = sessions->integer(row, 2);
    if (!session) return report(session.error());
    orphan.session = static_cast<std::uint64_t>(*session);
    const auto key = std::make_tuple(database, orphan.incarnation, orphan.session);
    {
      std::lock_guard lock(mutex_);
      if (running_.count(key) != 0) continue;
    }
    auto operations = connection_->query(
        "reading the onDisconnect writes of an ended node",
        "SELECT op FROM backside_disconnects WHERE incarnation = $1 AND session = $2 ORDER BY ordinal",
        {PgParam::text(orphan.incarnation), PgParam::text(std::to_string(orphan.session))},
        /*binary_result=*/true);
    if (!operations) return report(operations.error());
    for (int op = 0; op < operations->rows(); ++op) orphan.operations.emplace_back(operations->value(op, 0));
    std::lock_guard serving(serving_mutex_);
    auto runner = serving_.find(database);
    if (runner == serving_.end()) continue;  // no longer this node's
    {
      std::lock_guard lock(mutex_);
      running_.insert(key);
    }
    const std::string incarnation = orphan.incarnation;
    const std::uint64_t number = orphan.session;
    runner->second(std::move(orphan), [this, database, incarnation, number](bool ran) {
      finished(database, incarnation, number, ran);
    });
  }
}

void PendingDisconnects::finished(const std::string& database, const std::string& incarnation,
                                  std::uint64_t session, bool ran) {
  auto key = std::make_tuple(database, incarnation, session);
  if (!ran) {
    std::lock_guard lock(mutex_);
    running_.erase(key);
    return;
  }
  forget(session, incarnation);
  // Offered again only if forgetting failed, and only after it was tried (this task comes after it).
  then([this, key = std::move(key)] {
    std::lock_guard lock(mutex_);
    running_.erase(key);
  });
}

}  // namespace backside::store
