#include "app/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace backside::app {

Progress::Progress(std::string label, std::uint64_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(2) != 0) {}

void Progress::update(std::uint64_t done) {
  if (!tty_ || finished_ || total_ == 0) return;
  if (done >= total_) return draw(done == total_ ? 100 : 99);
  draw(static_cast<int>(done * 100 / total_));
}

void Progress::finish() {
  if (!tty_ || finished_) return;
  draw(100);
}

void Progress::draw(int percent) {
  if (percent == last_) return;
  last_ = percent;
  const int filled = percent * 30 / 100;
  std::fprintf(stderr, "\r%s [%.*s%*s] %3d%%", label_.c_str(), filled, "##############################", 30 - filled,
               "", percent);
  if (percent == 100) {
    std::fprintf(stderr, "\n");
    finished_ = true;
  }
  std::fflush(stderr);
}

}  // namespace backside::app
