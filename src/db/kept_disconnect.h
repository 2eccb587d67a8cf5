#pragma once
// A client session's onDisconnect operations as kept in the shared store (store/pending_disconnects.h), one at a
// time in the order the session asked for them, and the write they add up to when the database's owner runs them
// for a node that died (docs/cluster.md). JSON: {"set": location, "value": raw JSON, "auth": identity},
// {"update": path, "value": children, "auth": identity} or {"cancel": path}.
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

#include "db/database.h"
#include "db/write_path.h"
#include "identity/identity.h"
#include "util/result.h"

namespace backside::db {

std::string encode_kept_set(const WritePath& location, const boost::json::value& value,
                            const identity::Identity& auth);
std::string encode_kept_update(const tree::Path& path, const boost::json::value& children,
                               const identity::Identity& auth);
std::string encode_kept_cancel(const tree::Path& path);

// Replays `operations` as the session did (db/sparse_writes.h) into the one write its end would have made, as the
// identity of its last set; nullopt when nothing is left (all cancelled). invalid_argument for bytes that are not a
// kept operation.
Result<std::optional<WriteRequest>> replay_kept(const std::vector<std::string>& operations);

}  // namespace backside::db
