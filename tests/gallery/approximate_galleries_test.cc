// Galleries searched through the approximate index, over a real SQLite file
// and real snapshot files (issue 28): a restart loads the snapshot and
// replays the changes made after it, a kill -9 while a snapshot is written
// leaves the previous one usable, a deleted face is erased from the
// snapshot too, and an auto gallery that grows past the threshold switches
// to the graph in the background without losing a face.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/gallery/galleries.h"
#include "core/gallery/half_float.h"
#include "core/gallery/sqlite_gallery_store.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

constexpr int kDim = 32;
const DescriptorModel kModel{"face_recognition@faceapi-1.7.15", kDim};

// A person's face: their centre plus noise (clustered, as real faces are).
std::vector<float> FaceOf(int subject, std::mt19937& rng) {
  std::mt19937 centre_rng(static_cast<unsigned>(subject) * 7919u + 1u);
  std::normal_distribution<float> n;
  std::vector<float> v(kDim);
  for (float& x : v) x = n(centre_rng);
  for (float& x : v) x += 0.3f * n(rng);
  return v;
}

std::string Subject(int i) { return "p" + std::to_string(i); }

// Every file under `dir`, concatenated.
std::string BytesUnder(const fs::path& dir) {
  std::string all;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), {});
  }
  return all;
}

class ApproximateGalleriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("faceserve_ann_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    galleries_.reset();
    fs::remove_all(dir_);
  }
  IndexingOptions Indexing() {
    IndexingOptions o;
    o.approximate_from_faces = 300;
    o.snapshot_dir = (dir_ / "index").string();
    o.snapshot_interval = absl::Hours(1);  // saved by the test, or at close
    o.log = [this](const std::string& line) {
      absl::MutexLock lock(&log_mu_);
      log_ += line + "\n";
    };
    return o;
  }
  std::unique_ptr<Galleries> Open(IndexingOptions indexing) {
    auto store = SqliteGalleryStore::Open(db());
    EXPECT_TRUE(store.ok()) << store.status();
    auto g = Galleries::Open(*std::move(store), {}, std::move(indexing));
    EXPECT_TRUE(g.ok()) << g.status();
    return g.ok() ? *std::move(g) : nullptr;
  }
  std::string db() const { return (dir_ / "g.db").string(); }
  std::string Log() {
    absl::MutexLock lock(&log_mu_);
    return log_;
  }
  // The best subject for `query`, "" when none.
  std::string Best(const std::vector<float>& query) {
    absl::StatusOr<SearchBatcher::Matches> out;
    absl::Notification done;
    galleries_->Search("g", kModel.id, {query}, 1, [&](absl::StatusOr<SearchBatcher::Matches> r) {
      out = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() && !(*out)[0].empty() ? (*out)[0][0].subject : "";
  }
  void Enroll(int from, int to, std::mt19937& rng) {
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE(galleries_->AddFaces("g", Subject(i), {}, kModel, {FaceOf(i, rng), FaceOf(i, rng)},
                                       nullptr)
                      .ok());
    }
  }

  fs::path dir_;
  std::unique_ptr<Galleries> galleries_;
  absl::Mutex log_mu_;
  std::string log_ ABSL_GUARDED_BY(log_mu_);
};

TEST_F(ApproximateGalleriesTest, ARestartLoadsTheSnapshotAndReplaysLaterChanges) {
  std::mt19937 rng(1);
  galleries_ = Open(Indexing());
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.5f, IndexKind::kApproximate).ok());
  EXPECT_EQ(galleries_->Approximate("g"), true);
  Enroll(0, 400, rng);
  ASSERT_TRUE(galleries_->SaveSnapshots().ok());
  galleries_.reset();

  // Changes after the snapshot, through the store alone (as if the server
  // had died before its next snapshot): 50 new people, 20 deleted.
  {
    auto store = SqliteGalleryStore::Open(db());
    ASSERT_TRUE(store.ok());
    for (int i = 400; i < 450; ++i) {
      ASSERT_TRUE((*store)->AddFaces("g", Subject(i), {}, kModel, {FaceOf(i, rng)}, nullptr).ok());
    }
    for (int i = 0; i < 20; ++i) ASSERT_TRUE((*store)->DeleteSubject("g", Subject(i)).ok());
  }
  IndexingOptions indexing = Indexing();
  indexing.snapshot_dir = (dir_ / "index").string();
  galleries_ = Open(indexing);
  EXPECT_NE(Log().find("loaded its approximate index of 810 faces from the snapshot"),
            std::string::npos)
      << Log();
  EXPECT_EQ(galleries_->FaceCount("g"), 810);
  EXPECT_EQ(Best(FaceOf(420, rng)), Subject(420)) << "an enrollment after the snapshot";
  for (int i = 0; i < 20; ++i) EXPECT_NE(Best(FaceOf(i, rng)), Subject(i)) << "deleted";
  int found = 0;
  for (int i = 20; i < 450; i += 3) found += Best(FaceOf(i, rng)) == Subject(i);
  EXPECT_GE(found, 142) << "of 144 enrolled people probed";
}

TEST_F(ApproximateGalleriesTest, ADeletedFaceIsErasedFromTheSnapshotToo) {
  std::mt19937 rng(2);
  galleries_ = Open(Indexing());
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.5f, IndexKind::kApproximate).ok());
  Enroll(0, 50, rng);
  std::vector<float> secret = FaceOf(7, rng);
  auto ids = galleries_->AddFaces("g", "erase-me", {}, kModel, {secret}, nullptr);
  ASSERT_TRUE(ids.ok());
  ASSERT_TRUE(galleries_->SaveSnapshots().ok());
  // The graph keeps it in half precision (HnswOptions::half_precision).
  NormalizeEmbedding(&secret);
  std::vector<uint16_t> halves(secret.size());
  FloatsToHalves(secret.data(), secret.size(), halves.data());
  const std::string bytes(reinterpret_cast<const char*>(halves.data()),
                          halves.size() * sizeof(uint16_t));
  ASSERT_NE(BytesUnder(dir_ / "index").find(bytes), std::string::npos) << "saved";

  ASSERT_TRUE(galleries_->DeleteSubject("g", "erase-me").ok());
  EXPECT_EQ(BytesUnder(dir_ / "index").find(bytes), std::string::npos)
      << "the deleted face's vector is still in the index snapshot";
  galleries_.reset();  // saves again at close
  EXPECT_EQ(BytesUnder(dir_ / "index").find(bytes), std::string::npos);
}

TEST_F(ApproximateGalleriesTest, KillNineWhileSavingLeavesThePreviousSnapshotUsable) {
  std::mt19937 rng(3);
  galleries_ = Open(Indexing());
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.5f, IndexKind::kApproximate).ok());
  Enroll(0, 2000, rng);
  ASSERT_TRUE(galleries_->SaveSnapshots().ok());
  galleries_.reset();

  // A child enrolls and saves in a loop; it is killed at a different moment
  // each time. Some kills must land inside a save (its temporary directory
  // is found afterwards) for the test to have tested anything.
  int killed_while_writing = 0;
  for (int attempt = 0; attempt < 12 && killed_while_writing < 2; ++attempt) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto store = SqliteGalleryStore::Open(db());
      if (!store.ok()) ::_exit(2);
      IndexingOptions indexing = Indexing();
      indexing.log = nullptr;
      auto g = Galleries::Open(*std::move(store), {}, indexing);
      if (!g.ok()) ::_exit(3);
      std::mt19937 child_rng(static_cast<unsigned>(attempt));
      for (int i = 0;; ++i) {
        (void)(*g)->AddFaces("g", "late" + std::to_string(i), {}, kModel,
                             {FaceOf(5000 + i, child_rng)}, nullptr);
        (void)(*g)->SaveSnapshots();
      }
    }
    ::usleep(static_cast<useconds_t>(300000 + attempt * 37000));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child failed on its own: " << status;
    bool writing = false;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "index")) {
      writing |= e.path().filename().string().rfind(".writing-", 0) == 0;
    }
    killed_while_writing += writing;

    galleries_ = Open(Indexing());
    ASSERT_NE(galleries_, nullptr);
    EXPECT_NE(Log().find("from the snapshot"), std::string::npos) << Log();
    EXPECT_EQ(Log().find("not using snapshot"), std::string::npos) << Log();
    auto store_count = SqliteGalleryStore::Open(db());
    ASSERT_TRUE(store_count.ok());
    auto info = (*store_count)->GetGallery("g");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(galleries_->FaceCount("g"), info->faces) << "every acknowledged face is there";
    EXPECT_EQ(Best(FaceOf(1234, rng)), Subject(1234));
    galleries_.reset();
    absl::MutexLock lock(&log_mu_);
    log_.clear();
  }
  EXPECT_GE(killed_while_writing, 1) << "no kill landed inside a snapshot write";
}

TEST_F(ApproximateGalleriesTest, AnAutoGalleryMovesToTheGraphInTheBackground) {
  std::mt19937 rng(4);
  galleries_ = Open(Indexing());
  ASSERT_TRUE(galleries_->Create("g", kModel, 0.5f).ok());
  Enroll(0, 100, rng);  // 200 faces: exact
  EXPECT_EQ(galleries_->Approximate("g"), false);
  Enroll(100, 400, rng);  // 800: over 300, built in the background
  for (int i = 0; i < 200 && galleries_->Approximate("g") != true; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(galleries_->Approximate("g"), true) << Log();
  EXPECT_EQ(galleries_->FaceCount("g"), 800);
  int found = 0;
  for (int i = 0; i < 400; i += 4) found += Best(FaceOf(i, rng)) == Subject(i);
  EXPECT_GE(found, 99);

  // An exact gallery stays exact however large.
  ASSERT_TRUE(galleries_->Create("e", kModel, 0.5f, IndexKind::kExact).ok());
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(galleries_->AddFaces("e", Subject(i), {}, kModel, {FaceOf(i, rng)}, nullptr).ok());
  }
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(galleries_->Approximate("e"), false);

  // Reopened: the auto gallery is loaded as a graph from its snapshot.
  galleries_.reset();
  galleries_ = Open(Indexing());
  EXPECT_EQ(galleries_->Approximate("g"), true);
  EXPECT_EQ(galleries_->Approximate("e"), false);
  EXPECT_NE(Log().find("gallery 'g': loaded its approximate index of 800 faces"),
            std::string::npos)
      << Log();
}

}  // namespace
}  // namespace faceserve
