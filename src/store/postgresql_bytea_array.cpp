#include "store/postgresql_bytea_array.h"

namespace backside::store {
namespace {

constexpr std::uint32_t kByteaOid = 17;
constexpr std::size_t kCountOffset = 12;  // after ndim, has-null flag and element type

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

}  // namespace

ByteaArray::ByteaArray() {
  put_u32(bytes_, 1);  // dimensions
  put_u32(bytes_, 0);  // no NULL elements
  put_u32(bytes_, kByteaOid);
  put_u32(bytes_, 0);  // element count, filled in by bytes()
  put_u32(bytes_, 1);  // lower bound
}

void ByteaArray::add(std::string_view element) {
  put_u32(bytes_, static_cast<std::uint32_t>(element.size()));
  bytes_.append(element);
  ++count_;
}

const std::string& ByteaArray::bytes() {
  for (int i = 0; i < 4; ++i) bytes_[kCountOffset + i] = static_cast<char>((count_ >> (24 - 8 * i)) & 0xff);
  return bytes_;
}

std::string ByteaArray::take() && {
  bytes();
  count_ = 0;
  return std::move(bytes_);
}

}  // namespace backside::store
