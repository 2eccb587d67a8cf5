#pragma once
// The shared store (docs/cluster.md): one database's tree in PostgreSQL, one row per leaf keyed by (database,
// encoded path), its committed batches in a change log, and its sequence and lease in one row. Opening the store
// takes the database's lease for this node; every commit is one transaction that advances the sequence only while
// this node's epoch is the lease's (a node whose lease was taken over is fenced off), and returns after COMMIT.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "store/store.h"
#include "util/result.h"

namespace backside::store {

struct PostgresqlOptions {
  std::string url;       // postgresql://USER@HOST:PORT/DB (libpq's URI syntax)
  std::string database;  // the Backside database (namespace) whose tree this is
  std::string node_id;   // who takes the lease; a node restarted with the same id takes its databases back at once
  // none: PostgreSQL's synchronous_commit is off for this store's session (a server crash can lose the last
  // acknowledged commits; benchmarks only, as with the embedded store).
  Durability durability = Durability::fsync;
  std::chrono::seconds lease_duration{10};  // each commit extends the lease by this much
  std::uint64_t change_retention = 10000;   // committed batches kept for catch-up (changes_since)
  std::uint64_t trim_every = 1000;          // older batches are deleted once every this many sequences
  std::size_t statement_bytes = std::size_t(8) << 20;  // rows sent per statement: at most this many bytes (or one row)
  // A replica's store (another node owns the database): load() and changes_since() only; no lease is taken and
  // commit() is refused. The replica applies the owner's batches as the broker brings them (docs/cluster.md).
  bool replica = false;
  // Open as a replica, rather than fail, when another live node holds the lease (a node of a cluster).
  bool replica_when_owned = false;
};

// Connects, creates the schema if needed and takes the database's lease (not for a replica). ErrorCode::unavailable when PostgreSQL
// cannot be reached or another live node holds the lease (the message names it); ErrorCode::invalid_argument for
// an unusable URL.
Result<std::unique_ptr<Store>> open_postgresql_store(const PostgresqlOptions& options);

}  // namespace backside::store
