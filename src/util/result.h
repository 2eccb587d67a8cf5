#pragma once
// A value or a typed error with a clear message (as DuckDB does): no exceptions across module boundaries.
#include <string>
#include <utility>
#include <variant>

namespace backside {

enum class ErrorCode {
  invalid_argument,   // bad key, path, JSON, query or value: the caller's fault (REST 400)
  permission_denied,  // rules said no (REST 401)
  invalid_token,      // a credential that is malformed, expired or not ours (REST 401, Firebase "invalid_token")
  hash_mismatch,      // compare-and-set lost (REST 412, Firebase "datastale")
  too_large,          // a size bound was crossed (REST 413/400)
  not_found,
  unavailable,        // storage failed or shutting down (REST 503)
  internal,
};

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
};

inline Error invalid(std::string message) { return {ErrorCode::invalid_argument, std::move(message)}; }

// Result<T>: holds a T or an Error. Result<void> is Result<std::monostate>.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

using Status = Result<std::monostate>;
inline Status ok_status() { return Status(std::monostate{}); }

}  // namespace backside
