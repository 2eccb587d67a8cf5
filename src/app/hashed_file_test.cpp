#include "app/hashed_file.h"

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "util/temp_dir.h"

namespace backside::app {
namespace {

const std::string kAbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(HashedFile, WhatIsWrittenDigestsAsWhatIsRead) {
  TempDir dir;
  std::filesystem::create_directories(dir.path());
  auto writer = HashedFileWriter::create(dir.path() / "f");
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  ASSERT_TRUE(writer->write("a").ok());
  ASSERT_TRUE(writer->write("bc").ok());
  auto written = writer->finish();
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->bytes, 3u);
  EXPECT_EQ(written->sha256, kAbcSha256);
  std::string seen;
  auto read = digest_file(dir.path() / "f", [&](std::string_view chunk) {
    seen += chunk;
    return ok_status();
  });
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->sha256, kAbcSha256);
  EXPECT_EQ(seen, "abc");
  EXPECT_FALSE(HashedFileWriter::create(dir.path() / "f").ok()) << "never overwrites";
}

}  // namespace
}  // namespace backside::app
