#pragma once
// A one-line progress bar on stderr for long admin commands (import, backup, restore), drawn only when stderr is a
// terminal: logs and pipes get no control characters.
#include <cstdint>
#include <string>

namespace backside::app {

class Progress {
 public:
  Progress(std::string label, std::uint64_t total);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // `done` of `total` units; redrawn when the whole percentage changes. Past the total (an estimate that was
  // short) the bar stays at 99% until finish().
  void update(std::uint64_t done);
  // Draws 100% and ends the line (once).
  void finish();

 private:
  void draw(int percent);

  std::string label_;
  std::uint64_t total_;
  bool tty_;
  int last_ = -1;
  bool finished_ = false;
};

}  // namespace backside::app
