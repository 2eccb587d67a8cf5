#include "metrics/server_metrics.h"

#include <string>

namespace backside::metrics {

namespace {

// Seconds. A group commit is one write to the log and one fdatasync: tens of microseconds without durability,
// milliseconds on an SSD, more on a slow or shared disk.
const std::vector<double> kCommitSecondsBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
// Writes in one group commit: 1 when idle, more the busier the database is.
const std::vector<double> kCommitWritesBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

Label label(std::string_view name, std::string_view value) { return Label{std::string(name), std::string(value)}; }

}  // namespace

WriteResult write_result_of(const std::optional<Error>& error) {
  if (!error) return WriteResult::ok;
  switch (error->code) {
    case ErrorCode::permission_denied:
    case ErrorCode::invalid_token: return WriteResult::denied;
    case ErrorCode::invalid_argument: return WriteResult::invalid;
    case ErrorCode::too_large: return WriteResult::too_large;
    case ErrorCode::hash_mismatch: return WriteResult::conflict;
    case ErrorCode::unavailable: return WriteResult::unavailable;
    case ErrorCode::not_found:
    case ErrorCode::internal: return WriteResult::error;
  }
  return WriteResult::error;
}

ServerMetrics::ServerMetrics(Registry& registry) {
  for (std::size_t door = 0; door < kDoorNames.size(); ++door) {
    for (std::size_t result = 0; result < kWriteResultNames.size(); ++result) {
      writes_[door][result] = &registry.counter(
          "backside_writes_total",
          "Writes answered (sets, updates, pushes, deletes, transactions, onDisconnect writes when they run), by "
          "front door and result",
          {label("door", kDoorNames[door]), label("result", kWriteResultNames[result])});
    }
  }
  for (std::size_t kind = 0; kind < kConnectionKindNames.size(); ++kind) {
    open_connections_[kind] = &registry.gauge("backside_open_connections",
                                              "Client connections open now, by what carries them",
                                              {label("kind", kConnectionKindNames[kind])});
  }
  for (std::size_t reason = 0; reason < kConnectionRefusalNames.size(); ++reason) {
    refused_connections_[reason] = &registry.counter(
        "backside_refused_connections_total",
        "New connections closed at once by the connection caps (max_connections, max_connections_per_address)",
        {label("reason", kConnectionRefusalNames[reason])});
  }
  for (std::size_t klass = 0; klass < http_responses_.size(); ++klass) {
    http_responses_[klass] = &registry.counter("backside_http_responses_total",
                                               "HTTP responses written (streams and upgrades not included), by "
                                               "status class",
                                               {label("code", std::to_string(klass + 1) + "xx")});
  }
  commit_seconds_ = &registry.histogram(
      "backside_commit_duration_seconds",
      "Time of one group commit: the turn's writes appended to the write-ahead log and synced (durability fsync)",
      kCommitSecondsBuckets);
  commit_writes_ = &registry.histogram("backside_commit_writes", "Writes made durable by one group commit",
                                       kCommitWritesBuckets);
  fanout_deliveries_ = &registry.counter(
      "backside_fanout_deliveries_total",
      "Events handed to subscribers after a commit (one per event and subscriber: the fan-out)");
  for (std::size_t reason = 0; reason < kSlowClientDropNames.size(); ++reason) {
    slow_clients_dropped_[reason] = &registry.counter(
        "backside_slow_clients_dropped_total",
        "Clients disconnected because they did not read what was queued for them fast enough",
        {label("reason", kSlowClientDropNames[reason])});
  }
  for (std::size_t operation = 0; operation < kRulesOperationNames.size(); ++operation) {
    rules_denials_[operation] = &registry.counter(
        "backside_rules_denials_total",
        "Requests the security rules refused (writes include onDisconnect writes refused when asked for)",
        {label("operation", kRulesOperationNames[operation])});
  }
  for (std::size_t result = 0; result < kSignInResultNames.size(); ++result) {
    password_sign_ins_[result] = &registry.counter(
        "backside_password_sign_ins_total",
        "Email/password sign-ins (Auth API signInWithPassword, STOMP CONNECT with login and passcode), by result",
        {label("result", kSignInResultNames[result])});
  }
  for (std::size_t scope = 0; scope < kLockoutScopeNames.size(); ++scope) {
    sign_in_lockouts_[scope] = &registry.counter(
        "backside_sign_in_lockouts_total",
        "Accounts or client addresses that reached their limit of failed sign-ins within the failure window",
        {label("scope", kLockoutScopeNames[scope])});
  }
}

Counter& ServerMetrics::http_responses(unsigned status) {
  std::size_t klass = status / 100;
  if (klass < 1 || klass > 5) klass = 5;  // Beast does not write others; counted as a server error if it ever did
  return *http_responses_[klass - 1];
}

Registry& default_registry() {
  static Registry registry;
  return registry;
}

ServerMetrics& server_metrics() {
  static ServerMetrics metrics(default_registry());
  return metrics;
}

}  // namespace backside::metrics
