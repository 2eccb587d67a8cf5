#pragma once
// JSON <-> Node. Input follows Firebase's JSON forms (".value", ".priority", ".sv", arrays, nulls); output is the
// export format (with priorities) or the plain format (no priorities; integer-keyed objects rendered as arrays).
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tree/node.h"
#include "util/result.h"

namespace backside::tree {

inline constexpr std::size_t kMaxStringBytes = 10 * 1024 * 1024;

// Resolves {".sv": ...} placeholders. `existing` is the current node at the placeholder's location (may be null).
// Returns the resolved leaf or an error for an unknown server value.
struct ServerValues {
  double now_ms = 0;  // one timestamp per request
};

struct ParseOptions {
  // Depth of the location the value will be written at; data may nest kMaxDepth - base_depth deeper.
  std::size_t base_depth = 0;
  // When set, {".sv"} placeholders are resolved against `existing` (the current data at the write location);
  // when null, a ".sv" is an error.
  const ServerValues* server_values = nullptr;
  const Node* existing = nullptr;
};

// Parses JSON text (any JSON value) into a normalized Node. Errors are specific: invalid JSON, invalid key
// (naming it), too deep, string too long, invalid priority, unknown server value.
Result<Node> parse_json(std::string_view text, const ParseOptions& options = {});
// The same from an already parsed Boost.JSON value (used by protocol front doors that parse whole frames). Such
// front doors must parse with parse_options::max_depth well above Boost's default of 32: data may nest 32 levels
// below its location, plus the frame envelope and ".value"/".sv" wrappers.
Result<Node> from_json(const boost::json::value& value, const ParseOptions& options = {});
// Parses a priority value (number, string, null, or {".sv":"timestamp"} when server values are given).
Result<std::optional<Priority>> priority_from_json(const boost::json::value& value, const ParseOptions& options = {});

enum class Format { plain, export_ };

struct RenderOptions {
  Format format = Format::plain;
  bool pretty = false;  // two-space indentation, as Firebase's print=pretty
};

// Renders a node as JSON text (null renders "null"). Numbers print as JavaScript prints them (10 not 10.0).
std::string to_json(const Node& node, const RenderOptions& options = {});
void append_json(std::string& out, const Node& node, const RenderOptions& options = {});
// The same text in pieces, for a whole database (export): `flush(out, leaves)` is called whenever `out` holds at
// least `chunk_bytes` (checked after each leaf) and once at the end, with the leaves rendered so far; it consumes
// `out` (writes and clears it). Only one chunk of text is held at a time.
void write_json(const Node& node, const RenderOptions& options, std::size_t chunk_bytes,
                const std::function<void(std::string& out, std::uint64_t leaves)>& flush);
// Renders a number / string exactly as to_json does.
void append_number(std::string& out, double value);
void append_string(std::string& out, std::string_view value);
// shallow=true rendering: objects become {"key":true,...}; leaves as in plain format.
std::string to_shallow_json(const Node& node, bool pretty = false);
// Export-format Boost.JSON value of a node (for front doors that build JSON documents).
boost::json::value to_json_value(const Node& node, Format format = Format::export_);
// JSON text of a priority ("null" when none).
std::string priority_to_json(const std::optional<Priority>& priority);

}  // namespace backside::tree
