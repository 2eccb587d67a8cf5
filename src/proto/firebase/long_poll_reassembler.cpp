#include "proto/firebase/long_poll_reassembler.h"

namespace backside::proto::firebase {

LongPollReassembler::LongPollReassembler(std::size_t max_message_bytes, std::size_t max_pending_segments)
    // base64 is 4/3 of the message; early segments may hold a message's worth.
    : max_base64_bytes_(max_message_bytes / 3 * 4 + 4), max_pending_segments_(max_pending_segments) {}

bool LongPollReassembler::add(long_poll::Segment&& segment) {
  if (segment.number < next_segment_) return true;  // a repeat
  if (segment.total == 0) return false;
  const std::size_t size = segment.data.size();
  // A segment number already waiting keeps its first data (a repeated poll carries the same).
  if (pending_.try_emplace(segment.number, segment.total, std::move(segment.data)).second) pending_bytes_ += size;
  return pending_.size() <= max_pending_segments_ && pending_bytes_ <= max_base64_bytes_;
}

Result<std::optional<std::string>> LongPollReassembler::next() {
  while (!pending_.empty() && pending_.begin()->first == next_segment_) {
    auto node = pending_.extract(pending_.begin());
    pending_bytes_ -= node.mapped().second.size();
    ++next_segment_;
    if (message_left_ == 0) message_left_ = node.mapped().first;  // the first segment says how many there are
    message_ += node.mapped().second;
    if (message_.size() > max_base64_bytes_) return Error{ErrorCode::too_large, "long-poll message too large"};
    if (--message_left_ == 0) {
      auto decoded = long_poll::decode_base64(message_);
      message_.clear();
      if (!decoded) return invalid("long-poll segment is not base64");
      return std::optional<std::string>(std::move(*decoded));
    }
  }
  return std::optional<std::string>();
}

void LongPollReassembler::clear() {
  pending_.clear();
  pending_bytes_ = 0;
  // Swapped out: assigning an empty string keeps the buffer (libstdc++), and the point is to give it back.
  std::string().swap(message_);
  message_left_ = 0;
}

}  // namespace backside::proto::firebase
