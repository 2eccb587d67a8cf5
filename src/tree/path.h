#pragma once
// Paths and keys of the Firebase data model.
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace backside::tree {

inline constexpr std::size_t kMaxKeyBytes = 768;
inline constexpr std::size_t kMaxDepth = 32;

// Returns an empty string if `key` is a valid data key, else a message saying why not.
std::string key_error(std::string_view key);
inline bool is_valid_key(std::string_view key) { return key_error(key).empty(); }

// A validated absolute path; the root has no segments.
class Path {
 public:
  Path() = default;
  explicit Path(std::vector<std::string> segments) : segments_(std::move(segments)) {}

  // Parses "/a/b", "a/b/", "" or "/": empty segments are skipped; every segment must be a valid key and the
  // depth at most kMaxDepth. (Percent-decoding is the caller's job.)
  static Result<Path> parse(std::string_view text);

  const std::vector<std::string>& segments() const { return segments_; }
  std::size_t size() const { return segments_.size(); }
  bool empty() const { return segments_.empty(); }
  const std::string& operator[](std::size_t i) const { return segments_[i]; }
  const std::string& back() const { return segments_.back(); }

  Path child(std::string key) const;
  Path child(const Path& relative) const;
  Path parent() const;  // the root's parent is the root
  bool is_prefix_of(const Path& other) const;  // true also when equal
  // `this` relative to `ancestor` (which must be a prefix).
  Path relative_to(const Path& ancestor) const;

  std::string to_string() const;  // "/a/b"; the root is "/"
  friend bool operator==(const Path&, const Path&) = default;

 private:
  std::vector<std::string> segments_;
};

}  // namespace backside::tree
