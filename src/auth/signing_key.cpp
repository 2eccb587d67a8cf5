#include "auth/signing_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "util/base64.h"

namespace backside::auth {

namespace {

std::string big_number(const EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return {};
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return bytes;
}

}  // namespace

SigningKey::SigningKey(EVP_PKEY* key) : key_(key) {
  // kid: the first 20 hex digits of the SHA-256 of the public modulus.
  const std::string modulus = big_number(key_, OSSL_PKEY_PARAM_RSA_N);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(modulus.data()), modulus.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 10; ++i) {
    kid_ += kHex[digest[i] >> 4];
    kid_ += kHex[digest[i] & 15];
  }
}

SigningKey::~SigningKey() { EVP_PKEY_free(key_); }

Result<std::shared_ptr<const SigningKey>> SigningKey::generate() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (!key) return Error{ErrorCode::internal, "cannot generate an RSA key"};
  return std::shared_ptr<const SigningKey>(new SigningKey(key));
}

Result<std::shared_ptr<const SigningKey>> SigningKey::from_pem(const std::string& pem) {
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!in) return Error{ErrorCode::internal, "cannot read a signing key: out of memory"};
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (!key) return Error{ErrorCode::invalid_argument, "the signing key is not a PEM private key"};
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return Error{ErrorCode::invalid_argument, "the signing key is not an RSA key"};
  }
  return std::shared_ptr<const SigningKey>(new SigningKey(key));
}

std::string SigningKey::pem() const {
  BIO* out = BIO_new(BIO_s_mem());
  if (!out) return {};
  std::string text;
  if (PEM_write_bio_PrivateKey(out, key_, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    if (size > 0) text.assign(data, static_cast<std::size_t>(size));
  }
  BIO_free(out);
  return text;
}

Result<std::shared_ptr<const SigningKey>> SigningKey::load_or_create(const std::string& file) {
  if (std::FILE* in = std::fopen(file.c_str(), "r")) {
    EVP_PKEY* key = PEM_read_PrivateKey(in, nullptr, nullptr, nullptr);
    std::fclose(in);
    if (!key) return Error{ErrorCode::unavailable, "cannot read the signing key " + file};
    return std::shared_ptr<const SigningKey>(new SigningKey(key));
  }
  auto generated = generate();
  if (!generated) return generated.error();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
  const mode_t old_mask = ::umask(077);  // 0600 from the start
  std::FILE* out = std::fopen(file.c_str(), "w");
  ::umask(old_mask);
  if (!out) return Error{ErrorCode::unavailable, "cannot write the signing key " + file};
  const bool written = PEM_write_PrivateKey(out, (*generated)->key_, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  const bool closed = std::fclose(out) == 0;
  if (!written || !closed) return Error{ErrorCode::unavailable, "cannot write the signing key " + file};
  return generated;
}

Result<std::string> SigningKey::sign(std::string_view input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = 0;
  std::string signature;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
            EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()) == 1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Error{ErrorCode::internal, "signing failed"};
  return signature;
}

bool SigningKey::verify(std::string_view input, std::string_view signature) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

boost::json::object SigningKey::jwk() const {
  boost::json::object jwk;
  jwk["kty"] = "RSA";
  jwk["alg"] = "RS256";
  jwk["use"] = "sig";
  jwk["kid"] = kid_;
  jwk["n"] = base64url_encode(big_number(key_, OSSL_PKEY_PARAM_RSA_N));
  jwk["e"] = base64url_encode(big_number(key_, OSSL_PKEY_PARAM_RSA_E));
  return jwk;
}

}  // namespace backside::auth
