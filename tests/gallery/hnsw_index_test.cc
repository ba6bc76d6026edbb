// HnswIndex on its own: its answers agree with exact search on clustered
// data (faces of one person near each other, as real descriptors are), a
// removal erases the vector in memory and in the saved file, and a saved
// index loads back with the same answers.
#include "core/gallery/hnsw_index.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/gallery/gallery_index.h"
#include "core/gallery/half_float.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

constexpr int kDim = 32;

// `subjects` people with `per_subject` faces each: a random centre per
// person plus noise, so a person's faces are each other's neighbours.
std::vector<IndexedFace> ClusteredFaces(int subjects, int per_subject, std::mt19937& rng) {
  std::normal_distribution<float> n;
  std::vector<IndexedFace> faces;
  int64_t id = 1;
  for (int s = 0; s < subjects; ++s) {
    std::vector<float> centre(kDim);
    for (float& x : centre) x = n(rng);
    for (int f = 0; f < per_subject; ++f) {
      IndexedFace face{id++, "s" + std::to_string(s), centre};
      for (float& x : face.embedding) x += 0.35f * n(rng);
      faces.push_back(face);
    }
  }
  return faces;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The bytes the graph stores for `v`: halves or floats of the unit vector.
std::string StoredBytes(std::vector<float> v, bool half) {
  NormalizeEmbedding(&v);
  if (!half) return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  std::vector<uint16_t> h(v.size());
  FloatsToHalves(v.data(), v.size(), h.data());
  return std::string(reinterpret_cast<const char*>(h.data()), h.size() * sizeof(uint16_t));
}

TEST(HnswIndexTest, AgreesWithExactSearchOnClusteredFaces) {
  std::mt19937 rng(7);
  const std::vector<IndexedFace> faces = ClusteredFaces(1000, 4, rng);
  GalleryIndex exact(kDim);
  for (const IndexedFace& f : faces) ASSERT_TRUE(exact.Add(f.face_id, f.subject, f.embedding).ok());
  auto approximate = HnswIndex::Build(kDim, HnswOptions{}, faces, 0, 2);
  ASSERT_TRUE(approximate.ok()) << approximate.status();
  EXPECT_EQ((*approximate)->size(), 4000);

  // Probes: a person's face plus fresh noise (mated), and strangers.
  std::normal_distribution<float> n;
  std::vector<std::vector<float>> probes;
  for (int i = 0; i < 400; ++i) {
    std::vector<float> p = faces[static_cast<size_t>(i) * 10].embedding;
    for (float& x : p) x += 0.2f * n(rng);
    probes.push_back(p);
  }
  auto want = exact.Search(probes, 5);
  auto got = (*approximate)->Search(probes, 5);
  ASSERT_TRUE(want.ok() && got.ok());
  int agree = 0;
  for (size_t i = 0; i < probes.size(); ++i) {
    ASSERT_FALSE((*got)[i].empty());
    ASSERT_EQ((*got)[i].size(), 5u) << "five distinct subjects";
    if ((*got)[i][0].subject == (*want)[i][0].subject) {
      ++agree;
      EXPECT_EQ((*got)[i][0].face_id, (*want)[i][0].face_id);
      // Halves: within 2 * 2^-11 of exact (half_float.h).
      EXPECT_NEAR((*got)[i][0].similarity, (*want)[i][0].similarity, 1e-3);
    }
  }
  EXPECT_GE(agree, 396) << "rank-1 agreement below 99% on easy clustered data";
}

TEST(HnswIndexTest, RemovalErasesTheVectorInMemoryAndInTheSavedFile) {
  for (const bool half : {true, false}) {
    SCOPED_TRACE(half ? "half precision" : "single precision");
    std::mt19937 rng(3);
    std::vector<IndexedFace> faces = ClusteredFaces(50, 2, rng);
    const std::string secret = StoredBytes(faces[10].embedding, half);
    HnswOptions options;
    options.half_precision = half;
    auto index = HnswIndex::Build(kDim, options, faces, 5, 1);
    ASSERT_TRUE(index.ok());
    const fs::path path = fs::temp_directory_path() / ("hnsw_erase_" + std::to_string(::getpid()));
    ASSERT_TRUE((*index)->Save(path.string()).ok());
    ASSERT_NE(FileBytes(path.string()).find(secret), std::string::npos) << "saved as it is";

    EXPECT_TRUE((*index)->RemoveFace(faces[10].face_id, 6));
    EXPECT_FALSE((*index)->RemoveFace(faces[10].face_id, 7)) << "already gone";
    EXPECT_EQ(FileBytes(path.string()).find(secret), std::string::npos)
        << "the deleted face's vector is still in the snapshot file";
    EXPECT_EQ((*index)->size(), 99);
    EXPECT_EQ((*index)->deleted(), 1);
    EXPECT_EQ((*index)->applied_change(), 7);
    auto found = (*index)->Search({faces[10].embedding}, 100);
    ASSERT_TRUE(found.ok());
    for (const SubjectMatch& m : (*found)[0]) EXPECT_NE(m.face_id, faces[10].face_id);

    // A later save holds zeros where the face was.
    ASSERT_TRUE((*index)->Save(path.string()).ok());
    EXPECT_EQ(FileBytes(path.string()).find(secret), std::string::npos);
    fs::remove(path);
  }
}

TEST(HnswIndexTest, ASavedIndexLoadsBackWithTheSameAnswers) {
  std::mt19937 rng(11);
  std::vector<IndexedFace> faces = ClusteredFaces(200, 3, rng);
  auto index = HnswIndex::Build(kDim, HnswOptions{}, faces, 42, 2);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE((*index)->RemoveFace(faces[0].face_id, 43));
  const fs::path path = fs::temp_directory_path() / ("hnsw_load_" + std::to_string(::getpid()));
  absl::StatusOr<int64_t> saved = (*index)->Save(path.string());
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(*saved, 43);

  absl::flat_hash_map<int64_t, std::string> subject_of;
  for (const IndexedFace& f : faces) subject_of[f.face_id] = f.subject;
  auto loaded = HnswIndex::Load(path.string(), kDim, HnswOptions{}, subject_of, *saved);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->size(), 599);
  EXPECT_EQ((*loaded)->FaceIds(), (*index)->FaceIds());
  std::vector<std::vector<float>> probes;
  for (size_t i = 1; i < faces.size(); i += 7) probes.push_back(faces[i].embedding);
  auto a = (*index)->Search(probes, 3);
  auto b = (*loaded)->Search(probes, 3);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < probes.size(); ++i) {
    ASSERT_EQ((*a)[i].size(), (*b)[i].size());
    for (size_t k = 0; k < (*a)[i].size(); ++k) EXPECT_EQ((*a)[i][k].face_id, (*b)[i][k].face_id);
  }

  EXPECT_EQ((*loaded)->without_subject(), 0);
  // A face the store no longer has is loaded without a subject (its
  // deletion is replayed next).
  subject_of.erase(faces[5].face_id);
  auto partial = HnswIndex::Load(path.string(), kDim, HnswOptions{}, subject_of, *saved);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ((*partial)->without_subject(), 1);
  EXPECT_TRUE((*partial)->RemoveFace(faces[5].face_id, 44));
  EXPECT_EQ((*partial)->without_subject(), 0);
  // Another dimension, another precision and a damaged file are refused
  // (the caller then rebuilds from the store).
  EXPECT_EQ(HnswIndex::Load(path.string(), 16, HnswOptions{}, subject_of, 0).status().code(),
            absl::StatusCode::kDataLoss);
  HnswOptions single;
  single.half_precision = false;
  EXPECT_EQ(HnswIndex::Load(path.string(), kDim, single, subject_of, 0).status().code(),
            absl::StatusCode::kDataLoss);
  fs::resize_file(path, fs::file_size(path) / 2);
  EXPECT_EQ(HnswIndex::Load(path.string(), kDim, HnswOptions{}, {}, 0).status().code(),
            absl::StatusCode::kDataLoss);
  fs::remove(path);
}

TEST(HnswIndexTest, BadVectorsAndDuplicateIdsAreRefused) {
  auto index = HnswIndex::Build(4, HnswOptions{}, {}, 0, 1);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ((*index)->Add(1, "a", {1, 0, 0}, 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*index)->Add(1, "a", {0, 0, 0, 0}, 1).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*index)->Add(1, "a", {1, 0, 0, 0}, 2).ok());
  EXPECT_EQ((*index)->Add(1, "b", {0, 1, 0, 0}, 3).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*index)->applied_change(), 3);
  auto r = (*index)->Search({{2, 0, 0, 0}}, 3);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)[0].size(), 1u);
  EXPECT_EQ((*r)[0][0].subject, "a");
  EXPECT_NEAR((*r)[0][0].similarity, 1.0f, 1e-6);
  // Grows past its first capacity.
  for (int i = 2; i < 3000; ++i) {
    ASSERT_TRUE((*index)->Add(i, "s" + std::to_string(i), {1, float(i), 0.5f, -1}, i).ok());
  }
  EXPECT_EQ((*index)->size(), 2999);
}

}  // namespace
}  // namespace faceserve
