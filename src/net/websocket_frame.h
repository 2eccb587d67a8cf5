#pragma once
// WebSocket framing after the handshake (RFC 6455 §5), written here rather than taken from Beast because of the
// fan-out: one event goes to thousands of connections, and a server frame is unmasked, so the same payload bytes
// serve every connection behind a 2-10 byte header, and a connection's queued frames go out in one gather write.
// Beast frames each message in its own write operation. The handshake itself stays with Beast.
//
// WebSocketFrameReader parses what a client sends: masked frames, fragmented messages, control frames between
// fragments. Every violation becomes an error event carrying the close code to answer with.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/socket_writer.h"

namespace backside::net {

enum class WebSocketOpcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

constexpr std::size_t kMaxFrameHeaderBytes = 10;

// Writes the header of a final, unmasked (server-to-client) frame with a payload of `payload_size` bytes into `out`;
// returns its length: 2, 4 or 10 bytes.
std::size_t encode_frame_header(WebSocketOpcode opcode, std::size_t payload_size, std::uint8_t* out);

// A final, unmasked frame for a SocketWriter whose payload is `head` (this connection's own bytes, may be empty) then
// `payload` (shared, may be null): one frame, its header's length covering both.
OutgoingFrame make_websocket_frame(WebSocketOpcode opcode, std::shared_ptr<const std::string> payload,
                                   std::string head = {});

// The payload of a close frame: the code, big-endian, then the reason cut to 123 bytes (a control frame's payload is
// at most 125) at a UTF-8 character boundary.
std::string close_frame_payload(std::uint16_t code, std::string_view reason);

bool is_valid_utf8(std::string_view text);

class WebSocketFrameReader {
 public:
  struct Event {
    enum class Kind {
      message,  // a complete data message: `payload`, `binary`
      ping,     // `payload` to echo in a pong
      pong,
      close,    // the peer's close frame: `code` (1005 when it had none) and `payload` = the reason
      error,    // a protocol violation: answer with a close frame of `code`, `payload` = why
    };
    Kind kind = Kind::message;
    std::string payload;
    std::uint16_t code = 0;
    bool binary = false;
  };

  explicit WebSocketFrameReader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Consumes bytes from the client; appends each complete event to `events`, in order. After a close or an error
  // event the reader is done and ignores what follows.
  void feed(std::string_view bytes, std::vector<Event>& events);

  bool done() const { return done_; }
  // Stops reading (the connection is being closed for a reason of its own): what is buffered is let go and
  // further input ignored.
  void abandon() {
    done_ = true;
    std::string().swap(pending_);
    std::string().swap(message_);
  }
  // Bytes held for an incomplete frame or message (0 between messages: an idle connection holds no buffer).
  std::size_t buffered_bytes() const { return pending_.size() + message_.size(); }

 private:
  // Parses one frame from the front of `bytes`; returns the bytes consumed, 0 if the frame is incomplete.
  std::size_t parse_frame(std::string_view bytes, std::vector<Event>& events);
  // Ends reading with an error event; returns `consumed` (what parse_frame returns).
  std::size_t fail(std::uint16_t code, std::string reason, std::vector<Event>& events, std::size_t consumed = 0);

  std::size_t max_message_bytes_;
  std::string pending_;  // the start of a frame not yet complete
  std::string message_;  // the payload of a fragmented message so far
  bool in_message_ = false;
  bool message_binary_ = false;
  bool done_ = false;
};

}  // namespace backside::net
