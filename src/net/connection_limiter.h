#pragma once
// Caps open connections, server-wide and per client address, across every door: the HTTP port (plain requests,
// SSE streams, long-poll polls, and the WebSockets those connections upgrade to) and the raw protocol ports (STOMP
// over TCP). Without it one client can hold every file descriptor of the process and no other client gets in.
//
// A connection is admitted when it is accepted and holds a ConnectionSlot until its socket is closed; the slot is
// RAII, so a session that ends in any way (or is destroyed) gives it back, and it moves with the socket when an
// HTTP connection becomes a WebSocket. A connection over a cap is accepted and closed at once by the listener.
//
// "Per address" means per IPv4 address, and per /64 prefix for IPv6 (one subscriber line gets a whole /64, so a
// per-address cap on single IPv6 addresses would cap nothing). Exempt addresses (by default the loopback ones,
// which a reverse proxy on the same host presents for every client it forwards) count toward the global cap only.
//
// Thread-safe: listeners admit on their strands, sessions release on theirs.
#include <boost/asio/ip/address.hpp>
#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace backside::net {

struct ConnectionLimits {
  std::size_t max_connections = 0;              // server-wide; 0 = no cap
  std::size_t max_connections_per_address = 0;  // 0 = no cap
  std::vector<boost::asio::ip::address> exempt;  // not counted per address (still toward max_connections)
};

// The key a client address is counted under: the IPv4 address (as IPv4-mapped IPv6), or the IPv6 /64.
using AddressKey = std::array<unsigned char, 16>;
AddressKey address_key(const boost::asio::ip::address& address);

// The 16 bytes of an AddressKey as a std::string, for maps keyed by strings (and a readable form for logs).
std::string address_group(const boost::asio::ip::address& address);

class ConnectionLimiter;

// One admitted connection. Move-only; gives its slot back when destroyed or released.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(ConnectionSlot&& other) noexcept;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot() { release(); }

  // Gives the slot back now (idempotent).
  void release();
  bool held() const { return state_ != nullptr; }

 private:
  friend class ConnectionLimiter;
  struct State;
  ConnectionSlot(std::shared_ptr<State> state, AddressKey key, bool per_address)
      : state_(std::move(state)), key_(key), per_address_(per_address) {}

  std::shared_ptr<State> state_;  // shared: a session may outlive the server that admitted it
  AddressKey key_{};
  bool per_address_ = false;
};

class ConnectionLimiter {
 public:
  explicit ConnectionLimiter(ConnectionLimits limits);

  enum class Verdict { admitted, server_full, address_full };
  struct Admission {
    Verdict verdict = Verdict::admitted;
    ConnectionSlot slot;  // held when admitted
  };
  // A new connection from `peer`.
  Admission admit(const boost::asio::ip::address& peer);

  std::size_t open() const;  // connections holding a slot
  std::size_t open_from(const boost::asio::ip::address& peer) const;  // ... counted under peer's key
  const ConnectionLimits& limits() const { return limits_; }

 private:
  const ConnectionLimits limits_;
  std::shared_ptr<ConnectionSlot::State> state_;
};

// A cap on counted things per client address (IPv4 address, IPv6 /64), with exempt addresses, for resources that
// are not connections (long-poll sessions). Not thread-safe: the owner locks.
class PerAddressCount {
 public:
  PerAddressCount(std::size_t max_per_address, std::vector<boost::asio::ip::address> exempt)
      : max_(max_per_address), exempt_(std::move(exempt)) {}
  // Counts one more for `address` (text, as remote_address() gives it) unless that would pass the cap. An address
  // that does not parse is counted under itself.
  bool try_add(const std::string& address);
  void remove(const std::string& address);
  std::size_t count(const std::string& address) const;

 private:
  std::string key_of(const std::string& address, bool& exempt) const;
  std::size_t max_;  // 0 = no cap
  std::vector<boost::asio::ip::address> exempt_;
  std::unordered_map<std::string, std::size_t> counts_;
};

}  // namespace backside::net
