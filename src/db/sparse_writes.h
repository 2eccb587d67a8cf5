#pragma once
// Writes composed location by location and applied as one: a sparse tree of locations, each holding the raw JSON to
// set there (the SDK's SparseSnapshotTree). A client session's onDisconnect writes and a STOMP
// transaction's SENDs are kept in one. Server values stay unresolved until the write runs, so {".sv":"timestamp"}
// of an onDisconnect write is the time of the disconnect.
//
//   set(L, v):  if a stored location is an ancestor of L, v is written inside its stored value; otherwise v is
//               stored at L and stored locations below L are dropped.
//   cancel(L):  forgets what is stored at and below L; a stored ancestor holding an object is first split into one
//               location per child (a stored leaf ancestor is kept as it is).
//   to_write(): every stored location as ONE atomic write: an update at the root whose keys are the stored paths
//               (disjoint by construction), or a set at the root if the root itself is stored.
//
// Not thread-safe: its owner uses it from one thread at a time.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "identity/identity.h"
#include "db/database.h"
#include "db/write_path.h"

namespace backside::db {

class SparseWrites {
 public:
  // Remembers a set of `value` (raw client JSON, export format, may hold {".sv"}; null = remove) at `location`
  // (a ".../.priority" location sets only the priority).
  void set(const WritePath& location, boost::json::value value);
  // An update: each key of `children` (a relative path, maybe ending in .priority) set below `path`. Keys that are
  // not valid paths are skipped (the caller checked them).
  void update(const tree::Path& path, const boost::json::object& children);
  // Forgets the stored operations at and below `path` (the root: everything).
  void cancel(const tree::Path& path);

  bool empty() const;
  std::size_t location_count() const;
  void clear() { root_ = Entry(); }

  // The stored operations as one write at the root with `auth`; nullopt when nothing is stored.
  std::optional<WriteRequest> to_write(identity::Identity auth) const;

 private:
  struct Entry {
    std::optional<boost::json::value> value;
    std::map<std::string, Entry> children;
  };
  static void collect(const Entry& entry, std::string& path,
                      std::vector<std::pair<std::string, const boost::json::value*>>& out);
  Entry root_;
};

// Sets `value` at the relative location `segments` inside the raw JSON `target` (a ".priority" last segment sets
// the priority), turning leaves on the way into objects and collapsing objects left empty into null.
void set_inside_json(boost::json::value& target, const std::vector<std::string>& segments, std::size_t from,
                     boost::json::value value);

}  // namespace backside::db
