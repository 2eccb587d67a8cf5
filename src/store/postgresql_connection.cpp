#include "store/postgresql_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstring>
#include <span>
#include <utility>

namespace backside::store {
namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Errors worth retrying later: the connection, the server's resources (disk, memory, connections), the server
// shutting down, or a transaction that lost a race. The rest is a bug or damage.
bool transient_state(std::string_view sqlstate) {
  return sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57") ||
         sqlstate.starts_with("40") || sqlstate.starts_with("58");
}

struct Parameters {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  // libpq wants NUL-terminated text parameters; views are not.
  std::vector<std::string> text_copies;

  explicit Parameters(std::initializer_list<PgParam> params) : Parameters(std::span<const PgParam>(params)) {}
  explicit Parameters(std::span<const PgParam> params) {
    text_copies.reserve(params.size());
    for (const PgParam& p : params) {
      if (p.is_null) {
        values.push_back(nullptr);
      } else if (p.binary) {
        values.push_back(p.value.data());
      } else {
        text_copies.emplace_back(p.value);
        values.push_back(text_copies.back().c_str());
      }
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.binary ? 1 : 0);
    }
  }
  int count() const { return static_cast<int>(values.size()); }
};

}  // namespace

PgResult::PgResult(pg_result* result) : result_(result) {}
PgResult::PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}
int PgResult::rows() const { return PQntuples(result_); }
bool PgResult::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string_view PgResult::value(int row, int column) const {
  return {PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column))};
}
Result<std::int64_t> PgResult::integer(int row, int column) const {
  const std::string_view text = value(row, column);
  std::int64_t parsed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Error{ErrorCode::internal, "PostgreSQL returned \"" + std::string(text) + "\" where an integer was expected"};
  }
  return parsed;
}

std::size_t PgResult::affected_rows() const {
  const char* count = PQcmdTuples(result_);
  std::size_t parsed = 0;
  std::from_chars(count, count + std::strlen(count), parsed);  // "" (not a row command): 0
  return parsed;
}

PgConnection::PgConnection(std::string url, std::string session_setup)
    : url_(std::move(url)), session_setup_(std::move(session_setup)) {}

PgConnection::~PgConnection() { drop(); }

void PgConnection::drop() {
  prepared_.clear();  // prepared statements end with their session
  if (conn_ != nullptr) PQfinish(std::exchange(conn_, nullptr));
}

std::string PgConnection::describe() const {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url_.c_str(), &error);
  if (options == nullptr) {
    if (error != nullptr) PQfreemem(error);
    return "postgresql://(unparsable)";
  }
  std::string user;
  std::string host;
  std::string port;
  std::string dbname;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key = o->keyword;
    if (key == "user") user = o->val;
    if (key == "host") host = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  return "postgresql://" + (user.empty() ? "" : user + "@") + host + (port.empty() ? "" : ":" + port) + "/" + dbname;
}

bool PgConnection::connected() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

Status PgConnection::ensure_connected() {
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) {
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return ok_status();
    rollback();  // a transaction left open by an earlier failure
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE) {
      return ok_status();
    }
  }
  drop();
  // Our defaults first, the URL last: settings in the URL win. Keepalives and the user timeout make a vanished
  // server or network an error within seconds instead of a commit that never returns.
  const char* keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "5", "2", "3", "15000", "backside", url_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) return Error{ErrorCode::unavailable, "PostgreSQL: out of memory while connecting"};
  if (PQstatus(conn_) != CONNECTION_OK) {
    Error error{ErrorCode::unavailable,
                "cannot connect to PostgreSQL at " + describe() + ": " + trimmed(PQerrorMessage(conn_))};
    drop();
    return error;
  }
  if (!session_setup_.empty()) {
    pg_result* result = PQexec(conn_, session_setup_.c_str());
    const bool done = result != nullptr && PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!done) {
      Error error = failure("setting up the session", result);
      if (result != nullptr) PQclear(result);
      drop();
      return error;
    }
    PQclear(result);
  }
  return ok_status();
}

Error PgConnection::failure(std::string_view what, pg_result* result) {
  std::string text = result != nullptr ? PQresultErrorMessage(result) : "";
  if (text.empty() && conn_ != nullptr) text = PQerrorMessage(conn_);
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const bool lost = conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD;
  const bool transient = lost || state == nullptr || transient_state(state);
  Error error{transient ? ErrorCode::unavailable : ErrorCode::internal,
              "PostgreSQL at " + describe() + ": " + std::string(what) + " failed" +
                  (lost ? " (connection lost)" : "") + ": " + trimmed(text)};
  if (lost) drop();
  return error;
}

Status PgConnection::execute(std::string_view what, const std::string& sql) {
  if (conn_ == nullptr) return Error{ErrorCode::unavailable, "PostgreSQL at " + describe() + ": not connected"};
  pg_result* result = PQexec(conn_, sql.c_str());
  const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error error = failure(what, result);
    if (result != nullptr) PQclear(result);
    return error;
  }
  PQclear(result);
  return ok_status();
}

Result<PgResult> PgConnection::query(std::string_view what, const std::string& sql,
                                     std::initializer_list<PgParam> params, bool binary_result) {
  if (conn_ == nullptr) return Error{ErrorCode::unavailable, "PostgreSQL at " + describe() + ": not connected"};
  const Parameters p(params);
  pg_result* result = PQexecParams(conn_, sql.c_str(), p.count(), nullptr, p.values.data(), p.lengths.data(),
                                   p.formats.data(), binary_result ? 1 : 0);
  const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error error = failure(what, result);
    if (result != nullptr) PQclear(result);
    return error;
  }
  return PgResult(result);
}

Result<std::vector<PgResult>> PgConnection::pipeline(const std::vector<PgStatement>& statements,
                                                    std::size_t* failed_at) {
  if (failed_at != nullptr) *failed_at = statements.size();
  if (conn_ == nullptr) return Error{ErrorCode::unavailable, "PostgreSQL at " + describe() + ": not connected"};
  if (PQenterPipelineMode(conn_) == 0) return failure("entering pipeline mode", nullptr);
  // The first failure is reported once everything was read, when the connection's state is known (a server that
  // ended the session answers the first statement with an error, and only then does the connection read as lost).
  std::optional<std::size_t> failed;
  pg_result* failure_result = nullptr;
  // What answers come, in order: each statement's, preceded by its preparation's the first time it runs here.
  struct Expected {
    std::size_t statement;
    const std::string* preparing = nullptr;  // the SQL whose preparation this answers
  };
  std::vector<Expected> expected;
  std::vector<std::string> preparing_names(statements.size());  // by statement: the name it is being prepared as
  for (std::size_t i = 0; i < statements.size() && !failed; ++i) {
    const PgStatement& statement = statements[i];
    const Parameters p(std::span<const PgParam>(statement.params));
    int queued = 0;
    if (!statement.prepared) {
      queued = PQsendQueryParams(conn_, statement.sql.c_str(), p.count(), nullptr, p.values.data(), p.lengths.data(),
                                 p.formats.data(), 0);
    } else {
      auto known = prepared_.find(statement.sql);
      const std::string* name = known != prepared_.end() ? &known->second : nullptr;
      for (std::size_t j = 0; name == nullptr && j < i; ++j) {  // prepared earlier in this pipeline
        if (statements[j].prepared && statements[j].sql == statement.sql) name = &preparing_names[j];
      }
      if (name == nullptr) {
        preparing_names[i] = "backside_" + std::to_string(next_prepared_++);
        name = &preparing_names[i];
        if (PQsendPrepare(conn_, name->c_str(), statement.sql.c_str(), p.count(), nullptr) == 0) {
          failed = i;
          break;
        }
        expected.push_back({i, &statement.sql});
      }
      queued = PQsendQueryPrepared(conn_, name->c_str(), p.count(), p.values.data(), p.lengths.data(),
                                   p.formats.data(), 0);
    }
    if (queued == 0) {
      failed = i;
      break;
    }
    expected.push_back({i});
  }
  bool in_step = PQpipelineSync(conn_) != 0;
  // Each answer, then the end of its results (nullptr); after the last, the sync's.
  std::vector<PgResult> results;
  for (const Expected& answer : expected) {
    if (!in_step) break;
    pg_result* result = PQgetResult(conn_);
    if (result == nullptr) {  // the connection failed
      if (!failed) failed = answer.statement;
      in_step = false;
      break;
    }
    const ExecStatusType status = PQresultStatus(result);
    const bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (answer.preparing != nullptr && ok) prepared_.emplace(*answer.preparing, preparing_names[answer.statement]);
    if (ok && answer.preparing == nullptr) {
      results.emplace_back(result);
    } else if (!ok && !failed && status != PGRES_PIPELINE_ABORTED) {
      failed = answer.statement;
      failure_result = result;
    } else {
      PQclear(result);
    }
    while (pg_result* extra = PQgetResult(conn_)) PQclear(extra);  // an answer's results end with nullptr
  }
  if (in_step) {
    pg_result* sync = PQgetResult(conn_);
    in_step = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    if (sync != nullptr) PQclear(sync);
    in_step = in_step && PQexitPipelineMode(conn_) != 0;
  }
  std::optional<Error> error;
  if (failed) {
    if (failed_at != nullptr) *failed_at = *failed;
    error = failure(statements[*failed].what, failure_result);
  } else if (!in_step) {
    error = failure("reading a pipeline's results", nullptr);
  }
  if (failure_result != nullptr) PQclear(failure_result);
  if (!in_step) drop();  // out of step with the server: the next statement starts over on a new connection
  if (error) return *error;
  return results;
}

Status PgConnection::for_each_row(std::string_view what, const std::string& sql,
                                  std::initializer_list<PgParam> params,
                                  const std::function<Status(const PgResult& row)>& row) {
  if (conn_ == nullptr) return Error{ErrorCode::unavailable, "PostgreSQL at " + describe() + ": not connected"};
  const Parameters p(params);
  if (PQsendQueryParams(conn_, sql.c_str(), p.count(), nullptr, p.values.data(), p.lengths.data(),
                        p.formats.data(), 1) == 0) {
    return failure(what, nullptr);
  }
  PQsetSingleRowMode(conn_);
  std::optional<Error> error;
  bool cancelled = false;
  // Every result must be read (until PQgetResult gives none) before the connection takes another statement.
  while (pg_result* result = PQgetResult(conn_)) {
    const PgResult owned(result);
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_SINGLE_TUPLE) {
      if (error) continue;
      if (Status taken = row(owned); !taken) {
        error = taken.error();
        if (PGcancel* cancel = PQgetCancel(conn_)) {  // spare the server sending the rest
          char buffer[256];
          PQcancel(cancel, buffer, sizeof buffer);
          PQfreeCancel(cancel);
          cancelled = true;
        }
      }
    } else if (status != PGRES_TUPLES_OK && !error && !cancelled) {
      error = failure(what, result);
      if (conn_ == nullptr) break;
    }
  }
  if (error) return *error;
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_BAD) return failure(what, nullptr);
  return ok_status();
}

void PgConnection::rollback() {
  if (conn_ == nullptr) return;
  if (PQstatus(conn_) != CONNECTION_OK) return drop();
  pg_result* result = PQexec(conn_, "ROLLBACK");
  if (result != nullptr) PQclear(result);
  if (PQstatus(conn_) != CONNECTION_OK) drop();
}

bool is_postgresql_url(std::string_view value) {
  return value.starts_with("postgresql://") || value.starts_with("postgres://");
}

Status check_postgresql_url(const std::string& url) {
  if (!is_postgresql_url(url)) return invalid("\"" + url + "\" is not a postgresql:// URL");
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? trimmed(error) : "out of memory";
    if (error != nullptr) PQfreemem(error);
    return invalid("\"" + url + "\" is not a valid PostgreSQL URL: " + message);
  }
  PQconninfoFree(options);
  return ok_status();
}

}  // namespace backside::store
