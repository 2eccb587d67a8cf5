#include "session/listen.h"

namespace backside::session {

Listen::Listen(db::Database& database, std::shared_ptr<SessionSubscriber> subscriber)
    : database_(database), subscriber_(std::move(subscriber)) {}

void Listen::start(tree::Path path, std::optional<tree::Query> query, identity::Identity identity, Done done) {
  database_.listen(std::move(path), std::move(query), std::move(identity), subscriber_,
                   [database = &database_, state = state_, done = std::move(done)](
                       Result<sync::Hub::Handle> handle) {
                     if (handle) {
                       bool cancelled;
                       {
                         std::lock_guard lock(state->mutex);
                         cancelled = state->cancelled;
                         if (!cancelled) state->handle = *handle;
                       }
                       // Cancelled before the answer came: the subscription ends (its subscriber already sends
                       // nothing more).
                       if (cancelled) database->unlisten(*handle);
                     }
                     if (done) done(handle);
                   });
}

void Listen::cancel() {
  subscriber_->stop();
  std::optional<sync::Hub::Handle> handle;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->cancelled) return;
    state_->cancelled = true;
    handle.swap(state_->handle);
  }
  if (handle) database_.unlisten(*handle);
}

}  // namespace backside::session
