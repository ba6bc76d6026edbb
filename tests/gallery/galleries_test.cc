// Galleries over a real SQLite file: writes reach the store and the index
// together, a reopened server finds what was acknowledged, searches from
// many threads are batched and answered as a lone search would be, and bad
// searches fail with their reasons before anything is queued.
#include "core/gallery/galleries.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "core/error_reason.h"
#include "core/gallery/sqlite_gallery_store.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

const DescriptorModel kModel{"face_recognition@faceapi-1.7.15", 8};

std::vector<float> RandomVector(std::mt19937& rng) {
  std::normal_distribution<float> n;
  std::vector<float> v(8);
  for (float& x : v) x = n(rng);
  return v;
}

class GalleriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("faceserve_galleries_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Reopen();
  }
  void TearDown() override {
    galleries_.reset();
    fs::remove_all(dir_);
  }
  void Reopen(SearchBatchingOptions options = {}) {
    galleries_.reset();
    auto store = SqliteGalleryStore::Open((dir_ / "g.db").string());
    ASSERT_TRUE(store.ok()) << store.status();
    auto g = Galleries::Open(*std::move(store), options, IndexingOptions{},
                             [this](int queries, absl::Duration) {
                               passes_.fetch_add(1);
                               searched_.fetch_add(queries);
                             });
    ASSERT_TRUE(g.ok()) << g.status();
    galleries_ = *std::move(g);
  }
  // Search and wait.
  absl::StatusOr<SearchBatcher::Matches> Search(const std::string& gallery,
                                                std::vector<std::vector<float>> queries,
                                                int top_k, const std::string& model = kModel.id) {
    absl::StatusOr<SearchBatcher::Matches> out;
    absl::Notification done;
    galleries_->Search(gallery, model, std::move(queries), top_k,
                       [&](absl::StatusOr<SearchBatcher::Matches> r) {
                         out = std::move(r);
                         done.Notify();
                       });
    done.WaitForNotification();
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Galleries> galleries_;
  std::atomic<int> passes_{0}, searched_{0};
};

TEST_F(GalleriesTest, EnrolledFacesAreSearchableAndSurviveAReopen) {
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.6f).ok());
  std::mt19937 rng(1);
  const std::vector<float> alice = RandomVector(rng), bob = RandomVector(rng);
  ASSERT_TRUE(galleries_->AddFaces("g", "alice", {}, kModel, {alice}, nullptr).ok());
  ASSERT_TRUE(galleries_->AddFaces("g", "bob", {}, kModel, {bob}, nullptr).ok());
  auto found = Search("g", {alice, bob}, 2);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ((*found)[0][0].subject, "alice");
  EXPECT_NEAR((*found)[0][0].similarity, 1.0f, 1e-5);
  EXPECT_EQ((*found)[1][0].subject, "bob");
  EXPECT_EQ((*found)[1].size(), 2u);

  Reopen();
  EXPECT_FLOAT_EQ(galleries_->Binding("g")->threshold, 0.6f);
  EXPECT_EQ(galleries_->FaceCounts()["g"], 2);
  found = Search("g", {bob}, 1);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)[0][0].subject, "bob");
}

TEST_F(GalleriesTest, DeletesAreVisibleToTheNextSearch) {
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.6f).ok());
  std::mt19937 rng(2);
  const std::vector<float> a = RandomVector(rng), b = RandomVector(rng);
  auto ids = galleries_->AddFaces("g", "a", {}, kModel, {a, b}, nullptr);
  ASSERT_TRUE(ids.ok());
  ASSERT_TRUE(galleries_->DeleteFace("g", (*ids)[0]).ok());
  auto found = Search("g", {a}, 1);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)[0][0].face_id, (*ids)[1]);  // only the other face is left
  ASSERT_TRUE(galleries_->DeleteSubject("g", "a").ok());
  found = Search("g", {a}, 1);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE((*found)[0].empty());
  ASSERT_TRUE(galleries_->Delete("g").ok());
  EXPECT_EQ(ReasonOf(Search("g", {a}, 1).status()), ErrorReason::kGalleryNotFound);
}

TEST_F(GalleriesTest, BadSearchesFailWithTheirReasons) {
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.6f).ok());
  std::mt19937 rng(3);
  EXPECT_EQ(ReasonOf(Search("nope", {RandomVector(rng)}, 1).status()),
            ErrorReason::kGalleryNotFound);
  const absl::Status other = Search("g", {RandomVector(rng)}, 1, "other@2").status();
  EXPECT_EQ(ReasonOf(other), ErrorReason::kDescriptorMismatch);
  EXPECT_NE(other.message().find("other@2"), absl::string_view::npos);
  EXPECT_NE(other.message().find(kModel.id), absl::string_view::npos);
  EXPECT_EQ(ReasonOf(Search("g", {{1, 2, 3}}, 1).status()), ErrorReason::kEmbeddingSizeMismatch);
  EXPECT_EQ(ReasonOf(Search("g", {std::vector<float>(8, 0.0f)}, 1).status()),
            ErrorReason::kInvalidField);
  EXPECT_EQ(ReasonOf(galleries_->AddFaces("g", "a", {}, kModel, {std::vector<float>(8, NAN)},
                                          nullptr)
                         .status()),
            ErrorReason::kInvalidField);
}

// 16 threads search at once with a window long enough to gather them: fewer
// passes than searches, and every answer the one a lone search gives.
TEST_F(GalleriesTest, ConcurrentSearchesShareAPassAndGetTheirOwnAnswers) {
  SearchBatchingOptions options;
  options.window = absl::Milliseconds(300);  // long: threads start slowly on a busy machine
  Reopen(options);
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.6f).ok());
  std::mt19937 rng(4);
  std::vector<std::vector<float>> faces;
  for (int s = 0; s < 200; ++s) {
    faces.push_back(RandomVector(rng));
    ASSERT_TRUE(
        galleries_->AddFaces("g", "s" + std::to_string(s), {}, kModel, {faces.back()}, nullptr)
            .ok());
  }
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  std::vector<std::string> best(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto found = Search("g", {faces[t * 7]}, 3);
      if (found.ok() && !(*found)[0].empty()) best[t] = (*found)[0][0].subject;
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(best[t], "s" + std::to_string(t * 7));
  EXPECT_EQ(searched_.load(), kThreads);
  EXPECT_LT(passes_.load(), kThreads);
}

// Enrollments, deletions and searches at once (run under the sanitizers by
// scripts/sanitize.sh): every search answers, and what is left at the end
// is what the writers say is left, in memory and after a reopen.
TEST_F(GalleriesTest, EnrollDeleteAndSearchRunConcurrently) {
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.6f).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> searches{0}, search_errors{0};
  std::vector<std::thread> searchers;
  for (int t = 0; t < 3; ++t) {
    searchers.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      while (!stop.load()) {
        searches.fetch_add(1);
        if (!Search("g", {RandomVector(rng), RandomVector(rng)}, 3).ok()) search_errors.fetch_add(1);
      }
    });
  }
  std::vector<std::thread> writers;
  std::atomic<int> kept{0};
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937 rng(200 + t);
      for (int i = 0; i < 20; ++i) {
        const std::string subject = "w" + std::to_string(t) + "_" + std::to_string(i);
        auto ids = galleries_->AddFaces("g", subject, {}, kModel, {RandomVector(rng), RandomVector(rng)},
                                        nullptr);
        if (!ids.ok()) continue;
        if (i % 3 == 0) {
          (void)galleries_->DeleteSubject("g", subject);
        } else if (i % 3 == 1) {
          (void)galleries_->DeleteFace("g", (*ids)[0]);
          kept.fetch_add(1);
        } else {
          kept.fetch_add(2);
        }
      }
    });
  }
  for (std::thread& w : writers) w.join();
  stop.store(true);
  for (std::thread& s : searchers) s.join();
  EXPECT_GT(searches.load(), 0);
  EXPECT_EQ(search_errors.load(), 0);
  EXPECT_EQ(galleries_->FaceCounts()["g"], kept.load());
  Reopen();
  EXPECT_EQ(galleries_->FaceCounts()["g"], kept.load());
}

TEST_F(GalleriesTest, AFullSearchQueueRefusesAtOnce) {
  SearchBatchingOptions options;
  options.window = absl::Seconds(2);
  options.max_pending = 2;
  options.max_queries = 100;
  Reopen(options);
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.6f).ok());
  std::mt19937 rng(5);
  std::vector<absl::Status> first(2);
  absl::Notification both;
  std::atomic<int> answered{0};
  galleries_->Search("g", kModel.id, {RandomVector(rng), RandomVector(rng)}, 1,
                     [&](absl::StatusOr<SearchBatcher::Matches> r) {
                       first[0] = r.status();
                       if (answered.fetch_add(1) == 0) both.Notify();
                     });
  const absl::Status refused = Search("g", {RandomVector(rng)}, 1).status();
  EXPECT_EQ(ReasonOf(refused), ErrorReason::kQueueFull) << refused;
  both.WaitForNotification();
  EXPECT_TRUE(first[0].ok()) << first[0];
}

}  // namespace
}  // namespace faceserve
