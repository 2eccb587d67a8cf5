#pragma once
// A REST streaming client (reference §5.5): renders view events as Server-Sent Events `put` / `patch`.
#include <memory>
#include <mutex>
#include <optional>

#include "db/credential_expiry.h"
#include "db/database.h"
#include "net/http.h"
#include "sync/subscriber.h"
#include "tree/json_codec.h"

namespace backside::proto::rest {

class SseSubscriber : public sync::Subscriber, public std::enable_shared_from_this<SseSubscriber> {
 public:
  SseSubscriber(std::shared_ptr<net::HttpExchange> exchange, db::Database& database, tree::Format format);

  // Starts the subscription; the first delivery opens the stream with the current value.
  void start(tree::Path path, std::optional<tree::Query> query, db::Auth auth);

  const std::string& render_key() const override { return render_key_; }
  std::shared_ptr<const std::string> render(const sync::ViewEvent& event) const override;
  void deliver(const std::shared_ptr<const std::string>& bytes) override;
  void revoked(const std::string& reason) override;

 private:
  void on_stream_closed();
  // At once: auth_revoked, then the end (the credential's account ended). Any thread.
  void end_stream_now();
  std::shared_ptr<const std::string> auth_revoked_event() const;

  std::shared_ptr<net::HttpExchange> exchange_;
  db::Database& database_;
  tree::Format format_;
  std::string render_key_;

  std::mutex mutex_;
  std::shared_ptr<net::EventStream> stream_;  // set on the first delivery
  std::optional<sync::Hub::Handle> handle_;
  bool stream_closed_ = false;
  db::CredentialExpiry credential_;  // when it ends: auth_revoked (the stream's end timer), then the end
};

}  // namespace backside::proto::rest
