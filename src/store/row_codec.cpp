#include "store/row_codec.h"

#include <bit>
#include <cstdint>
#include <utility>

namespace backside::store {
namespace {

enum RowKind : unsigned char {
  kFalse = 0x01,
  kTrue = 0x02,
  kNumber = 0x03,
  kString = 0x04,
  kObjectPriority = 0x05,
};

enum PriorityKind : unsigned char {
  kNoPriority = 0x00,
  kNumberPriority = 0x01,
  kStringPriority = 0x02,
};

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_double(std::string& out, double value) {
  const auto bits = std::bit_cast<std::uint64_t>(value);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void put_priority(std::string& out, const std::optional<tree::Priority>& priority) {
  if (!priority) {
    out.push_back(static_cast<char>(kNoPriority));
  } else if (const double* number = std::get_if<double>(&*priority)) {
    out.push_back(static_cast<char>(kNumberPriority));
    put_double(out, *number);
  } else {
    const auto& text = std::get<std::string>(*priority);
    out.push_back(static_cast<char>(kStringPriority));
    put_u32(out, static_cast<std::uint32_t>(text.size()));
    out.append(text);
  }
}

Error corrupt(std::string reason) { return {ErrorCode::internal, "corrupt row value: " + std::move(reason)}; }

// Consumes bytes from the front of a row value; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool empty() const { return rest_.empty(); }
  std::string_view take_rest() { return std::exchange(rest_, {}); }

  std::optional<unsigned char> byte() {
    if (rest_.empty()) return std::nullopt;
    const auto value = static_cast<unsigned char>(rest_.front());
    rest_.remove_prefix(1);
    return value;
  }

  std::optional<std::uint64_t> little_endian(std::size_t width) {
    if (rest_.size() < width) return std::nullopt;
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) value |= std::uint64_t(static_cast<unsigned char>(rest_[i])) << (8 * i);
    rest_.remove_prefix(width);
    return value;
  }

  std::optional<double> number() {
    const auto bits = little_endian(8);
    if (!bits) return std::nullopt;
    return std::bit_cast<double>(*bits);
  }

  std::optional<std::string_view> bytes(std::size_t count) {
    if (rest_.size() < count) return std::nullopt;
    const std::string_view value = rest_.substr(0, count);
    rest_.remove_prefix(count);
    return value;
  }

 private:
  std::string_view rest_;
};

}  // namespace

std::string encode_leaf_row(const tree::Node::Leaf& leaf, const std::optional<tree::Priority>& priority) {
  std::string out;
  if (const bool* flag = std::get_if<bool>(&leaf)) {
    out.push_back(static_cast<char>(*flag ? kTrue : kFalse));
    put_priority(out, priority);
  } else if (const double* number = std::get_if<double>(&leaf)) {
    out.push_back(static_cast<char>(kNumber));
    put_priority(out, priority);
    put_double(out, *number);
  } else {
    const auto& text = std::get<std::string>(leaf);
    out.reserve(text.size() + 2);
    out.push_back(static_cast<char>(kString));
    put_priority(out, priority);
    out.append(text);
  }
  return out;
}

std::string encode_object_priority_row(const tree::Priority& priority) {
  std::string out(1, static_cast<char>(kObjectPriority));
  put_priority(out, priority);
  return out;
}

Result<Row> decode_row(std::string_view bytes) {
  Reader reader(bytes);
  const auto row_kind = reader.byte();
  const auto priority_kind = reader.byte();
  if (!row_kind || !priority_kind) return corrupt("shorter than its 2-byte header");

  Row row;
  switch (*priority_kind) {
    case kNoPriority:
      break;
    case kNumberPriority: {
      const auto number = reader.number();
      if (!number) return corrupt("truncated number priority");
      row.priority = *number;
      break;
    }
    case kStringPriority: {
      const auto length = reader.little_endian(4);
      const auto text = length ? reader.bytes(*length) : std::nullopt;
      if (!text) return corrupt("truncated string priority");
      row.priority = std::string(*text);
      break;
    }
    default:
      return corrupt("unknown priority kind " + std::to_string(*priority_kind));
  }

  switch (*row_kind) {
    case kFalse:
    case kTrue:
      row.leaf = tree::Node::Leaf(*row_kind == kTrue);
      break;
    case kNumber: {
      const auto number = reader.number();
      if (!number) return corrupt("truncated number");
      row.leaf = tree::Node::Leaf(*number);
      break;
    }
    case kString:
      row.leaf = tree::Node::Leaf(std::string(reader.take_rest()));
      break;
    case kObjectPriority:
      if (!row.priority) return corrupt("object-priority row without a priority");
      break;
    default:
      return corrupt("unknown row kind " + std::to_string(*row_kind));
  }
  if (!reader.empty()) return corrupt("unexpected trailing bytes");
  return row;
}

std::string describe_key(std::string_view key) {
  if (key.empty()) return "/";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "/";
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto byte = static_cast<unsigned char>(key[i]);
    if (byte == 0) {
      if (i + 1 < key.size()) out.push_back('/');
    } else if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
      out.push_back(static_cast<char>(byte));
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

}  // namespace backside::store
