#pragma once
// The admin console (docs/console.md): its page and assets at /console/ (embedded in the binary: console_assets.h)
// and the few reads it needs that the public APIs lack, under /.console/api/, for the admin only (Authorization:
// Bearer <admin token>; never ?auth=, so that the console's credential stays out of URLs and access logs):
//   GET /.console/api/databases               the databases, with their size on disk
//   GET /.console/api/children?ns=&path=...   one page of a node's children: leaves with their values, objects with
//                                             their number of children (a REST shallow read says only `true`), with
//                                             the REST query parameters (orderBy, startAt, startAfter, ...)
//   GET /.console/api/changes?ns=             Server-Sent Events: the path of each change in the database, with a
//                                             leaf's new value, never a subtree (the REST stream of the root would
//                                             first send the whole database)
// Everything else the console does goes through the public APIs (REST, the Auth admin API, /metrics), as any
// client's would.
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "db/registry.h"
#include "net/http.h"

namespace backside::console {

struct ConsoleOptions {
  const auth::Authenticator* authenticator = nullptr;  // required: who is the admin
  std::string default_namespace = "default";
  std::string data_dir;  // where the databases' directories are (their size on disk)
  std::string store = "lmdb";  // a postgresql:// store keeps trees elsewhere: no size on disk then
};

class ConsoleHandler {
 public:
  ConsoleHandler(db::Registry& registry, ConsoleOptions options);

  static bool handles(std::string_view path);
  void handle(net::HttpRequest&& request, std::shared_ptr<net::HttpExchange> exchange);
  // The I/O context for the change streams' timers (the server's, once it exists).
  void set_io_context(boost::asio::io_context& io) { io_ = &io; }

 private:
  void serve_asset(const net::HttpRequest& request, std::string_view path,
                   const std::shared_ptr<net::HttpExchange>& exchange) const;
  void databases(const net::HttpRequest& request, const std::shared_ptr<net::HttpExchange>& exchange);
  void children(const net::HttpRequest& request, const std::shared_ptr<net::HttpExchange>& exchange);
  void changes(const net::HttpRequest& request, const std::shared_ptr<net::HttpExchange>& exchange);

  db::Registry& registry_;
  ConsoleOptions options_;
  boost::asio::io_context* io_ = nullptr;
};

}  // namespace backside::console
