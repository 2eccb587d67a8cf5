#include "proto/stomp/frame.h"

#include <algorithm>
#include <charconv>

namespace backside::proto::stomp {

const std::string* Frame::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

bool is_unescaped_command(std::string_view command) { return command == "CONNECT" || command == "CONNECTED"; }

namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// Header text without escapes (STOMP 1.0, CONNECT/CONNECTED): what would end the line or the frame cannot be
// written as itself, so a line break becomes a space and NUL the replacement character. Header values often carry
// client text (destinations, ids, error messages quoting keys); a raw LF or NUL would let it forge headers or frames.
std::string neutralize_header(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\0') {
      out += kReplacementCharacter;
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string escape_header(std::string_view text, Version version) {
  if (version == Version::v1_0) return neutralize_header(text);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\0': out += kReplacementCharacter; break;  // no escape exists; a NUL would end the frame
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case ':': out += "\\c"; break;
      case '\r':
        if (version == Version::v1_2) {
          out += "\\r";
        } else {
          out += c;
        }
        break;
      default: out += c;
    }
  }
  return out;
}

std::optional<std::string> unescape_header(std::string_view text, Version version) {
  if (version == Version::v1_0) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= text.size()) return std::nullopt;
    switch (text[++i]) {
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 'c': out += ':'; break;
      case 'r': out += '\r'; break;
      default: return std::nullopt;  // "Undefined escape sequences such as \t MUST be treated as a fatal error"
    }
  }
  return out;
}

std::string encode(const Frame& frame, Version version, bool with_content_length) {
  bool escape = !is_unescaped_command(frame.command);
  bool has_length = frame.header("content-length") != nullptr;
  bool add_length = !has_length && (with_content_length || frame.body.find('\0') != std::string::npos);
  std::size_t size = frame.command.size() + frame.body.size() + 32;
  for (const auto& [k, v] : frame.headers) size += k.size() + v.size() + 2;
  std::string out;
  out.reserve(size);
  out += frame.command;
  out += '\n';
  for (const auto& [key, value] : frame.headers) {
    if (escape) {
      out += escape_header(key, version);
      out += ':';
      out += escape_header(value, version);
    } else {
      out += neutralize_header(key);
      out += ':';
      out += neutralize_header(value);
    }
    out += '\n';
  }
  if (add_length) {
    out += "content-length:";
    out += std::to_string(frame.body.size());
    out += '\n';
  }
  out += '\n';
  out += frame.body;
  out += '\0';
  return out;
}

namespace {
constexpr std::size_t kKeptBufferBytes = 64 * 1024;
}  // namespace

Status Decoder::feed(std::string_view data, std::vector<Frame>& out) {
  if (failed_) return invalid("the STOMP stream is already broken");
  if (!data.empty()) activity_ = true;
  buffer_.append(data);
  for (;;) {
    auto progressed = step(out);
    if (!progressed.ok()) {
      failed_ = true;
      buffer_.clear();
      return progressed.error();
    }
    if (!*progressed) break;
  }
  // Drop consumed bytes (the body offset of a pending frame moves with them).
  if (pos_ > 0) {
    buffer_.erase(0, pos_);
    if (head_) body_start_ -= pos_;
    pos_ = 0;
  }
  // After a large frame the buffer gives its storage back: an idle connection holds (and is charged) little.
  if (buffer_.empty() && buffer_.capacity() > kKeptBufferBytes) std::string().swap(buffer_);
  return ok_status();
}

Result<bool> Decoder::step(std::vector<Frame>& out) {
  if (!head_) {
    // Heart-beats: EOLs between frames.
    while (pos_ < buffer_.size()) {
      if (buffer_[pos_] == '\n') {
        ++heartbeats_;
        ++pos_;
      } else if (buffer_[pos_] == '\r') {
        if (pos_ + 1 >= buffer_.size()) return false;
        if (buffer_[pos_ + 1] != '\n') return Error{ErrorCode::invalid_argument, "CR not followed by LF"};
        ++heartbeats_;
        pos_ += 2;
      } else {
        break;
      }
    }
    if (pos_ >= buffer_.size()) return false;
    // Find the empty line that ends the header block.
    std::vector<std::string_view> lines;
    std::size_t line_start = pos_;
    std::size_t end = std::string::npos;
    std::size_t scan_limit = std::min(buffer_.size(), pos_ + limits_.max_header_block_bytes);
    for (std::size_t i = pos_; i < scan_limit; ++i) {
      if (buffer_[i] != '\n') continue;
      std::string_view line(buffer_.data() + line_start, i - line_start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) {
        end = i + 1;
        break;
      }
      lines.push_back(line);
      if (lines.size() > limits_.max_headers + 1) {
        return Error{ErrorCode::too_large, "too many headers (limit " + std::to_string(limits_.max_headers) + ")"};
      }
      line_start = i + 1;
    }
    if (end == std::string::npos) {
      if (buffer_.size() - pos_ >= limits_.max_header_block_bytes) {
        return Error{ErrorCode::too_large,
                     "frame header block over " + std::to_string(limits_.max_header_block_bytes) + " bytes"};
      }
      return false;
    }
    Frame frame;
    frame.command = std::string(lines.front());
    if (frame.command.find('\0') != std::string::npos || frame.command.find('\r') != std::string::npos) {
      return Error{ErrorCode::invalid_argument, "malformed command line"};
    }
    bool escaped = version_ != Version::v1_0 && !is_unescaped_command(frame.command);
    for (std::size_t i = 1; i < lines.size(); ++i) {
      std::string_view line = lines[i];
      // NUL ends a frame on the wire and has no escape, so a header holding one could never be sent back as is.
      if (line.find('\0') != std::string_view::npos) {
        return Error{ErrorCode::invalid_argument, "NUL byte in a header line"};
      }
      auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        return Error{ErrorCode::invalid_argument, "header line without a colon"};
      }
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      if (name.empty()) return Error{ErrorCode::invalid_argument, "header with an empty name"};
      if (escaped) {
        auto n = unescape_header(name, version_);
        auto v = unescape_header(value, version_);
        if (!n || !v) return Error{ErrorCode::invalid_argument, "undefined escape sequence in a header"};
        frame.headers.emplace_back(std::move(*n), std::move(*v));
      } else {
        frame.headers.emplace_back(std::string(name), std::string(value));
      }
    }
    content_length_.reset();
    if (const std::string* length = frame.header("content-length")) {
      std::size_t n = 0;
      auto [ptr, ec] = std::from_chars(length->data(), length->data() + length->size(), n);
      if (length->empty() || ec != std::errc() || ptr != length->data() + length->size()) {
        return Error{ErrorCode::invalid_argument, "content-length is not a non-negative integer"};
      }
      if (n > limits_.max_body_bytes) {
        return Error{ErrorCode::too_large, "body over " + std::to_string(limits_.max_body_bytes) + " bytes"};
      }
      content_length_ = n;
    }
    head_ = std::move(frame);
    body_start_ = end;
  }
  // Body.
  std::size_t available = buffer_.size() - body_start_;
  std::size_t body_size = 0;
  if (content_length_) {
    if (available < *content_length_ + 1) return false;
    if (buffer_[body_start_ + *content_length_] != '\0') {
      return Error{ErrorCode::invalid_argument, "frame body not followed by NUL after content-length bytes"};
    }
    body_size = *content_length_;
  } else {
    auto nul = buffer_.find('\0', body_start_);
    if (nul == std::string::npos) {
      if (available > limits_.max_body_bytes) {
        return Error{ErrorCode::too_large, "body over " + std::to_string(limits_.max_body_bytes) + " bytes"};
      }
      return false;
    }
    body_size = nul - body_start_;
    if (body_size > limits_.max_body_bytes) {
      return Error{ErrorCode::too_large, "body over " + std::to_string(limits_.max_body_bytes) + " bytes"};
    }
  }
  head_->body.assign(buffer_, body_start_, body_size);
  pos_ = body_start_ + body_size + 1;
  out.push_back(std::move(*head_));
  head_.reset();
  content_length_.reset();
  return true;
}

}  // namespace backside::proto::stomp
