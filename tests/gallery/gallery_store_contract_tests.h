// The contract of every GalleryStore (core/gallery/gallery_store.h), run
// against each store on its real database: SQLite in a temporary file
// (sqlite_gallery_store_test.cc) and PostgreSQL in a throwaway cluster
// (pg_gallery_store_test.cc). Each test binary includes this file once and
// instantiates GalleryStoreContractTest with its StoreBackend.
#ifndef FACESERVE_TESTS_GALLERY_GALLERY_STORE_CONTRACT_TESTS_H_
#define FACESERVE_TESTS_GALLERY_GALLERY_STORE_CONTRACT_TESTS_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/error_reason.h"
#include "core/gallery/gallery_store.h"
#include "tests/gallery/store_under_test.h"

namespace faceserve {

inline const DescriptorModel kContractModel{"face_recognition@faceapi-1.7.15", 4};

class GalleryStoreContractTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make(::testing::UnitTest::GetInstance()->current_test_info()->name());
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    backend_.reset();
  }
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<GalleryStore>> s = backend_->Open();
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  const DescriptorModel& kModel = kContractModel;
  std::unique_ptr<StoreUnderTest> backend_;
  std::unique_ptr<GalleryStore> store_;
};

TEST_P(GalleryStoreContractTest, GalleriesAreCreatedListedAndDeletedWithTheirReasons) {
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

TEST_P(GalleryStoreContractTest, FacesAreAddedInOneTransactionAndSurviveAReopen) {
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

TEST_P(GalleryStoreContractTest, AnotherDescriptorModelIsRefusedNamingBoth) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  const DescriptorModel other{"hm_faceres@3.0.4", 4};
  const absl::StatusOr<std::vector<int64_t>> r =
      store_->AddFaces("g", "a", {}, other, {{1, 0, 0, 0}}, nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(r.status()), ErrorReason::kDescriptorMismatch);
  EXPECT_NE(r.status().message().find(kModel.id), absl::string_view::npos) << r.status();
  EXPECT_NE(r.status().message().find(other.id), absl::string_view::npos) << r.status();
}

TEST_P(GalleryStoreContractTest, SubjectsPageInNameOrder) {
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

TEST_P(GalleryStoreContractTest, MetadataIsReplacedAndMissingSubjectsAreNamed) {
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

TEST_P(GalleryStoreContractTest, DeletingAGalleryDeletesItsSubjectsAndFaces) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  ASSERT_TRUE(store_->AddFaces("g", "a", {}, kModel, {{1, 0, 0, 0}}, nullptr).ok());
  ASSERT_TRUE(store_->DeleteGallery("g").ok());
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  EXPECT_EQ(store_->GetGallery("g")->faces, 0);
  EXPECT_EQ(store_->GetGallery("g")->subjects, 0);
}

// Concurrent writers and readers on one store: every acknowledged face is
// there afterwards, once.
TEST_P(GalleryStoreContractTest, ConcurrentEnrollmentsAllLand) {
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
TEST_P(GalleryStoreContractTest, AnEnrollReceiptReplaysAndRefusesAnotherRequest) {
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

TEST_P(GalleryStoreContractTest, GetSubjectReturnsTheEmbeddingsWhenAsked) {
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

// The change log numbers every add and delete in commit order across the
// store; a gallery's changes come back in order, an added face that still
// exists with its subject and embedding; forgotten changes are gone, the
// last number stays.
TEST_P(GalleryStoreContractTest, ChangesAreLoggedInOrderAndForgotten) {
  ASSERT_TRUE(store_->CreateGallery("g", kModel, 0.9f, IndexKind::kAuto).ok());
  ASSERT_TRUE(store_->CreateGallery("h", kModel, 0.9f, IndexKind::kAuto).ok());
  const int64_t before = store_->LastChange().value_or(-1);
  ASSERT_GE(before, 0);
  absl::StatusOr<std::vector<int64_t>> a =
      store_->AddFaces("g", "a", {}, kModel, {{1, 0, 0, 0}, {0, 1, 0, 0}}, nullptr);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(store_->AddFaces("h", "x", {}, kModel, {{0, 0, 1, 0}}, nullptr).ok());
  ASSERT_TRUE(store_->DeleteFace("g", (*a)[0]).ok());
  EXPECT_EQ(store_->LastChange().value_or(-1), before + 4);
  absl::StatusOr<std::vector<FaceChange>> changes = store_->ChangesSince("g", before);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ((*changes)[0].change, before + 1);
  EXPECT_EQ((*changes)[1].change, before + 2);
  EXPECT_EQ((*changes)[2].change, before + 4);  // before + 3 is h's
  EXPECT_TRUE((*changes)[0].added);
  EXPECT_TRUE((*changes)[0].embedding.empty());  // deleted since
  EXPECT_EQ((*changes)[1].subject, "a");
  EXPECT_EQ((*changes)[1].embedding, (std::vector<float>{0, 1, 0, 0}));
  EXPECT_FALSE((*changes)[2].added);
  EXPECT_EQ((*changes)[2].face_id, (*a)[0]);
  ASSERT_TRUE(store_->ForgetChanges("g", before + 2).ok());
  EXPECT_EQ(store_->ChangesSince("g", before)->size(), 1u);
  EXPECT_EQ(store_->ChangesSince("h", before)->size(), 1u);
  EXPECT_EQ(store_->LastChange().value_or(-1), before + 4);
  absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> subjects = store_->FaceSubjects("g");
  ASSERT_TRUE(subjects.ok());
  ASSERT_EQ(subjects->size(), 1u);
  EXPECT_EQ((*subjects)[0], std::make_pair((*a)[1], std::string("a")));
}

}  // namespace faceserve

#endif  // FACESERVE_TESTS_GALLERY_GALLERY_STORE_CONTRACT_TESTS_H_
