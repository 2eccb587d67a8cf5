#pragma once
// Internal to the store module: one libpq connection with typed errors. Every failure is a value (never an
// exception or an abort): a lost connection or a server that is shutting down, out of disk or out of connections is
// ErrorCode::unavailable, anything else the server refuses is ErrorCode::internal; messages name the statement's
// purpose and carry PostgreSQL's own text. A broken connection is re-established by the next ensure_connected().
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.h"

struct pg_conn;
struct pg_result;

namespace backside::store {

// A statement parameter: text (integers, names) or binary (bytea), or NULL.
struct PgParam {
  static PgParam text(std::string_view value) { return {value, false}; }
  static PgParam bytes(std::string_view value) { return {value, true}; }
  static PgParam null() { return {{}, false, true}; }
  std::string_view value;
  bool binary = false;
  bool is_null = false;
};

// One statement of a pipeline (PgConnection::pipeline).
struct PgStatement {
  std::string_view what;  // its purpose, for messages
  std::string sql;
  std::vector<PgParam> params;
  // Run often: parsed and planned once per connection (a prepared statement), not at every run.
  bool prepared = false;
};

// The rows of a finished statement. Binary results give bytea columns as their raw bytes.
class PgResult {
 public:
  explicit PgResult(pg_result* result);
  PgResult(PgResult&&) noexcept;
  PgResult& operator=(PgResult&&) noexcept;
  ~PgResult();
  int rows() const;
  bool is_null(int row, int column) const;
  std::string_view value(int row, int column) const;
  // A bigint column of a text result.
  Result<std::int64_t> integer(int row, int column) const;
  // The rows an INSERT, UPDATE or DELETE touched.
  std::size_t affected_rows() const;

 private:
  pg_result* result_;
};

class PgConnection {
 public:
  // `url`: a libpq connection URI (postgresql://USER@HOST:PORT/DB). `session_setup` runs after every (re)connect.
  PgConnection(std::string url, std::string session_setup);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects if there is no usable connection (first use, or after the server or the network dropped it).
  Status ensure_connected();
  // Whether a connection is up now (no attempt to connect).
  bool connected() const;
  // One or more statements without parameters (BEGIN, COMMIT, DDL), results discarded.
  Status execute(std::string_view what, const std::string& sql);
  // One statement with parameters ($1, $2, ...); binary_result: columns in binary format.
  Result<PgResult> query(std::string_view what, const std::string& sql, std::initializer_list<PgParam> params,
                         bool binary_result = false);
  // Statements sent together and answered together (libpq's pipeline mode): one round trip for all of them instead
  // of one each. They run in order; the first that fails stops the rest (PostgreSQL skips them) and its error is
  // returned, with its index in `failed_at`. Wrap them in BEGIN ... COMMIT to make them one transaction.
  Result<std::vector<PgResult>> pipeline(const std::vector<PgStatement>& statements,
                                         std::size_t* failed_at = nullptr);
  // One statement whose rows are passed to `row` one at a time as they arrive (libpq's single-row mode), so that
  // memory holds one row however many there are. Binary format. `row` failing stops the read (the statement is
  // then cancelled and its rest discarded).
  Status for_each_row(std::string_view what, const std::string& sql, std::initializer_list<PgParam> params,
                      const std::function<Status(const PgResult& row)>& row);
  // After a failed statement inside a transaction: ROLLBACK if the connection still works (errors ignored: a
  // connection that fails here is dropped and the server ends the transaction itself).
  void rollback();
  // The connection URL without its password, for messages.
  std::string describe() const;

 private:
  Error failure(std::string_view what, pg_result* result);  // drops a lost connection
  void drop();

  std::string url_;
  std::string session_setup_;
  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> its statement's name, on this connection
  std::uint64_t next_prepared_ = 0;                       // names are backside_0, backside_1, ...
};

// True for postgresql:// and postgres:// URLs.
bool is_postgresql_url(std::string_view value);
// Checks that libpq can parse `url` (without connecting); the error names what is wrong.
Status check_postgresql_url(const std::string& url);

}  // namespace backside::store
