#pragma once
// Puts a long-poll client's messages back together: each message is JSON, base64-encoded and
// split into segments numbered by one running counter per session; polls may arrive out of order (the client
// keeps two open while it sends), so a segment waits until every earlier one has come. Bounded: the segments
// waiting and the message being assembled hold at most one message's worth of base64, and a limited count.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "proto/firebase/long_poll_codec.h"
#include "util/result.h"

namespace backside::proto::firebase {

class LongPollReassembler {
 public:
  // `max_message_bytes`: one decoded message; `max_pending_segments`: segments waiting for an earlier one.
  LongPollReassembler(std::size_t max_message_bytes, std::size_t max_pending_segments);

  // Takes one segment. A segment already taken (a repeated poll) is ignored. False when it is malformed (a
  // message of 0 segments) or crosses a bound: the session ends.
  [[nodiscard]] bool add(long_poll::Segment&& segment);
  // The next message whose segments have all come, decoded; nullopt when there is none yet. An error (invalid
  // base64, a message over the bound) ends the session.
  Result<std::optional<std::string>> next();

  // What the waiting segments and the partial message hold (charged to the server's memory budget).
  std::size_t buffered_bytes() const { return pending_bytes_ + message_.capacity(); }
  // Drops what waits and gives its memory back (the session ended).
  void clear();

 private:
  std::size_t max_base64_bytes_;
  std::size_t max_pending_segments_;
  std::uint64_t next_segment_ = 0;
  std::map<std::uint64_t, std::pair<std::uint64_t, std::string>> pending_;  // number -> (total, data)
  std::size_t pending_bytes_ = 0;
  std::string message_;             // base64 of the message being assembled
  std::uint64_t message_left_ = 0;  // its segments still to come
};

}  // namespace backside::proto::firebase
