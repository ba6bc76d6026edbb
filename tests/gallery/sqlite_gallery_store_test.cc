// SqliteGalleryStore against a real SQLite file in a temporary folder: the
// contract every store keeps (gallery_store_contract_tests.h: operations,
// errors and reasons, receipts, the change log, concurrent writers), and
// SQLite's own: durability settings read back from the store's connection,
// migrations, erasure (the deleted embedding's bytes are gone from the file
// and its WAL).
#include "core/gallery/sqlite_gallery_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/error_reason.h"
#include "core/gallery/sqlite_schema.h"
#include "tests/gallery/gallery_store_contract_tests.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

const DescriptorModel kModel{"face_recognition@faceapi-1.7.15", 4};

// A database file of its own in a temporary folder, per test.
class SqliteFile : public StoreUnderTest {
 public:
  explicit SqliteFile(const std::string& test_name)
      : dir_(fs::temp_directory_path() /
             ("faceserve_contract_" + std::to_string(::getpid()) + "_" + test_name)) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~SqliteFile() override { fs::remove_all(dir_); }
  absl::StatusOr<std::unique_ptr<GalleryStore>> Open() override {
    absl::StatusOr<std::unique_ptr<SqliteGalleryStore>> s =
        SqliteGalleryStore::Open((dir_ / "gallery.db").string());
    if (!s.ok()) return s.status();
    return std::unique_ptr<GalleryStore>(*std::move(s));
  }

 private:
  const fs::path dir_;
};

INSTANTIATE_TEST_SUITE_P(
    Sqlite, GalleryStoreContractTest,
    ::testing::Values(StoreBackend{"Sqlite", [](const std::string& test_name) {
                                     return std::unique_ptr<StoreUnderTest>(
                                         std::make_unique<SqliteFile>(test_name));
                                   }}),
    [](const ::testing::TestParamInfo<StoreBackend>& info) { return info.param.name; });

class SqliteGalleryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("faceserve_gallery_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "gallery.db").string();
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<SqliteGalleryStore>> s = SqliteGalleryStore::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  // The bytes of the database file and its WAL, as a disk scanner sees them.
  std::string FileBytes() const {
    std::string all;
    for (const std::string& p : {path_, path_ + "-wal"}) {
      std::ifstream in(p, std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<SqliteGalleryStore> store_;
};

TEST_F(SqliteGalleryStoreTest, DurabilitySettingsReadBackFromTheStoresConnection) {
  EXPECT_EQ(store_->ReadPragma("journal_mode").value_or(""), "wal");
  EXPECT_EQ(store_->ReadPragma("synchronous").value_or(""), "2");  // FULL
  EXPECT_EQ(store_->ReadPragma("secure_delete").value_or(""), "1");
  EXPECT_EQ(store_->ReadPragma("foreign_keys").value_or(""), "1");
  EXPECT_EQ(store_->ReadPragma("integrity_check").value_or(""), "ok");
  EXPECT_EQ(store_->ReadPragma("user_version").value_or(""),
            std::to_string(CurrentSchemaVersion()));
}

// Erasure: after DeleteSubject neither the database file nor its WAL holds
// the embedding's bytes (secure_delete and the checkpoint after deletes).
TEST_F(SqliteGalleryStoreTest, DeletingASubjectErasesItsEmbeddingFromFileAndWal) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  // Values whose float32 bytes occur nowhere else.
  const std::vector<float> secret = {0.123456789f, -0.987654321f, 0.31415926f, -0.27182818f};
  const std::string needle(reinterpret_cast<const char*>(secret.data()), 16);
  ASSERT_TRUE(store_->AddFaces("g", "erase-me", {}, kModel, {secret}, nullptr).ok());
  ASSERT_TRUE(store_->AddFaces("g", "keep", {}, kModel, {{1, 0, 0, 0}}, nullptr).ok());
  ASSERT_NE(FileBytes().find(needle), std::string::npos) << "the embedding was never written";
  ASSERT_TRUE(store_->DeleteSubject("g", "erase-me").ok());
  EXPECT_EQ(FileBytes().find(needle), std::string::npos);
  EXPECT_EQ(store_->GetGallery("g")->faces, 1);
  store_.reset();  // and after close
  EXPECT_EQ(FileBytes().find(needle), std::string::npos);
}

// A database written by a newer faceserve is refused, not misread.
TEST_F(SqliteGalleryStoreTest, ANewerSchemaIsRefused) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const std::string sql = "PRAGMA user_version = " + std::to_string(CurrentSchemaVersion() + 1);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const absl::StatusOr<std::unique_ptr<SqliteGalleryStore>> s = SqliteGalleryStore::Open(path_);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("newer"), absl::string_view::npos) << s.status();
}

// Several servers (or tests) opening the same new file at once: each opens
// it, and the schema is migrated once.
TEST(SqliteGalleryStoreOpenTest, ConcurrentOpensOfANewFileAllSucceed) {
  const fs::path dir = fs::temp_directory_path() / ("faceserve_gallery_open_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "new.db").string();
  std::vector<std::thread> threads;
  std::vector<absl::Status> opened(6);
  for (size_t t = 0; t < opened.size(); ++t) {
    threads.emplace_back([&, t] { opened[t] = SqliteGalleryStore::Open(path).status(); });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& s : opened) EXPECT_TRUE(s.ok()) << s;
  auto store = SqliteGalleryStore::Open(path);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->ReadPragma("user_version"), std::to_string(CurrentSchemaVersion()));
  store->reset();
  fs::remove_all(dir);
}

TEST(SqliteGalleryStoreOpenTest, AnUnopenablePathIsAStorageErrorNamingIt) {
  const absl::StatusOr<std::unique_ptr<SqliteGalleryStore>> s =
      SqliteGalleryStore::Open("/nonexistent/folder/gallery.db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(ReasonOf(s.status()), ErrorReason::kStorageError);
  EXPECT_NE(s.status().message().find("/nonexistent/folder/gallery.db"), absl::string_view::npos);
}

}  // namespace
}  // namespace faceserve
