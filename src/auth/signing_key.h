#pragma once
// The server's RS256 signing key for ID tokens: generated on first start (RSA 2048) and kept in the data directory
// (PEM, mode 0600). Its public half is published as a JWK at /.well-known/jwks.json.
#include <openssl/evp.h>

#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace backside::auth {

class SigningKey {
 public:
  // Loads `file`, or creates it with a new key.
  static Result<std::shared_ptr<const SigningKey>> load_or_create(const std::string& file);
  // A key that lives only in memory (tests).
  static Result<std::shared_ptr<const SigningKey>> generate();
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  const std::string& kid() const { return kid_; }
  // RSASSA-PKCS1-v1_5 with SHA-256 over `input`.
  Result<std::string> sign(std::string_view input) const;
  bool verify(std::string_view input, std::string_view signature) const;
  boost::json::object jwk() const;  // {kty, alg, use, kid, n, e}

 private:
  explicit SigningKey(EVP_PKEY* key);
  EVP_PKEY* key_;
  std::string kid_;
};

}  // namespace backside::auth
