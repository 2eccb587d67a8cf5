#include "store/postgresql_schema.h"

namespace backside::store {

Status create_postgresql_schema(PgConnection& connection) {
  // One row per database holds both its sequence and its lease, so that a commit (sequence + 1 while the epoch is
  // its owner's) and a takeover (epoch + 1) lock the same row and PostgreSQL orders them (docs/cluster.md).
  // Node leases and the onDisconnect operations kept under them: store/pending_disconnects.h. Rules and settings
  // every node shares: store/shared_settings.h. Users (auth/postgresql_user_store.h): a directory's version moves
  // with every change that may end a sign-in, and the change log names the user, so that every node rechecks just
  // the sign-ins it holds of the users that changed.
  // Paths and values are bytea: bytea compares bytewise, which is the key order the tree builder needs.
  static const std::string kSchema = R"SQL(
BEGIN;
SET LOCAL client_min_messages = warning;  -- no "already exists, skipping" notice on every open
SELECT pg_advisory_xact_lock(7243526172);  -- any fixed key: "the Backside schema"
CREATE TABLE IF NOT EXISTS backside_databases (
  name text PRIMARY KEY,
  seq bigint NOT NULL DEFAULT 0,
  owner text,
  epoch bigint NOT NULL DEFAULT 0,
  lease_expires timestamptz
);
CREATE TABLE IF NOT EXISTS backside_leaves (
  db text NOT NULL,
  path bytea NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY (db, path)
);
CREATE TABLE IF NOT EXISTS backside_changes (
  db text NOT NULL,
  seq bigint NOT NULL,
  batch bytea NOT NULL,
  PRIMARY KEY (db, seq)
);
CREATE TABLE IF NOT EXISTS backside_nodes (
  incarnation text PRIMARY KEY,
  node text NOT NULL,
  expires timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS backside_disconnects (
  incarnation text NOT NULL,
  session bigint NOT NULL,
  ordinal bigint NOT NULL,
  db text NOT NULL,
  client text NOT NULL,
  op bytea NOT NULL,
  PRIMARY KEY (incarnation, session, ordinal)
);
CREATE INDEX IF NOT EXISTS backside_disconnects_by_db ON backside_disconnects (db, incarnation, session);
CREATE INDEX IF NOT EXISTS backside_disconnects_by_client ON backside_disconnects (db, client) WHERE client <> '';
CREATE SEQUENCE IF NOT EXISTS backside_rules_versions;
CREATE TABLE IF NOT EXISTS backside_rules (
  db text PRIMARY KEY,
  version bigint NOT NULL,
  text text NOT NULL
);
CREATE TABLE IF NOT EXISTS backside_settings (
  name text PRIMARY KEY,
  value bytea NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS backside_accepted_users_versions;
CREATE TABLE IF NOT EXISTS backside_accepted_users (
  db text PRIMARY KEY,
  version bigint NOT NULL,
  accept text
);
CREATE TABLE IF NOT EXISTS backside_tenants (
  id text PRIMARY KEY,
  display_name text NOT NULL,
  created_at_ms bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS backside_user_directories (
  tenant text PRIMARY KEY,
  version bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS backside_users (
  tenant text NOT NULL,
  uid text NOT NULL,
  email text NOT NULL,
  record text NOT NULL,
  PRIMARY KEY (tenant, uid)
);
CREATE UNIQUE INDEX IF NOT EXISTS backside_users_by_email ON backside_users (tenant, email) WHERE email <> '';
CREATE TABLE IF NOT EXISTS backside_user_changes (
  tenant text NOT NULL,
  version bigint NOT NULL,
  uid text NOT NULL,
  PRIMARY KEY (tenant, version)
);
CREATE TABLE IF NOT EXISTS backside_refresh_tokens (
  tenant text NOT NULL,
  digest text NOT NULL,
  uid text NOT NULL,
  revoked boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant, digest)
);
CREATE INDEX IF NOT EXISTS backside_refresh_tokens_by_uid ON backside_refresh_tokens (tenant, uid);
COMMIT;
)SQL";
  return connection.execute("creating the schema", kSchema);
}

}  // namespace backside::store
