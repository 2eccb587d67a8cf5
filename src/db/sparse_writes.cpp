#include "db/sparse_writes.h"

#include <boost/json/object.hpp>

namespace backside::db {

namespace json = boost::json;

namespace {

std::vector<std::string> segments_of(const WritePath& location) {
  std::vector<std::string> segments = location.path.segments();
  if (location.priority) segments.emplace_back(".priority");
  return segments;
}

bool has_data_keys(const json::object& object) {
  for (const auto& [key, value] : object) {
    if (!key.empty() && key.front() != '.') return true;
  }
  return false;
}

// An object of children (not a {".value"} leaf wrapper, not a {".sv"} placeholder).
bool is_children_object(const json::value& value) {
  if (!value.is_object()) return false;
  const json::object& object = value.get_object();
  return !object.contains(".value") && !object.contains(".sv");
}

}  // namespace

void set_inside_json(json::value& target, const std::vector<std::string>& segments, std::size_t from,
                     json::value value) {
  if (from == segments.size()) {
    target = std::move(value);
    return;
  }
  const std::string& key = segments[from];
  if (key == ".priority" && from + 1 == segments.size()) {
    if (target.is_null()) return;  // empty nodes carry no priority
    if (!target.is_object() || target.get_object().contains(".sv")) {
      json::object wrapped;
      wrapped[".value"] = std::move(target);
      target = std::move(wrapped);
    }
    if (value.is_null()) {
      target.get_object().erase(".priority");
    } else {
      target.get_object()[".priority"] = std::move(value);
    }
    return;
  }
  if (!is_children_object(target)) {
    if (value.is_null()) return;  // removing below a leaf or nothing changes nothing
    // A leaf becomes an object; it keeps its priority, as the SDK's LeafNode.updateChild does.
    json::object replaced;
    if (target.is_object()) {
      const json::object& old = target.get_object();
      if (auto it = old.find(".value"); it != old.end() && it->value().is_object()) {
        replaced = it->value().get_object();
      }
      if (auto it = old.find(".priority"); it != old.end()) replaced[".priority"] = it->value();
    }
    target = std::move(replaced);
  }
  json::object& object = target.get_object();
  if (from + 1 == segments.size()) {
    if (value.is_null()) {
      object.erase(key);
    } else {
      object[key] = std::move(value);
    }
  } else {
    json::value& child = object[key];
    set_inside_json(child, segments, from + 1, std::move(value));
    if (child.is_null()) object.erase(key);
  }
  if (!has_data_keys(object)) target = nullptr;
}

void SparseWrites::set(const WritePath& location, json::value value) {
  std::vector<std::string> segments = segments_of(location);
  Entry* entry = &root_;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (entry->value) {
      set_inside_json(*entry->value, segments, i, std::move(value));
      return;
    }
    entry = &entry->children[segments[i]];
  }
  if (entry->value) {
    *entry->value = std::move(value);
    return;
  }
  entry->value = std::move(value);
  entry->children.clear();
}

void SparseWrites::update(const tree::Path& path, const boost::json::object& children) {
  for (const auto& [key, value] : children) {
    auto relative = parse_write_path(std::string_view(key));
    if (relative) set({path.child(relative->path), relative->priority}, value);
  }
}

void SparseWrites::cancel(const tree::Path& path) {
  Entry* entry = &root_;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size()) {
      *entry = Entry();
      return;
    }
    if (entry->value) {
      if (!is_children_object(*entry->value)) return;  // a stored leaf: nothing below it to forget
      // Split the stored object into its children, then forget below as usual.
      json::object object = std::move(entry->value->get_object());
      entry->value.reset();
      for (auto& [key, child] : object) {
        if (!key.empty() && key.front() == '.') continue;
        entry->children[std::string(key)].value = std::move(child);
      }
    }
    auto it = entry->children.find(path[i]);
    if (it == entry->children.end()) return;
    if (i + 1 == path.size()) {
      entry->children.erase(it);
      return;
    }
    entry = &it->second;
  }
}

void SparseWrites::collect(const Entry& entry, std::string& path,
                           std::vector<std::pair<std::string, const json::value*>>& out) {
  if (entry.value) {
    out.emplace_back(path, &*entry.value);
    return;
  }
  for (const auto& [key, child] : entry.children) {
    std::size_t length = path.size();
    if (!path.empty()) path += '/';
    path += key;
    collect(child, path, out);
    path.resize(length);
  }
}

bool SparseWrites::empty() const { return location_count() == 0; }

std::size_t SparseWrites::location_count() const {
  std::vector<std::pair<std::string, const json::value*>> stored;
  std::string path;
  collect(root_, path, stored);
  return stored.size();
}

std::optional<WriteRequest> SparseWrites::to_write(identity::Identity auth) const {
  std::vector<std::pair<std::string, const json::value*>> stored;
  std::string path;
  collect(root_, path, stored);
  if (stored.empty()) return std::nullopt;
  WriteRequest request;
  request.auth = std::move(auth);
  request.path = tree::Path();
  if (stored.size() == 1 && stored.front().first.empty()) {
    request.op = WriteRequest::Op::set;
    request.data = *stored.front().second;
    return request;
  }
  request.op = WriteRequest::Op::update;
  json::object update;
  for (const auto& [key, value] : stored) update[key] = *value;
  request.data = std::move(update);
  return request;
}

}  // namespace backside::db
