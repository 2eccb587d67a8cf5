// `backside export` and `backside import`: the whole database as export-format JSON (priorities kept).
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "app/commands.h"
#include "app/data_dir_lock.h"
#include "app/progress.h"
#include "db/registry.h"
#include "store/store.h"
#include "tree/json_codec.h"
#include "tree/json_parse.h"

namespace backside::app {

namespace fs = std::filesystem;

namespace {

std::string database_dir(const Config& config, const std::string& ns) {
  return (fs::path(config.data_dir) / "db" / ns).string();
}

}  // namespace

int export_database(const Config& config, const std::string& ns) {
  if (!db::Registry::valid_name(ns)) {
    spdlog::error("invalid database name \"{}\"", ns);
    return 1;
  }
  std::string dir = database_dir(config, ns);
  if (!fs::exists(dir)) {
    std::cout << "null\n";
    return 0;
  }
  // Progress on stderr when it is a terminal (Progress draws nothing otherwise), unless the JSON itself goes to
  // that terminal.
  const bool show_progress = isatty(1) == 0 && isatty(2) != 0;
  std::optional<Progress> reading;
  if (show_progress) {
    reading.emplace("reading database " + ns, 1);
    reading->update(0);
  }
  // This read can run beside a live server: it sees LMDB's last checkpoint plus the write-ahead log after it.
  auto store = store::open_lmdb_store({.directory = dir, .read_only = true});
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  auto root = (*store)->load();
  if (!root) {
    spdlog::error("{}", root.error().message);
    return 1;
  }
  std::optional<Progress> writing;
  if (show_progress) {
    reading->finish();
    const std::uint64_t leaves = root->root.leaf_count();
    writing.emplace("writing " + std::to_string(leaves) + " leaves", leaves);
  }
  // Rendered and written 1 MiB at a time: the text of a large database is never held whole.
  bool written = true;
  tree::write_json(root->root, {.format = tree::Format::export_}, std::size_t(1) << 20,
                   [&](std::string& out, std::uint64_t leaves) {
                     if (written && std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) written = false;
                     out.clear();
                     if (writing) writing->update(leaves);
                   });
  written = written && std::fputc('\n', stdout) != EOF && std::fflush(stdout) == 0;
  if (!written) {
    spdlog::error("export: cannot write to stdout: {}", std::strerror(errno));
    return 1;
  }
  if (writing) writing->finish();
  return 0;
}

int import_database(const Config& config, const std::string& ns, const std::string& file) {
  if (!db::Registry::valid_name(ns)) {
    spdlog::error("invalid database name \"{}\"", ns);
    return 1;
  }
  auto lock = DataDirLock::acquire(config.data_dir);
  if (!lock) {
    spdlog::error("{} (to load data into a running server, PUT it over REST)", lock.error().message);
    return 1;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    spdlog::error("cannot read {}", file);
    return 1;
  }
  std::error_code size_error;
  std::uint64_t total = fs::file_size(file, size_error);
  Progress reading("reading " + file, size_error ? 0 : total);
  boost::json::parse_options parse_options;
  parse_options.max_depth = tree::kMaxDepth + 8;
  tree::JsonStreamParser parser(parse_options);
  std::vector<char> chunk(1 << 20);
  std::uint64_t done = 0;
  boost::system::error_code ec;
  while (in && !ec) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    std::size_t n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    parser.write(std::string_view(chunk.data(), n), ec);
    done += n;
    reading.update(done);
  }
  if (!ec) parser.finish(ec);
  if (ec) {
    spdlog::error("{} is not valid JSON: {}", file, ec.message());
    return 1;
  }
  auto root = tree::from_json(parser.release());
  if (!root) {
    spdlog::error("{}: {}", file, root.error().message);
    return 1;
  }
  auto store = store::open_lmdb_store({.directory = database_dir(config, ns)});
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  store::WriteBatch batch;
  batch.replace_subtree(tree::Path(), *root);
  Progress writing("writing", 1);
  if (auto status = (*store)->commit(batch); !status) {
    spdlog::error("import failed, nothing was changed: {}", status.error().message);
    return 1;
  }
  writing.update(1);
  spdlog::info("imported {} leaves into database \"{}\"", root->leaf_count(), ns);
  return 0;
}

}  // namespace backside::app
