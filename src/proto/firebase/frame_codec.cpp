#include "proto/firebase/frame_codec.h"

namespace backside::proto::firebase {

namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

std::vector<std::shared_ptr<const std::string>> split_message(const std::shared_ptr<const std::string>& message,
                                                             std::size_t max_frame_bytes) {
  std::vector<std::shared_ptr<const std::string>> frames;
  if (message->size() <= max_frame_bytes) {
    frames.push_back(message);
    return frames;
  }
  const std::string& text = *message;
  std::vector<std::shared_ptr<const std::string>> pieces;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = std::min(text.size(), at + max_frame_bytes);
    // Never cut a UTF-8 sequence: back off to the start of the character that crosses the boundary.
    while (end < text.size() && end > at && is_continuation(static_cast<unsigned char>(text[end]))) --end;
    if (end == at) end = std::min(text.size(), at + max_frame_bytes);  // not UTF-8 at all: cut anyway
    pieces.push_back(std::make_shared<const std::string>(text.substr(at, end - at)));
    at = end;
  }
  frames.reserve(pieces.size() + 1);
  frames.push_back(std::make_shared<const std::string>(std::to_string(pieces.size())));
  for (auto& piece : pieces) frames.push_back(std::move(piece));
  return frames;
}

net::WebSocketAccept firebase_websocket(std::shared_ptr<net::WebSocketEndpoint> endpoint,
                                        std::size_t max_message_bytes) {
  net::WebSocketAccept accepted;
  accepted.endpoint = std::move(endpoint);
  accepted.max_message_bytes = max_message_bytes;
  accepted.split_above = kMaxFrameBytes;
  accepted.split = [](const std::shared_ptr<const std::string>& message) { return split_message(message); };
  accepted.kind = metrics::ConnectionKind::firebase_websocket;
  return accepted;
}

Result<std::optional<std::string>> FrameDecoder::feed(std::string&& frame) {
  if (expected_ > 0) {
    if (pending_.size() + frame.size() > max_message_bytes_) {
      expected_ = 0;
      pending_.clear();
      pending_.shrink_to_fit();
      return Error{ErrorCode::too_large,
                   "Message is larger than the limit of " + std::to_string(max_message_bytes_) + " bytes"};
    }
    pending_ += frame;
    if (--expected_ > 0) return std::optional<std::string>();
    std::string message = std::move(pending_);
    pending_ = std::string();
    return std::optional<std::string>(std::move(message));
  }
  if (!frame.empty() && frame.size() <= 6 &&
      frame.find_first_not_of("0123456789") == std::string::npos) {
    std::size_t count = std::stoul(frame);
    if (count == 0) return std::optional<std::string>();  // keepalive
    expected_ = count;
    return std::optional<std::string>();
  }
  if (frame.size() > max_message_bytes_) {
    return Error{ErrorCode::too_large,
                 "Message is larger than the limit of " + std::to_string(max_message_bytes_) + " bytes"};
  }
  return std::optional<std::string>(std::move(frame));
}

}  // namespace backside::proto::firebase
