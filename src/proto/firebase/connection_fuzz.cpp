// libFuzzer target for the Firebase protocol front door: a whole Connection (frame reassembly, message parsing,
// every action: listens with queries, writes, transactions, onDisconnect, auth) on a real database. Build and run
// with scripts/fuzz.sh. The input is a sequence of WebSocket frames separated by '\n'.
// Checks, beyond "no crash, no leak, no sanitizer report": every message the server sends is one JSON object, and
// after the connection closes the database still answers.
#include <openssl/crypto.h>

#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "db/database.h"
#include "db/registry.h"
#include "proto/firebase/connection.h"
#include "store/store.h"

namespace {

using namespace backside;

// The connection's socket: checks that everything the connection sends is a JSON object.
class CheckingSocket : public net::WebSocketConnection {
 public:
  bool send(std::shared_ptr<const std::string> message) override {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(*message, ec);
    if (ec || !value.is_object()) {
      std::fprintf(stderr, "server sent a message that is not a JSON object: %s\n", message->c_str());
      std::abort();
    }
    return true;
  }
  bool send(std::string head, std::shared_ptr<const std::string> body) override {
    return send(std::make_shared<const std::string>(head + *body));
  }
  bool send_all(std::span<const std::shared_ptr<const std::string>> messages) override {
    for (const auto& message : messages) send(message);
    return true;
  }
  using net::WebSocketConnection::close;
  void close(std::uint16_t, std::string) override {}
  void post(std::function<void()> fn) override { fn(); }
  const std::string& remote_address() const override { return address_; }
  void pause_reading(bool) override {}

 private:
  const std::string address_ = "127.0.0.1";
};

struct World {
  std::filesystem::path dir;
  std::unique_ptr<db::Database> database;
  auth::Authenticator authenticator{{.admin_token = "fuzz-admin-token-0123456789", .dev = true}};
  proto::firebase::FirebaseOptions options;

  World() {
    dir = std::filesystem::temp_directory_path() / ("backside-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto store = store::open_lmdb_store({.directory = dir.string(), .durability = store::Durability::none,
                                         .map_size_bytes = std::size_t(1) << 30});
    if (!store) std::abort();
    // Rules that allow some paths and not others, so that both outcomes are exercised.
    auto rules = db::Registry::compile_rules(
        R"J({"rules": {"open": {".read": true, ".write": true}, "users": {"$uid": {".read": "auth.uid == $uid",
            ".write": "auth.uid == $uid", ".validate": "newData.hasChildren(['n']) || !newData.exists()"}}}})J");
    auto opened = db::Database::open({"fuzz", std::move(*store), *rules});
    if (!opened) std::abort();
    database = std::move(*opened);
    options.authenticator = &authenticator;
    options.max_message_bytes = 1 << 16;
    options.limits.max_listens = 64;
    options.limits.max_on_disconnect = 64;
  }
  ~World() {
    database->stop();
    std::filesystem::remove_all(dir);
  }

  void settle() {  // waits until the database has handled everything queued so far
    std::promise<void> done;
    database->run([&](const tree::Node&) { done.set_value(); });
    done.get_future().wait();
  }
};

World& the_world() {
  static World world;
  return world;
}

}  // namespace

// Before the first input: one-time set-up (OpenSSL loads its configuration and keeps it for the process; done
// inside an input, libFuzzer's per-input leak check would report it).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
  the_world().settle();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& world = the_world();
  static unsigned inputs = 0;
  auto socket = std::make_shared<CheckingSocket>();  // held here: the connection holds it weakly
  auto connection = std::make_shared<proto::firebase::Connection>(*world.database, socket, world.options, "localhost");
  connection->open();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const auto end = input.find('\n');
    connection->on_frame(std::string(input.substr(0, end)));
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + 1);
  }
  connection->on_close();
  world.settle();
  world.settle();  // onDisconnect writes issued by the close
  if (++inputs % 256 == 0) {  // keep the tree small
    db::WriteRequest clear;
    clear.auth = identity::Identity::admin_identity();
    clear.data = nullptr;
    std::promise<void> done;
    world.database->write(std::move(clear), [&](db::WriteReply&&) { done.set_value(); });
    done.get_future().wait();
  }
  return 0;
}
