// SqliteApiKeyStore on a real SQLite file: keys kept across reopening, beside
// the galleries of the same file, and a revoked key's digest gone from the
// file's bytes.
#include "core/gallery/sqlite_api_key_store.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/auth/api_key.h"
#include "core/error_reason.h"
#include "core/gallery/sqlite_gallery_store.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

std::string Bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ApiKeyRecord Record(const std::string& name, std::vector<Scope> scopes,
                    std::vector<std::string> galleries, int64_t created) {
  GeneratedApiKey key = *GenerateApiKey();
  ApiKeyRecord r;
  r.id = key.id;
  r.name = name;
  r.sha256_hex = key.sha256_hex;
  r.scopes = std::move(scopes);
  r.galleries = std::move(galleries);
  r.created_unix_ms = created;
  return r;
}

class SqliteApiKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("faceserve_keys_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "g.sqlite").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteApiKeyStoreTest, KeysSurviveReopeningBesideTheGalleries) {
  auto galleries = SqliteGalleryStore::Open(path_);
  ASSERT_TRUE(galleries.ok()) << galleries.status();
  const ApiKeyRecord a = Record("a", {Scope::kIdentify, Scope::kEnroll}, {"staff", "x y"}, 2);
  const ApiKeyRecord b = Record("b", {Scope::kAnalyze}, {}, 1);
  {
    auto store = SqliteApiKeyStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->AddApiKey(a).ok());
    ASSERT_TRUE((*store)->AddApiKey(b).ok());
    EXPECT_EQ((*store)->AddApiKey(a).code(), absl::StatusCode::kAlreadyExists);
  }
  auto store = SqliteApiKeyStore::Open(path_);
  ASSERT_TRUE(store.ok());
  absl::StatusOr<std::vector<ApiKeyRecord>> keys = (*store)->ListApiKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].id, b.id);  // oldest first
  EXPECT_TRUE((*keys)[0].galleries.empty());
  const ApiKeyRecord& back = (*keys)[1];
  EXPECT_EQ(back.name, "a");
  EXPECT_EQ(back.sha256_hex, a.sha256_hex);
  EXPECT_EQ(back.scopes, a.scopes);
  EXPECT_EQ(back.galleries, a.galleries);
  EXPECT_EQ(back.created_unix_ms, 2);
  EXPECT_EQ(back.source, ApiKeyRecord::Source::kStore);
  // The gallery store shares the file and still works.
  EXPECT_TRUE((*galleries)->ListGalleries().ok());
}

TEST_F(SqliteApiKeyStoreTest, RemovingAKeyErasesItsDigestFromTheFile) {
  auto store = SqliteApiKeyStore::Open(path_);
  ASSERT_TRUE(store.ok());
  const ApiKeyRecord gone = Record("gone", {Scope::kAdmin}, {"*"}, 1);
  const ApiKeyRecord kept = Record("kept", {Scope::kAdmin}, {"*"}, 2);
  ASSERT_TRUE((*store)->AddApiKey(gone).ok());
  ASSERT_TRUE((*store)->AddApiKey(kept).ok());
  auto on_disk = [&](const std::string& text) {
    return Bytes(path_).find(text) != std::string::npos ||
           Bytes(path_ + "-wal").find(text) != std::string::npos;
  };
  EXPECT_TRUE(on_disk(gone.sha256_hex));  // the check can see a digest
  ASSERT_TRUE((*store)->RemoveApiKey(gone.id).ok());
  EXPECT_FALSE(on_disk(gone.sha256_hex));
  EXPECT_TRUE(on_disk(kept.sha256_hex));
  absl::Status again = (*store)->RemoveApiKey(gone.id);
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonNameOf(again), "API_KEY_NOT_FOUND");
  EXPECT_EQ((*store)->ListApiKeys()->size(), 1u);
}

}  // namespace
}  // namespace faceserve
