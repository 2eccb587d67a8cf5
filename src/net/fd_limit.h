#pragma once
// The process's file-descriptor limit, which bounds how many connections it can hold: every connection is one
// descriptor, and the databases need theirs (data and log files, LMDB) besides.
#include <cstddef>

namespace backside::net {

// Raises the soft RLIMIT_NOFILE to the hard limit (the default soft limit, often 1024, is far below what a server
// holding many connections needs; the hard limit is the operator's) and returns the soft limit now in force
// (0 if it cannot be read, or is unlimited).
std::size_t raise_fd_limit();

// The connection cap that fits under `fd_limit` descriptors: what is left after a reserve for everything that is
// not a connection (a quarter of the limit, at most 1024), at least 1. 0 (no known limit) gives 0 (no cap).
std::size_t connections_fitting(std::size_t fd_limit);

}  // namespace backside::net
