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
  // A new key, in memory only (tests; a cluster stores its pem() in PostgreSQL).
  static Result<std::shared_ptr<const SigningKey>> generate();
  // The key of a PEM private key (PKCS#8 or traditional), as pem() writes it.
  static Result<std::shared_ptr<const SigningKey>> from_pem(const std::string& pem);
  std::string pem() const;
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
