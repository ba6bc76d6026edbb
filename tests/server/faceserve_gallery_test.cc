// Galleries on the real faceserve process: real models on CPU, real photos,
// a real SQLite file, gRPC over loopback (issue 27).
//
//  * enroll (images through the gate, ready embeddings), identify, search,
//    Analyze with identification, the gate's rejections, idempotency keys,
//    the errors and their reasons, erasure on disk, export/import with
//    facectl, and a restart that finds everything again;
//  * kill -9 in the middle of a burst of concurrent enrollments: every
//    acknowledged face is there and searchable after a restart, and the
//    database checks out (integrity_check, WAL, synchronous=FULL).
//
// Needs the faceserve binary, the exported models and ../shared/data's
// photos (skipped without them); registered with the label "models".
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "client/facectl.h"
#include "core/error_reason.h"
#include "core/gallery/sqlite_gallery_store.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/rpc_status.h"
#include "tests/server/enroll_burst.h"
#include "tests/server/test_harness.h"
#include "tests/server/verify_photos.h"
#include "tests/testing/server_process.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;
using testing::HealthCheck;
using testing::ServerProcess;

const std::string kSourceDir = FACESERVE_SOURCE_DIR;
const std::string& kVerify = testing::kVerifyPhotos;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Photo(const std::string& identity, int index) {
  return testing::VerifyPhoto(identity, index);
}

// A faceserve on a gallery file, with its stubs.
class Server {
 public:
  explicit Server(const std::string& db) {
    process_ = std::make_unique<ServerProcess>(std::vector<std::string>{
        FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml", "--set",
        "server.listen=127.0.0.1:0", "--set", "metrics.listen=", "--set", "http.listen=", "--set", "device.preheat=false",
        "--set", "models_dir=" + kSourceDir + "/models/exported", "--set",
        "gallery.sqlite.path=" + db});
    const int port = process_->WaitForPort(absl::Seconds(120));
    if (port == 0) return;
    address_ = absl::StrCat("127.0.0.1:", port);
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    testing::WaitUntil([&] { return HealthCheck(channel_, "faceserve.v1.GalleryService") == testing::kServing; },
                       absl::Seconds(120));
    galleries = v1::GalleryService::NewStub(channel_);
    faces = v1::FaceService::NewStub(channel_);
  }
  bool ok() const { return galleries != nullptr; }
  std::string log() { return process_->log(); }
  const std::string& address() const { return address_; }
  void Kill() {
    kill(process_->pid(), SIGKILL);
    process_->Exited(absl::Seconds(30));
  }
  // SIGTERM: a graceful stop (which saves the galleries' graphs).
  void Stop() {
    kill(process_->pid(), SIGTERM);
    process_->Exited(absl::Seconds(60));
  }

  std::unique_ptr<v1::GalleryService::Stub> galleries;
  std::unique_ptr<v1::FaceService::Stub> faces;

 private:
  std::unique_ptr<ServerProcess> process_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
};

template <typename Stub, typename Method, typename Request, typename Response>
absl::Status Call(Stub& stub, Method method, const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return FromGrpcStatus((stub.*method)(&context, request, response));
}

class FaceserveGalleryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kVerify)) {
      GTEST_SKIP() << "needs the verify photos at " << kVerify << " (../shared beside the clone)";
    }
    dir_ = fs::temp_directory_path() / ("faceserve_gallery_e2e_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "galleries.sqlite").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  absl::Status Enroll(Server& s, const std::string& gallery, const std::string& subject,
                      std::vector<std::string> images, v1::EnrollResponse* out,
                      const std::string& key = "", bool largest = false) {
    v1::EnrollRequest r;
    r.set_gallery(gallery);
    r.set_subject(subject);
    r.set_idempotency_key(key);
    r.set_largest(largest);
    for (std::string& image : images) r.add_inputs()->mutable_image()->set_encoded(std::move(image));
    return Call(*s.galleries, &v1::GalleryService::Stub::Enroll, r, out);
  }
  v1::IdentifyResponse Identify(Server& s, const std::string& gallery, std::string image) {
    v1::IdentifyRequest r;
    r.mutable_image()->set_encoded(std::move(image));
    r.mutable_options()->set_gallery(gallery);
    r.mutable_options()->set_top_k(3);
    v1::IdentifyResponse out;
    const absl::Status st = Call(*s.galleries, &v1::GalleryService::Stub::Identify, r, &out);
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }

  fs::path dir_;
  std::string db_;
};

TEST_F(FaceserveGalleryTest, EnrollIdentifySearchAndTheirErrorsOnTheRealServer) {
  // A gallery of another descriptor model, made before the server starts.
  {
    auto store = SqliteGalleryStore::Open(db_);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->CreateGallery("legacy", DescriptorModel{"other_net@2", 512}, 0.5f, IndexKind::kAuto).ok());
  }
  Server s(db_);
  ASSERT_TRUE(s.ok()) << s.log();
  v1::CreateGalleryRequest create;
  create.set_name("people");
  v1::Gallery gallery;
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::CreateGallery, create, &gallery).ok());
  EXPECT_EQ(gallery.descriptor_model(), "face_recognition@faceapi-1.7.15");
  EXPECT_EQ(gallery.dimension(), 128);
  EXPECT_GT(gallery.threshold(), 0.5f);
  EXPECT_EQ(ReasonOf(Call(*s.galleries, &v1::GalleryService::Stub::CreateGallery, create, &gallery)),
            ErrorReason::kGalleryExists);

  // Enroll from images; a third person from a ready embedding (Embed's).
  v1::EnrollResponse enrolled;
  ASSERT_TRUE(Enroll(s, "people", "obama", {Photo("barack_obama", 0)}, &enrolled).ok());
  ASSERT_EQ(enrolled.results_size(), 1);
  const int64_t obama_face = enrolled.results(0).face_id();
  EXPECT_GT(obama_face, 0);
  ASSERT_TRUE(Enroll(s, "people", "alex", {Photo("alex_lacamoire", 0)}, &enrolled).ok());
  v1::EmbedRequest embed;
  embed.mutable_image()->set_encoded(Photo("joe_biden", 0));
  embed.set_selection(v1::FACE_SELECTION_LARGEST);
  v1::EmbedResponse biden_embedding;
  ASSERT_TRUE(Call(*s.faces, &v1::FaceService::Stub::Embed, embed, &biden_embedding).ok());
  v1::EnrollRequest by_embedding;
  by_embedding.set_gallery("people");
  by_embedding.set_subject("biden");
  *by_embedding.add_inputs()->mutable_embedding() = biden_embedding.faces(0).embedding();
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::Enroll, by_embedding, &enrolled).ok());

  // Identify other photos of them, and of a stranger.
  v1::IdentifyResponse who = Identify(s, "people", Photo("barack_obama", 1));
  ASSERT_EQ(who.faces_size(), 1);
  EXPECT_EQ(who.faces(0).identity().matches(0).subject(), "obama");
  EXPECT_EQ(who.faces(0).identity().matches(0).face_id(), obama_face);
  EXPECT_TRUE(who.faces(0).identity().identified());
  EXPECT_EQ(who.faces(0).identity().matches_size(), 3);  // distinct subjects
  who = Identify(s, "people", Photo("joe_biden", 1));
  EXPECT_EQ(who.faces(0).identity().matches(0).subject(), "biden");
  who = Identify(s, "people", Photo("rob_lowe", 0));
  ASSERT_EQ(who.faces_size(), 1);
  EXPECT_FALSE(who.faces(0).identity().identified())
      << who.faces(0).identity().matches(0).similarity();
  // No face: OK with no faces.
  cv::Mat gray(240, 320, CV_8UC3, cv::Scalar(128, 128, 128));
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", gray, jpeg);
  EXPECT_EQ(Identify(s, "people", std::string(jpeg.begin(), jpeg.end())).faces_size(), 0);

  // Analyze with identification: attributes and identity in one call.
  v1::AnalyzeRequest analyze;
  analyze.mutable_image()->set_encoded(Photo("alex_lacamoire", 1));
  analyze.mutable_options()->mutable_identify()->set_gallery("people");
  v1::AnalyzeResponse analysed;
  ASSERT_TRUE(Call(*s.faces, &v1::FaceService::Stub::Analyze, analyze, &analysed).ok());
  ASSERT_GE(analysed.faces_size(), 1);
  EXPECT_EQ(analysed.faces(0).identity().matches(0).subject(), "alex");
  EXPECT_GE(analysed.faces(0).predictions_size(), 3);  // expression, age_gender, ...

  // Search with a client's embedding: the same answer as Identify.
  v1::SearchRequest search;
  search.mutable_options()->set_gallery("people");
  embed.mutable_image()->set_encoded(Photo("barack_obama", 2));
  v1::EmbedResponse probe;
  ASSERT_TRUE(Call(*s.faces, &v1::FaceService::Stub::Embed, embed, &probe).ok());
  *search.add_queries() = probe.faces(0).embedding();
  v1::SearchResponse searched;
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::Search, search, &searched).ok());
  EXPECT_EQ(searched.results(0).matches(0).subject(), "obama");
  search.mutable_queries(0)->mutable_values()->Truncate(100);
  EXPECT_EQ(ReasonOf(Call(*s.galleries, &v1::GalleryService::Stub::Search, search, &searched)),
            ErrorReason::kEmbeddingSizeMismatch);

  // The quality gate names the rule and the value.
  const std::string group = ReadFile(kSourceDir + "/../shared/data/faces/bench/group_human_group-1.jpg");
  absl::Status rejected = Enroll(s, "people", "crowd", {group}, &enrolled);
  EXPECT_EQ(rejected.code(), absl::StatusCode::kFailedPrecondition) << rejected;
  EXPECT_EQ(ReasonOf(rejected), ErrorReason::kEnrollRejected);
  EXPECT_EQ(MetadataOf(rejected)["input.0"], "one_face");
  const std::string obama = Photo("barack_obama", 1);
  cv::Mat big = cv::imdecode(std::vector<uchar>(obama.begin(), obama.end()), cv::IMREAD_COLOR);
  cv::Mat small;
  cv::resize(big, small, cv::Size(), 0.15, 0.15, cv::INTER_AREA);
  cv::imencode(".jpg", small, jpeg);
  ASSERT_TRUE(Enroll(s, "people", "obama", {Photo("barack_obama", 1), std::string(jpeg.begin(), jpeg.end())},
                     &enrolled)
                  .ok());
  EXPECT_GT(enrolled.results(0).face_id(), 0);
  EXPECT_EQ(enrolled.results(1).face_id(), 0);
  EXPECT_THAT(enrolled.results(1).rejection().rule(), ::testing::AnyOf("min_face_px", "no_face"));

  // Idempotency: a retry returns the first answer; another request is refused.
  v1::EnrollResponse first, again;
  ASSERT_TRUE(Enroll(s, "people", "alex", {Photo("alex_lacamoire", 2)}, &first, "k-1").ok());
  ASSERT_TRUE(Enroll(s, "people", "alex", {Photo("alex_lacamoire", 2)}, &again, "k-1").ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.results(0).face_id(), first.results(0).face_id());
  v1::GetSubjectRequest get;
  get.set_gallery("people");
  get.set_subject("alex");
  v1::Subject alex;
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::GetSubject, get, &alex).ok());
  EXPECT_EQ(alex.faces_size(), 2);  // the first photo and k-1's, once
  EXPECT_EQ(ReasonOf(Enroll(s, "people", "alex", {Photo("alex_lacamoire", 1)}, &again, "k-1")),
            ErrorReason::kIdempotencyKeyReused);

  // Metadata replaced; one face deleted, the subject kept.
  v1::UpdateSubjectRequest update;
  update.set_gallery("people");
  update.set_subject("alex");
  (*update.mutable_metadata())["team"] = "blue";
  v1::Subject updated;
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::UpdateSubject, update, &updated).ok());
  EXPECT_EQ(updated.metadata().at("team"), "blue");
  EXPECT_EQ(updated.faces_size(), 2);
  v1::DeleteFaceRequest delete_face;
  delete_face.set_gallery("people");
  delete_face.set_face_id(updated.faces(1).face_id());
  v1::DeleteFaceResponse face_deleted;
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::DeleteFace, delete_face, &face_deleted).ok());
  EXPECT_EQ(ReasonOf(Call(*s.galleries, &v1::GalleryService::Stub::DeleteFace, delete_face, &face_deleted)),
            ErrorReason::kFaceNotFound);
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::GetSubject, get, &alex).ok());
  EXPECT_EQ(alex.faces_size(), 1);

  // Errors with their reasons.
  v1::IdentifyRequest nowhere;
  nowhere.mutable_image()->set_encoded(Photo("alex_lacamoire", 1));
  nowhere.mutable_options()->set_gallery("nope");
  v1::IdentifyResponse unused;
  EXPECT_EQ(ReasonOf(Call(*s.galleries, &v1::GalleryService::Stub::Identify, nowhere, &unused)),
            ErrorReason::kGalleryNotFound);
  nowhere.mutable_options()->set_gallery("legacy");
  const absl::Status mismatch = Call(*s.galleries, &v1::GalleryService::Stub::Identify, nowhere, &unused);
  EXPECT_EQ(ReasonOf(mismatch), ErrorReason::kDescriptorMismatch);
  EXPECT_THAT(std::string(mismatch.message()), ::testing::HasSubstr("other_net@2"));
  EXPECT_THAT(std::string(mismatch.message()), ::testing::HasSubstr("face_recognition@"));

  // Export with facectl, import as another gallery: the same subjects and
  // embeddings, and the same answers.
  const std::string file = (dir_ / "people.jsonl").string();
  std::ostringstream out, err;
  ASSERT_EQ(client::RunFacectl({"--server", s.address(), "gallery", "export", "people", "--out", file},
                               out, err),
            0)
      << err.str();
  ASSERT_EQ(client::RunFacectl({"--server", s.address(), "gallery", "import", file, "--name", "copy"},
                               out, err),
            0)
      << err.str();
  get.set_include_embeddings(true);
  v1::Subject original, copied;
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::GetSubject, get, &original).ok());
  get.set_gallery("copy");
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::GetSubject, get, &copied).ok());
  ASSERT_EQ(copied.faces_size(), original.faces_size());
  for (int i = 0; i < original.faces_size(); ++i) {
    EXPECT_THAT(copied.faces(i).embedding().values(),
                ::testing::ElementsAreArray(original.faces(i).embedding().values()));
  }
  EXPECT_EQ(Identify(s, "copy", Photo("barack_obama", 1)).faces(0).identity().matches(0).subject(),
            "obama");

  // Deleting a subject erases it: gone from search, its bytes gone from disk.
  v1::DeleteSubjectRequest drop;
  drop.set_gallery("people");
  drop.set_subject("biden");
  v1::DeleteSubjectResponse dropped;
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::DeleteSubject, drop, &dropped).ok());
  EXPECT_NE(Identify(s, "people", Photo("joe_biden", 1)).faces(0).identity().matches(0).subject(),
            "biden");
  drop.set_gallery("copy");
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::DeleteSubject, drop, &dropped).ok());
  const auto& values = biden_embedding.faces(0).embedding().values();
  const std::string needle(reinterpret_cast<const char*>(values.data()), 64);  // 16 floats
  std::string disk = ReadFile(db_) + ReadFile(db_ + "-wal");
  EXPECT_EQ(disk.find(needle), std::string::npos) << "the deleted embedding is still on disk";

  // A restart finds every gallery as it was.
  s.Kill();
  Server again_server(db_);
  ASSERT_TRUE(again_server.ok()) << again_server.log();
  v1::ListGalleriesResponse listed;
  ASSERT_TRUE(Call(*again_server.galleries, &v1::GalleryService::Stub::ListGalleries,
                   v1::ListGalleriesRequest(), &listed)
                  .ok());
  std::map<std::string, int64_t> faces;
  for (const v1::Gallery& g : listed.galleries()) faces[g.name()] = g.face_count();
  EXPECT_EQ(faces["people"], faces["copy"]);
  EXPECT_EQ(faces["people"], 3);  // obama 2, alex 1
  EXPECT_EQ(Identify(again_server, "people", Photo("alex_lacamoire", 1)).faces(0).identity().matches(0).subject(),
            "alex");
}

// A gallery searched through the approximate index (issue 28): found as
// with exact search, listed as such, an invalid index refused, and after a
// graceful restart loaded from its snapshot (not rebuilt) with a deletion
// replayed.
TEST_F(FaceserveGalleryTest, AnApproximateGalleryAnswersAndRestartsFromItsSnapshot) {
  Server s(db_);
  ASSERT_TRUE(s.ok()) << s.log();
  v1::CreateGalleryRequest create;
  create.set_name("graph");
  create.set_index(static_cast<v1::GalleryIndex>(7));
  v1::Gallery gallery;
  EXPECT_EQ(ReasonOf(Call(*s.galleries, &v1::GalleryService::Stub::CreateGallery, create, &gallery)),
            ErrorReason::kInvalidField);
  create.set_index(v1::INDEX_APPROXIMATE);
  ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::CreateGallery, create, &gallery).ok());
  EXPECT_EQ(gallery.index(), v1::INDEX_APPROXIMATE);
  EXPECT_TRUE(gallery.approximate());
  v1::EnrollResponse enrolled;
  ASSERT_TRUE(Enroll(s, "graph", "obama", {Photo("barack_obama", 0)}, &enrolled).ok());
  ASSERT_TRUE(Enroll(s, "graph", "alex", {Photo("alex_lacamoire", 0)}, &enrolled).ok());
  ASSERT_TRUE(Enroll(s, "graph", "biden", {Photo("joe_biden", 0)}, &enrolled).ok());
  v1::IdentifyResponse who = Identify(s, "graph", Photo("barack_obama", 1));
  ASSERT_EQ(who.faces_size(), 1);
  EXPECT_EQ(who.faces(0).identity().matches(0).subject(), "obama");
  EXPECT_TRUE(who.faces(0).identity().identified());
  EXPECT_EQ(who.faces(0).identity().matches_size(), 3);

  s.Stop();  // saves the graph
  {
    // A deletion while the server is down reaches the restarted server
    // through the change log.
    auto store = SqliteGalleryStore::Open(db_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->DeleteSubject("graph", "alex").ok());
  }
  Server again(db_);
  ASSERT_TRUE(again.ok()) << again.log();
  EXPECT_NE(again.log().find("gallery 'graph': loaded its approximate index of 2 faces from the "
                             "snapshot"),
            std::string::npos)
      << again.log();
  v1::ListGalleriesResponse listed;
  ASSERT_TRUE(Call(*again.galleries, &v1::GalleryService::Stub::ListGalleries,
                   v1::ListGalleriesRequest(), &listed)
                  .ok());
  ASSERT_EQ(listed.galleries_size(), 1);
  EXPECT_EQ(listed.galleries(0).face_count(), 2);
  EXPECT_TRUE(listed.galleries(0).approximate());
  who = Identify(again, "graph", Photo("alex_lacamoire", 1));
  ASSERT_EQ(who.faces_size(), 1);
  EXPECT_NE(who.faces(0).identity().matches(0).subject(), "alex");
  EXPECT_EQ(Identify(again, "graph", Photo("joe_biden", 1)).faces(0).identity().matches(0).subject(),
            "biden");
}

// facectl enroll-dir and eval-identify on a small folder per identity: the
// summary counts the gate's rejections by rule (the tight face chips of
// bbt_* are cut by the border), and eval-identify says n/a where too few
// strangers make an FPIR unmeasurable.
TEST_F(FaceserveGalleryTest, FacectlEnrollsAFolderAndEvaluatesIdentification) {
  const fs::path people = dir_ / "people";
  for (const char* identity : {"alex_lacamoire", "barack_obama", "bbt_sheldon", "joe_biden", "rob_lowe"}) {
    fs::create_directories(people / identity);
    for (const auto& e : fs::directory_iterator(kVerify + "/" + identity)) {
      fs::create_symlink(e.path(), people / identity / e.path().filename());
    }
  }
  Server s(db_);
  ASSERT_TRUE(s.ok()) << s.log();
  std::ostringstream out, err;
  ASSERT_EQ(client::RunFacectl({"--server", s.address(), "gallery", "create", "folder"}, out, err), 0)
      << err.str();
  out.str("");
  ASSERT_EQ(client::RunFacectl({"--server", s.address(), "enroll-dir", "--gallery", "folder",
                                people.string()},
                               out, err),
            0)
      << err.str();
  EXPECT_THAT(out.str(), ::testing::HasSubstr("\"subjects\":5"));
  EXPECT_THAT(out.str(), ::testing::ContainsRegex("\"truncated\":[5-9]"));
  EXPECT_THAT(out.str(), ::testing::HasSubstr("\"failed_subjects\":0"));
  out.str("");
  ASSERT_EQ(client::RunFacectl({"--server", s.address(), "eval-identify", people.string()}, out, err), 0)
      << err.str();
  EXPECT_THAT(out.str(), ::testing::HasSubstr("\"identities\":5"));
  EXPECT_THAT(out.str(), ::testing::ContainsRegex("\"rank1\":[0-9.]+"));
  EXPECT_THAT(out.str(), ::testing::HasSubstr("\"tpir_at_fpir_0.01\":\"n/a\""));
  std::cout << out.str();
}

// kill -9 in the middle of a burst of concurrent enrollments: every face the
// server acknowledged is there after a restart, and searchable.
TEST_F(FaceserveGalleryTest, KillNineMidBurstLosesNoAcknowledgedFace) {
  testing::AckedFaces acked;
  {
    Server s(db_);
    ASSERT_TRUE(s.ok()) << s.log();
    v1::CreateGalleryRequest create;
    create.set_name("burst");
    v1::Gallery gallery;
    ASSERT_TRUE(Call(*s.galleries, &v1::GalleryService::Stub::CreateGallery, create, &gallery).ok());
    testing::EnrollBurst burst("burst", 8, [&](const v1::EnrollRequest& r, v1::EnrollResponse* out) {
      return Call(*s.galleries, &v1::GalleryService::Stub::Enroll, r, out).ok();
    });
    absl::SleepFor(absl::Seconds(3));
    s.Kill();  // in the middle of the burst
    acked = burst.Stop();
  }
  ASSERT_GT(acked.size(), 20u);
  Server s(db_);
  ASSERT_TRUE(s.ok()) << s.log();
  const int found =
      testing::FoundByBestMatch(acked, "burst", [&](const v1::SearchRequest& r, v1::SearchResponse* out) {
        return Call(*s.galleries, &v1::GalleryService::Stub::Search, r, out).ok();
      });
  EXPECT_EQ(found, static_cast<int>(acked.size()));
  s.Kill();
  auto store = SqliteGalleryStore::Open(db_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->ReadPragma("integrity_check"), "ok");
  EXPECT_EQ(*(*store)->ReadPragma("journal_mode"), "wal");
  EXPECT_EQ(*(*store)->ReadPragma("synchronous"), "2");
  std::cout << acked.size() << " acknowledged enrollments before kill -9, all found\n";
}

}  // namespace
}  // namespace faceserve
