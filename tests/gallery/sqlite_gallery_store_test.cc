// SqliteGalleryStore against a real SQLite file in a temporary folder: the
// operations, their errors and reasons, durability settings read back from
// the store's own connection, migrations, erasure (the deleted embedding's
// bytes are gone from the file and its WAL), and concurrent writers.
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

namespace faceserve {
namespace {

namespace fs = std::filesystem;

const DescriptorModel kModel{"face_recognition@faceapi-1.7.15", 4};

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

TEST_F(SqliteGalleryStoreTest, GalleriesAreCreatedListedAndDeletedWithTheirReasons) {
  ASSERT_TRUE(store_->CreateGallery("staff", kModel, 0.925f, IndexKind::kAuto).ok());
  ASSERT_TRUE(store_->CreateGallery("visitors", kModel, 0.95f, IndexKind::kAuto).ok());
  const absl::StatusOr<GalleryInfo> again = store_->CreateGallery("staff", kModel, 0.9f, IndexKind::kAuto);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(again.status()), ErrorReason::kGalleryExists);

  absl::StatusOr<std::vector<GalleryInfo>> all = store_->ListGalleries();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "staff");
  EXPECT_EQ((*all)[0].model.id, kModel.id);
  EXPECT_EQ((*all)[0].model.dimension, 4);
  EXPECT_FLOAT_EQ((*all)[0].threshold, 0.925f);

  ASSERT_TRUE(store_->DeleteGallery("visitors").ok());
  const absl::Status gone = store_->DeleteGallery("visitors");
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(gone), ErrorReason::kGalleryNotFound);
  EXPECT_EQ(store_->ListGalleries()->size(), 1u);
}

TEST_F(SqliteGalleryStoreTest, FacesAreAddedInOneTransactionAndSurviveAReopen) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  absl::StatusOr<std::vector<int64_t>> ids =
      store_->AddFaces("g", "alice", {{"team", "red"}}, kModel, {{1, 0, 0, 0}, {0.9f, 0.1f, 0, 0}}, nullptr);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_LT((*ids)[0], (*ids)[1]);
  ASSERT_TRUE(store_->AddFaces("g", "bob", {}, kModel, {{0, 1, 0, 0}}, nullptr).ok());
  // A wrong-length embedding in a batch rejects the whole batch.
  const absl::StatusOr<std::vector<int64_t>> bad =
      store_->AddFaces("g", "carol", {}, kModel, {{0, 0, 1, 0}, {1, 2, 3}}, nullptr);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetadataOf(bad.status()).at("field"), "embeddings.1");

  Reopen();
  absl::StatusOr<GalleryInfo> info = store_->GetGallery("g");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->subjects, 2);
  EXPECT_EQ(info->faces, 3);
  absl::StatusOr<SubjectInfo> alice = store_->GetSubject("g", "alice", false);
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->face_ids, *ids);
  EXPECT_EQ(alice->metadata.at("team"), "red");
  absl::StatusOr<std::vector<StoredFace>> faces = store_->LoadFaces("g");
  ASSERT_TRUE(faces.ok()) << faces.status();
  ASSERT_EQ(faces->size(), 3u);
  EXPECT_EQ((*faces)[0].subject, "alice");
  EXPECT_EQ((*faces)[0].embedding, (std::vector<float>{1, 0, 0, 0}));
  EXPECT_EQ((*faces)[1].embedding, (std::vector<float>{0.9f, 0.1f, 0, 0}));
  EXPECT_EQ((*faces)[2].subject, "bob");
}

TEST_F(SqliteGalleryStoreTest, AnotherDescriptorModelIsRefusedNamingBoth) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  const DescriptorModel other{"hm_faceres@3.0.4", 4};
  const absl::StatusOr<std::vector<int64_t>> r =
      store_->AddFaces("g", "a", {}, other, {{1, 0, 0, 0}}, nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(r.status()), ErrorReason::kDescriptorMismatch);
  EXPECT_NE(r.status().message().find(kModel.id), absl::string_view::npos) << r.status();
  EXPECT_NE(r.status().message().find(other.id), absl::string_view::npos) << r.status();
}

TEST_F(SqliteGalleryStoreTest, SubjectsPageInNameOrder) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  for (const char* name : {"e", "a", "d", "b", "c"}) {
    ASSERT_TRUE(store_->AddFaces("g", name, {}, kModel, {{1, 0, 0, 0}}, nullptr).ok());
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<SubjectPage> page = store_->ListSubjects("g", token, 2);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const SubjectInfo& s : page->subjects) {
      seen.push_back(s.subject);
      EXPECT_EQ(s.face_ids.size(), 1u);
    }
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(store_->ListSubjects("g", "", 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteGalleryStoreTest, MetadataIsReplacedAndMissingSubjectsAreNamed) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  ASSERT_TRUE(store_->AddFaces("g", "a", {{"k", "1"}}, kModel, {{1, 0, 0, 0}}, nullptr).ok());
  ASSERT_TRUE(store_->UpdateMetadata("g", "a", {{"k", "2"}, {"x", "y"}}).ok());
  EXPECT_EQ(store_->GetSubject("g", "a", false)->metadata, (Metadata{{"k", "2"}, {"x", "y"}}));
  const absl::Status missing = store_->UpdateMetadata("g", "zed", {});
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(missing), ErrorReason::kSubjectNotFound);
  EXPECT_EQ(ReasonOf(store_->GetSubject("nope", "a", false).status()), ErrorReason::kGalleryNotFound);
  EXPECT_EQ(ReasonOf(store_->DeleteFace("g", 999999)), ErrorReason::kFaceNotFound);
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

TEST_F(SqliteGalleryStoreTest, DeletingAGalleryDeletesItsSubjectsAndFaces) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  ASSERT_TRUE(store_->AddFaces("g", "a", {}, kModel, {{1, 0, 0, 0}}, nullptr).ok());
  ASSERT_TRUE(store_->DeleteGallery("g").ok());
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  EXPECT_EQ(store_->GetGallery("g")->faces, 0);
  EXPECT_EQ(store_->GetGallery("g")->subjects, 0);
}

// Concurrent writers and readers on one store: every acknowledged face is
// there afterwards, once.
TEST_F(SqliteGalleryStoreTest, ConcurrentEnrollmentsAllLand) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  constexpr int kThreads = 4, kPerThread = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> acked(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<std::vector<int64_t>> ids = store_->AddFaces(
            "g", "s" + std::to_string(t), {}, kModel, {{static_cast<float>(i), 1, 0, 0}}, nullptr);
        if (ids.ok()) acked[t].push_back(ids->front());
        (void)store_->LoadFaces("g");  // a reader in between
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::StatusOr<std::vector<StoredFace>> faces = store_->LoadFaces("g");
  ASSERT_TRUE(faces.ok()) << faces.status();
  EXPECT_EQ(faces->size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& ids : acked) EXPECT_EQ(ids.size(), static_cast<size_t>(kPerThread));
}

// Idempotency: the receipt is stored with the faces in one transaction; the
// same key with another fingerprint is refused and enrolls nothing.
TEST_F(SqliteGalleryStoreTest, AnEnrollReceiptReplaysAndRefusesAnotherRequest) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  EnrollReceipt receipt{"key-1", "hash-a", [](const std::vector<int64_t>& ids) {
                          return "response for " + std::to_string(ids.front());
                        }};
  absl::StatusOr<std::optional<std::string>> none = store_->FindReceipt("g", "key-1", "hash-a");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
  absl::StatusOr<std::vector<int64_t>> ids =
      store_->AddFaces("g", "a", {}, kModel, {{1, 0, 0, 0}}, &receipt);
  ASSERT_TRUE(ids.ok()) << ids.status();
  absl::StatusOr<std::optional<std::string>> found = store_->FindReceipt("g", "key-1", "hash-a");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, "response for " + std::to_string(ids->front()));
  EXPECT_EQ(ReasonOf(store_->FindReceipt("g", "key-1", "hash-b").status()),
            ErrorReason::kIdempotencyKeyReused);
  // A second enrollment under the same key (a retry racing the first) rolls
  // back: no second face.
  EXPECT_EQ(ReasonOf(store_->AddFaces("g", "a", {}, kModel, {{0, 1, 0, 0}}, &receipt).status()),
            ErrorReason::kIdempotencyKeyReused);
  EXPECT_EQ(store_->GetSubject("g", "a", false)->face_ids.size(), 1u);
  // Keys are per gallery.
  ASSERT_TRUE(store_->CreateGallery("h", kModel, 0.9f, IndexKind::kAuto).ok());
  EXPECT_FALSE(store_->FindReceipt("h", "key-1", "hash-b")->has_value());
}

TEST_F(SqliteGalleryStoreTest, GetSubjectReturnsTheEmbeddingsWhenAsked) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  ASSERT_TRUE(store_->AddFaces("g", "a", {}, kModel, {{1, 2, 3, 4}, {4, 3, 2, 1}}, nullptr).ok());
  absl::StatusOr<SubjectInfo> without = store_->GetSubject("g", "a", false);
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->embeddings.empty());
  absl::StatusOr<SubjectInfo> with = store_->GetSubject("g", "a", true);
  ASSERT_TRUE(with.ok());
  ASSERT_EQ(with->embeddings.size(), 2u);
  EXPECT_EQ(with->embeddings[1], (std::vector<float>{4, 3, 2, 1}));
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
