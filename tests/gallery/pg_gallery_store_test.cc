// PgGalleryStore on a real PostgreSQL server (a throwaway cluster that the
// ctest fixture postgres.start makes: scripts/throwaway_postgres.sh): the
// contract every store keeps (gallery_store_contract_tests.h), each test in
// a database of its own, and PostgreSQL's own: migrations when replicas
// start together, change numbers in commit order while another writer holds
// its transaction open, the store-wide log replicas follow and its horizon,
// a reconnect after the server ends the connection, and UNAVAILABLE without
// the password for a server that is not there.
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
#include "tests/gallery/pg_test_database.h"

namespace faceserve {
namespace {

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

// The whole store's log, what replicas follow: galleries created and
// deleted among the faces' changes, in order, `limit` at a time; a deleted
// gallery's face changes go with it. Compacted by age: a reader from before
// the horizon is told to reload (OUT_OF_RANGE), one from after it is not.
TEST(PgGalleryStoreTest, TheStoreWideLogOrdersGalleriesAndFacesAndHasAHorizon) {
  PgDatabase db(TestName());
  absl::StatusOr<std::unique_ptr<GalleryStore>> opened = db.Open();
  ASSERT_TRUE(opened.ok()) << opened.status();
  GalleryStore& store = **opened;
  EXPECT_TRUE(store.Shared());
  const int64_t start = store.LastChange().value_or(-1);
  ASSERT_TRUE(store.CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  absl::StatusOr<std::vector<int64_t>> ids =
      store.AddFaces("g", "a", {}, kModel, {{1, 0, 0, 0}, {0, 1, 0, 0}}, nullptr);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_TRUE(store.DeleteFace("g", (*ids)[0]).ok());
  absl::StatusOr<std::vector<StoreChange>> log = store.StoreChangesSince(start, 100);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 4u);
  EXPECT_EQ((*log)[0].kind, StoreChange::Kind::kGalleryCreated);
  EXPECT_EQ((*log)[0].gallery, "g");
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ((*log)[i].kind, StoreChange::Kind::kFace);
    EXPECT_EQ((*log)[i].change, (*log)[i - 1].change + 1);
  }
  EXPECT_TRUE((*log)[1].face.added);
  EXPECT_TRUE((*log)[1].face.embedding.empty());  // deleted since
  EXPECT_EQ((*log)[2].face.subject, "a");
  EXPECT_EQ((*log)[2].face.embedding, (std::vector<float>{0, 1, 0, 0}));
  EXPECT_FALSE((*log)[3].face.added);
  EXPECT_EQ(store.StoreChangesSince(start, 2)->size(), 2u);

  ASSERT_TRUE(store.DeleteGallery("g").ok());
  ASSERT_TRUE(store.CreateGallery("h", kModel, 0.9f, IndexKind::kAuto).ok());
  log = store.StoreChangesSince(start, 100);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[1].kind, StoreChange::Kind::kGalleryDeleted);
  EXPECT_EQ((*log)[1].gallery, "g");
  EXPECT_EQ((*log)[2].kind, StoreChange::Kind::kGalleryCreated);
  EXPECT_EQ((*log)[2].gallery, "h");

  absl::SleepFor(absl::Milliseconds(5));  // every change logged before "now"
  absl::StatusOr<int64_t> gone = store.CompactChanges(absl::ZeroDuration());
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(*gone, 3);
  const absl::Status behind = store.StoreChangesSince(start, 100).status();
  EXPECT_EQ(behind.code(), absl::StatusCode::kOutOfRange) << behind;
  EXPECT_EQ(store.ChangesSince("h", start).status().code(), absl::StatusCode::kOutOfRange);
  absl::StatusOr<std::vector<StoreChange>> after = store.StoreChangesSince(*store.LastChange(), 100);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->empty());
  EXPECT_EQ(*store.CompactChanges(absl::Hours(1)), 0);
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
