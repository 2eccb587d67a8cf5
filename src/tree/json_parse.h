#pragma once
// The JSON parser for client data: Boost.JSON's grammar and value types, but numbers read exactly (correctly
// rounded, as JavaScript reads them). Boost 1.81's own number conversion lands on a neighbouring double for some
// long numbers, which would silently change stored values and break round trips (found by fuzzing).
#include <boost/json/parse_options.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <string_view>

namespace backside::tree {

// Parses one complete JSON text into values allocated from `storage`. On failure `ec` is set and the result is
// null; storage that cannot allocate (a memory budget spent: util/budgeted_json_storage.h) gives
// errc::not_enough_memory.
boost::json::value parse_json_value(std::string_view text, boost::system::error_code& ec,
                                    const boost::json::parse_options& options = {},
                                    boost::json::storage_ptr storage = {});

// The same, fed in pieces (large files).
class JsonStreamParser {
 public:
  explicit JsonStreamParser(const boost::json::parse_options& options = {});
  ~JsonStreamParser();
  void write(std::string_view piece, boost::system::error_code& ec);
  void finish(boost::system::error_code& ec);
  boost::json::value release();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backside::tree
