#pragma once
// Internal to the store module: the PostgreSQL tables of the shared store (docs/cluster.md), created on first use.
#include "store/postgresql_connection.h"
#include "util/result.h"

namespace backside::store {

// Creates the tables if they are missing. Several nodes may start at once: an advisory lock makes one create them
// while the others wait, instead of racing on PostgreSQL's catalog.
Status create_postgresql_schema(PgConnection& connection);

}  // namespace backside::store
