#include "net/fd_limit.h"

#include <sys/resource.h>

#include <algorithm>

namespace backside::net {

std::size_t raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<std::size_t>(limit.rlim_cur);
}

std::size_t connections_fitting(std::size_t fd_limit) {
  if (fd_limit == 0) return 0;
  const std::size_t reserve = std::min<std::size_t>(1024, fd_limit / 4);
  return std::max<std::size_t>(1, fd_limit - reserve);
}

}  // namespace backside::net
