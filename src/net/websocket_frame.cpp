#include "net/websocket_frame.h"

namespace backside::net {

namespace {

bool is_control(std::uint8_t opcode) { return opcode >= 0x8; }

bool is_known_opcode(std::uint8_t opcode) {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
}

// RFC 6455 §7.4: codes a peer may send in a close frame.
bool is_valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

// Length of the longest prefix of `text` (at most `limit` bytes) that does not cut a UTF-8 sequence.
std::size_t utf8_prefix(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text.size();
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return end;
}

}  // namespace

std::size_t encode_frame_header(WebSocketOpcode opcode, std::size_t payload_size, std::uint8_t* out) {
  out[0] = static_cast<std::uint8_t>(0x80 | static_cast<std::uint8_t>(opcode));
  if (payload_size < 126) {
    out[1] = static_cast<std::uint8_t>(payload_size);
    return 2;
  }
  if (payload_size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<std::uint8_t>(payload_size >> 8);
    out[3] = static_cast<std::uint8_t>(payload_size);
    return 4;
  }
  out[1] = 127;
  const auto size = static_cast<std::uint64_t>(payload_size);
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(size >> (56 - 8 * i));
  return 10;
}

OutgoingFrame make_websocket_frame(WebSocketOpcode opcode, std::shared_ptr<const std::string> payload,
                                   std::string head) {
  OutgoingFrame frame;
  const std::size_t size = head.size() + (payload ? payload->size() : 0);
  frame.header_size = static_cast<std::uint8_t>(encode_frame_header(opcode, size, frame.header.data()));
  frame.head = std::move(head);
  frame.payload = std::move(payload);
  return frame;
}

std::string close_frame_payload(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason.substr(0, utf8_prefix(reason, 123)));
  return payload;
}

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t length;
    std::uint32_t code;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;  // a continuation byte first, an overlong 2-byte lead (C0, C1), or beyond U+10FFFF (F5-FF)
    }
    if (static_cast<std::size_t>(end - p) < length) return false;
    for (std::size_t i = 1; i < length; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10FFFF))) return false;
    if (code >= 0xD800 && code <= 0xDFFF) return false;  // surrogates are not characters
    p += length;
  }
  return true;
}

std::size_t WebSocketFrameReader::fail(std::uint16_t code, std::string reason, std::vector<Event>& events,
                                      std::size_t consumed) {
  Event event;
  event.kind = Event::Kind::error;
  event.code = code;
  event.payload = std::move(reason);
  events.push_back(std::move(event));
  done_ = true;
  return consumed;
}

void WebSocketFrameReader::feed(std::string_view bytes, std::vector<Event>& events) {
  if (done_) return;
  const bool buffered = !pending_.empty();
  if (buffered) pending_.append(bytes);
  const std::string_view input = buffered ? std::string_view(pending_) : bytes;
  std::size_t offset = 0;
  while (!done_ && offset < input.size()) {
    const std::size_t used = parse_frame(input.substr(offset), events);
    if (used == 0) break;
    offset += used;
  }
  if (done_) {
    std::string().swap(pending_);
    std::string().swap(message_);
    return;
  }
  if (buffered) {
    pending_.erase(0, offset);
  } else {
    pending_.assign(input.substr(offset));
  }
  if (pending_.empty()) std::string().swap(pending_);  // an idle connection keeps no buffer
}

std::size_t WebSocketFrameReader::parse_frame(std::string_view bytes, std::vector<Event>& events) {
  if (bytes.size() < 2) return 0;
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const bool final_frame = (data[0] & 0x80) != 0;
  const std::uint8_t opcode = data[0] & 0x0F;
  const bool masked = (data[1] & 0x80) != 0;
  const std::uint8_t length7 = data[1] & 0x7F;
  // Everything knowable from the first two bytes is checked before waiting for the rest.
  if ((data[0] & 0x70) != 0) return fail(1002, "reserved bits set in a frame (no extension was negotiated)", events);
  if (!is_known_opcode(opcode)) {
    return fail(1002, "unknown frame opcode " + std::to_string(opcode), events);
  }
  if (!masked) return fail(1002, "a frame from the client was not masked", events);
  if (is_control(opcode)) {
    if (!final_frame) return fail(1002, "a fragmented control frame", events);
    if (length7 > 125) return fail(1002, "a control frame longer than 125 bytes", events);
  } else if (opcode == 0 && !in_message_) {
    return fail(1002, "a continuation frame outside a fragmented message", events);
  } else if (opcode != 0 && in_message_) {
    return fail(1002, "a new message began before the fragmented one ended", events);
  }

  std::size_t header = 2;
  std::uint64_t length = length7;
  if (length7 == 126) {
    if (bytes.size() < 4) return 0;
    length = (std::uint64_t(data[2]) << 8) | data[3];
    if (length < 126) return fail(1002, "a frame length not in its shortest form", events);
    header = 4;
  } else if (length7 == 127) {
    if (bytes.size() < 10) return 0;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | data[2 + i];
    if (length >> 63) return fail(1002, "a frame length with the most significant bit set", events);
    if (length <= 0xFFFF) return fail(1002, "a frame length not in its shortest form", events);
    header = 10;
  }
  if (!is_control(opcode) && length > max_message_bytes_ - std::min<std::size_t>(message_.size(), max_message_bytes_)) {
    return fail(1009, "a message exceeded the limit of " + std::to_string(max_message_bytes_) + " bytes", events);
  }
  const std::size_t mask_at = header;
  header += 4;
  if (bytes.size() < header || bytes.size() - header < length) return 0;

  const std::uint8_t* mask = data + mask_at;
  const std::uint8_t* payload = data + header;
  const auto payload_size = static_cast<std::size_t>(length);
  std::string unmasked(payload_size, '\0');
  for (std::size_t i = 0; i < payload_size; ++i) unmasked[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
  const std::size_t consumed = header + payload_size;

  if (!is_control(opcode)) {
    if (opcode != 0) {
      in_message_ = true;
      message_binary_ = opcode == 0x2;
      message_ = std::move(unmasked);
    } else {
      message_.append(unmasked);
    }
    if (!final_frame) return consumed;
    in_message_ = false;
    if (!message_binary_ && !is_valid_utf8(message_)) {
      std::string().swap(message_);
      return fail(1007, "a text message that is not valid UTF-8", events, consumed);
    }
    Event event;
    event.kind = Event::Kind::message;
    event.binary = message_binary_;
    event.payload = std::move(message_);
    std::string().swap(message_);
    events.push_back(std::move(event));
    return consumed;
  }

  Event event;
  event.payload = std::move(unmasked);
  if (opcode == 0x9) {
    event.kind = Event::Kind::ping;
  } else if (opcode == 0xA) {
    event.kind = Event::Kind::pong;
  } else {
    event.kind = Event::Kind::close;
    if (event.payload.empty()) {
      event.code = 1005;  // "no status code was present"
    } else if (event.payload.size() == 1) {
      return fail(1002, "a close frame with a 1-byte payload", events, consumed);
    } else {
      event.code = static_cast<std::uint16_t>((static_cast<unsigned char>(event.payload[0]) << 8) |
                                              static_cast<unsigned char>(event.payload[1]));
      if (!is_valid_close_code(event.code)) {
        return fail(1002, "a close frame with the invalid code " + std::to_string(event.code), events, consumed);
      }
      event.payload.erase(0, 2);
      if (!is_valid_utf8(event.payload)) return fail(1007, "a close reason that is not valid UTF-8", events, consumed);
    }
    done_ = true;
  }
  events.push_back(std::move(event));
  return consumed;
}

}  // namespace backside::net
