#pragma once
// Firebase Realtime Database framing over WebSocket text frames: a long message is preceded by a frame holding its
// count of pieces.
//
// Server -> client: a message longer than kMaxFrameBytes is sent as a frame holding the decimal piece count, then
// the pieces (split on UTF-8 character boundaries, so every frame is valid UTF-8). The SDK treats ANY frame of at
// most 6 characters that Number()-parses as a count, so nothing else we send may look like one: messages are JSON
// objects (they start with '{'), and a last piece always ends in '}'.
//
// Client -> server: a frame "0" is a keepalive; a frame of 1-6 digits is the count of the frames that follow and
// make up one message; any other frame is one whole message.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/http.h"
#include "util/result.h"

namespace backside::proto::firebase {

inline constexpr std::size_t kMaxFrameBytes = 16384;

// The frames carrying `message`: the message itself when it fits, else the count frame and the pieces.
std::vector<std::shared_ptr<const std::string>> split_message(const std::shared_ptr<const std::string>& message,
                                                             std::size_t max_frame_bytes = kMaxFrameBytes);

// How every Firebase WebSocket is accepted: incoming messages bounded by max_message_bytes, outgoing ones split as
// above.
net::WebSocketAccept firebase_websocket(std::shared_ptr<net::WebSocketEndpoint> endpoint,
                                        std::size_t max_message_bytes);

// Reassembles incoming frames into messages, bounded by max_message_bytes.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Feeds one frame. Returns a complete message, nullopt when there is none yet (a keepalive, a count frame or a
  // piece of a longer message), or an error (a message over the limit); after an error the decoder is reset.
  Result<std::optional<std::string>> feed(std::string&& frame);

  bool in_message() const { return expected_ > 0; }
  // What the pieces of an unfinished message hold (charged to the server's memory budget by the connection).
  std::size_t buffered_bytes() const { return pending_.capacity(); }
  // Drops an unfinished message.
  void abandon() {
    expected_ = 0;
    pending_ = std::string();
  }

 private:
  std::size_t max_message_bytes_;
  std::size_t expected_ = 0;  // pieces still to come
  std::string pending_;
};

}  // namespace backside::proto::firebase
