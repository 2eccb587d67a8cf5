#include "tree/hash.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace backside::tree {
namespace {

// 16 lowercase hex digits of the IEEE-754 bits, most significant first (the SDK's doubleToIEEE754String).
void append_double_hex(std::string& out, double value) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto bits = std::bit_cast<std::uint64_t>(value);
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(bits >> shift) & 0xF];
}

void append_priority_prefix(std::string& out, const std::optional<Priority>& priority) {
  if (!priority) return;
  out += "priority:";
  if (const double* number = std::get_if<double>(&*priority)) {
    out += "number:";
    append_double_hex(out, *number);
  } else {
    out += "string:";
    out += std::get<std::string>(*priority);
  }
  out += ':';
}

void append_leaf(std::string& out, const Node::Leaf& leaf) {
  if (const bool* boolean = std::get_if<bool>(&leaf)) {
    out += *boolean ? "boolean:true" : "boolean:false";
  } else if (const double* number = std::get_if<double>(&leaf)) {
    out += "number:";
    append_double_hex(out, *number);
  } else {
    out += "string:";
    out += std::get<std::string>(leaf);
  }
}

// Children in priority order: no priority, numbers, strings; ties in key order (the map's order, kept by the
// stable sort).
std::vector<const Children::value_type*> in_priority_order(const Children& children) {
  std::vector<const Children::value_type*> ordered;
  ordered.reserve(children.size());
  bool any_priority = false;
  for (const auto& entry : children) {
    ordered.push_back(&entry);
    any_priority = any_priority || entry.second->priority().has_value();
  }
  if (any_priority) {
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
      return compare_priorities(a->second->priority(), b->second->priority()) < 0;
    });
  }
  return ordered;
}

}  // namespace

std::string base64_sha1(const std::string& text) {
  // The digest is fetched once: OpenSSL 3's SHA1() looks it up by name on every call, which cost more than the
  // hashing itself for the short strings of a node (bench/instructions_bench.sh: about 5,800 instructions a call).
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  unsigned char digest[SHA_DIGEST_LENGTH];
  if (!sha1 || EVP_Digest(text.data(), text.size(), digest, nullptr, sha1, nullptr) != 1) {
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  }
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int length = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(length));
}

std::string node_hash(const Node& node) {
  if (node.is_null()) return "";
  std::string text;
  append_priority_prefix(text, node.priority());
  if (const Children* children = node.children()) {
    for (const Children::value_type* entry : in_priority_order(*children)) {
      text += ':';
      text += entry->first;
      text += ':';
      text += node_hash(*entry->second);
    }
  } else {
    append_leaf(text, *node.leaf_value());
  }
  return base64_sha1(text);
}

}  // namespace backside::tree
