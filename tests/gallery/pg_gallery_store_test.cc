// PgGalleryStore on a real PostgreSQL server (a throwaway cluster that the
// ctest fixture postgres.start makes: scripts/throwaway_postgres.sh): the
// contract every store keeps (gallery_store_contract_tests.h), each test in
// a database of its own, and PostgreSQL's own: migrations when replicas
// start together, change numbers in commit order while another writer holds
// its transaction open, a reconnect after the server ends the connection,
// and UNAVAILABLE without the password for a server that is not there.
#include "core/gallery/pg_gallery_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/error_reason.h"
#include "core/gallery/pg_connection.h"
#include "core/gallery/pg_schema.h"
#include "tests/gallery/gallery_store_contract_tests.h"

namespace faceserve {
namespace {

// The throwaway cluster's connection string (written by the ctest fixture).
std::string ServerDsn() {
  const char* file = std::getenv("FACESERVE_TEST_PG_DSN_FILE");
  if (file == nullptr) return "";
  std::ifstream in(file);
  std::string dsn;
  std::getline(in, dsn);
  return std::string(absl::StripAsciiWhitespace(dsn));
}

// A database of its own on the cluster, dropped afterwards.
class PgDatabase : public StoreUnderTest {
 public:
  explicit PgDatabase(const std::string& test_name) {
    name_ = absl::AsciiStrToLower(absl::StrCat("t", ::getpid(), "_", test_name)).substr(0, 60);
    absl::StatusOr<std::unique_ptr<PgConnection>> admin = PgConnection::Connect(ServerDsn());
    EXPECT_TRUE(admin.ok()) << admin.status()
                            << " (FACESERVE_TEST_PG_DSN_FILE: run through ctest, which starts "
                               "the throwaway cluster)";
    if (!admin.ok()) return;
    admin_ = *std::move(admin);
    EXPECT_TRUE(admin_->Run(absl::StrCat("DROP DATABASE IF EXISTS \"", name_, "\"")).ok());
    const absl::Status created = admin_->Run(absl::StrCat("CREATE DATABASE \"", name_, "\""));
    EXPECT_TRUE(created.ok()) << created;
  }
  ~PgDatabase() override {
    if (admin_ != nullptr) {
      admin_->Run(absl::StrCat("DROP DATABASE IF EXISTS \"", name_, "\" WITH (FORCE)"))
          .IgnoreError();
    }
  }
  // Later keywords win in a libpq connection string.
  std::string dsn() const { return absl::StrCat(ServerDsn(), " dbname=", name_); }
  PgConnection* admin() { return admin_.get(); }
  absl::StatusOr<std::unique_ptr<GalleryStore>> Open() override {
    absl::StatusOr<std::unique_ptr<PgGalleryStore>> s = PgGalleryStore::Open(dsn());
    if (!s.ok()) return s.status();
    return std::unique_ptr<GalleryStore>(*std::move(s));
  }

 private:
  std::string name_;
  std::unique_ptr<PgConnection> admin_;
};

INSTANTIATE_TEST_SUITE_P(
    Postgres, GalleryStoreContractTest,
    ::testing::Values(StoreBackend{"Postgres", [](const std::string& test_name) {
                                     return std::unique_ptr<StoreUnderTest>(
                                         std::make_unique<PgDatabase>(test_name));
                                   }}),
    [](const ::testing::TestParamInfo<StoreBackend>& info) { return info.param.name; });

const DescriptorModel kModel{"face_recognition@faceapi-1.7.15", 4};

std::string TestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

// Replicas starting together on a new database: each opens it, and the
// migrations run once (under the advisory lock).
TEST(PgGalleryStoreTest, ReplicasStartingTogetherMigrateOnce) {
  PgDatabase db(TestName());
  std::vector<std::future<absl::Status>> opened;
  for (int i = 0; i < 6; ++i) {
    opened.push_back(std::async(std::launch::async,
                                [&] { return PgGalleryStore::Open(db.dsn()).status(); }));
  }
  for (auto& f : opened) EXPECT_TRUE(f.get().ok());
  absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Connect(db.dsn());
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<PgResult> v = (*c)->Exec("SELECT version::int8 FROM faceserve_schema");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Int(0, 0), CurrentPgSchemaVersion());
}

// A writer that has taken its change number holds the counter row until it
// commits: a second writer waits, so numbers are handed out in commit order
// and a replica that read up to N never misses a late commit below N.
TEST(PgGalleryStoreTest, ChangeNumbersFollowCommitOrder) {
  PgDatabase db(TestName());
  absl::StatusOr<std::unique_ptr<GalleryStore>> store = db.Open();
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  absl::StatusOr<std::unique_ptr<PgConnection>> slow = PgConnection::Connect(db.dsn());
  ASSERT_TRUE(slow.ok()) << slow.status();
  ASSERT_TRUE((*slow)->Run("BEGIN").ok());
  absl::StatusOr<PgResult> taken =
      (*slow)->Exec("UPDATE change_counter SET last = last + 1 WHERE id = 1 RETURNING last::int8");
  ASSERT_TRUE(taken.ok()) << taken.status();
  const int64_t slow_change = taken->Int(0, 0);
  std::atomic<bool> done{false};
  std::thread fast([&] {
    EXPECT_TRUE((*store)->AddFaces("g", "fast", {}, kModel, {{1, 0, 0, 0}}, nullptr).ok());
    done = true;
  });
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_FALSE(done.load()) << "the second writer did not wait for the first's commit";
  ASSERT_TRUE((*slow)->Run("COMMIT").ok());
  fast.join();
  absl::StatusOr<std::vector<FaceChange>> changes = (*store)->ChangesSince("g", 0);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_GT((*changes)[0].change, slow_change);  // committed later, numbered later
}

// The server ends the store's connection (a restart, a failover, an
// administrator): the call that meets it is UNAVAILABLE, the next one
// reconnects.
TEST(PgGalleryStoreTest, AConnectionEndedByTheServerIsMadeAgain) {
  PgDatabase db(TestName());
  absl::StatusOr<std::unique_ptr<PgGalleryStore>> store = PgGalleryStore::Open(db.dsn());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  ASSERT_TRUE(db.admin()
                  ->Run("SELECT pg_terminate_backend($1)", {PgParam::Int((*store)->backend_pid())})
                  .ok());
  const absl::Status lost = (*store)->GetGallery("g").status();
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  EXPECT_EQ(ReasonOf(lost), ErrorReason::kStorageError);
  absl::StatusOr<GalleryInfo> again = (*store)->GetGallery("g");
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(PgGalleryStoreTest, AServerThatIsNotThereIsUnavailableWithoutThePassword) {
  const absl::StatusOr<std::unique_ptr<PgGalleryStore>> s = PgGalleryStore::Open(
      "host=127.0.0.1 port=1 user=faceserve password=sekrit-4711 connect_timeout=2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
  EXPECT_EQ(s.status().message().find("sekrit-4711"), absl::string_view::npos) << s.status();
}

}  // namespace
}  // namespace faceserve
