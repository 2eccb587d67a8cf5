#include "net/connection_limiter.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace backside::net {

namespace ip = boost::asio::ip;

namespace {

// IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack socket reports for IPv4 peers) as the IPv4 address it is.
ip::address normalized(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

bool is_exempt(const std::vector<ip::address>& exempt, const ip::address& address) {
  const ip::address plain = normalized(address);
  return std::any_of(exempt.begin(), exempt.end(), [&](const ip::address& e) { return normalized(e) == plain; });
}

struct KeyHash {
  std::size_t operator()(const AddressKey& key) const noexcept {
    return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  }
};

}  // namespace

AddressKey address_key(const ip::address& address) {
  const ip::address plain = normalized(address);
  AddressKey key{};
  if (plain.is_v4()) {
    key = ip::make_address_v6(ip::v4_mapped, plain.to_v4()).to_bytes();
  } else {
    key = plain.to_v6().to_bytes();
    std::fill(key.begin() + 8, key.end(), 0);  // the /64
  }
  return key;
}

std::string address_group(const ip::address& address) {
  const ip::address plain = normalized(address);
  if (plain.is_v4()) return plain.to_string();
  return ip::address_v6(address_key(plain)).to_string() + "/64";
}

struct ConnectionSlot::State {
  std::mutex mutex;
  std::size_t open = 0;
  std::unordered_map<AddressKey, std::size_t, KeyHash> per_address;
};

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept
    : state_(std::move(other.state_)), key_(other.key_), per_address_(other.per_address_) {
  other.state_.reset();
}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
    other.state_.reset();
    key_ = other.key_;
    per_address_ = other.per_address_;
  }
  return *this;
}

void ConnectionSlot::release() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->open > 0) --state_->open;
    if (per_address_) {
      if (auto it = state_->per_address.find(key_); it != state_->per_address.end() && --it->second == 0) {
        state_->per_address.erase(it);  // the map holds only addresses with open connections
      }
    }
  }
  state_.reset();
}

ConnectionLimiter::ConnectionLimiter(ConnectionLimits limits)
    : limits_(std::move(limits)), state_(std::make_shared<ConnectionSlot::State>()) {}

ConnectionLimiter::Admission ConnectionLimiter::admit(const ip::address& peer) {
  const bool per_address = limits_.max_connections_per_address != 0 && !is_exempt(limits_.exempt, peer);
  const AddressKey key = address_key(peer);
  std::lock_guard lock(state_->mutex);
  if (limits_.max_connections != 0 && state_->open >= limits_.max_connections) return {Verdict::server_full, {}};
  if (per_address) {
    std::size_t& count = state_->per_address[key];
    if (count >= limits_.max_connections_per_address) return {Verdict::address_full, {}};
    ++count;
  }
  ++state_->open;
  return {Verdict::admitted, ConnectionSlot(state_, key, per_address)};
}

std::size_t ConnectionLimiter::open() const {
  std::lock_guard lock(state_->mutex);
  return state_->open;
}

std::size_t ConnectionLimiter::open_from(const ip::address& peer) const {
  std::lock_guard lock(state_->mutex);
  auto it = state_->per_address.find(address_key(peer));
  return it == state_->per_address.end() ? 0 : it->second;
}

std::string PerAddressCount::key_of(const std::string& address, bool& exempt) const {
  boost::system::error_code ec;
  const ip::address parsed = ip::make_address(address, ec);
  if (ec) {
    exempt = false;
    return address;
  }
  exempt = is_exempt(exempt_, parsed);
  const AddressKey key = address_key(parsed);
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

bool PerAddressCount::try_add(const std::string& address) {
  if (max_ == 0) return true;
  bool exempt = false;
  std::string key = key_of(address, exempt);
  if (exempt) return true;
  std::size_t& count = counts_[key];
  if (count >= max_) return false;
  ++count;
  return true;
}

void PerAddressCount::remove(const std::string& address) {
  if (max_ == 0) return;
  bool exempt = false;
  std::string key = key_of(address, exempt);
  if (exempt) return;
  if (auto it = counts_.find(key); it != counts_.end() && --it->second == 0) counts_.erase(it);
}

std::size_t PerAddressCount::count(const std::string& address) const {
  bool exempt = false;
  auto it = counts_.find(key_of(address, exempt));
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace backside::net
