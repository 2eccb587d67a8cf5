#pragma once
// The console's files (src/console/assets/), embedded in the binary at build time by embed_assets.cmake.
#include <span>
#include <string_view>

namespace backside::console {

struct ConsoleAsset {
  std::string_view path;          // relative to /console/, e.g. "index.html", "js/data.js"
  std::string_view content_type;  // by extension
  std::string_view etag;          // quoted: "\"<20 hex digits of the SHA-256>\""
  std::string_view bytes;
};

// Every embedded asset, sorted by path (generated source).
std::span<const ConsoleAsset> console_assets();

// The asset at `path` (relative to /console/), or nullptr.
const ConsoleAsset* find_console_asset(std::string_view path);

}  // namespace backside::console
