#pragma once
// One STOMP subscription as a hub subscriber: renders view events as the shared tail of MESSAGE frames (once per
// view and protocol version: proto/stomp/message.h) and sends each with this subscription's head.
#include <memory>
#include <string>

#include "identity/credential_expiry.h"
#include "proto/stomp/frame.h"
#include "session/listen.h"

namespace backside::proto::stomp {

class StompSession;

class StompSubscriber : public session::SessionSubscriber {
 public:
  StompSubscriber(std::weak_ptr<StompSession> session, std::shared_ptr<identity::CredentialExpiry> credential,
                  std::string id, std::string destination, Version version)
      : session_(std::move(session)),
        credential_(std::move(credential)),
        id_(std::move(id)),
        destination_(std::move(destination)),
        version_(version) {}

  const std::string& render_key() const override;
  std::shared_ptr<const std::string> render(const sync::ViewEvent& event) const override;
  void deliver(const std::shared_ptr<const std::string>& bytes) override;
  void revoked(const Error& why) override;

  const std::string& id() const { return id_; }
  const std::string& destination() const { return destination_; }

 private:
  std::weak_ptr<StompSession> session_;
  std::shared_ptr<identity::CredentialExpiry> credential_;
  std::string id_;
  std::string destination_;
  Version version_;
};

}  // namespace backside::proto::stomp
