#include "proto/stomp/stomp_subscriber.h"

#include "proto/stomp/message.h"
#include "proto/stomp/stomp_session.h"

namespace backside::proto::stomp {

const std::string& StompSubscriber::render_key() const { return render_key_for(version_); }

std::shared_ptr<const std::string> StompSubscriber::render(const sync::ViewEvent& event) const {
  return render_message_tail(event, version_);
}

void StompSubscriber::deliver(const std::shared_ptr<const std::string>& bytes) {
  if (!active()) return;
  auto session = session_.lock();
  if (!session) return;
  if (credential_->expired()) {  // nothing after the credential's end; the client is told, once
    session->credential_ended();
    return;
  }
  session->send_message(message_head(id_, session->next_message_id(), destination_, version_), bytes);
}

void StompSubscriber::revoked(const Error& why) {
  if (!stop()) return;
  if (auto session = session_.lock()) session->cancel_subscription(*this, why.code, why.message);
}

}  // namespace backside::proto::stomp
