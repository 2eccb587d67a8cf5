#include "app/backup_manifest.h"

#include <string>

#include "gtest/gtest.h"

namespace backside::app {
namespace {

const std::string kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kAbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(BackupManifest, RoundTripsItsFiles) {
  BackupManifest manifest{.created_at = "2026-01-02T03:04:05Z",
                          .files = {{"db/default/data.mdb", {8192, kEmptySha256}}, {"admin-token", {3, kAbcSha256}}}};
  auto parsed = parse_backup_manifest(manifest_json(manifest));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->created_at, "2026-01-02T03:04:05Z");
  ASSERT_EQ(parsed->files.size(), 2u);
  EXPECT_EQ(parsed->files[0].path, "db/default/data.mdb");
  EXPECT_EQ(parsed->files[0].digest.bytes, 8192u);
  EXPECT_EQ(parsed->files[1].digest.sha256, kAbcSha256);
}

TEST(BackupManifest, RefusesPathsOutsideTheBackup) {
  for (const char* path : {"/etc/passwd", "../x", "db/../../x", "db//x", "./x", ""}) {
    const std::string json = R"({"format":"backside-backup","version":1,"files":[{"path":")" + std::string(path) +
                             R"(","bytes":1,"sha256":")" + kAbcSha256 + R"("}]})";
    auto parsed = parse_backup_manifest(json);
    ASSERT_FALSE(parsed.ok()) << path;
    EXPECT_NE(parsed.error().message.find("not inside the backup"), std::string::npos) << parsed.error().message;
  }
}

TEST(BackupManifest, RefusesWhatIsNotAManifestOfThisVersion) {
  EXPECT_FALSE(parse_backup_manifest("not json").ok());
  EXPECT_FALSE(parse_backup_manifest(R"({"files":[]})").ok());
  EXPECT_FALSE(parse_backup_manifest(R"({"format":"backside-backup","version":2,"files":[]})").ok());
  EXPECT_FALSE(parse_backup_manifest(R"({"format":"backside-backup","version":1})").ok());
  EXPECT_FALSE(parse_backup_manifest(R"({"format":"backside-backup","version":1,"files":[{"path":"a","bytes":1}]})").ok());
  EXPECT_FALSE(parse_backup_manifest(
                   R"({"format":"backside-backup","version":1,"files":[{"path":"a","bytes":1,"sha256":"abc"}]})")
                   .ok());
  EXPECT_TRUE(parse_backup_manifest(R"({"format":"backside-backup","version":1,"files":[]})").ok());
}

TEST(BackupManifest, NamesTruncationGrowthAndDamage) {
  const BackupFile file{"db/default/wal", {3, kAbcSha256}};
  EXPECT_EQ(digest_mismatch(file, {3, kAbcSha256}), std::nullopt);
  EXPECT_EQ(digest_mismatch(file, {2, kAbcSha256}).value(), "db/default/wal is truncated: 2 bytes of 3");
  EXPECT_EQ(digest_mismatch(file, {4, kAbcSha256}).value(), "db/default/wal has grown: 4 bytes, the backup wrote 3");
  EXPECT_NE(digest_mismatch(file, {3, kEmptySha256}).value().find("is damaged: its SHA-256 is " + kEmptySha256),
            std::string::npos);
}

}  // namespace
}  // namespace backside::app
