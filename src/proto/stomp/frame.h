#pragma once
// STOMP 1.2 frames (https://stomp.github.io/stomp-specification-1.2.html): the codec shared by the TCP and the
// WebSocket transports. Pure functions and a push decoder; no I/O.
//
// Decoding follows the spec exactly:
//  - a frame is COMMAND EOL, header lines (name:value EOL), an empty line, the body, then NUL; EOL is LF or CR LF;
//  - EOLs between frames are heart-beats (counted, never frames);
//  - headers are unescaped (\\ \n \r \c) except in CONNECT and CONNECTED frames and when the negotiated version is
//    1.0; any other backslash sequence is a protocol error;
//  - a repeated header keeps every occurrence in order, and lookups return the first (the spec: first wins);
//  - with content-length the body is exactly that many bytes (it may contain NUL) and must be followed by NUL;
//    without it the body runs to the first NUL;
//  - bounds: the command + header block, the number of headers, and the body each have a limit; crossing one is an
//    error (the session sends ERROR and closes).
// After an error the decoder is unusable (the stream cannot be resynchronised): the connection must close.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace backside::proto::stomp {

enum class Version { v1_0, v1_1, v1_2 };

struct Frame {
  std::string command;
  std::vector<std::pair<std::string, std::string>> headers;  // as received: order kept, repeats kept
  std::string body;

  // The first occurrence of a header (STOMP 1.2: "only the first header entry SHOULD be used").
  const std::string* header(std::string_view name) const;
  Frame& add(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

struct Limits {
  std::size_t max_header_block_bytes = 64 * 1024;    // command line + header lines + the empty line
  std::size_t max_headers = 128;
  std::size_t max_body_bytes = 16 * 1024 * 1024;      // a database string may be 10 MB; JSON quoting adds some
};

// True for the commands whose headers are never escaped (spec: "CONNECT and CONNECTED frames do not escape").
bool is_unescaped_command(std::string_view command);

// Header escaping of STOMP 1.1/1.2 (\\ \n \r \c; 1.1 has no \r but accepting it on input is harmless; on output
// we escape CR only for 1.2). What no escape can write goes out neutralized, never raw: NUL as U+FFFD (all
// versions), and in 1.0 (no escapes) CR and LF as spaces; encode() does the same for CONNECT/CONNECTED.
std::string escape_header(std::string_view text, Version version);
// nullopt for an undefined escape sequence.
std::optional<std::string> unescape_header(std::string_view text, Version version);

// Encodes a frame: headers escaped per version (none for CONNECTED/CONNECT or 1.0), a content-length header added
// when `with_content_length` (always for bodies containing NUL), LF line endings, NUL terminator.
std::string encode(const Frame& frame, Version version, bool with_content_length = true);

class Decoder {
 public:
  explicit Decoder(Limits limits = {}) : limits_(limits) {}

  // The version negotiated so far (decides unescaping). Before CONNECT a 1.2 reading is used, CONNECT itself
  // is never unescaped.
  void set_version(Version version) { version_ = version; }
  Version version() const { return version_; }

  // Consumes `data` and appends every complete frame to `out`. Partial frames are kept for the next call.
  // Returns an error on a malformed or oversize frame; the decoder then refuses further input.
  Status feed(std::string_view data, std::vector<Frame>& out);

  // Heart-beat EOLs seen between frames so far, and whether any byte arrived since the last call to
  // take_activity() (for the read side of heart-beating).
  std::size_t heartbeats() const { return heartbeats_; }
  bool take_activity() { return std::exchange(activity_, false); }
  bool in_frame() const { return !buffer_.empty(); }
  // Memory held for a partial frame (what a session charges to the server's memory budget).
  std::size_t buffered_bytes() const { return buffer_.capacity(); }
  // Stops decoding (the connection is closing for a reason of its own): lets go of what is buffered.
  void abandon() {
    failed_ = true;
    std::string().swap(buffer_);
    head_.reset();
  }

 private:
  // Tries to decode one frame from buffer_ at pos_. Returns true when a frame (or heart-beat) was consumed.
  Result<bool> step(std::vector<Frame>& out);

  Limits limits_;
  Version version_ = Version::v1_2;
  std::string buffer_;
  std::size_t pos_ = 0;  // start of unconsumed data in buffer_
  std::size_t heartbeats_ = 0;
  bool activity_ = false;
  bool failed_ = false;
  // Parsed head of the current frame while its body is still arriving.
  std::optional<Frame> head_;
  std::optional<std::size_t> content_length_;
  std::size_t body_start_ = 0;
};

}  // namespace backside::proto::stomp
