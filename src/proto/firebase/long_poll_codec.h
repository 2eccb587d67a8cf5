#pragma once
// The wire format of the Firebase long-poll transport /.lp (the SDK's BrowserPollConnection), as
// pure functions: what a request's query carries (the client's messages as numbered base64 segments) and the
// scripts the server answers with (JSONP callbacks into the SDK's iframe). The session (long_poll_session.h) and
// the registry (long_poll_sessions.h) keep the state; segments are put back together by LongPollReassembler.
//
// Start:   GET /.lp?start=t&ser=..&cb=<cbId>&v=5&ns=NS → start_script(): the callbacks, pLPCommand('start',id,pw)
//          and pRTLPCB(0,[handshake]).
// Poll:    GET /.lp?id=..&pw=..&ser=..[&seg<i>=<n>&ts<i>=<total>&d<i>=<web-safe base64>..] → response_script():
//          pRTLPCB(<n>,[msg,..]); (and pLPCommand('close',<n>); when the session ends).
// Leaving: /.lp?dframe=t serves kDisconnectFrame, whose unload handler requests /.lp?disconn=t&id&pw.
#include <boost/beast/http/status.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/http.h"

namespace backside::proto::firebase::long_poll {

using QueryParams = std::unordered_map<std::string, std::string>;

// The query parameters of a request target (percent-decoded); empty when the target does not parse.
QueryParams parse_query(std::string_view target);

// One piece of a client message: the connection's running segment number, how many segments its message has
// (meaningful on the message's first segment), and the base64 text.
struct Segment {
  std::uint64_t number = 0;
  std::uint64_t total = 0;
  std::string data;
};

// The segments a poll carries (seg0/ts0/d0, seg1/ts1/d1, ... until a seg<i> is missing), in query order.
// `malformed`: the segment after these lacks its ts/d or has a number that is not a decimal integer.
struct Segments {
  std::vector<Segment> segments;
  bool malformed = false;
};
Segments read_segments(const QueryParams& params);

// The SDK's base64: web-safe alphabet (-_) padded with '.'; the standard alphabet and '=' are accepted too.
// Decoding stops at the first padding character. nullopt: a character outside both alphabets.
std::optional<std::string> decode_base64(std::string_view text);

// A callback id (`cb`) fit to be pasted into the script: 1-64 letters, digits or '_'.
bool valid_callback_id(std::string_view id);

using Messages = std::deque<std::shared_ptr<const std::string>>;

// The answer to a start: the two callbacks for `callback_id`, the session's id and password, and response 0
// holding `messages` (the handshake).
std::string start_script(std::string_view callback_id, std::string_view id, std::string_view password,
                         const Messages& messages);
// The answer to a start whose database does not open: response 0 holds a shutdown control message with `reason`
// (the SDK reports it and stops reconnecting).
std::string refused_start_script(std::string_view callback_id, std::string_view reason);
// Response `number` holding `messages`; `close`: followed by the close command, which ends the session on the
// client.
std::string response_script(std::int64_t number, const Messages& messages, bool close);
// The answer to a poll of an unknown or ended session: the client closes this transport and reconnects.
inline constexpr std::string_view kUnknownSessionScript = "pLPCommand('close');";

// Every /.lp answer: never cached (each poll's answer is new).
inline constexpr std::string_view kScriptType = "application/javascript; charset=utf-8";
inline constexpr std::string_view kJsonType = "application/json; charset=utf-8";
net::HttpResponse http_response(unsigned version, bool keep_alive, std::string body,
                                std::string_view content_type = kScriptType,
                                boost::beast::http::status status = boost::beast::http::status::ok);

// What /.lp?dframe=t serves: a page that tells the server the client left when the SDK removes it.
inline constexpr std::string_view kDisconnectFrame =
    "<!DOCTYPE html><html><head><script>var sent=false;function leave(){if(sent)return;sent=true;"
    "var u=location.href.replace('dframe=t','disconn=t');"
    "try{if(navigator.sendBeacon&&navigator.sendBeacon(u))return;}catch(e){}"
    "try{var x=new XMLHttpRequest();x.open('GET',u,false);x.send(null);}catch(e){}}"
    "window.addEventListener('pagehide',leave);window.addEventListener('unload',leave);"
    "</script></head><body></body></html>";

// The control message {"t":"c","d":{"t":"<type>","d":{}}} (`a` switch ack, `n` end of transmission, `o` pong).
std::shared_ptr<const std::string> control_message(std::string_view type);
// The type of a control message ({"t":"c","d":{"t":<type>,..}} as the SDK's JSON.stringify writes it); nullopt
// for anything else (data messages, invalid JSON).
std::optional<std::string> control_type(std::string_view message);

}  // namespace backside::proto::firebase::long_poll
