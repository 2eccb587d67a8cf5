#pragma once
// MESSAGE frames for subscriptions (docs/protocol.md, "MESSAGE"). Serialize once, send many:
// a MESSAGE is split into
//   - a per-subscriber HEAD: the command line and the headers that differ per subscriber (`subscription`,
//     `message-id`, `destination`), a few dozen bytes built in deliver();
//   - a shared TAIL: the headers every subscriber of the view has in common (`event`, `path`, `content-type`,
//     `content-length`), the empty line, the JSON body and the NUL. The tail is what Subscriber::render() returns,
//     rendered once per view and negotiated version (header escaping differs between 1.0, 1.1 and 1.2), so the
//     render key is render_key_for(version).
// The session writes head + tail as one gathered write, so the body is never copied per subscriber.
//
// Event mapping (the REST stream's model): a put becomes `event:put`, `path:<path relative to the subscription>`
// and the new value as body (null = deleted); a merge becomes `event:patch`, `path:<relative path>` and an object
// body whose keys are paths relative to that path (they may contain '/': each is a set at path/key, null removes).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proto/stomp/frame.h"
#include "sync/subscriber.h"
#include "tree/json_codec.h"

namespace backside::proto::stomp {

const std::string& render_key_for(Version version);

// The shared tail of the MESSAGE frames for `event`; nullptr when the event carries nothing to send.
std::shared_ptr<const std::string> render_message_tail(const sync::ViewEvent& event, Version version,
                                                       tree::Format format = tree::Format::plain);

// The per-subscriber head, to be written right before a tail.
std::string message_head(std::string_view subscription, std::uint64_t message_id, std::string_view destination,
                         Version version);

}  // namespace backside::proto::stomp
