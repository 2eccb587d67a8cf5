#pragma once
// Client text quoted in an error message (an invalid key, a bad header): at most a few hundred bytes of it, so that
// an error about a 10 MB key is not itself 10 MB, and cut only between UTF-8 characters.
#include <cstddef>
#include <string>
#include <string_view>

namespace backside {

inline std::string excerpt(std::string_view text, std::size_t max_bytes = 200) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace backside
