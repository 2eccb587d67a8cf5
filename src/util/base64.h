#pragma once
// Base64 (RFC 4648) through libsodium's constant-time codec. Modules that include this link libsodium
// (src/CMakeLists.txt).
#include <sodium.h>

#include <optional>
#include <string>
#include <string_view>

namespace backside {

// The URL-safe alphabet without padding (RFC 4648 §5): JWT parts (RFC 7515), random ids and tokens.
inline std::string base64url_encode(std::string_view bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');  // counts the terminating NUL
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    kVariant);
  out.pop_back();
  return out;
}

// Decodes text in the standard or the URL-safe alphabet (either, not mixed), followed by any number of the
// `padding` characters or none: what JWT senders and the Firebase SDK's long-poll segments ('.' padding) write.
// Nothing else is accepted: no other character, no impossible length, no stray bits in the last character.
inline std::optional<std::string> base64_decode(std::string_view text, std::string_view padding = "=") {
  const std::size_t last = text.find_last_not_of(padding);
  text = last == std::string_view::npos ? std::string_view() : text.substr(0, last + 1);
  const int variant = text.find_first_of("+/") == std::string_view::npos ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                                                                          : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  std::string out(text.size() / 4 * 3 + 2, '\0');
  std::size_t length = 0;
  // Without an end pointer libsodium fails unless it used the whole text.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, nullptr, variant) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

}  // namespace backside
