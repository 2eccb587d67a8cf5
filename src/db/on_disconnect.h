#pragma once
// The writes a client asked to run when its connection closes (reference §3.6), protocol-neutral: the Firebase
// front door fills it from `o`/`om`/`oc`, STOMP can do the same. It is the SDK's SparseSnapshotTree: a sparse tree
// of locations, each holding the raw JSON to set there. Server values stay unresolved until execution, so
// {".sv":"timestamp"} is the time of the disconnect.
//
//   set(L, v):  if a stored location is an ancestor of L, v is written inside its stored value; otherwise v is
//               stored at L and stored locations below L are dropped.
//   cancel(L):  forgets what is stored at and below L; a stored ancestor holding an object is first split into one
//               location per child (a stored leaf ancestor is kept as it is).
//   to_write(): every stored location as ONE atomic write: an update at the root whose keys are the stored paths
//               (disjoint by construction), or a set at the root if the root itself is stored.
//
// Not thread-safe: one connection owns one of these and uses it from one thread at a time.
#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "db/auth.h"
#include "db/database.h"
#include "db/write_path.h"

namespace backside::db {

class OnDisconnect {
 public:
  // Remembers a set of `value` (raw client JSON, export format, may hold {".sv"}; null = remove) at `location`
  // (a ".../.priority" location sets only the priority).
  void set(const WritePath& location, boost::json::value value);
  // Forgets the stored operations at and below `path` (the root: everything).
  void cancel(const tree::Path& path);

  bool empty() const;
  std::size_t location_count() const;
  void clear() { root_ = Entry(); }

  // The stored operations as one write at the root with `auth`; nullopt when nothing is stored.
  std::optional<WriteRequest> to_write(Auth auth) const;

 private:
  struct Entry {
    std::optional<boost::json::value> value;
    std::map<std::string, Entry> children;
  };
  static void collect(const Entry& entry, std::string& path,
                      std::vector<std::pair<std::string, const boost::json::value*>>& out);
  Entry root_;
};

// What one connection may ask to store for its disconnect, in operations and in bytes of their JSON. Counted as
// they are asked for and never given back by a cancel (a client storing and cancelling in a loop reaches it too),
// so that what a connection can make the server hold for it is bounded in bytes, not only in count.
class OnDisconnectQuota {
 public:
  static constexpr std::size_t kMaxOperations = 10000;
  static constexpr std::size_t kMaxBytes = std::size_t(16) << 20;

  explicit OnDisconnectQuota(std::size_t max_operations = kMaxOperations, std::size_t max_bytes = kMaxBytes)
      : max_operations_(max_operations), max_bytes_(max_bytes) {}
  // Counts one more operation of `bytes`; a too_large error (counting nothing) past either bound.
  Status admit(std::size_t bytes);

 private:
  std::size_t max_operations_;
  std::size_t max_bytes_;
  std::size_t operations_ = 0;
  std::size_t bytes_ = 0;
};

// Sets `value` at the relative location `segments` inside the raw JSON `target` (a ".priority" last segment sets
// the priority), turning leaves on the way into objects and collapsing objects left empty into null.
void set_inside_json(boost::json::value& target, const std::vector<std::string>& segments, std::size_t from,
                     boost::json::value value);

}  // namespace backside::db
