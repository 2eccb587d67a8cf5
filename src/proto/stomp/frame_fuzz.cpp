// libFuzzer target for the STOMP frame decoder. Build (not part of the default build):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//       src/proto/stomp/frame.cpp src/proto/stomp/frame_fuzz.cpp -o stomp_frame_fuzz
//   ./stomp_frame_fuzz -max_total_time=60
// Checks, beyond "no crash, no leak": the first input byte picks how the rest is split into feeds, and the frames
// decoded must not depend on the split; every decoded frame other than CONNECT/CONNECTED re-encodes to bytes that
// decode back to the same frame (escaping and content-length round-trip).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "proto/stomp/frame.h"

using backside::proto::stomp::Decoder;
using backside::proto::stomp::Frame;
using backside::proto::stomp::Limits;

namespace {

bool same(const Frame& a, const Frame& b) {
  return a.command == b.command && a.headers == b.headers && a.body == b.body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t chunk = data[0] % 17 + 1;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  Limits limits;
  limits.max_header_block_bytes = 512;
  limits.max_headers = 16;
  limits.max_body_bytes = 1024;

  Decoder whole(limits);
  std::vector<Frame> whole_frames;
  bool whole_ok = whole.feed(input, whole_frames).ok();

  Decoder pieces(limits);
  std::vector<Frame> piece_frames;
  bool pieces_ok = true;
  for (std::size_t i = 0; i < input.size() && pieces_ok; i += chunk) {
    pieces_ok = pieces.feed(input.substr(i, chunk), piece_frames).ok();
  }
  if (whole_ok != pieces_ok) std::abort();
  if (whole_ok) {
    if (whole_frames.size() != piece_frames.size()) std::abort();
    for (std::size_t i = 0; i < whole_frames.size(); ++i) {
      if (!same(whole_frames[i], piece_frames[i])) std::abort();
    }
    if (whole.heartbeats() != pieces.heartbeats()) std::abort();
  }
  for (const Frame& frame : whole_frames) {
    if (backside::proto::stomp::is_unescaped_command(frame.command)) continue;
    Frame copy = frame;
    std::erase_if(copy.headers, [](const auto& h) { return h.first == "content-length"; });
    Decoder again(Limits{});
    std::vector<Frame> out;
    if (!again.feed(encode(copy, backside::proto::stomp::Version::v1_2), out).ok()) std::abort();
    if (out.size() != 1) std::abort();
    out[0].headers.pop_back();  // the content-length encode() added
    if (!same(out[0], copy)) std::abort();
  }
  return 0;
}
