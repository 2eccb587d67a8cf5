#pragma once
// A write forwarded from a node holding a replica to the database's owner (docs/cluster.md), and the owner's answer,
// as JSON on the broker. The owner runs the write as if its client were connected to it (the same identity, rules,
// compare-and-set, server values); the replica answers its client only once it has applied the owner's commit
// (`sequence`), so that the client sees its own write before its acknowledgement, as on one node.
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>

#include "db/database.h"
#include "util/result.h"

namespace backside::db {

// A client's identity (the rules' `auth`, admin, expiry) as JSON, for what one node hands another. decode_identity
// throws std::invalid_argument (or boost::system::system_error) on anything else.
boost::json::value encode_identity(const identity::Identity& auth);
identity::Identity decode_identity(const boost::json::value& value);

std::string encode_forwarded_write(const WriteRequest& request);
// invalid_argument when `bytes` is not a forwarded write (another version of Backside, damage).
Result<WriteRequest> decode_forwarded_write(std::string_view bytes);

std::string encode_forwarded_reply(const WriteReply& reply);
Result<WriteReply> decode_forwarded_reply(std::string_view bytes);

}  // namespace backside::db
