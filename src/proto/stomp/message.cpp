#include "proto/stomp/message.h"

namespace backside::proto::stomp {

using tree::Node;
using tree::Path;

const std::string& render_key_for(Version version) {
  static const std::string k10 = "stomp-1.0", k11 = "stomp-1.1", k12 = "stomp-1.2";
  switch (version) {
    case Version::v1_0: return k10;
    case Version::v1_1: return k11;
    case Version::v1_2: break;
  }
  return k12;
}

namespace {

void header(std::string& out, std::string_view name, std::string_view value, Version version) {
  out += escape_header(name, version);
  out += ':';
  out += escape_header(value, version);
  out += '\n';
}

std::string relative_text(const Path& path, const Path& view) { return path.relative_to(view).to_string(); }

std::string key_text(const Path& relative) {
  std::string out;
  for (std::size_t i = 0; i < relative.size(); ++i) {
    if (i > 0) out += '/';
    out += relative[i];
  }
  return out;
}

}  // namespace

std::shared_ptr<const std::string> render_message_tail(const sync::ViewEvent& event, Version version,
                                                       tree::Format format) {
  static const Node kNull;
  std::string body;
  const char* kind = "put";
  if (event.kind == sync::ViewEvent::Kind::put) {
    tree::append_json(body, event.value ? *event.value : kNull, {.format = format});
  } else {
    if (event.merge.empty()) return nullptr;
    kind = "patch";
    body += '{';
    bool first = true;
    for (const auto& [relative, value] : event.merge) {
      if (!first) body += ',';
      first = false;
      tree::append_string(body, key_text(relative));
      body += ':';
      tree::append_json(body, value ? *value : kNull, {.format = format});
    }
    body += '}';
  }
  auto out = std::make_shared<std::string>();
  out->reserve(body.size() + 96);
  header(*out, "event", kind, version);
  header(*out, "path", relative_text(event.path, *event.view_path), version);
  header(*out, "content-type", "application/json", version);
  header(*out, "content-length", std::to_string(body.size()), version);
  *out += '\n';
  *out += body;
  *out += '\0';
  return out;
}

std::string message_head(std::string_view subscription, std::uint64_t message_id, std::string_view destination,
                         Version version) {
  std::string out;
  out.reserve(72 + subscription.size() + destination.size());  // one allocation when nothing needs escaping
  out += "MESSAGE\n";
  header(out, "subscription", subscription, version);
  header(out, "message-id", std::to_string(message_id), version);
  header(out, "destination", destination, version);
  return out;
}

}  // namespace backside::proto::stomp
