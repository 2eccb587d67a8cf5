#include "proto/firebase/long_poll_codec.h"

#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>
#include <random>

namespace backside::proto::firebase::long_poll {
namespace {

// The SDK's encoding of a message (BrowserPollConnection): base64 with the web-safe alphabet and '.' padding, or,
// with `standard`, the usual alphabet and '=' (which the server accepts too).
std::string sdk_base64(std::string_view data, bool standard = false) {
  const char* alphabet = standard ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                                  : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char pad = standard ? '=' : '.';
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(n >> shift) & 63];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    unsigned n = static_cast<unsigned char>(data[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : pad;
    out += pad;
  }
  return out;
}

// A poll's target carrying `message` as the SDK sends it: base64 split into segments of at most 1840 characters,
// numbered from `first_segment` on, each with the message's segment count.
std::string sdk_poll_target(std::string_view message, std::uint64_t first_segment) {
  const std::string data = sdk_base64(message);
  std::vector<std::string> pieces;
  for (std::size_t at = 0; at < data.size(); at += 1840) pieces.push_back(data.substr(at, 1840));
  std::string target = "/.lp?id=abc&pw=def&ser=4&ns=db";
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string n = std::to_string(i);
    target += "&seg" + n + "=" + std::to_string(first_segment + i) + "&ts" + n + "=" +
              std::to_string(pieces.size()) + "&d" + n + "=" + pieces[i];
  }
  return target;
}

TEST(LongPollCodec, Base64RoundTripsForEveryPaddingAndBothAlphabets) {
  std::mt19937 random(7);
  for (std::size_t length = 0; length < 200; ++length) {
    std::string data(length, '\0');
    for (auto& c : data) c = static_cast<char>(random() & 0xFF);
    for (bool standard : {false, true}) {
      auto decoded = decode_base64(sdk_base64(data, standard));
      ASSERT_TRUE(decoded.has_value()) << length;
      EXPECT_EQ(*decoded, data) << "length " << length << (standard ? " standard" : " web-safe");
    }
  }
}

TEST(LongPollCodec, Base64RefusesForeignCharactersAndAnythingAfterThePadding) {
  EXPECT_FALSE(decode_base64("ab$c").has_value());
  EXPECT_FALSE(decode_base64("ab c").has_value());
  EXPECT_FALSE(decode_base64("ab%3D").has_value());
  EXPECT_FALSE(decode_base64("QQ..anything").has_value());
  EXPECT_EQ(decode_base64("QQ==").value(), "A");
  EXPECT_EQ(decode_base64("").value(), "");
}

TEST(LongPollCodec, APollOfTheSdkDecodesToItsSegmentsAndMessage) {
  // Long enough for three segments, with characters outside ASCII.
  std::string message = R"({"t":"d","d":{"r":3,"a":"p","b":{"p":"/w","d":")";
  for (int i = 0; i < 1500; ++i) message += "é€";
  message += "\"}}}";
  const auto params = parse_query(sdk_poll_target(message, 41));
  EXPECT_EQ(params.at("id"), "abc");
  EXPECT_EQ(params.at("pw"), "def");
  auto read = read_segments(params);
  EXPECT_FALSE(read.malformed);
  const std::size_t count = (sdk_base64(message).size() + 1839) / 1840;
  ASSERT_GE(count, 3u);
  ASSERT_EQ(read.segments.size(), count);
  std::string base64;
  for (std::size_t i = 0; i < read.segments.size(); ++i) {
    EXPECT_EQ(read.segments[i].number, 41 + i);
    EXPECT_EQ(read.segments[i].total, count);
    EXPECT_LE(read.segments[i].data.size(), 1840u);
    base64 += read.segments[i].data;
  }
  EXPECT_EQ(decode_base64(base64).value(), message);
}

TEST(LongPollCodec, QueryValuesArePercentDecoded) {
  auto params = parse_query("/.lp?seg0=0&ts0=1&d0=eyJ0Ijoi%59%22fQ..&cb=a%5Fb");
  EXPECT_EQ(params.at("d0"), "eyJ0IjoiY\"fQ..");
  EXPECT_EQ(params.at("cb"), "a_b");
  EXPECT_TRUE(parse_query("not a target").empty());
}

TEST(LongPollCodec, APollWithoutSegmentsHasNone) {
  auto read = read_segments(parse_query("/.lp?id=a&pw=b&ser=2"));
  EXPECT_TRUE(read.segments.empty());
  EXPECT_FALSE(read.malformed);
  // Segments are read from seg0 on, up to the first index missing.
  read = read_segments(parse_query("/.lp?id=a&seg1=1&ts1=1&d1=QQ.."));
  EXPECT_TRUE(read.segments.empty());
  EXPECT_FALSE(read.malformed);
  read = read_segments(parse_query("/.lp?seg0=0&ts0=1&d0=QQ..&seg2=2&ts2=1&d2=QQ.."));
  EXPECT_EQ(read.segments.size(), 1u);
  EXPECT_FALSE(read.malformed);
}

TEST(LongPollCodec, AMalformedSegmentStopsTheReadingAfterTheGoodOnesBeforeIt) {
  for (const char* bad : {"seg1=1&d1=QQ..",            // no ts
                          "seg1=1&ts1=1",              // no d
                          "seg1=x&ts1=1&d1=QQ..",      // not a number
                          "seg1=-1&ts1=1&d1=QQ..",     // negative
                          "seg1=1&ts1=1e3&d1=QQ..",    // not an integer
                          "seg1=&ts1=1&d1=QQ..",       // empty
                          "seg1=1&ts1=99999999999999999999&d1=QQ.."}) {  // past 64 bits
    auto read = read_segments(parse_query(std::string("/.lp?id=a&seg0=0&ts0=1&d0=QQ..&") + bad +
                                          "&seg2=2&ts2=1&d2=QQ.."));
    EXPECT_TRUE(read.malformed) << bad;
    ASSERT_EQ(read.segments.size(), 1u) << bad;
    EXPECT_EQ(read.segments[0].data, "QQ..");
  }
}

TEST(LongPollCodec, CallbackIdsAreWordCharactersOnly) {
  EXPECT_TRUE(valid_callback_id("7"));
  EXPECT_TRUE(valid_callback_id("cb_12AZ"));
  EXPECT_TRUE(valid_callback_id(std::string(64, 'a')));
  EXPECT_FALSE(valid_callback_id(""));
  EXPECT_FALSE(valid_callback_id(std::string(65, 'a')));
  EXPECT_FALSE(valid_callback_id("bad\"id"));
  EXPECT_FALSE(valid_callback_id("a-b"));
  EXPECT_FALSE(valid_callback_id("a;alert(1)"));
}

Messages messages(std::initializer_list<const char*> texts) {
  Messages out;
  for (const char* text : texts) out.push_back(std::make_shared<const std::string>(text));
  return out;
}

TEST(LongPollCodec, TheStartScriptDefinesTheCallbacksThenStartsWithResponseZero) {
  const std::string script = start_script("7", "ID", "PW", messages({R"({"t":"c","d":{"t":"h"}})"}));
  EXPECT_EQ(script,
            "function pLPCommand(c,a1,a2,a3,a4){parent.window[\"pLPCommand7\"]&&parent.window[\"pLPCommand7\"]"
            "(c,a1,a2,a3,a4);}\nfunction pRTLPCB(pN,data){parent.window[\"pRTLPCB7\"]&&parent.window[\"pRTLPCB7\"]"
            "(pN,data);}\npLPCommand('start','ID','PW');pRTLPCB(0,[{\"t\":\"c\",\"d\":{\"t\":\"h\"}}]);");
}

TEST(LongPollCodec, ARefusedStartCarriesItsReasonAsJson) {
  const std::string script = refused_start_script("1", "Cannot open database \"x\": it's \\ gone");
  EXPECT_NE(script.find("pLPCommand('start','0','0');pRTLPCB(0,[{\"t\":\"c\",\"d\":{\"t\":\"s\",\"d\":"
                        "\"Cannot open database \\\"x\\\": it's \\\\ gone\"}}]);"),
            std::string::npos)
      << script;
  EXPECT_TRUE(script.starts_with("function pLPCommand(c,a1,a2,a3,a4){parent.window[\"pLPCommand1\"]"));
}

TEST(LongPollCodec, ResponsesHoldTheirMessagesInOrderAndMayEndTheSession) {
  EXPECT_EQ(response_script(3, {}, false), "pRTLPCB(3,[]);");
  EXPECT_EQ(response_script(4, messages({"{\"a\":1}", "{\"b\":2}"}), false), "pRTLPCB(4,[{\"a\":1},{\"b\":2}]);");
  EXPECT_EQ(response_script(5, messages({"{}"}), true), "pRTLPCB(5,[{}]);pLPCommand('close',5);");
}

TEST(LongPollCodec, ControlMessagesAreToldFromDataMessages) {
  for (const char* type : {"a", "n", "o", "p"}) EXPECT_EQ(control_type(*control_message(type)), type);
  EXPECT_EQ(*control_message("n"), R"({"t":"c","d":{"t":"n","d":{}}})");
  EXPECT_EQ(control_type(R"({"t":"c","d":{"t":"p","d":{}}})"), "p");
  EXPECT_EQ(control_type(R"({"t":"d","d":{"r":1,"a":"n","b":{}}})"), std::nullopt);
  EXPECT_EQ(control_type(R"({"t":"c","d":{"t":"n")"), std::nullopt);  // cut short
  EXPECT_EQ(control_type(R"({"t":"c","d":"n"})"), std::nullopt);
  EXPECT_EQ(control_type(R"({"t":"c","d":{"t":7}})"), std::nullopt);
  EXPECT_EQ(control_type(""), std::nullopt);
}

TEST(LongPollCodec, AnswersAreNeverCached) {
  auto response = http_response(10, false, "pRTLPCB(1,[]);");
  EXPECT_EQ(response.version(), 10u);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_EQ(response.result(), boost::beast::http::status::ok);
  EXPECT_EQ(response[boost::beast::http::field::content_type], kScriptType);
  EXPECT_EQ(response[boost::beast::http::field::cache_control], "no-cache, no-store, must-revalidate");
  EXPECT_EQ(response.body(), "pRTLPCB(1,[]);");
  EXPECT_EQ(response[boost::beast::http::field::content_length], "14");
}

}  // namespace
}  // namespace backside::proto::firebase::long_poll
