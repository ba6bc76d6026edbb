// GalleryIndex: exact search checked against a brute-force reference on
// random embeddings, distinct subjects, removals visible to the next search,
// errors, and searches racing with changes.
#include "core/gallery/gallery_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace faceserve {
namespace {

std::vector<float> RandomVector(std::mt19937* rng, int dimension) {
  std::normal_distribution<float> normal;
  std::vector<float> v(dimension);
  for (float& x : v) x = normal(*rng);
  return v;
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

TEST(GalleryIndexTest, SearchAgreesWithABruteForceReference) {
  constexpr int kDim = 32, kFaces = 300, kSubjects = 40, kQueries = 7, kTopK = 5;
  std::mt19937 rng(7);
  GalleryIndex index(kDim);
  std::vector<std::vector<float>> faces;
  std::vector<std::string> owner;
  for (int f = 0; f < kFaces; ++f) {
    faces.push_back(RandomVector(&rng, kDim));
    owner.push_back("s" + std::to_string(f % kSubjects));
    ASSERT_TRUE(index.Add(1000 + f, owner.back(), faces.back()).ok());
  }
  std::vector<std::vector<float>> queries;
  for (int q = 0; q < kQueries; ++q) queries.push_back(RandomVector(&rng, kDim));
  absl::StatusOr<std::vector<std::vector<SubjectMatch>>> found = index.Search(queries, kTopK);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), static_cast<size_t>(kQueries));
  for (int q = 0; q < kQueries; ++q) {
    // Reference: every subject's best face, in double precision.
    std::map<std::string, std::pair<double, int64_t>> best;
    for (int f = 0; f < kFaces; ++f) {
      const double s = Cosine(queries[q], faces[f]);
      auto it = best.find(owner[f]);
      if (it == best.end() || s > it->second.first) best[owner[f]] = {s, 1000 + f};
    }
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto& [subject, score] : best) ranked.push_back({score.first, subject});
    std::sort(ranked.rbegin(), ranked.rend());
    const std::vector<SubjectMatch>& got = (*found)[q];
    ASSERT_EQ(got.size(), static_cast<size_t>(kTopK));
    for (int k = 0; k < kTopK; ++k) {
      EXPECT_EQ(got[k].subject, ranked[k].second) << "query " << q << " rank " << k;
      EXPECT_NEAR(got[k].similarity, ranked[k].first, 1e-5);
      EXPECT_EQ(got[k].face_id, best[got[k].subject].second);
    }
  }
}

TEST(GalleryIndexTest, ASubjectWithManyFacesComesBackOnceWithItsBestFace) {
  GalleryIndex index(2);
  ASSERT_TRUE(index.Add(1, "alice", {1, 0}).ok());
  ASSERT_TRUE(index.Add(2, "alice", {0.8f, 0.6f}).ok());
  ASSERT_TRUE(index.Add(3, "alice", {0.6f, 0.8f}).ok());
  ASSERT_TRUE(index.Add(4, "bob", {0, 1}).ok());
  absl::StatusOr<std::vector<std::vector<SubjectMatch>>> r = index.Search({{1, 0.1f}}, 3);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ((*r)[0].size(), 2u);  // two subjects, however many faces
  EXPECT_EQ((*r)[0][0].subject, "alice");
  EXPECT_EQ((*r)[0][0].face_id, 1);
  EXPECT_EQ((*r)[0][1].subject, "bob");
}

TEST(GalleryIndexTest, RemovalsAreVisibleToTheNextSearch) {
  GalleryIndex index(2);
  ASSERT_TRUE(index.Add(1, "alice", {1, 0}).ok());
  ASSERT_TRUE(index.Add(2, "bob", {0.9f, 0.1f}).ok());
  ASSERT_TRUE(index.Add(3, "bob", {0.8f, 0.2f}).ok());
  ASSERT_TRUE(index.Add(4, "carol", {0, 1}).ok());
  EXPECT_TRUE(index.RemoveFace(1));
  EXPECT_FALSE(index.RemoveFace(1));
  EXPECT_EQ(index.Search({{1, 0}}, 1)->at(0).at(0).subject, "bob");
  EXPECT_EQ(index.RemoveSubject("bob"), 2);
  EXPECT_EQ(index.size(), 1);
  EXPECT_EQ(index.Search({{1, 0}}, 5)->at(0).size(), 1u);
  EXPECT_EQ(index.Search({{1, 0}}, 5)->at(0).at(0).subject, "carol");
  ASSERT_TRUE(index.Add(5, "bob", {1, 0}).ok());  // a subject may come back
  EXPECT_EQ(index.Search({{1, 0}}, 1)->at(0).at(0).face_id, 5);
}

TEST(GalleryIndexTest, BadVectorsAndDuplicateIdsAreRefused) {
  GalleryIndex index(3);
  EXPECT_EQ(index.Add(1, "a", {1, 0}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Add(1, "a", {0, 0, 0}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Add(1, "a", {NAN, 0, 0}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(index.Add(1, "a", {1, 0, 0}).ok());
  EXPECT_EQ(index.Add(1, "b", {0, 1, 0}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(index.Search({{1, 0}}, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(index.Search({}, 3)->empty());
  EXPECT_TRUE(index.Search({{1, 0, 0}}, 0)->at(0).empty());
}

// Searches racing with adds and removals (run under the sanitizer build too):
// every answer is well-formed, and the final state is what the writers left.
TEST(GalleryIndexTest, SearchesRaceWithChanges) {
  constexpr int kDim = 16;
  GalleryIndex index(kDim);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::mt19937 rng(1);
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(index.Add(i, "s" + std::to_string(i % 20), RandomVector(&rng, kDim)).ok());
      if (i % 3 == 0) index.RemoveFace(i);
    }
    stop = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      while (!stop) {
        auto r = index.Search({RandomVector(&rng, kDim), RandomVector(&rng, kDim)}, 5);
        ASSERT_TRUE(r.ok());
        for (const auto& matches : *r) {
          ASSERT_LE(matches.size(), 5u);
          for (size_t k = 1; k < matches.size(); ++k) {
            ASSERT_GE(matches[k - 1].similarity, matches[k].similarity);
          }
        }
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(index.size(), 500 - 167);  // ids 0, 3, ..., 498 removed
}

}  // namespace
}  // namespace faceserve
