#pragma once
// The metrics the server counts as things happen, by name and label (docs/operations.md#metrics lists them all),
// in one process-wide registry. Process-wide because a process serves one server (`backside serve`): the modules
// that count (db/, net/, auth/, the doors) reach their series directly, with no registry threaded through every
// options struct and no lookup by name on a hot path; each series is a pointer resolved once, here.
//
// What the server already knows elsewhere (the memory budget, the open databases, the process) is not counted
// here: the app reports it at scrape time through a collector on the same registry (app/scraped_metrics.h).
//
// Label values are closed sets (the enums below), so every series exists from the start (a counter at 0 is
// scraped as 0, not missing) and no client can create series.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "metrics/metric.h"
#include "metrics/registry.h"
#include "util/result.h"

namespace backside::metrics {

// The front door a write came through.
enum class Door : std::uint8_t { rest, firebase, stomp };
inline constexpr std::array<std::string_view, 3> kDoorNames = {"rest", "firebase", "stomp"};

// How a write was answered.
enum class WriteResult : std::uint8_t {
  ok,           // applied, durable, acknowledged
  denied,       // refused by the rules (or a credential that may not write)
  invalid,      // bad data, path, key or request
  too_large,    // over a size bound
  conflict,     // a compare-and-set (transaction, if-match) found another value
  unavailable,  // storage failure, the server shutting down, no memory for it
  error,        // anything else (an internal error)
};
inline constexpr std::array<std::string_view, 7> kWriteResultNames = {"ok",       "denied",      "invalid", "too_large",
                                                                      "conflict", "unavailable", "error"};
WriteResult write_result_of(const std::optional<Error>& error);

// What carries a connection: the label of backside_open_connections.
enum class ConnectionKind : std::uint8_t {
  http,                // an HTTP connection (REST requests, Auth API, long polls), until it upgrades or streams
  event_stream,        // a REST Server-Sent Events stream
  firebase_websocket,  // the Firebase protocol over WebSocket /.ws
  firebase_long_poll,  // a Firebase long-poll session /.lp
  stomp_tcp,           // STOMP over raw TCP
  stomp_websocket,     // STOMP over WebSocket /stomp
};
inline constexpr std::array<std::string_view, 6> kConnectionKindNames = {
    "http", "event_stream", "firebase_websocket", "firebase_long_poll", "stomp_tcp", "stomp_websocket"};

// Why a new connection was closed at once.
enum class ConnectionRefusal : std::uint8_t { server_full, address_full };
inline constexpr std::array<std::string_view, 2> kConnectionRefusalNames = {"server_full", "address_full"};

// Why a client that did not read fast enough was disconnected.
enum class SlowClientDrop : std::uint8_t {
  queue_limit,    // its queue passed max_stream_queue_bytes (or the long-poll queue's bound)
  memory_budget,  // the server-wide memory budget took its queue back, or could not take more of it
};
inline constexpr std::array<std::string_view, 2> kSlowClientDropNames = {"queue_limit", "memory_budget"};

// What the security rules refused.
enum class RulesOperation : std::uint8_t { read, listen, write };
inline constexpr std::array<std::string_view, 3> kRulesOperationNames = {"read", "listen", "write"};

// How a password sign-in (Auth API signInWithPassword, STOMP CONNECT login/passcode) ended.
enum class SignInResult : std::uint8_t { ok, wrong_password, unknown_email, disabled, locked_out, busy, error };
inline constexpr std::array<std::string_view, 7> kSignInResultNames = {
    "ok", "wrong_password", "unknown_email", "disabled", "locked_out", "busy", "error"};

// What a sign-in lockout locks: one account, or one client address.
enum class LockoutScope : std::uint8_t { account, address };
inline constexpr std::array<std::string_view, 2> kLockoutScopeNames = {"account", "address"};

class ServerMetrics {
 public:
  explicit ServerMetrics(Registry& registry);

  Counter& writes(Door door, WriteResult result) {
    return *writes_[index(door)][index(result)];
  }
  Gauge& open_connections(ConnectionKind kind) { return *open_connections_[index(kind)]; }
  Counter& refused_connections(ConnectionRefusal reason) { return *refused_connections_[index(reason)]; }
  // Answers written on HTTP connections, by status class (1xx to 5xx).
  Counter& http_responses(unsigned status);
  Histogram& commit_seconds() { return *commit_seconds_; }
  Histogram& commit_writes() { return *commit_writes_; }
  Counter& fanout_deliveries() { return *fanout_deliveries_; }
  Counter& slow_clients_dropped(SlowClientDrop reason) { return *slow_clients_dropped_[index(reason)]; }
  Counter& rules_denials(RulesOperation operation) { return *rules_denials_[index(operation)]; }
  Counter& password_sign_ins(SignInResult result) { return *password_sign_ins_[index(result)]; }
  Counter& sign_in_lockouts(LockoutScope scope) { return *sign_in_lockouts_[index(scope)]; }

 private:
  template <typename Enum>
  static std::size_t index(Enum value) {
    return static_cast<std::size_t>(value);
  }

  std::array<std::array<Counter*, kWriteResultNames.size()>, kDoorNames.size()> writes_{};
  std::array<Gauge*, kConnectionKindNames.size()> open_connections_{};
  std::array<Counter*, kConnectionRefusalNames.size()> refused_connections_{};
  std::array<Counter*, 5> http_responses_{};
  Histogram* commit_seconds_ = nullptr;
  Histogram* commit_writes_ = nullptr;
  Counter* fanout_deliveries_ = nullptr;
  std::array<Counter*, kSlowClientDropNames.size()> slow_clients_dropped_{};
  std::array<Counter*, kRulesOperationNames.size()> rules_denials_{};
  std::array<Counter*, kSignInResultNames.size()> password_sign_ins_{};
  std::array<Counter*, kLockoutScopeNames.size()> sign_in_lockouts_{};
};

// The process's registry: what GET /metrics renders.
Registry& default_registry();
// The server's series in it, created on first use.
ServerMetrics& server_metrics();

}  // namespace backside::metrics
