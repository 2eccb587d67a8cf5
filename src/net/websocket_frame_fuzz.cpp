// libFuzzer target for the WebSocket frame reader (net/websocket_frame.h): what any client can send after the
// upgrade. Built by scripts/fuzz.sh. Checks, beyond "no crash, no leak": the first input byte picks how the rest is
// split into feeds, and the events must not depend on the split; a message never exceeds the limit; a text message
// and a close reason are valid UTF-8; nothing is read after a close or an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "net/websocket_frame.h"

using backside::net::WebSocketFrameReader;
using Event = WebSocketFrameReader::Event;

namespace {

constexpr std::size_t kMaxMessage = 4096;

std::vector<Event> read(std::string_view input, std::size_t chunk) {
  WebSocketFrameReader reader(kMaxMessage);
  std::vector<Event> events;
  for (std::size_t at = 0; at < input.size(); at += chunk) reader.feed(input.substr(at, chunk), events);
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] % 23 + 1;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::vector<Event> whole = read(input, input.size() + 1);
  const std::vector<Event> split = read(input, chunk);
  if (whole.size() != split.size()) std::abort();
  for (std::size_t i = 0; i < whole.size(); ++i) {
    const Event& event = whole[i];
    if (event.kind != split[i].kind || event.payload != split[i].payload || event.code != split[i].code) std::abort();
    const bool last = i + 1 == whole.size();
    if ((event.kind == Event::Kind::close || event.kind == Event::Kind::error) && !last) std::abort();
    if (event.kind == Event::Kind::message) {
      if (event.payload.size() > kMaxMessage) std::abort();
      if (!event.binary && !backside::net::is_valid_utf8(event.payload)) std::abort();
    }
    if (event.kind == Event::Kind::close && !backside::net::is_valid_utf8(event.payload)) std::abort();
    if (event.kind == Event::Kind::error && event.code != 1002 && event.code != 1007 && event.code != 1009) {
      std::abort();
    }
  }
  return 0;
}
