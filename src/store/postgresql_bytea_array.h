#pragma once
// Internal to the store module: a bytea[] in PostgreSQL's binary wire format, so that a run of rows travels as two
// array parameters of one statement (unnest) instead of one statement per row, with no escaping of the bytes.
#include <cstdint>
#include <string>
#include <string_view>

namespace backside::store {

class ByteaArray {
 public:
  ByteaArray();
  void add(std::string_view element);
  std::size_t size() const { return count_; }
  // The whole array: its header (one dimension of size() elements, no NULLs, element type bytea) then each element
  // as a length and its bytes, integers in network byte order.
  const std::string& bytes();
  // The same, taken out of the array (which is empty afterwards).
  std::string take() &&;

 private:
  std::string bytes_;
  std::uint32_t count_ = 0;
};

}  // namespace backside::store
