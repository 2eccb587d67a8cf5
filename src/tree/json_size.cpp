#include "tree/json_size.h"

#include <string>
#include <string_view>

#include "tree/json_codec.h"

namespace backside::tree {

namespace {

// Counts as append_json does with Format::export_ and no indentation. `number_text` is scratch space for
// numbers, whose shortest text is only known once formatted.
class JsonSizer {
 public:
  explicit JsonSizer(std::size_t stop_above) : stop_above_(stop_above) {}

  std::size_t size() const { return size_; }

  // false once the count is past the bound: the callers stop walking.
  bool count(const Node& node) {
    const std::optional<Priority>& priority = node.priority();
    if (const Children* children = node.children()) {
      size_ += 2;  // {}
      bool first = true;
      for (const auto& [key, child] : *children) {
        if (!first) size_ += 1;  // ,
        first = false;
        key_text(key);
        if (!count(*child)) return false;
      }
      if (priority) {
        size_ += 1;  // ,
        key_text(".priority");
        priority_text(*priority);
      }
      return size_ <= stop_above_;
    }
    const Node::Leaf* leaf = node.leaf_value();
    if (leaf == nullptr) return true;  // null: no data
    if (priority) {
      size_ += 3;  // { , }
      key_text(".value");
      leaf_text(*leaf);
      key_text(".priority");
      priority_text(*priority);
    } else {
      leaf_text(*leaf);
    }
    return size_ <= stop_above_;
  }

 private:
  void key_text(std::string_view key) {
    string_text(key);
    size_ += 1;  // :
  }
  void leaf_text(const Node::Leaf& leaf) {
    if (const bool* boolean = std::get_if<bool>(&leaf)) {
      size_ += *boolean ? 4 : 5;
    } else if (const double* number = std::get_if<double>(&leaf)) {
      number_text(*number);
    } else {
      string_text(std::get<std::string>(leaf));
    }
  }
  void priority_text(const Priority& priority) {
    if (const double* number = std::get_if<double>(&priority)) {
      number_text(*number);
    } else {
      string_text(std::get<std::string>(priority));
    }
  }
  void number_text(double value) {
    number_text_.clear();
    append_number(number_text_, value);
    size_ += number_text_.size();
  }
  // As append_string escapes: \" \\ \b \f \n \r \t take two bytes, other control characters six (\u00XX).
  void string_text(std::string_view text) {
    size_ += text.size() + 2;
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte == '"' || byte == '\\' || byte == '\b' || byte == '\f' || byte == '\n' || byte == '\r' ||
          byte == '\t') {
        size_ += 1;
      } else if (byte < 0x20) {
        size_ += 5;
      }
    }
  }

  const std::size_t stop_above_;
  std::size_t size_ = 0;
  std::string number_text_;
};

}  // namespace

std::size_t export_json_size(const Node& node, std::size_t stop_above) {
  JsonSizer sizer(stop_above);
  sizer.count(node);
  return sizer.size();
}

}  // namespace backside::tree
