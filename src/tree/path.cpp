#include "tree/path.h"

#include <cassert>

namespace backside::tree {
namespace {

// Length of the well-formed UTF-8 sequence starting at text[i], or 0 if it is malformed (overlong forms,
// surrogates and code points above U+10FFFF included).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;  // overlong
    if (lead == 0xED) max_second = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;  // overlong
    if (lead == 0xF4) max_second = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

bool is_forbidden_ascii(unsigned char c) {
  return c < 0x20 || c == 0x7F || c == '.' || c == '$' || c == '#' || c == '[' || c == ']' || c == '/';
}

// The key as it appears in an error message: quoted, shortened, with unprintable bytes escaped, so that the
// message itself stays valid, readable UTF-8.
std::string quote_for_message(std::string_view key) {
  constexpr std::size_t kShownBytes = 64;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  std::size_t i = 0;
  while (i < key.size() && i < kShownBytes) {
    const auto c = static_cast<unsigned char>(key[i]);
    const std::size_t length = utf8_sequence_length(key, i);
    if (c < 0x20 || c == 0x7F || length == 0) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      ++i;
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out.append(key.substr(i, length));
      i += length;
    }
  }
  if (i < key.size()) out += "...";
  out += '"';
  return out;
}

}  // namespace

std::string key_error(std::string_view key) {
  bool valid = !key.empty() && key.size() <= kMaxKeyBytes;
  for (std::size_t i = 0; valid && i < key.size();) {
    const std::size_t length = utf8_sequence_length(key, i);
    valid = length != 0 && !(length == 1 && is_forbidden_ascii(static_cast<unsigned char>(key[i])));
    i += length;
  }
  if (valid) return {};
  return "Invalid key " + quote_for_message(key) +
         ": keys must be non-empty, at most 768 bytes of valid UTF-8, and must not contain . $ # [ ] / or "
         "control characters";
}

Result<Path> Path::parse(std::string_view text) {
  std::vector<std::string> segments;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find('/', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view segment = text.substr(begin, end - begin);
    if (!segment.empty()) {
      if (std::string error = key_error(segment); !error.empty()) return invalid(std::move(error));
      if (segments.size() == kMaxDepth) return invalid("Path too deep: more than 32 levels");
      segments.emplace_back(segment);
    }
    begin = end + 1;
  }
  return Path(std::move(segments));
}

Path Path::child(std::string key) const {
  Path result = *this;
  result.segments_.push_back(std::move(key));
  return result;
}

Path Path::child(const Path& relative) const {
  Path result = *this;
  result.segments_.insert(result.segments_.end(), relative.segments_.begin(), relative.segments_.end());
  return result;
}

Path Path::parent() const {
  if (segments_.empty()) return {};
  return Path(std::vector<std::string>(segments_.begin(), segments_.end() - 1));
}

bool Path::is_prefix_of(const Path& other) const {
  if (segments_.size() > other.segments_.size()) return false;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i] != other.segments_[i]) return false;
  }
  return true;
}

Path Path::relative_to(const Path& ancestor) const {
  assert(ancestor.is_prefix_of(*this));
  return Path(
      std::vector<std::string>(segments_.begin() + static_cast<std::ptrdiff_t>(ancestor.size()), segments_.end()));
}

std::string Path::to_string() const {
  if (segments_.empty()) return "/";
  std::string out;
  for (const std::string& segment : segments_) {
    out += '/';
    out += segment;
  }
  return out;
}

}  // namespace backside::tree
